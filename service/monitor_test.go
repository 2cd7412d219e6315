package service_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/voxdesk/voxdesk/agentapi"
	"github.com/voxdesk/voxdesk/internal/browsertest"
	"github.com/voxdesk/voxdesk/ivr"
	"github.com/voxdesk/voxdesk/routing"
	"github.com/voxdesk/voxdesk/service"
)

// The three voices of a monitored call, told apart by pitch: the caller
// (SIPp streams a tone), the agent (Chromium's fake microphone, the
// usual browsertest.ToneHz) and the supervisor (another Chromium).
const (
	callerHz     = 1000
	agentHz      = browsertest.ToneHz // 600
	supervisorHz = 1400
)

// voiceFrames counts the 20 ms frames of pkts carrying a tone at hz of
// amplitude over minAmp (Goertzel at an exact bin of a 160-sample frame:
// the other voices, at other exact bins, do not leak into it).
func voiceFrames(pkts []sinkPacket, hz, minAmp float64) int {
	n := 0
	for _, p := range pkts {
		if len(p.pcm) != 160 {
			continue
		}
		power, _ := goertzel(p.pcm, hz)
		if 2*math.Sqrt(power)/160 > minAmp {
			n++
		}
	}
	return n
}

// loudest describes the tone at hz in pkts, for failure messages.
func loudest(pkts []sinkPacket, hz float64) string {
	top := 0.0
	for _, p := range pkts {
		power, _ := goertzel(p.pcm, hz)
		top = max(top, 2*math.Sqrt(power)/float64(len(p.pcm)))
	}
	return fmt.Sprintf("%d packets, loudest %v Hz amplitude %.0f", len(pkts), hz, top)
}

// clickOn clicks the element sel of a page.
func clickOn(t *testing.T, tab context.Context, sel string) {
	t.Helper()
	if err := chromedp.Run(tab, chromedp.Click(sel, chromedp.ByQuery)); err != nil {
		t.Fatalf("click %s: %v", sel, err)
	}
}

// monitorMode waits until the wallboard's monitor panel shows want.
func monitorMode(t *testing.T, ctx, board context.Context, want string) {
	t.Helper()
	waitText(t, ctx, board, "supervisor's mode", `document.getElementById('monitor-mode').innerText`, want)
}

// tone8k returns 10 s of a tone at hz, amplitude 9000, at 8 kHz.
func tone8k(hz float64) []int16 {
	pcm := make([]int16, 10*8000)
	for i := range pcm {
		pcm[i] = int16(9000 * math.Sin(2*math.Pi*hz*float64(i)/8000))
	}
	return pcm
}

// since keeps the packets that arrived from t0 on.
func since(pkts []sinkPacket, t0 time.Time) []sinkPacket {
	var out []sinkPacket
	for _, p := range pkts {
		if !p.at.Before(t0) {
			out = append(out, p)
		}
	}
	return out
}

// pageEar measures what a page's PeerConnection receives
// (window.voxdesk.pc) with a Web Audio analyser.
type pageEar struct {
	name string
	tab  context.Context
}

const earInstallJS = `(() => {
  if (window.__ear) return true;
  const pc = window.voxdesk && window.voxdesk.pc;
  if (!pc) return false;
  const r = pc.getReceivers().find((r) => r.track && r.track.kind === 'audio');
  if (!r) return false;
  const ctx = new AudioContext();
  ctx.resume();
  const an = ctx.createAnalyser();
  an.fftSize = 4096;
  an.smoothingTimeConstant = 0;
  ctx.createMediaStreamSource(new MediaStream([r.track])).connect(an);
  window.__ear = { ctx, an, bins: new Float32Array(an.frequencyBinCount) };
  return true;
})()`

// levels returns the level (dB) at each frequency now.
func (e pageEar) levels(t *testing.T, hz ...float64) []float64 {
	t.Helper()
	var installed bool
	if err := chromedp.Run(e.tab, chromedp.Evaluate(earInstallJS, &installed)); err != nil || !installed {
		t.Fatalf("%s: cannot listen to the page's audio (%v)", e.name, err)
	}
	js := fmt.Sprintf(`(() => {
  const e = window.__ear;
  e.an.getFloatFrequencyData(e.bins);
  const step = e.ctx.sampleRate / e.an.fftSize;
  return %s.map((f) => {
    const k = Math.round(f / step);
    let m = -200;
    for (let i = k - 2; i <= k + 2; i++) m = Math.max(m, e.bins[i]);
    return m;
  });
})()`, jsList(hz))
	var out []float64
	if err := chromedp.Run(e.tab, chromedp.Evaluate(js, &out)); err != nil {
		t.Fatalf("%s: levels: %v", e.name, err)
	}
	return out
}

