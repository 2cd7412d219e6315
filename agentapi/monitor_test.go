package agentapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/call/calltest"
	"github.com/voxdesk/voxdesk/routing"
	"github.com/voxdesk/voxdesk/rtc"
)

// pacedLeg is a party of a test call: it says one constant value every
// 20 ms of real time and records the first sample of every frame it is
// given. Writes are paced like a real leg's too, so a writer in a loop
// does not spin.
type pacedLeg struct {
	say  int16
	done chan struct{}
	once sync.Once

	mu    sync.Mutex
	cause call.Cause
	heard []int16
}

func newPacedLeg(say int16) *pacedLeg { return &pacedLeg{say: say, done: make(chan struct{})} }

func (l *pacedLeg) wait(ctx context.Context) error {
	t := time.NewTimer(call.FrameDuration)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-l.done:
		return call.ErrHangup
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *pacedLeg) ReadAudio(ctx context.Context, dst []int16) (int, error) {
	if err := l.wait(ctx); err != nil {
		return 0, err
	}
	for i := range dst[:call.FrameSamples] {
		dst[i] = l.say
	}
	return call.FrameSamples, nil
}

func (l *pacedLeg) WriteAudio(ctx context.Context, frame []int16) error {
	if err := l.wait(ctx); err != nil {
		return err
	}
	l.mu.Lock()
	l.heard = append(l.heard, frame[0])
	l.mu.Unlock()
	return nil
}

func (l *pacedLeg) Answer(context.Context) error { return nil }
func (l *pacedLeg) Digits() <-chan call.Digit    { return nil }
func (l *pacedLeg) Done() <-chan struct{}        { return l.done }

func (l *pacedLeg) Hangup(_ context.Context, cause call.Cause) error {
	l.once.Do(func() {
		l.mu.Lock()
		l.cause = cause
		l.mu.Unlock()
		close(l.done)
	})
	return nil
}

func (l *pacedLeg) Cause() call.Cause {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cause
}

// heardSince returns the values heard from frame n on.
func (l *pacedLeg) heardSince(n int) []int16 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n > len(l.heard) {
		return nil
	}
	return append([]int16(nil), l.heard[n:]...)
}

func (l *pacedLeg) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.heard)
}

