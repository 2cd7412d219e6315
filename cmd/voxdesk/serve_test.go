package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sipClient speaks raw SIP over UDP to the switch under test.
type sipClient struct {
	t    *testing.T
	conn net.Conn
	n    int
}

func (c *sipClient) send(msg string) {
	c.t.Helper()
	if _, err := c.conn.Write([]byte(msg)); err != nil {
		c.t.Fatal(err)
	}
}

// final reads responses until a final one and returns it whole.
func (c *sipClient) final() string {
	c.t.Helper()
	buf := make([]byte, 4096)
	for {
		c.conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		n, err := c.conn.Read(buf)
		if err != nil {
			c.t.Fatalf("no final response: %v", err)
		}
		if s := string(buf[:n]); !strings.HasPrefix(s, "SIP/2.0 1") {
			return s
		}
	}
}

func (c *sipClient) request(method, callID, toTag string, cseq int, body string) string {
	c.n++
	to := "<sip:1000@127.0.0.1>"
	if toTag != "" {
		to += ";tag=" + toTag
	}
	ct := ""
	if body != "" {
		ct = "Content-Type: application/sdp\r\n"
	}
	return fmt.Sprintf("%s sip:1000@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-serve%d\r\n"+
		"From: <sip:+33100@127.0.0.1>;tag=caller\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d %s\r\n"+
		"Contact: <sip:caller@%s>\r\nMax-Forwards: 70\r\n%sContent-Length: %d\r\n\r\n%s",
		method, c.conn.LocalAddr(), c.n, to, callID, cseq, method, c.conn.LocalAddr(), ct, len(body), body)
}

const offer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n"

var toTagRE = regexp.MustCompile(`(?m)^To:.*;tag=([^;\r\n]+)`)

// startServe runs `voxdesk serve` in-process on a free UDP port and
// returns a SIP client for it once it answers OPTIONS.
func startServe(t *testing.T, extra ...string) (*sipClient, <-chan error) {
	t.Helper()
	port := freeUDP(t)
	cfg := filepath.Join(t.TempDir(), "voxdesk.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`log: {level: warn}
http: {listen: "off"}
sip:
  udp: 127.0.0.1:%d
  tcp: "off"
  trunks: [{name: local, networks: [127.0.0.0/8]}]
media: {rtp_port_min: 40000, rtp_port_max: 40999}
`, port)), 0o644)
	done := make(chan error, 1)
	go func() { done <- runServe(context.Background(), append([]string{"--config", cfg}, extra...)) }()
	conn, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &sipClient{t: t, conn: conn}
	for deadline := time.Now().Add(10 * time.Second); ; {
		c.send(c.request("OPTIONS", "ping", "", 1, ""))
		buf := make([]byte, 2048)
		conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if n, err := conn.Read(buf); err == nil && strings.HasPrefix(string(buf[:n]), "SIP/2.0 200") {
			// The socket is bound before the switch serves it, so the
			// OPTIONS sent meanwhile are all answered now: drop those
			// answers, lest a test read one for its own request.
			for {
				conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
				if _, err := conn.Read(buf); err != nil {
					return c, done
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("voxdesk serve did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// answeredCall places a call the demo answers and ACKs it; it returns
// the dialog's To tag.
func (c *sipClient) answeredCall(callID string) string {
	c.t.Helper()
	c.send(c.request("INVITE", callID, "", 1, offer))
	ok := c.final()
	if !strings.HasPrefix(ok, "SIP/2.0 200") {
		c.t.Fatalf("INVITE: %q", ok)
	}
	tag := toTagRE.FindStringSubmatch(ok)[1]
	c.send(c.request("ACK", callID, tag, 1, ""))
	return tag
}

// TestServeDrainsOnSIGTERM runs `voxdesk serve` in-process: SIGTERM makes
// it refuse new calls with 503 while a live call goes on, and it returns
// once that call has ended.
func TestServeDrainsOnSIGTERM(t *testing.T) {
	c, done := startServe(t, "--drain", "20s")
	tag := c.answeredCall("live-1")

	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	time.Sleep(200 * time.Millisecond)
	c.send(c.request("INVITE", "late-1", "", 1, offer))
	if res := c.final(); !strings.HasPrefix(res, "SIP/2.0 503") {
		t.Fatalf("INVITE while draining: %q", res)
	}
	select {
	case err := <-done:
		t.Fatalf("serve returned (%v) with a call still up", err)
	default:
	}
	c.send(c.request("BYE", "live-1", tag, 2, ""))
	if res := c.final(); !strings.HasPrefix(res, "SIP/2.0 200") {
		t.Fatalf("BYE: %q", res)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not return after the last call ended")
	}
}

// TestServeStopsOnSIGINT: SIGINT stops at once, hanging up live calls.
func TestServeStopsOnSIGINT(t *testing.T) {
	c, done := startServe(t)
	c.answeredCall("live-2")
	start := time.Now()
	syscall.Kill(os.Getpid(), syscall.SIGINT)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not stop on SIGINT")
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("SIGINT took %v", el)
	}
	// The live call was hung up with a BYE.
	buf := make([]byte, 4096)
	conn := c.conn
	conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	for {
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no BYE for the live call: %v", err)
		}
		if strings.HasPrefix(string(buf[:n]), "BYE ") {
			break
		}
	}
}

func freeUDP(t *testing.T) int {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}