func jsList(hz []float64) string {
	s := make([]string, len(hz))
	for i, f := range hz {
		s[i] = fmt.Sprint(f)
	}
	return "[" + strings.Join(s, ",") + "]"
}

// Levels of a tone in the analyser: a voice is heard above heardDB and
// absent below absentDB (a 9000-amplitude tone shows near -30 dB, G.711
// noise between the tones near -100 dB).
const heardDB, absentDB = -50.0, -75.0

// hears waits until the page hears a tone at hz steadily.
func (e pageEar) hears(t *testing.T, ctx context.Context, hz float64) {
	t.Helper()
	e.steady(t, ctx, "hears", hz, 5, func(l float64) bool { return l > heardDB })
}

// stopsHearing waits until the page no longer hears a tone at hz for 40
// samples in a row (over 2 s). A voice still sent never passes; one
// that stopped may take a while: a headless Chromium's Web Audio can
// stall and then render the audio it buffered meanwhile, late.
func (e pageEar) stopsHearing(t *testing.T, ctx context.Context, hz float64) {
	t.Helper()
	e.steady(t, ctx, "stops hearing", hz, 40, func(l float64) bool { return l < absentDB })
}

// steady waits until the level at hz meets cond in n samples in a row.
func (e pageEar) steady(t *testing.T, ctx context.Context, what string, hz float64, n int, cond func(float64) bool) {
	t.Helper()
	run, last := 0, 0.0
	err := waitFor(ctx, fmt.Sprintf("%s %s %v Hz", e.name, what, hz), func() bool {
		last = e.levels(t, hz)[0]
		if cond(last) {
			run++
		} else {
			run = 0
		}
		return run >= n
	})
	if err != nil {
		t.Fatalf("%v (level %.1f dB)", err, last)
	}
}

// neverHears samples the page's audio for d and fails if a tone at hz
// shows up: a peak at hz above absentDB standing out over the spectrum
// beside it (hz±150 Hz). A click in the audio (a frame concealed or a
// stalled Web Audio render on a loaded machine) raises every frequency at
// once and is no voice; a tone mixed in rises at its own pitch only.
func (e pageEar) neverHears(t *testing.T, hz float64, d time.Duration) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		l := e.levels(t, hz, hz-150, hz+150)
		if beside := max(l[1], l[2]); l[0] > absentDB && l[0]-beside > toneOverNoiseDB {
			t.Fatalf("%s hears %v Hz at %.1f dB (%.1f dB beside it)", e.name, hz, l[0], beside)
		}
	}
}

// toneOverNoiseDB is how far a tone's level stands over the spectrum
// beside it to count as heard (a mixed-in voice of the tests' amplitude
// stands out by 40 dB or more).
const toneOverNoiseDB = 10.0

