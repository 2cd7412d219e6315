package agentapi

import (
	"context"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/call/calltest"
	"github.com/voxdesk/voxdesk/routing"
)

// withRealRouter wires the agent API to a running routing.Router, the way
// service does: the router rings through the Server (routing.Phones), the
// Server's buttons act on the router, the wallboard reads its snapshots.
func withRealRouter(t *testing.T, ctx context.Context, opts ...routing.Option) (*testEnv, *routing.Router) {
	t.Helper()
	return withRealRouterWrapUp(t, ctx, time.Minute, nil, opts...)
}

// withRealRouterWrapUp is withRealRouter with the router's wrap-up time
// and more options for the agent API.
func withRealRouterWrapUp(t *testing.T, ctx context.Context, wrapUp time.Duration, apiOpts []Option, opts ...routing.Option) (*testEnv, *routing.Router) {
	t.Helper()
	var rp atomic.Pointer[routing.Router]
	e := newEnv(t, append([]Option{WithBoard(BoarderFunc(func(ctx context.Context) (Board, error) {
		if r := rp.Load(); r != nil {
			return RouterBoard(r).Board(ctx)
		}
		return Board{}, nil
	})), WithCallbacks(lazyCallbacks{&rp})}, apiOpts...)...)
	r, err := routing.New(routing.Config{
		Queues:       []routing.QueueConfig{{Name: "support", AnnounceInterval: -1}, {Name: "callback", AnnounceInterval: -1}},
		OfferTimeout: 20 * time.Second,
		WrapUp:       wrapUp,
	}, append(opts, routing.WithPhones(e.srv))...)
	if err != nil {
		t.Fatal(err)
	}
	e.srv.SetRouter(r)
	rp.Store(r)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = r.Run(ctx)
	}()
	t.Cleanup(func() {
		_ = r.Close()
		<-done
	})
	return e, r
}

func toneCaller(id string) (*call.Call, *calltest.Leg) {
	speech := make([]int16, 30*call.SampleRate)
	for i := range speech {
		speech[i] = int16(8000 * math.Sin(2*math.Pi*1000*float64(i)/call.SampleRate))
	}
	leg := calltest.NewLeg(calltest.Event{Speech: speech})
	leg.Pace = true
	c := call.New(id, leg, nil)
	c.Channel, c.Caller = call.ChannelSIP, "+441632960001"
	c.SetVar(call.VarCustomer, "C1")
	c.SetVar(call.VarIdentMethod, string(call.MethodVoice))
	c.SetVar(call.VarIdentScore, "0.91")
	return c, leg
}

func agentState(r *routing.Router, id string) (routing.State, string) {
	for _, a := range r.Snapshot().Agents {
		if a.ID == id {
			return a.State, a.Reason
		}
	}
	return routing.StateLoggedOut, ""
}

