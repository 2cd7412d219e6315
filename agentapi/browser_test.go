package agentapi

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/call/calltest"
	"github.com/voxdesk/voxdesk/internal/browsertest"
	"github.com/voxdesk/voxdesk/routing"
)

// The browser tests drive the real agent page in headless Chromium (the
// Debian package; never a downloaded browser) with a fake microphone
// playing a WAV file, against the real agent API and pion WebRTC stack on
// 127.0.0.1. They are skipped with -short or when chromium is missing.

// browser starts Chromium (fake microphone: the agent's tone) and returns
// a context for one tab, plus a function closing that tab only.
func browser(t *testing.T, ctx context.Context) (tab context.Context, closeTab func()) {
	t.Helper()
	browsertest.Path(t)
	wav := filepath.Join(t.TempDir(), "mic.wav")
	browsertest.WriteToneWAV(t, wav)
	return chromedp.NewContext(browsertest.Start(t, ctx, wav))
}

// callerSide is the Go end of a call bridged to the agent's page: the
// fake router answers by fetching the agent leg from the agent API
// (routing.Phones.Leg) and bridging it to a scripted caller leg.
type callerSide struct {
	mu       sync.Mutex
	caller   *calltest.Leg
	agentLeg call.Leg
	cancel   context.CancelFunc
	bridged  chan struct{}
	done     chan struct{}
}

func newCallerSide(e *testEnv, t *testing.T) *callerSide {
	cs := &callerSide{bridged: make(chan struct{}), done: make(chan struct{})}
	cs.caller = calltest.NewLeg(calltest.Event{Speech: farTone()})
	cs.caller.Pace = true
	e.router.onAnswer = func(agentID, callID string) {
		defer close(cs.done)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		leg, err := e.srv.Leg(ctx, agentID, callID)
		if err != nil {
			t.Errorf("Phones.Leg: %v", err)
			return
		}
		cs.mu.Lock()
		cs.agentLeg, cs.cancel = leg, cancel
		cs.mu.Unlock()
		close(cs.bridged)
		_, _ = call.Bridge(ctx, cs.caller, leg)
	}
	// The router ends a call the agent hangs up: both legs go.
	e.router.onHangup = func(agentID, callID string) {
		cs.mu.Lock()
		defer cs.mu.Unlock()
		if cs.agentLeg != nil {
			_ = cs.agentLeg.Hangup(context.Background(), call.CauseNormal)
			_ = cs.caller.Hangup(context.Background(), call.CauseNormal)
		}
	}
	return cs
}

// farTone is what the far party says in the browser tests: a 1 kHz
// tone for 20 s.
func farTone() []int16 {
	speech := make([]int16, 20*call.SampleRate)
	for i := range speech {
		speech[i] = int16(8000 * math.Sin(2*math.Pi*1000*float64(i)/call.SampleRate))
	}
	return speech
}

func rms(x []int16) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(max(len(x), 1)))
}

// loudFrames counts 20 ms frames of the caller's received audio whose RMS
// shows the page's microphone tone rather than silence or noise.
func loudFrames(pcm []int16) int { return framesAbove(pcm, 1000) }

// framesAbove counts 20 ms frames whose RMS exceeds level.
func framesAbove(pcm []int16, level float64) int {
	n := 0
	for i := 0; i+call.FrameSamples <= len(pcm); i += call.FrameSamples {
		if rms(pcm[i:i+call.FrameSamples]) > level {
			n++
		}
	}
	return n
}

type rtpStats struct {
	Packets int     `json:"packets"`
	Energy  float64 `json:"energy"`
	Mime    string  `json:"mime"`
}

const statsJS = `(async () => {
  const pc = window.voxdesk && window.voxdesk.pc;
  const r = {packets: 0, energy: 0, mime: ''};
  if (!pc) return r;
  const st = await pc.getStats();
  st.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'audio') {
      r.packets = s.packetsReceived;
      r.energy = s.totalAudioEnergy || 0;
      const c = st.get(s.codecId);
      if (c) r.mime = c.mimeType;
    }
  });
  return r;
})()`

func pageStats(ctx context.Context) (rtpStats, error) {
	var r rtpStats
	err := chromedp.Run(ctx, chromedp.Evaluate(statsJS, &r, awaitPromise))
	return r, err
}

func awaitPromise(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }

// waitFor polls cond every 50 ms until it holds or ctx ends.
func waitFor(ctx context.Context, what string, cond func() bool) error {
	for !cond() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// loginAndGoAvailable opens the softphone, logs alice in and presses
// Available.
func loginAndGoAvailable(t *testing.T, tab context.Context, e *testEnv) {
	t.Helper()
	loginAs(t, tab, e, func() bool { return e.router.has("state alice available") })
}

// loginAs logs alice in, waits for her softphone's media and presses
// Available until available() holds.
func loginAs(t *testing.T, tab context.Context, e *testEnv, available func() bool) {
	t.Helper()
	err := chromedp.Run(tab,
		chromedp.Navigate(e.ts.URL+"/agent.html"),
		chromedp.WaitVisible("#login-user", chromedp.ByID),
		chromedp.SendKeys("#login-user", "alice", chromedp.ByID),
		chromedp.SendKeys("#login-pass", "alice-secret", chromedp.ByID),
		chromedp.Click("#login-submit", chromedp.ByID),
		chromedp.WaitVisible("#desk", chromedp.ByID),
		chromedp.WaitVisible("#btn-available", chromedp.ByID),
	)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	// The page's softphone is connected before calls are offered.
	if err := waitFor(tab, "softphone media", func() bool {
		var s string
		_ = chromedp.Run(tab, chromedp.Text("#media", &s, chromedp.ByID))
		return s == "audio: connected"
	}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Run(tab, chromedp.Click("#btn-available", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(tab, "state available", available); err != nil {
		t.Fatal(err)
	}
}

var adaOffer = routing.Offer{
	CallID: "call-ada", Queue: "support", Caller: "+441632960001", Channel: call.ChannelSIP,
	Customer: "C1", IdentMethod: call.MethodVoice, IdentScore: 0.91, Waited: 7 * time.Second,
}

// ringAndCheckFile rings the page and checks that the customer's name and
// identification are on screen before anything is answered.
func ringAndCheckFile(t *testing.T, tab context.Context, e *testEnv) {
	t.Helper()
	if err := e.srv.Ring(tab, "alice", adaOffer); err != nil {
		t.Fatalf("Ring: %v", err)
	}
	var file, ident string
	err := chromedp.Run(tab,
		chromedp.WaitVisible("#offer", chromedp.ByID),
		chromedp.Text("#offer-file", &file, chromedp.ByID),
		chromedp.Text(`#offer-file [data-testid="ident"]`, &ident, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("offer on the page: %v", err)
	}
	if !strings.Contains(file, "Ada Lovelace") || !strings.Contains(file, "gold") || !strings.Contains(ident, "voice (score 0.91)") {
		t.Fatalf("ringing page shows %q / %q: want the name, segment and voice score", file, ident)
	}
	if e.router.has("answer alice call-ada") {
		t.Fatal("answered before the agent pressed Answer")
	}
}

func TestBrowserAgentTakesCall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// Music on hold: a 400 Hz tone of amplitude 3000 (RMS 2121).
	hold := make([]int16, call.SampleRate)
	for i := range hold {
		hold[i] = int16(3000 * math.Sin(2*math.Pi*400*float64(i)/call.SampleRate))
	}
	e := newEnv(t, WithHoldAudio(hold))
	cs := newCallerSide(e, t)
	tab, closeTab := browser(t, ctx)
	defer closeTab()

	loginAndGoAvailable(t, tab, e)
	ringAndCheckFile(t, tab, e)

	answerOnPage(t, ctx, tab, cs)

	// Caller -> page: the page's inbound RTP carries the caller's tone as
	// G.711.
	var st rtpStats
	if err := waitFor(ctx, "caller audio in the page", func() bool {
		var err error
		st, err = pageStats(tab)
		return err == nil && st.Packets > 100 && st.Energy > 0.01
	}); err != nil {
		t.Fatalf("%v (last stats %+v)", err, st)
	}
	if st.Mime != "audio/PCMU" {
		t.Errorf("page receives %q, want audio/PCMU", st.Mime)
	}
	// Page -> caller: the fake microphone's tone reaches the Go caller leg.
	if err := waitFor(ctx, "page audio at the caller", func() bool { return loudFrames(cs.caller.Written()) > 50 }); err != nil {
		t.Fatal(err)
	}
	t.Logf("page stats %+v; caller received %d loud frames", st, loudFrames(cs.caller.Written()))

	// Hold: the caller hears the hold music instead of the agent.
	if err := chromedp.Run(tab, chromedp.Click("#btn-hold", chromedp.ByID),
		chromedp.WaitVisible(`#btn-hold[aria-pressed="true"]`, chromedp.ByQuery)); err != nil {
		t.Fatalf("hold: %v", err)
	}
	time.Sleep(300 * time.Millisecond)
	before := len(cs.caller.Written())
	time.Sleep(500 * time.Millisecond)
	held := cs.caller.Written()[before:]
	music := 0
	for i := 0; i+call.FrameSamples <= len(held); i += call.FrameSamples {
		if r := rms(held[i : i+call.FrameSamples]); r > 2000 && r < 2250 {
			music++
		}
	}
	if n := len(held) / call.FrameSamples; n < 10 || music < n-1 {
		t.Errorf("on hold the caller got %d frames, %d of them hold music: want only music", n, music)
	}
	if err := chromedp.Run(tab, chromedp.Click("#btn-hold", chromedp.ByID),
		chromedp.WaitVisible(`#btn-hold[aria-pressed="false"]`, chromedp.ByQuery)); err != nil {
		t.Fatalf("resume: %v", err)
	}

	// Mute: the caller hears silence, not the agent; unmute brings the
	// agent back.
	if err := chromedp.Run(tab, chromedp.Click("#btn-mute", chromedp.ByID),
		chromedp.WaitVisible(`#btn-mute[aria-pressed="true"]`, chromedp.ByQuery)); err != nil {
		t.Fatalf("mute: %v", err)
	}
	time.Sleep(300 * time.Millisecond)
	before = len(cs.caller.Written())
	time.Sleep(500 * time.Millisecond)
	if muted := cs.caller.Written()[before:]; len(muted) < 10*call.FrameSamples || framesAbove(muted, 50) > 0 {
		t.Errorf("muted: the caller got %d frames above silence of %d", framesAbove(muted, 50), len(muted)/call.FrameSamples)
	}
	if err := chromedp.Run(tab, chromedp.Click("#btn-mute", chromedp.ByID),
		chromedp.WaitVisible(`#btn-mute[aria-pressed="false"]`, chromedp.ByQuery)); err != nil {
		t.Fatalf("unmute: %v", err)
	}
	// Chromium's noise suppression slowly fades a steady test tone, so
	// "heard" is any frame clearly above the silence mute leaves.
	before = len(cs.caller.Written())
	if err := waitFor(ctx, "the agent heard again", func() bool { return framesAbove(cs.caller.Written()[before:], 300) > 10 }); err != nil {
		t.Fatal(err)
	}

	// Hang up from the page, then wrap up.
	if err := chromedp.Run(tab,
		chromedp.Click("#btn-hangup", chromedp.ByID),
		chromedp.WaitVisible("#wrap", chromedp.ByID),
		chromedp.SetValue("#wrap-disposition", "follow-up", chromedp.ByID),
		chromedp.SendKeys("#wrap-notes", "asked about the new tariff", chromedp.ByID),
		chromedp.Click("#btn-wrap-save", chromedp.ByID),
		chromedp.WaitNotVisible("#wrap", chromedp.ByID),
	); err != nil {
		t.Fatalf("hang up and wrap up: %v", err)
	}
	select {
	case <-cs.done:
	case <-ctx.Done():
		t.Fatal("bridge still running after hang-up")
	}
	if got := cs.agentLeg.Cause(); got != call.CauseNormal {
		t.Errorf("agent leg cause %v, want normal", got)
	}
	if err := waitFor(ctx, "wrap-up recorded", func() bool { return len(e.dir.wrapUps()) == 1 }); err != nil {
		t.Fatal(err)
	}
	w := e.dir.wrapUps()[0]
	if w.CallID != "call-ada" || w.CustomerID != "C1" || w.Agent != "alice" || w.Disposition != "follow-up" ||
		w.Notes != "asked about the new tariff" || w.Method != "voice" || w.Answered.IsZero() || w.Ended.Before(w.Answered) {
		t.Errorf("wrap-up %+v", w)
	}
	if !e.router.has("hangup alice call-ada") {
		t.Errorf("router calls %v: want the agent's hangup", e.router.recorded())
	}
}

func TestBrowserClosedWhileRinging(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e := newEnv(t)
	tab, closeTab := browser(t, ctx)
	loginAndGoAvailable(t, tab, e)
	ringAndCheckFile(t, tab, e)
	closeTab()
	if err := waitFor(ctx, "router told", func() bool { return e.router.has("disconnected alice") }); err != nil {
		t.Fatalf("%v; router calls %v", err, e.router.recorded())
	}
	if _, err := e.srv.Leg(ctx, "alice", adaOffer.CallID); err == nil {
		t.Fatal("Leg for a closed page succeeded")
	}
}

func TestBrowserClosedWhileTalking(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e := newEnv(t)
	cs := newCallerSide(e, t)
	tab, closeTab := browser(t, ctx)
	loginAndGoAvailable(t, tab, e)
	ringAndCheckFile(t, tab, e)
	if err := chromedp.Run(tab, chromedp.Click("#btn-answer", chromedp.ByID), chromedp.WaitVisible("#talk", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	<-cs.bridged
	if err := waitFor(ctx, "page audio at the caller", func() bool { return loudFrames(cs.caller.Written()) > 10 }); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	closeTab()
	select {
	case <-cs.agentLeg.Done():
	case <-ctx.Done():
		t.Fatal("agent leg still up after the page closed")
	}
	t.Logf("agent leg ended %v after the tab closed", time.Since(start).Round(time.Millisecond))
	if got := cs.agentLeg.Cause(); got != call.CauseFailure {
		t.Errorf("agent leg cause %v, want failure (agent gone)", got)
	}
	if err := waitFor(ctx, "router told", func() bool { return e.router.has("disconnected alice") }); err != nil {
		t.Fatal(err)
	}
	// The caller's leg is the router's to re-queue: the agent API left it up.
	if cs.caller.Cause() != call.CauseNone {
		t.Errorf("caller leg ended (%v) by the agent API", cs.caller.Cause())
	}
	_ = cs.caller.Hangup(ctx, call.CauseNormal)
	<-cs.done
}
