package service_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/service"
	"github.com/voxdesk/voxdesk/sip"
)

// TestHashPlaysGoodbyeAndHangsUp: '#' ends the demo: goodbye, then our BYE.
func TestHashPlaysGoodbyeAndHangsUp(t *testing.T) {
	sw := startSwitch(t, nil)
	sipp{scenario: "hash.xml"}.mustPass(t, sw) // the scenario waits for our BYE
	waitIdle(t, sw, 5*time.Second)
	if got := sw.keys(); got != "#" {
		t.Errorf("digits %q, want #", got)
	}
	m := metricsText(t, sw)
	wantMetric(t, m, `voxdesk_calls_total{outcome="completed"} 1`)
}

// legCauses is a middleware recording each call's end cause.
type legCauses struct {
	mu     sync.Mutex
	causes []call.Cause
	who    []string // "trunk caller->callee" of each call
	peak   atomic.Int64
	live   atomic.Int64
}

func (lc *legCauses) wrap(h call.Handler) call.Handler {
	return call.HandlerFunc(func(ctx context.Context, c *call.Call) error {
		n := lc.live.Add(1)
		for {
			p := lc.peak.Load()
			if n <= p || lc.peak.CompareAndSwap(p, n) {
				break
			}
		}
		defer lc.live.Add(-1)
		err := h.ServeCall(ctx, c)
		<-c.Leg.Done()
		lc.mu.Lock()
		lc.causes = append(lc.causes, c.Leg.Cause())
		lc.who = append(lc.who, c.Trunk+" "+c.Caller+"->"+c.Callee)
		lc.mu.Unlock()
		return err
	})
}

func (lc *legCauses) all() []call.Cause {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	return append([]call.Cause(nil), lc.causes...)
}

// slowAnswer rings for 10 s before answering (or until the caller gives up).
var slowAnswer = call.HandlerFunc(func(ctx context.Context, c *call.Call) error {
	select {
	case <-c.Leg.Done():
		return nil
	case <-time.After(10 * time.Second):
		return c.Leg.Answer(ctx)
	}
})

// TestCancelBeforeAnswer: CANCEL while ringing gets 200, the INVITE 487,
// and the handler sees the leg end as cancelled.
func TestCancelBeforeAnswer(t *testing.T) {
	lc := &legCauses{}
	sw := startSwitch(t, nil, service.WithHandler(slowAnswer), service.WithMiddleware(lc.wrap))
	sipp{scenario: "cancel.xml"}.mustPass(t, sw)
	waitIdle(t, sw, 5*time.Second)
	if got := lc.all(); len(got) != 1 || got[0] != call.CauseCancelled {
		t.Fatalf("causes %v, want [cancelled]", got)
	}
	wantMetric(t, metricsText(t, sw), `voxdesk_calls_total{outcome="cancelled"} 1`)
}

// TestNoCommonCodec: an offer with only G.729 is refused 488 before any
// call is created.
func TestNoCommonCodec(t *testing.T) {
	lc := &legCauses{}
	sw := startSwitch(t, nil, service.WithMiddleware(lc.wrap))
	sipp{scenario: "codec488.xml"}.mustPass(t, sw)
	if got := lc.all(); len(got) != 0 {
		t.Fatalf("a call reached the handler: %v", got)
	}
	wantMetric(t, metricsText(t, sw), `voxdesk_sip_invites_refused_total{status="488"} 1`)
}

// TestHoldResume: re-INVITEs put the call on hold and back; the SDP
// answers are checked by the scenario, the pause of our RTP by the test.
func TestHoldResume(t *testing.T) {
	timed(t, func(t *testing.T) (problems []string) {
		sw := startSwitch(t, nil)
		defer sw.Close()
		sink := newRTPSink(t)
		sipp{scenario: "hold.xml", keys: map[string]string{"sink_port": sink.port()}}.mustPass(t, sw)
		pkts := sink.packets()
		if len(pkts) == 0 {
			t.Fatal("no RTP received")
		}
		// The scenario: 1.5 s up, 2.4 s on hold (sendonly then inactive), 1.5 s up.
		var longest time.Duration
		at := 0
		for i := 1; i < len(pkts); i++ {
			if d := pkts[i].at.Sub(pkts[i-1].at); d > longest {
				longest, at = d, i
			}
		}
		t.Logf("%d packets, longest silence %v after packet %d", len(pkts), longest, at-1)
		if longest < 2*time.Second || longest > 3500*time.Millisecond {
			problems = append(problems, fmt.Sprintf("RTP paused for %v, want about 2.4 s of hold", longest))
		}
		if after := len(pkts) - at; after < 40 {
			problems = append(problems, fmt.Sprintf("RTP did not resume after hold: %d packets after the pause", after))
		}
		if !pkts[at].hdr.Marker {
			t.Errorf("first packet after hold has no marker bit")
		}
		for i := 1; i < len(pkts); i++ {
			if pkts[i].hdr.SequenceNumber != pkts[i-1].hdr.SequenceNumber+1 {
				t.Errorf("sequence jumps %d -> %d", pkts[i-1].hdr.SequenceNumber, pkts[i].hdr.SequenceNumber)
			}
		}
		return problems
	})
}