// TestSupervisorListenWhisperBarge: a real switch, a SIPp caller (a
// 1000 Hz voice) in a queue, an agent on the agent page in Chromium (a
// 600 Hz microphone) and a supervisor on the wallboard in another
// Chromium (1400 Hz). Audio is checked both ways at every step: in
// the pages with a Web Audio analyser, at SIPp on the wire.
//   - listen: the supervisor hears caller and agent; neither hears them;
//   - whisper: the agent hears the supervisor (and the page says so),
//     the caller does not;
//   - barge: both hear the supervisor;
//   - leave: nobody does; throughout, caller and agent hear each other.
//
// Then the supervisor listens again and the call ends under them.
func TestSupervisorListenWhisperBarge(t *testing.T) {
	browsertest.Path(t)
	tap, err := tapLoopback(t)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("cannot watch the RTP SIPp receives (packet socket on lo): %v", err)
		}
		t.Skipf("cannot watch the RTP SIPp receives (needs CAP_NET_RAW for a packet socket on lo): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()

	flows := t.TempDir()
	if err := os.WriteFile(filepath.Join(flows, "q.yaml"), []byte(queueFlow), 0o644); err != nil {
		t.Fatal(err)
	}
	hash, err := agentapi.HashPassword("e2e-agent-secret")
	if err != nil {
		t.Fatal(err)
	}
	sw := startSwitch(t, func(c *service.Config) {
		c.IVR = ivr.Settings{Dir: flows, Default: "q"}
		c.Routing = routing.Config{OfferTimeout: 30 * time.Second, Queues: []routing.QueueConfig{{Name: "general"}}}
		c.Agents.Accounts = []agentapi.Account{
			{ID: "alice", Name: "Alice", Role: agentapi.RoleAgent, PasswordHash: hash},
			{ID: "sam", Name: "Sam Supervisor", Role: agentapi.RoleSupervisor, PasswordHash: hash},
		}
	})
	base := "http://" + sw.HTTPAddr().String()

	dir := t.TempDir()
	agentMic, supMic := filepath.Join(dir, "agent.wav"), filepath.Join(dir, "supervisor.wav")
	browsertest.WriteToneWAV(t, agentMic)
	browsertest.WriteToneWAVAt(t, supMic, supervisorHz)
	agent, closeAgent := chromedp.NewContext(browsertest.Start(t, ctx, agentMic))
	defer closeAgent()
	board, closeBoard := chromedp.NewContext(browsertest.Start(t, ctx, supMic))
	defer closeBoard()
	agentEar, supEar := pageEar{"the agent", agent}, pageEar{"the supervisor", board}

	pageLogin(t, agent, base+"/agent.html", "alice", `#desk`)
	goAvailable(t, ctx, agent)
	pageLogin(t, board, base+"/board.html", "sam", `#board`)

	wav := filepath.Join(dir, "caller.wav")
	writeUlawWAV(t, wav, tone8k(callerHz))
	caller := placeCallWAV(t, sw, tap, e2eCaller{name: "tone caller", from: "+33140000001"}, wav, "")

	if err := waitFor(ctx, "the agent's page rings", func() bool { return ringing(agent) }); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Run(agent, chromedp.Click("#btn-answer", chromedp.ByID), chromedp.WaitVisible("#talk", chromedp.ByID)); err != nil {
		t.Fatalf("answer: %v", err)
	}
	answered := time.Now()
	agentEar.hears(t, ctx, callerHz)
	callerHears := func(hz float64, since time.Time) int { return voiceFrames(caller.received(since), hz, 400) }
	if err := waitFor(ctx, "the caller hears the agent", func() bool { return callerHears(agentHz, answered) >= 25 }); err != nil {
		t.Fatalf("%v: %s", err, loudest(caller.received(answered), agentHz))
	}

	click := func(sel string) { t.Helper(); clickOn(t, board, sel) }
	mode := func(want string) { t.Helper(); monitorMode(t, ctx, board, want) }
	badge := func() string {
		var s string
		_ = chromedp.Run(agent, chromedp.Evaluate(`(() => { const e = document.getElementById('supervisor'); return e.hidden ? '' : e.innerText; })()`, &s))
		return s
	}

	// Listen: from the talking agent's row of the wallboard.
	waitBoard(t, ctx, board, `tr[data-agent="alice"]`, "busy")
	click(`button[data-monitor="alice"][data-mode="listen"]`)
	mode("listening")
	listening := time.Now()
	supEar.hears(t, ctx, callerHz)
	supEar.hears(t, ctx, agentHz)
	agentEar.neverHears(t, supervisorHz, 2*time.Second)
	if n := callerHears(supervisorHz, listening); n > 0 {
		t.Fatalf("listen: the caller heard the supervisor in %d frames", n)
	}
	if s := badge(); s != "" {
		t.Errorf("listen: the agent's page shows %q; silent listening is not shown", s)
	}

	// Whisper: the agent hears the supervisor, and is told; the caller not.
	click(`#btn-mon-whisper`)
	mode("whispering")
	whispering := time.Now()
	agentEar.hears(t, ctx, supervisorHz)
	waitText(t, ctx, agent, "whisper notice", `document.getElementById('supervisor').innerText`, "Sam Supervisor is whispering to you")
	time.Sleep(2 * time.Second) // time for the supervisor's voice to reach SIPp, were it sent
	if n := callerHears(supervisorHz, whispering); n > 0 {
		t.Fatalf("whisper: the caller heard the supervisor in %d frames", n)
	}
	if n := callerHears(agentHz, whispering); n < 50 {
		t.Fatalf("whisper: the caller heard the agent in only %d frames", n)
	}
	agentEar.hears(t, ctx, callerHz)
	supEar.hears(t, ctx, callerHz)

	// Barge: everybody hears everybody.
	click(`#btn-mon-barge`)
	mode("barged in")
	barged := time.Now()
	if err := waitFor(ctx, "the caller hears the supervisor", func() bool { return callerHears(supervisorHz, barged) >= 25 }); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, agent, "barge notice", `document.getElementById('supervisor').innerText`, "Sam Supervisor has joined the call")
	agentEar.hears(t, ctx, supervisorHz)
	agentEar.hears(t, ctx, callerHz)
	if n := callerHears(agentHz, barged); n < 25 {
		t.Fatalf("barge: the caller heard the agent in only %d frames", n)
	}
	supEar.hears(t, ctx, agentHz)

	// Leave: the supervisor is gone from both sides; the call goes on.
	click(`#btn-mon-leave`)
	if err := chromedp.Run(board, chromedp.WaitNotVisible("#monitor", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(ctx, "the agent's notice goes", func() bool { return badge() == "" }); err != nil {
		t.Fatalf("%v: %q", err, badge())
	}
	agentEar.stopsHearing(t, ctx, supervisorHz)
	left := time.Now()
	time.Sleep(2 * time.Second) // time for a voice still sent to reach SIPp
	if n := callerHears(supervisorHz, left); n > 0 {
		t.Fatalf("after leaving: the caller heard the supervisor in %d frames", n)
	}
	if n := callerHears(agentHz, left); n < 50 {
		t.Fatalf("after leaving: the caller heard the agent in only %d frames", n)
	}
	agentEar.hears(t, ctx, callerHz)

	// Listening again, the call ends under the supervisor: the wallboard
	// says so, and the switch keeps no monitor.
	click(`button[data-monitor="alice"][data-mode="listen"]`)
	mode("listening")
	if err := chromedp.Run(agent, chromedp.Click("#btn-hangup", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	caller.wait(t, ctx)
	waitText(t, ctx, board, "the wallboard says the call ended", `document.getElementById('status').innerText`, "You are off Alice's call")
	if err := chromedp.Run(board, chromedp.WaitNotVisible("#monitor", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, sw, 10*time.Second)
	m := metricsText(t, sw)
	wantMetric(t, m, `voxdesk_agentapi_monitor_requests_total{mode="listen",result="started"} 2`)
	wantMetric(t, m, `voxdesk_agentapi_monitor_requests_total{mode="whisper",result="switched"} 1`)
	wantMetric(t, m, `voxdesk_agentapi_monitor_requests_total{mode="barge",result="switched"} 1`)
	wantMetric(t, m, `voxdesk_agentapi_monitors_active 0`)
	// Audited: each step is one log line naming the call and both people.
	lines := strings.Split(sw.log.String(), "\n")
	for _, want := range []string{"supervisor monitor started", "supervisor monitor mode", "supervisor monitor ended"} {
		found := false
		for _, l := range lines {
			if strings.Contains(l, want) && strings.Contains(l, "call_id=") && strings.Contains(l, "supervisor=sam") && strings.Contains(l, "agent=alice") {
				found = true
			}
		}
		if !found {
			t.Errorf("no %q log line with call_id, supervisor and agent", want)
		}
	}
}

// TestSupervisorWhispersToSIPPhoneAgent: monitoring works the same for
// an agent on a SIP phone (bob, SIPp answering with its RTP on a test
// socket): the supervisor on the wallboard hears caller and phone, and
// whispers to the phone only; the monitor ends with the call.
func TestSupervisorWhispersToSIPPhoneAgent(t *testing.T) {
	browsertest.Path(t)
	hash, err := agentapi.HashPassword("e2e-agent-secret")
	if err != nil {
		t.Fatal(err)
	}
	sw, phonePort, ctx := bobOnPhone(t, func(c *service.Config) {
		c.Agents.Accounts = []agentapi.Account{{ID: "sam", Name: "Sam Supervisor", Role: agentapi.RoleSupervisor, PasswordHash: hash}}
	}, 120*time.Second)
	supMic := filepath.Join(t.TempDir(), "supervisor.wav")
	browsertest.WriteToneWAVAt(t, supMic, supervisorHz)
	board, closeBoard := chromedp.NewContext(browsertest.Start(t, ctx, supMic))
	defer closeBoard()
	pageLogin(t, board, "http://"+sw.HTTPAddr().String()+"/board.html", "sam", `#board`)
	supEar := pageEar{"the supervisor", board}

	// The caller and the phone talk from the test's sockets (symmetric
	// RTP), each with its own pitch.
	phoneSink, callerSink := newRTPSink(t), newRTPSink(t)
	stopTalk := make(chan struct{})
	var talkers sync.WaitGroup
	for _, c := range []struct {
		s  *rtpSink
		hz float64
	}{{phoneSink, agentHz}, {callerSink, callerHz}} {
		talkers.Add(1)
		go func() {
			defer talkers.Done()
			talkBack(c.s, tone8k(c.hz), stopTalk)
		}()
	}
	defer func() { close(stopTalk); talkers.Wait() }()
	phone := make(chan int, 1)
	go func() {
		code, _ := sipp{scenario: "phone.xml", port: phonePort, timeout: 40 * time.Second,
			keys: map[string]string{"sink_port": phoneSink.port()},
			vars: map[string]string{"ANSWER_MS": "300", "INVITE_RE": ".*"}}.run(t, sw)
		phone <- code
	}()
	time.Sleep(300 * time.Millisecond) // SIPp's UAS socket is bound
	caller := make(chan int, 1)
	go func() {
		code, _ := sipp{scenario: "sink_caller.xml", keys: map[string]string{"sink_port": callerSink.port()},
			vars: map[string]string{"WAIT_MS": "20000"}}.run(t, sw)
		caller <- code
	}()
	if err := waitFor(ctx, "bob talks on his phone", func() bool { return agentState(sw, "bob") == routing.StateBusy }); err != nil {
		t.Fatal(err)
	}
	waitBoard(t, ctx, board, `tr[data-agent="bob"]`, "busy")
	clickOn(t, board, `button[data-monitor="bob"][data-mode="whisper"]`)
	monitorMode(t, ctx, board, "whispering")
	whispered := time.Now()
	supEar.hears(t, ctx, callerHz)
	supEar.hears(t, ctx, agentHz)
	if err := waitFor(ctx, "the phone hears the supervisor", func() bool {
		return voiceFrames(since(phoneSink.packets(), whispered), supervisorHz, 400) >= 25
	}); err != nil {
		t.Fatalf("%v: %s", err, loudest(since(phoneSink.packets(), whispered), supervisorHz))
	}
	if n := voiceFrames(since(phoneSink.packets(), whispered), callerHz, 400); n < 25 {
		t.Fatalf("whisper: the phone heard the caller in only %d frames", n)
	}
	if n := voiceFrames(since(callerSink.packets(), whispered), supervisorHz, 400); n > 0 {
		t.Fatalf("whisper: the caller heard the supervisor in %d frames", n)
	}
	if n := voiceFrames(since(callerSink.packets(), whispered), agentHz, 400); n < 25 {
		t.Fatalf("whisper: the caller heard the phone in only %d frames", n)
	}
	for who, ch := range map[string]chan int{"caller": caller, "phone": phone} {
		select {
		case code := <-ch:
			if code != 0 {
				t.Fatalf("SIPp %s failed (exit %d)", who, code)
			}
		case <-ctx.Done():
			t.Fatalf("SIPp %s still running", who)
		}
	}
	if n := voiceFrames(since(callerSink.packets(), whispered), supervisorHz, 400); n > 0 {
		t.Fatalf("whisper: the caller heard the supervisor in %d frames", n)
	}
	waitText(t, ctx, board, "the wallboard says the call ended", `document.getElementById('status').innerText`, "You are off bob's call")
	waitIdle(t, sw, 10*time.Second)
	wantMetric(t, metricsText(t, sw), `voxdesk_agentapi_monitors_active 0`)
}
