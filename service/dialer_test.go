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

// TestDialAnswered: an outbound call to SIPp's built-in UAS is answered,
// carries our audio, and our BYE ends it.
func TestDialAnswered(t *testing.T) {
	sw := startSwitch(t, nil)
	addr, uas := startUAS(t, "-sn", "uas")
	d, err := sw.Dialer("local")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	leg, err := d.Dial(ctx, "sip:agent@"+addr, "+33100000000")
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
	scen, _ := filepath.Abs(filepath.Join("testdata", "uas_busy.xml"))
	addr, uas := startUAS(t, "-sf", scen)
	d, _ := sw.Dialer("local")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := d.Dial(ctx, "sip:agent@"+addr, "+33100000000")
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