// TestCodecChange: a re-INVITE moving the call from PCMU to PCMA is
// answered with PCMA and our RTP switches payload type, same stream.
func TestCodecChange(t *testing.T) {
	sw := startSwitch(t, nil)
	sink := newRTPSink(t)
	sipp{scenario: "recodec.xml", keys: map[string]string{"sink_port": sink.port()}}.mustPass(t, sw)
	pkts := sink.packets()
	if len(pkts) < 50 {
		t.Fatalf("%d packets", len(pkts))
	}
	first, last := pkts[0].hdr, pkts[len(pkts)-1].hdr
	if first.PayloadType != 0 || last.PayloadType != 8 {
		t.Errorf("payload types %d then %d, want 0 (PCMU) then 8 (PCMA)", first.PayloadType, last.PayloadType)
	}
	if first.SSRC != last.SSRC {
		t.Errorf("SSRC changed with the codec")
	}
}

// TestCallerByeDuringPrompt: the caller hangs up half a second into the
// welcome prompt; the handler stops at once and the call is gone.
func TestCallerByeDuringPrompt(t *testing.T) {
	lc := &legCauses{}
	sw := startSwitch(t, nil, service.WithMiddleware(lc.wrap))
	sink := newRTPSink(t)
	sipp{scenario: "listener.xml", vars: map[string]string{"PAUSE_MS": "500"}, keys: map[string]string{"sink_port": sink.port()}}.mustPass(t, sw)
	waitIdle(t, sw, 2*time.Second)
	if got := lc.all(); len(got) != 1 || got[0] != call.CauseNormal {
		t.Fatalf("causes %v, want [normal]", got)
	}
	if lc.who[0] != "local +33140000001->1000" {
		t.Errorf("call identity %q, want trunk local, caller +33140000001 (From user), callee 1000 (Request-URI)", lc.who[0])
	}
	n := len(sink.packets())
	time.Sleep(200 * time.Millisecond)
	if m := len(sink.packets()); m != n {
		t.Errorf("RTP still arriving after BYE: %d -> %d packets", n, m)
	}
	if n > 40 {
		t.Errorf("%d packets for a 0.5 s call", n)
	}
}

// TestConcurrentCalls: 50 callers at once, each streaming audio and
// pressing 1, 2, 3; all complete and every digit is seen.
func TestConcurrentCalls(t *testing.T) {
	const calls = 50
	lc := &legCauses{}
	sw := startSwitch(t, nil, service.WithMiddleware(lc.wrap))
	speech := callerSpeech(t)
	wav := t.TempDir() + "/caller.wav"
	writeUlawWAV(t, wav, speech)
	sipp{scenario: "caller.xml", calls: calls, rate: 50, vars: map[string]string{"WAV": wav, "TAIL_MS": "1500"}}.mustPass(t, sw)
	waitIdle(t, sw, 5*time.Second)
	if p := lc.peak.Load(); p < calls {
		t.Errorf("peak of %d calls at once, want %d", p, calls)
	}
	causes := lc.all()
	if len(causes) != calls {
		t.Fatalf("%d calls served, want %d", len(causes), calls)
	}
	perCall := map[string]string{}
	sw.mu.Lock()
	for _, d := range sw.digits {
		i := strings.LastIndexByte(d, ':')
		perCall[d[:i]] += d[i+1:]
	}
	sw.mu.Unlock()
	bad := 0
	for id, keys := range perCall {
		if keys != "123" {
			bad++
			t.Logf("call %s: digits %q", id, keys)
		}
	}
	if len(perCall) != calls || bad != 0 {
		t.Errorf("%d calls reported digits, %d of them wrong; want %d calls with 123", len(perCall), bad, calls)
	}
	wantMetric(t, metricsText(t, sw), fmt.Sprintf(`voxdesk_calls_total{outcome="completed"} %d`, calls))
}