// waitHeard waits until the leg heard value v in a frame after frame n.
func (l *pacedLeg) waitHeard(t *testing.T, who string, n int, v int16) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, x := range l.heardSince(n) {
			if x == v {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s never heard %d; heard %v", who, v, l.heardSince(n))
}

func frameOf(v int16) []int16 {
	f := make([]int16, call.FrameSamples)
	for i := range f {
		f[i] = v
	}
	return f
}

var testSup = &Account{ID: "sue", Name: "Sue Supervisor", Role: RoleSupervisor}

// The tap, frame by frame: in every mode the supervisor's mix carries
// both sides as they spoke; whisper adds the supervisor's voice to what
// the agent hears only, barge to both ways, saturating.
func TestMonitorTapModes(t *testing.T) {
	cases := []struct {
		mode              MonitorMode
		toAgent, toCaller int16 // what each party hears after the tap
	}{
		{ModeListen, 100, 200},
		{ModeWhisper, 100 + 1000, 200},
		{ModeBarge, 100 + 1000, 200 + 1000},
	}
	for _, tc := range cases {
		t.Run(string(tc.mode), func(t *testing.T) {
			c := call.New("c1", calltest.NewLeg(), nil)
			m, _ := newMonitor(context.Background(), c, "alice", testSup, nil, newPacedLeg(0), tc.mode)
			defer m.cancel()
			for range monitorPrimeFrames {
				m.heard(frameOf(1000))
			}
			for range monitorPrimeFrames {
				fromCaller, toCaller := frameOf(100), frameOf(200)
				m.Frame(call.FromCaller, fromCaller)
				m.Frame(call.ToCaller, toCaller)
				if fromCaller[7] != tc.toAgent || toCaller[7] != tc.toCaller {
					t.Fatalf("agent hears %d, caller hears %d; want %d and %d", fromCaller[7], toCaller[7], tc.toAgent, tc.toCaller)
				}
			}
			out := make([]int16, call.FrameSamples)
			if n := m.mix.MixTo(out); n != 2 || out[0] != 300 {
				t.Fatalf("supervisor hears %d from %d inputs, want caller+agent 300 without their own voice", out[0], n)
			}
		})
	}
	t.Run("saturation", func(t *testing.T) {
		c := call.New("c1", calltest.NewLeg(), nil)
		m, _ := newMonitor(context.Background(), c, "alice", testSup, nil, newPacedLeg(0), ModeBarge)
		defer m.cancel()
		for range monitorPrimeFrames {
			m.heard(frameOf(-20000))
		}
		f := frameOf(-20000)
		m.Frame(call.FromCaller, f)
		if f[0] != -32768 {
			t.Fatalf("loud caller plus loud supervisor gave %d, want -32768", f[0])
		}
		g := frameOf(30000)
		m.Frame(call.ToCaller, g)
		if g[0] != 10000 {
			t.Fatalf("agent 30000 plus supervisor -20000 gave %d, want 10000", g[0])
		}
	})
	t.Run("switching drops old voice", func(t *testing.T) {
		c := call.New("c1", calltest.NewLeg(), nil)
		m, _ := newMonitor(context.Background(), c, "alice", testSup, nil, newPacedLeg(0), ModeWhisper)
		defer m.cancel()
		for range monitorPrimeFrames {
			m.heard(frameOf(1000))
		}
		m.setMode(ModeListen)
		m.setMode(ModeWhisper)
		f := frameOf(100)
		m.Frame(call.FromCaller, f)
		if f[0] != 100 {
			t.Fatalf("the agent heard %d: voice buffered before a mode switch played late", f[0])
		}
	})
}

// monitoredCall bridges a caller (says 100) and an agent (says 200)
// through the call's taps and runs a monitor for a supervisor (says
// 1000) on it; endBridge stops the bridge with the caller still there.
type monitoredCall struct {
	c                   *call.Call
	caller, agent, sup  *pacedLeg
	m                   *monitor
	endBridge           context.CancelFunc
	bridged, monitorRan chan struct{}
	why                 chan string
	notTalking          atomic.Bool // what the monitor's talking check hears
}

func startMonitoredCall(t *testing.T, mode MonitorMode) *monitoredCall {
	t.Helper()
	mc := &monitoredCall{caller: newPacedLeg(100), agent: newPacedLeg(200), sup: newPacedLeg(1000),
		bridged: make(chan struct{}), monitorRan: make(chan struct{}), why: make(chan string, 1)}
	mc.c = call.New("c1", mc.caller, nil)
	bctx, cancel := context.WithCancel(context.Background())
	mc.endBridge = cancel
	var mctx context.Context
	mc.m, mctx = newMonitor(context.Background(), mc.c, "alice", testSup, nil, mc.sup, mode)
	mc.m.remove = mc.c.Taps.Add(mc.m)
	mc.m.talking = func(context.Context) bool { return !mc.notTalking.Load() }
	go func() {
		defer close(mc.bridged)
		_, _ = mc.c.Taps.Bridge(bctx, mc.caller, mc.agent)
	}()
	go func() {
		defer close(mc.monitorRan)
		mc.m.run(mctx, func(why string) { mc.why <- why })
	}()
	t.Cleanup(func() {
		mc.m.stop("test over")
		cancel()
		_ = mc.caller.Hangup(context.Background(), call.CauseNormal)
		<-mc.bridged
		<-mc.monitorRan
	})
	return mc
}

func (mc *monitoredCall) ended(t *testing.T, want string) {
	t.Helper()
	select {
	case why := <-mc.why:
		if why != want {
			t.Fatalf("monitor ended because %q, want %q", why, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("monitor did not end (want %q)", want)
	}
	<-mc.m.done
	if n := mc.c.Taps.Len(); n != 0 {
		t.Fatalf("%d taps left on the call", n)
	}
	if mc.sup.Cause() == call.CauseNone {
		t.Fatal("the supervisor's leg was left up")
	}
}

// A monitor on a running bridge, switching modes: audio checked at each
// party; the caller and the agent keep hearing each other throughout.
func TestMonitorOnBridge(t *testing.T) {
	mc := startMonitoredCall(t, ModeListen)
	mc.sup.waitHeard(t, "supervisor (listen)", 0, 300)
	nA, nC := mc.agent.count(), mc.caller.count()
	time.Sleep(200 * time.Millisecond) // 10 frames each way
	for _, v := range mc.agent.heardSince(nA) {
		if v != 100 {
			t.Fatalf("listening: the agent heard %d, want the caller alone (100)", v)
		}
	}
	for _, v := range mc.caller.heardSince(nC) {
		if v != 200 {
			t.Fatalf("listening: the caller heard %d, want the agent alone (200)", v)
		}
	}

	mc.m.setMode(ModeWhisper)
	nA, nC = mc.agent.count(), mc.caller.count()
	mc.agent.waitHeard(t, "agent (whisper)", nA, 1100)
	time.Sleep(200 * time.Millisecond)
	for _, v := range mc.caller.heardSince(nC) {
		if v != 200 {
			t.Fatalf("whisper: the caller heard %d, want the agent alone (200)", v)
		}
	}

	mc.m.setMode(ModeBarge)
	nC = mc.caller.count()
	mc.caller.waitHeard(t, "caller (barge)", nC, 1200)
	mc.agent.waitHeard(t, "agent (barge)", mc.agent.count(), 1100)
	mc.sup.waitHeard(t, "supervisor (barge)", mc.sup.count(), 300)

	mc.m.stop("the supervisor left")
	mc.ended(t, "the supervisor left")
	// A frame the pump had already tapped may still be on its way.
	time.Sleep(3 * call.FrameDuration)
	nA, nC = mc.agent.count(), mc.caller.count()
	time.Sleep(200 * time.Millisecond)
	if got := append(mc.agent.heardSince(nA), mc.caller.heardSince(nC)...); len(got) == 0 {
		t.Fatal("the bridge stopped with the monitor")
	}
	for _, v := range mc.agent.heardSince(nA) {
		if v != 100 {
			t.Fatalf("after leaving: the agent heard %d", v)
		}
	}
}

// The monitor ends by itself, cleanly, whichever side goes first.
func TestMonitorEnds(t *testing.T) {
	cases := []struct {
		name string
		end  func(mc *monitoredCall)
		why  string
	}{
		{"caller hangs up", func(mc *monitoredCall) { _ = mc.caller.Hangup(context.Background(), call.CauseNormal) }, "the call ended"},
		{"bridge ends (agent gone, call transferred)", func(mc *monitoredCall) { mc.endBridge() }, "the agent's conversation ended"},
		{"supervisor's page goes", func(mc *monitoredCall) { _ = mc.sup.Hangup(context.Background(), call.CauseFailure) }, "the supervisor's audio ended"},
		// The bridge still runs (the router put the call through to
		// someone else at once): the router's word ends the monitor.
		{"router says the agent no longer talks on it", func(mc *monitoredCall) { mc.notTalking.Store(true) }, "the agent's conversation ended"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mc := startMonitoredCall(t, ModeBarge)
			mc.sup.waitHeard(t, "supervisor", 0, 300)
			tc.end(mc)
			mc.ended(t, tc.why)
		})
	}
}

// fakeFinder is the routing side of monitoring.
type fakeFinder struct{ calls map[string]*call.Call }

func (f fakeFinder) TalkingCall(_ context.Context, agentID string) (*call.Call, error) {
	if c := f.calls[agentID]; c != nil {
		return c, nil
	}
	if agentID == "bob" || agentID == "alice" {
		return nil, fmt.Errorf("%w: %q", routing.ErrNotTalking, agentID)
	}
	return nil, fmt.Errorf("%w: %q", routing.ErrUnknownAgent, agentID)
}

func (e *testEnv) send(t *testing.T, method, path string, body string, c *client, csrf bool) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, e.ts.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", e.ts.URL)
	if c != nil {
		req.AddCookie(c.cookie)
		if csrf {
			req.Header.Set(csrfHeader, c.csrf)
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// Bad monitor requests get a clear 4xx and change nothing: no tap on the
// call, no monitor, nothing said to the agent.
func TestMonitorRefusals(t *testing.T) {
	talking, other := call.New("c-talk", calltest.NewLeg(), nil), call.New("c-other", calltest.NewLeg(), nil)
	e := newEnv(t, WithMonitor(fakeFinder{calls: map[string]*call.Call{"carol": talking, "dave": other}}), WithRegisterer(prometheus.NewRegistry()))
	sue, alice := e.login(t, "sue", "sue-secret"), e.login(t, "alice", "alice-secret")
	// Another supervisor (root, an admin) is on dave's call already.
	busy, _ := newMonitor(context.Background(), other, "dave", &Account{ID: "root", Name: "Admin"}, nil, newPacedLeg(0), ModeListen)
	defer busy.cancel()
	e.srv.mon.mu.Lock()
	e.srv.mon.byCall, e.srv.mon.bySup = map[string]*monitor{other.ID: busy}, map[string]*monitor{"root": busy}
	e.srv.mon.mu.Unlock()

	cases := []struct {
		name   string
		method string
		body   string
		who    *client
		csrf   bool
		status int
		says   string
	}{
		{"not logged in", "POST", `{"agent":"carol","mode":"listen"}`, nil, false, 401, "log in"},
		{"an agent asks", "POST", `{"agent":"carol","mode":"listen"}`, alice, true, 403, "role"},
		{"no CSRF token", "POST", `{"agent":"carol","mode":"listen"}`, sue, false, 403, "CSRF"},
		{"not JSON", "POST", `agent=carol`, sue, true, 400, "bad JSON"},
		{"unknown field", "POST", `{"agent":"carol","mode":"listen","volume":11}`, sue, true, 400, "unknown field"},
		{"unknown mode", "POST", `{"agent":"carol","mode":"spy"}`, sue, true, 400, `unknown mode "spy": want listen, whisper or barge`},
		{"no mode", "POST", `{"agent":"carol"}`, sue, true, 400, "unknown mode"},
		{"no agent", "POST", `{"mode":"listen"}`, sue, true, 400, "agent"},
		{"unknown agent", "POST", `{"agent":"ghost","mode":"listen"}`, sue, true, 404, `agent "ghost" is not logged in`},
		{"agent not on a call", "POST", `{"agent":"bob","mode":"whisper"}`, sue, true, 409, `agent "bob" is not on a call`},
		{"second supervisor on the call", "POST", `{"agent":"dave","mode":"barge"}`, sue, true, 409, "supervisor Admin is already on this call"},
		{"no wallboard audio", "POST", `{"agent":"carol","mode":"listen"}`, sue, true, 409, "allow the microphone"},
		{"unknown wallboard", "POST", `{"agent":"carol","mode":"listen","board":"0123"}`, sue, true, 404, "no wallboard"},
		{"leave without a call", "DELETE", ``, sue, true, 404, "not on a call"},
		{"agent leaves", "DELETE", ``, alice, true, 403, "role"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := e.send(t, tc.method, "/api/monitor", tc.body, tc.who, tc.csrf)
			var apiErr apiError
			if status != tc.status || json.Unmarshal([]byte(body), &apiErr) != nil || !strings.Contains(apiErr.Error, tc.says) {
				t.Fatalf("got %d %s, want %d with %q", status, body, tc.status, tc.says)
			}
		})
	}
	if talking.Taps.Len() != 0 || other.Taps.Len() != 0 {
		t.Fatal("a refused request attached a tap")
	}
	if len(e.srv.mon.byCall) != 1 || e.srv.mon.bySup["sue"] != nil {
		t.Fatalf("a refused request registered a monitor: %v", e.srv.mon.byCall)
	}
	if got := testutil.ToFloat64(e.srv.m.monitors.WithLabelValues("invalid", "refused-bad-mode")); got != 2 {
		t.Errorf("bad-mode refusals counted %v, want 2", got)
	}
	if got := testutil.ToFloat64(e.srv.m.monitors.WithLabelValues("barge", "refused-taken")); got != 1 {
		t.Errorf("taken refusals counted %v, want 1", got)
	}
	if got := testutil.ToFloat64(e.srv.m.activeMonitors); got != 0 {
		t.Errorf("%v monitors active", got)
	}

	// Without WithMonitor the switch says it cannot.
	e2 := newEnv(t)
	status, body := e2.send(t, "POST", "/api/monitor", `{"agent":"carol","mode":"listen"}`, e2.login(t, "sue", "sue-secret"), true)
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "not configured") {
		t.Fatalf("unconfigured: %d %s", status, body)
	}
}

// A wallboard page accepts only its audio signalling.
func TestBoardMessages(t *testing.T) {
	e := newEnv(t, WithBoard(BoarderFunc(func(ctx context.Context) (Board, error) { return Board{}, nil })),
		WithMonitor(fakeFinder{}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := e.dial(ctx, "/api/board/ws", e.login(t, "sue", "sue-secret"), e.ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	p := &page{t: t, ws: ws}
	hello := p.next("hello")
	if hello.Page == "" || hello.Agent == nil || hello.Agent.ID != "sue" {
		t.Fatalf("wallboard hello %+v", hello)
	}
	p.sendRaw(`{"id":1,"type":"answer","call":"c1"}`)
	if m := p.next("error"); !strings.Contains(m.Error, "not a wallboard message") {
		t.Fatalf("error %q", m.Error)
	}
	p.sendRaw(`{"id":2,"type":"signal","signal":{"type":"offer","sdp":""}}`)
	if m := p.next("error"); !strings.Contains(m.Error, "offer without sdp") {
		t.Fatalf("bad offer: %+v", m)
	}
	p.sendRaw(`{"id":3,"type":"ping"}`)
	if m := p.next("ok"); m.ID != 3 {
		t.Fatalf("ping: %+v", m)
	}
	if got := testutil.ToFloat64(e.srv.m.badMessages.WithLabelValues("board")); got != 2 {
		t.Errorf("bad board messages %v, want 2", got)
	}
}

// BenchmarkMonitorFrame is the tap's cost on the bridge per 20 ms frame
// and direction, barged in (the most work: mix, then add the voice).
func BenchmarkMonitorFrame(b *testing.B) {
	c := call.New("c1", calltest.NewLeg(), nil)
	m, _ := newMonitor(context.Background(), c, "alice", testSup, nil, newPacedLeg(0), ModeBarge)
	defer m.cancel()
	voice, f, out := frameOf(1000), make([]int16, call.FrameSamples), make([]int16, call.FrameSamples)
	b.ReportAllocs()
	for b.Loop() {
		m.heard(voice)
		copy(f, voice)
		m.Frame(call.FromCaller, f)
		m.Frame(call.ToCaller, f)
		m.mix.MixTo(out)
	}
}

// FuzzMonitorRequest: whatever a supervisor's page sends, a request with
// no wallboard audio behind it is refused with a 4xx (or 503) and
// registers nothing.
func FuzzMonitorRequest(f *testing.F) {
	for _, seed := range []string{
		`{"agent":"carol","mode":"listen"}`, `{"agent":"carol","mode":"whisper","board":"00ff"}`,
		`{"agent":"","mode":"barge"}`, `{"agent":"ghost","mode":"spy"}`, `{"agent":"sue","mode":"listen"}`,
		`{"agent":"bob","mode":"listen"}`, `{"agent":"carol"`, `[]`, `{"agent":1}`,
	} {
		f.Add(seed)
	}
	engine, err := rtc.New(rtc.Config{Loopback: true})
	if err != nil {
		f.Fatal(err)
	}
	talking := call.New("c-talk", calltest.NewLeg(), nil)
	s, err := New(Config{}, WithRTC(engine), WithMonitor(fakeFinder{calls: map[string]*call.Call{"carol": talking}}))
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	f.Fuzz(func(t *testing.T, body string) {
		var req MonitorRequest
		if json.Unmarshal([]byte(body), &req) != nil {
			return // readJSON's 400
		}
		_, err := s.monitor(context.Background(), testSup, req)
		var me *monitorError
		if !errors.As(err, &me) || me.status < 400 || me.status >= 600 || me.msg == "" {
			t.Fatalf("%s: %v, want a refusal with a 4xx status and words", body, err)
		}
		if talking.Taps.Len() != 0 || len(s.mon.byCall) != 0 {
			t.Fatalf("%s: a refused request attached a monitor", body)
		}
	})
}
