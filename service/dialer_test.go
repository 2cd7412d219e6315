package service_test

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/media"
	"github.com/voxdesk/voxdesk/service"
	"github.com/voxdesk/voxdesk/sip"
)

// startUAS runs SIPp as the far end of our outbound call and returns its
// address and its exit status channel.
func startUAS(t *testing.T, args ...string) (string, <-chan error) {
	t.Helper()
	port := freePort(t, "udp")
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	args = append(args, "-i", "127.0.0.1", "-p", strconv.Itoa(port), "-mi", "127.0.0.1", "-mp", strconv.Itoa(freePort(t, "udp")),
		"-m", "1", "-timeout", "20s", "-timeout_error", "-nostdin", "-max_socket", "100", "-trace_err", "-error_file", dir+"/errors.log")
	cmd := exec.CommandContext(ctx, "sipp", args...)
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// Ready when SIPp holds its port.
	for deadline := time.Now().Add(5 * time.Second); ; {
		c, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("SIPp did not bind its port")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "127.0.0.1:" + strconv.Itoa(port), done
}

// dialUAS starts SIPp as the far end with a scenario file of testdata
// ("" for the built-in uas) and dials it through trunk within timeout.
func dialUAS(t *testing.T, sw *testSwitch, trunk, scenario string, timeout time.Duration) (leg call.Leg, uas <-chan error, err error) {
	t.Helper()
	args := []string{"-sn", "uas"}
	if scenario != "" {
		abs, _ := filepath.Abs(filepath.Join("testdata", scenario))
		args = []string{"-sf", abs}
	}
	addr, uas := startUAS(t, args...)
	d, err := sw.Dialer(trunk)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	leg, err = d.Dial(ctx, "sip:agent@"+addr, "+33100000000")
	return leg, uas, err
}

// TestDialAnswered: an outbound call to SIPp's built-in UAS is answered,
// carries our audio, and our BYE ends it.
func TestDialAnswered(t *testing.T) {
	sw := startSwitch(t, nil)
	leg, uas, err := dialUAS(t, sw, "local", "", 10*time.Second)
	ctx := context.Background()
	if err != nil {
		t.Fatal(err)
	}
	if sw.ActiveCalls() != 1 {
		t.Errorf("active calls %d, want 1", sw.ActiveCalls())
	}
	beep := sw.Prompts().Get("beep")
	if err := media.Play(ctx, leg, beep); err != nil {
		t.Fatal(err)
	}
	if err := leg.Hangup(ctx, call.CauseNormal); err != nil {
		t.Fatal(err)
	}
	if err := <-uas; err != nil {
		t.Fatalf("SIPp UAS: %v (it wants INVITE, ACK, BYE)\n%s", err, sw.log.String())
	}
	waitIdle(t, sw, 2*time.Second)
}

// TestDialBusy: a 486 comes back as a RejectError with CauseBusy.
func TestDialBusy(t *testing.T) {
	sw := startSwitch(t, nil)
	_, uas, err := dialUAS(t, sw, "local", "uas_busy.xml", 10*time.Second)
	var rej *call.RejectError
	if !errors.As(err, &rej) || rej.Cause != call.CauseBusy {
		t.Fatalf("Dial error %v, want a busy RejectError", err)
	}
	if err := <-uas; err != nil {
		t.Fatalf("SIPp UAS: %v", err)
	}
	if sw.ActiveCalls() != 0 {
		t.Errorf("%d calls left", sw.ActiveCalls())
	}
}

// TestDialDigest: the trunk challenges our INVITE; the Dialer answers
// with the trunk's credentials (SIPp verifies them) and the call is up on
// PCMA, the codec the far end chose.
func TestDialDigest(t *testing.T) {
	sw := startSwitch(t, func(c *service.Config) {
		c.SIP.Trunks = []sip.Trunk{{Name: "carrier", Networks: []string{"127.0.0.0/8"}, Username: "vox", Password: "s3cret"}}
	})
	leg, uas, err := dialUAS(t, sw, "carrier", "uas_auth.xml", 10*time.Second)
	ctx := context.Background()
	if err != nil {
		t.Fatal(err)
	}
	if got := leg.(*sip.Leg).Negotiated().Codec.Name; got != "PCMA" {
		t.Errorf("codec %s, want PCMA", got)
	}
	if err := leg.Hangup(ctx, call.CauseNormal); err != nil {
		t.Fatal(err)
	}
	if err := <-uas; err != nil {
		t.Fatalf("SIPp UAS: %v", err)
	}
}

// TestDialGivesUp: when ctx ends while the far end rings, the Dialer
// CANCELs the INVITE (SIPp wants CANCEL, then ACK for its 487).
func TestDialGivesUp(t *testing.T) {
	sw := startSwitch(t, nil)
	_, uas, err := dialUAS(t, sw, "local", "uas_ring.xml", time.Second)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Dial error %v, want the context's deadline", err)
	}
	if err := <-uas; err != nil {
		t.Fatalf("SIPp UAS: %v (it wants INVITE, CANCEL, ACK)", err)
	}
}