// TestDigestAuth: a trunk with credentials challenges, then accepts the
// right password and keeps refusing a wrong one.
func TestDigestAuth(t *testing.T) {
	sw := startSwitch(t, func(c *service.Config) {
		c.SIP.Trunks = []sip.Trunk{{Name: "carrier", Networks: []string{"127.0.0.0/8"}, Username: "vox", Password: "s3cret", Realm: "voxdesk"}}
	})
	sipp{scenario: "auth.xml", args: []string{"-au", "vox", "-ap", "s3cret"}}.mustPass(t, sw)
	waitIdle(t, sw, 5*time.Second)
	code, report := sipp{scenario: "auth.xml", args: []string{"-au", "vox", "-ap", "wrong"}, timeout: 5 * time.Second}.run(t, sw)
	if code == 0 {
		t.Fatalf("a wrong password was accepted:\n%s", report)
	}
	m := metricsText(t, sw)
	wantMetric(t, m, `voxdesk_calls_total{outcome="completed"} 1`)
	wantMetric(t, m, `voxdesk_sip_invites_refused_total{status="401"} 3`)
}

// TestMaxCalls503: with max_calls 1, a second caller gets 503 while the
// first is up.
func TestMaxCalls503(t *testing.T) {
	sw := startSwitch(t, func(c *service.Config) { c.SIP.MaxCalls = 1 })
	first := longCall(t, sw)
	sipp{scenario: "refused503.xml"}.mustPass(t, sw)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	wantMetric(t, metricsText(t, sw), `voxdesk_sip_invites_refused_total{status="503"} 1`)
}

// TestPortsExhausted503: a one-pair RTP range (RTP + RTCP) serves one call; the next
// caller gets 503 and the refusal is logged.
func TestPortsExhausted503(t *testing.T) {
	sw := startSwitch(t, func(c *service.Config) { c.Media.RTPPortMin, c.Media.RTPPortMax = 47010, 47011 })
	first := longCall(t, sw)
	sipp{scenario: "refused503.xml"}.mustPass(t, sw)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sw.log.String(), "RTP port range exhausted") {
		t.Errorf("exhaustion not logged")
	}
}

// TestDrain: Shutdown refuses new calls with 503 while a live call runs
// to its end, then returns.
func TestDrain(t *testing.T) {
	sw := startSwitch(t, nil)
	first := longCall(t, sw)
	drained := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		drained <- sw.Shutdown(ctx)
	}()
	time.Sleep(100 * time.Millisecond)
	sipp{scenario: "refused503.xml"}.mustPass(t, sw)
	select {
	case err := <-drained:
		t.Fatalf("Shutdown returned %v with a call still up", err)
	default:
	}
	if err := <-first; err != nil {
		t.Fatalf("the live call did not finish normally: %v", err)
	}
	if err := <-drained; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

// TestCallOverTCP: the same listener call over SIP/TCP.
func TestCallOverTCP(t *testing.T) {
	sw := startSwitch(t, nil)
	sink := newRTPSink(t)
	sipp{scenario: "listener.xml", tcp: true, vars: map[string]string{"PAUSE_MS": "1000"}, keys: map[string]string{"sink_port": sink.port()}}.mustPass(t, sw)
	waitIdle(t, sw, 5*time.Second)
	if n := len(sink.packets()); n < 40 {
		t.Errorf("%d RTP packets for a 1 s call over TCP signalling", n)
	}
	wantMetric(t, metricsText(t, sw), `voxdesk_calls_total{outcome="completed"} 1`)
}