func TestBrowserWithRouter(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	e, r := withRealRouter(t, ctx)
	tab, closeTab := browser(t, ctx)
	defer closeTab()
	loginAndGoAvailableReal(t, tab, e, r)

	c, caller := toneCaller("call-ada")
	outc := make(chan routing.Outcome, 1)
	go func() {
		out, err := r.Enqueue(ctx, c, routing.Request{Queue: "support"})
		if err != nil {
			t.Errorf("Enqueue: %v", err)
		}
		outc <- out
	}()
	var file string
	if err := chromedp.Run(tab,
		chromedp.WaitVisible("#offer", chromedp.ByID),
		chromedp.Text("#offer-file", &file, chromedp.ByID),
	); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(file, "Ada Lovelace") || !strings.Contains(file, "voice (score 0.91)") {
		t.Fatalf("ringing page shows %q", file)
	}
	if err := chromedp.Run(tab, chromedp.Click("#btn-answer", chromedp.ByID), chromedp.WaitVisible("#talk", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(ctx, "page audio at the caller", func() bool { return loudFrames(caller.Written()) > 50 }); err != nil {
		t.Fatal(err)
	}
	var st rtpStats
	if err := waitFor(ctx, "caller audio in the page", func() bool {
		var err error
		st, err = pageStats(tab)
		return err == nil && st.Packets > 100 && st.Energy > 0.01
	}); err != nil {
		t.Fatalf("%v (%+v)", err, st)
	}
	if s, _ := agentState(r, "alice"); s != routing.StateBusy {
		t.Errorf("agent state %q while talking", s)
	}
	if err := chromedp.Run(tab, chromedp.Click("#btn-hangup", chromedp.ByID), chromedp.WaitVisible("#wrap", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	var out routing.Outcome
	select {
	case out = <-outc:
	case <-ctx.Done():
		t.Fatal("Enqueue did not return after the agent hung up")
	}
	if out.Result != routing.ResultAnswered || out.Agent != "alice" || !out.AgentHungUp || caller.Cause() == call.CauseNone {
		t.Fatalf("outcome %+v, caller cause %v", out, caller.Cause())
	}
	// Wrap-up, then available again; the wallboard counts the call.
	if s, _ := agentState(r, "alice"); s != routing.StateWrapUp {
		t.Errorf("agent state %q after the call, want wrap-up", s)
	}
	if err := chromedp.Run(tab,
		chromedp.SendKeys("#wrap-notes", "done", chromedp.ByID),
		chromedp.Click("#btn-wrap-save", chromedp.ByID),
		chromedp.WaitNotVisible("#wrap", chromedp.ByID),
	); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(ctx, "available after wrap-up", func() bool { s, _ := agentState(r, "alice"); return s == routing.StateAvailable }); err != nil {
		t.Fatal(err)
	}
	b, _ := RouterBoard(r).Board(ctx)
	if len(b.Queues) != 2 || b.Queues[0].Name != "support" || b.Queues[0].Answered != 1 || b.Queues[0].Waiting != 0 {
		t.Fatalf("wallboard %+v", b.Queues)
	}
	if err := waitFor(ctx, "page shows available", func() bool {
		var s string
		_ = chromedp.Run(tab, chromedp.Text("#state", &s, chromedp.ByID))
		return s == "available"
	}); err != nil {
		t.Fatal(err)
	}
}

func TestBrowserClosedWhileTalkingRequeues(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	e, r := withRealRouter(t, ctx)
	tab, closeTab := browser(t, ctx)
	loginAndGoAvailableReal(t, tab, e, r)

	c, caller := toneCaller("call-lost")
	outc := make(chan routing.Outcome, 1)
	go func() {
		out, _ := r.Enqueue(ctx, c, routing.Request{Queue: "support"})
		outc <- out
	}()
	if err := chromedp.Run(tab, chromedp.WaitVisible("#offer", chromedp.ByID),
		chromedp.Click("#btn-answer", chromedp.ByID), chromedp.WaitVisible("#talk", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(ctx, "page audio at the caller", func() bool { return loudFrames(caller.Written()) > 10 }); err != nil {
		t.Fatal(err)
	}
	closeTab()
	// The caller is not lost: back at the head of the queue, still up;
	// the agent is away with the connection lost.
	if err := waitFor(ctx, "caller re-queued", func() bool {
		s := r.Snapshot()
		return len(s.Queues) > 0 && s.Queues[0].Waiting == 1
	}); err != nil {
		t.Fatal(err)
	}
	if st, reason := agentState(r, "alice"); st != routing.StateAway || reason != routing.ReasonConnectionLost {
		t.Errorf("agent %q (%s), want away (connection lost)", st, reason)
	}
	if caller.Cause() != call.CauseNone {
		t.Fatalf("caller hung up (%v)", caller.Cause())
	}
	_ = caller.Hangup(ctx, call.CauseNormal)
	select {
	case out := <-outc:
		if out.Result != routing.ResultAbandoned {
			t.Errorf("outcome %+v after the caller gave up", out)
		}
	case <-ctx.Done():
		t.Fatal("Enqueue did not return")
	}
}

func loginAndGoAvailableReal(t *testing.T, tab context.Context, e *testEnv, r *routing.Router) {
	t.Helper()
	// A waiting call is offered at once: available or already offered.
	loginAs(t, tab, e, func() bool {
		s, _ := agentState(r, "alice")
		return s == routing.StateAvailable || s == routing.StateOffered
	})
}

// lazyCallbacks reaches the router once it exists (the router needs the
// Server first, as its Phones).
type lazyCallbacks struct {
	r *atomic.Pointer[routing.Router]
}

func (l lazyCallbacks) Book(ctx context.Context, r CallbackRequest) (string, error) {
	return RouterCallbacks(l.r.Load()).Book(ctx, r)
}
func (l lazyCallbacks) Status(ctx context.Context, id string) (CallbackStatus, error) {
	return RouterCallbacks(l.r.Load()).Status(ctx, id)
}
func (l lazyCallbacks) Cancel(ctx context.Context, id string) error {
	return RouterCallbacks(l.r.Load()).Cancel(ctx, id)
}

// dialer places the call-back: the customer's phone is a scripted leg.
type dialer struct {
	mu     sync.Mutex
	dialed []string
	leg    *calltest.Leg
}

func (d *dialer) Dial(ctx context.Context, target, from string) (call.Leg, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dialed = append(d.dialed, target)
	_, d.leg = toneCaller("dialled")
	return d.leg, nil
}

func (d *dialer) customer() *calltest.Leg {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.leg
}

func TestBrowserCallMeBackWithRouter(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	d := &dialer{}
	e, r := withRealRouter(t, ctx, routing.WithDialer(d))
	widget, closeWidget := browser(t, ctx)
	defer closeWidget()
	agent, closeAgent := chromedp.NewContext(widget) // a second tab
	defer closeAgent()

	statusText := func() string {
		var s string
		_ = chromedp.Run(widget, chromedp.Text("#callback-status", &s, chromedp.ByID))
		return s
	}
	if err := chromedp.Run(widget,
		chromedp.Navigate(e.ts.URL+"/callback.html"),
		chromedp.SendKeys("#name", "Charles Babbage", chromedp.ByID),
		chromedp.SendKeys("#phone", "+44 1632 960002", chromedp.ByID),
		chromedp.Click("#btn-callback", chromedp.ByID),
	); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(ctx, "queued position", func() bool { return strings.Contains(statusText(), "number 1 in the queue") }); err != nil {
		t.Fatalf("%v (%q)", err, statusText())
	}

	loginAndGoAvailableReal(t, agent, e, r)
	var file string
	if err := chromedp.Run(agent,
		chromedp.WaitVisible("#offer", chromedp.ByID),
		chromedp.Text("#offer-file", &file, chromedp.ByID),
	); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(file, "Says they are Charles Babbage") || !strings.Contains(file, "answering dials the customer") {
		t.Errorf("call-back offer shows %q", file)
	}
	if err := chromedp.Run(agent, chromedp.Click("#btn-answer", chromedp.ByID), chromedp.WaitVisible("#talk", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(ctx, "customer dialled and hearing the agent", func() bool {
		l := d.customer()
		return l != nil && loudFrames(l.Written()) > 25
	}); err != nil {
		t.Fatal(err)
	}
	if d.dialed[0] != "+441632960002" {
		t.Errorf("dialled %q", d.dialed)
	}
	if err := waitFor(ctx, "widget shows connected", func() bool { return strings.Contains(statusText(), "talking to an advisor") }); err != nil {
		t.Fatalf("%v (%q)", err, statusText())
	}
	if err := chromedp.Run(agent, chromedp.Click("#btn-hangup", chromedp.ByID), chromedp.WaitVisible("#wrap", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(ctx, "customer's leg hung up", func() bool { return d.customer().Cause() != call.CauseNone }); err != nil {
		t.Fatal(err)
	}
}
