package sip

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
	"github.com/voxdesk/voxdesk/call"
)

// rejecting serves no call: every INVITE that gets through is refused
// with 486 by the handler, so fuzzed INVITEs never wait for an ACK.
var rejecting = call.HandlerFunc(func(ctx context.Context, c *call.Call) error {
	return call.Reject(call.CauseBusy, "")
})

func newTestServer(t testing.TB, h call.Handler, cfg Config) *Server {
	t.Helper()
	if cfg.Trunks == nil {
		cfg.Trunks = []Trunk{{Name: "local", Networks: []string{"127.0.0.0/8"}}}
	}
	s, err := NewServer(cfg, h, MediaOpenerFunc(func(string) (Media, error) { return newFakeMedia(), nil }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

const seedSDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n"

func sipMessage(method, extra, body string) string {
	return fmt.Sprintf("%s sip:1000@127.0.0.1 SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-1\r\n"+
		"From: <sip:sipp@127.0.0.1>;tag=abc\r\n"+
		"To: <sip:1000@127.0.0.1>%s\r\n"+
		"Call-ID: fuzz-1@127.0.0.1\r\n"+
		"CSeq: 1 %s\r\n"+
		"Contact: <sip:sipp@127.0.0.1:5060>\r\n"+
		"Max-Forwards: 70\r\n"+
		"Content-Type: application/sdp\r\n"+
		"Content-Length: %d\r\n\r\n%s", method, extra, method, len(body), body)
}

func fuzzSeeds() []string {
	return []string{
		sipMessage("INVITE", "", seedSDP),
		sipMessage("INVITE", "", strings.Replace(seedSDP, "RTP/AVP 0 8 101", "RTP/AVP 18", 1)),
		sipMessage("INVITE", "", "v=0\r\nthis is not sdp\r\n"),
		sipMessage("INVITE", "", ""),
		sipMessage("INVITE", ";tag=nodialog", seedSDP),
		sipMessage("BYE", ";tag=x", ""),
		sipMessage("CANCEL", "", ""),
		sipMessage("OPTIONS", "", ""),
		sipMessage("REGISTER", "", ""),
		sipMessage("ACK", ";tag=x", ""),
		strings.Replace(sipMessage("INVITE", "", seedSDP), "From: <sip:sipp@127.0.0.1>;tag=abc\r\n", "", 1),
		strings.Replace(sipMessage("INVITE", "", seedSDP), "Contact: <sip:sipp@127.0.0.1:5060>\r\n", "", 1),
		strings.Replace(sipMessage("INVITE", "", seedSDP), "application/sdp", "text/plain", 1),
		strings.Replace(sipMessage("REFER", ";tag=x", ""), "Max-Forwards", "Refer-To: <sip:alice@127.0.0.1>\r\nMax-Forwards", 1),
		sipMessage("INFO", ";tag=x", ""),
	}
}

// FuzzHandleRequest feeds arbitrary bytes to the request entry point, as
// if they had arrived on the wire: whatever sipgo parses as a request must
// get a final response that is not a 500 (no internal error, no panic).
func FuzzHandleRequest(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add([]byte(s))
	}
	srv := newTestServer(f, rejecting, Config{})
	f.Fuzz(func(t *testing.T, data []byte) {
		msg, err := sip.ParseMessage(data)
		if err != nil {
			return // sipgo drops what it cannot parse
		}
		req, ok := msg.(*sip.Request)
		if !ok {
			return
		}
		req.SetSource("127.0.0.1:5060")
		req.SetTransport("UDP")
		tx := newFakeTx()
		srv.handle(req, tx)
		if n := srv.panics.Load(); n != 0 {
			t.Fatalf("%d panics handling %q", n, data)
		}
		if req.IsAck() {
			return
		}
		codes := tx.codes()
		if len(codes) == 0 {
			t.Fatalf("no response to %q", data)
		}
		final := codes[len(codes)-1]
		if final < 200 || final == 500 {
			t.Fatalf("final response %d to %q (all: %v)", final, data, codes)
		}
	})
}

// TestMalformedRequests pins the answers to the fuzz seeds.
func TestMalformedRequests(t *testing.T) {
	srv := newTestServer(t, rejecting, Config{})
	want := []int{486, 488, 400, 488, 481, 481, 481, 200, 405, 0, 400, 400, 415, 481, 481}
	for i, s := range fuzzSeeds() {
		msg, err := sip.ParseMessage([]byte(s))
		if err != nil {
			t.Fatalf("seed %d: %v", i, err)
		}
		req := msg.(*sip.Request)
		req.SetSource("127.0.0.1:5060")
		req.SetTransport("UDP")
		tx := newFakeTx()
		srv.handle(req, tx)
		codes := tx.codes()
		got := 0
		if len(codes) > 0 {
			got = codes[len(codes)-1]
		}
		if got != want[i] {
			t.Errorf("seed %d (%s): final %d, want %d (all %v)", i, strings.SplitN(s, "\r\n", 2)[0], got, want[i], codes)
		}
	}
	if srv.panics.Load() != 0 {
		t.Fatal("panics")
	}
}