// TestMalformedSIP: garbage and broken requests on the wire get a 4xx
// with a reason (when parsable at all) and the switch keeps serving.
func TestMalformedSIP(t *testing.T) {
	sw := startSwitch(t, nil)
	conn, err := net.Dial("udp", sw.SIPAddr("udp").String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	local := conn.LocalAddr().String()
	msg := func(method, extra, ctype, body string, n int) string {
		return fmt.Sprintf("%s sip:1000@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-m%d\r\n"+
			"From: <sip:x@127.0.0.1>;tag=m%d\r\nTo: <sip:1000@127.0.0.1>\r\nCall-ID: malformed-%d\r\nCSeq: 1 %s\r\n"+
			"Max-Forwards: 70\r\n%sContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s",
			method, local, n, n, n, method, extra, ctype, len(body), body)
	}
	contact := "Contact: <sip:x@" + local + ">\r\n"
	for i, tc := range []struct {
		name, req string
		status    string
	}{
		{"SDP that is not SDP", msg("INVITE", contact, "application/sdp", "hello, world\r\n", 1), "SIP/2.0 400 Malformed SDP"},
		{"no Contact", msg("INVITE", "", "application/sdp", "v=0\r\n", 2), "SIP/2.0 400 Missing Contact header"},
		{"not SDP at all", msg("INVITE", contact, "text/plain", "hi", 3), "SIP/2.0 415"},
		{"SDP without audio", msg("INVITE", contact, "application/sdp", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=video 4000 RTP/AVP 96\r\n", 4), "SIP/2.0 488"},
		{"unknown method", msg("PUBLISH", "", "text/plain", "", 5), "SIP/2.0 405"},
		{"binary noise", "\x00\x01\x02garbage\r\n\r\n", ""},
		{"request line only", "INVITE sip:1000@127.0.0.1 SIP/2.0\r\n\r\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := conn.Write([]byte(tc.req)); err != nil {
				t.Fatal(err)
			}
			if tc.status == "" {
				return
			}
			line := readStatus(t, conn, tc.req, fmt.Sprintf("malformed-%d", i+1))
			if !strings.HasPrefix(line, tc.status) {
				t.Fatalf("got %q, want %q", line, tc.status)
			}
		})
	}
	// Still serving.
	opts := "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP " + local + ";branch=z9hG4bK-opt\r\nFrom: <sip:x@127.0.0.1>;tag=o\r\n" +
		"To: <sip:127.0.0.1>\r\nCall-ID: opt-1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	conn.Write([]byte(opts))
	if line := readStatus(t, conn, opts, "opt-1"); !strings.HasPrefix(line, "SIP/2.0 200") {
		t.Fatalf("OPTIONS after the noise: %q", line)
	}
}

// readStatus reads responses until a final one for callID (skipping 1xx
// and responses to other requests) and returns its status line.
func readStatus(t *testing.T, conn net.Conn, req string, callID string) string {
	t.Helper()
	buf := make([]byte, 4096)
	for {
		conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		k, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no response to %q: %v", req, err)
		}
		line, _, _ := strings.Cut(string(buf[:k]), "\r\n")
		if !strings.Contains(string(buf[:k]), "Call-ID: "+callID+"\r\n") {
			continue
		}
		if !strings.HasPrefix(line, "SIP/2.0 1") {
			return line
		}
	}
}

// longCall starts a 2.5 s call in the background and waits until the
// switch has it.
func longCall(t *testing.T, sw *testSwitch) <-chan error {
	t.Helper()
	sink := newRTPSink(t)
	done := runAsync(t, sw, sipp{scenario: "listener.xml", vars: map[string]string{"PAUSE_MS": "2500"}, keys: map[string]string{"sink_port": sink.port()}})
	waitCalls(t, sw, 1)
	return done
}

func runAsync(t *testing.T, sw *testSwitch, p sipp) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		code, report := p.run(t, sw)
		if code != 0 {
			done <- fmt.Errorf("%s", report)
			return
		}
		done <- nil
	}()
	return done
}

func waitCalls(t *testing.T, sw *testSwitch, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for sw.ActiveCalls() < n {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %d calls: %d", n, sw.ActiveCalls())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func metricsText(t *testing.T, sw *testSwitch) string {
	t.Helper()
	res, err := http.Get("http://" + sw.HTTPAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

func wantMetric(t *testing.T, metrics, line string) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(metrics))
	for sc.Scan() {
		if sc.Text() == line {
			return
		}
	}
	name, _, _ := strings.Cut(line, "{")
	var have []string
	for _, l := range strings.Split(metrics, "\n") {
		if strings.HasPrefix(l, strings.Fields(name)[0]) {
			have = append(have, l)
		}
	}
	t.Errorf("metric %q not found; have %v", line, have)
}
