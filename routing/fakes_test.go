package routing

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/call/calltest"
)

// fakeClock is a manual clock: timers fire only in Advance, in order, from
// the test goroutine.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c         *fakeClock
	at        time.Time
	f         func()
	cancelled bool
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.cancelled
	t.cancelled = true
	return was
}

// Advance moves time on by d, firing due timers in time order.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	target := c.now.Add(d)
	for {
		sort.SliceStable(c.timers, func(i, j int) bool { return c.timers[i].at.Before(c.timers[j].at) })
		var due *fakeTimer
		for i, t := range c.timers {
			if t.cancelled {
				continue
			}
			if !t.at.After(target) {
				due = t
				c.timers = append(c.timers[:i:i], c.timers[i+1:]...)
			}
			break
		}
		if due == nil {
			// Drop cancelled timers at the front and stop.
			live := c.timers[:0]
			for _, t := range c.timers {
				if !t.cancelled {
					live = append(live, t)
				}
			}
			c.timers = live
			break
		}
		due.cancelled = true
		if due.at.After(c.now) {
			c.now = due.at
		}
		c.mu.Unlock()
		due.f()
		c.mu.Lock()
	}
	c.now = target
	c.mu.Unlock()
}

// phoneEvent is one call the router made on the fake phones.
type phoneEvent struct {
	kind   string // "ring" or "cancel"
	agent  string
	callID string
	reason string
	offer  Offer
}

func (e phoneEvent) String() string {
	return fmt.Sprintf("%s %s %s %s", e.kind, e.agent, e.callID, e.reason)
}

// fakePhones records rings and cancels and hands out calltest agent legs.
type fakePhones struct {
	events  chan phoneEvent
	mu      sync.Mutex
	legs    map[string]*calltest.Leg    // agent/call -> leg handed out
	legErr  map[string]error            // agent -> error from Leg
	ringErr map[string]error            // agent -> error from Ring
	scripts map[string][]calltest.Event // agent -> what their legs say
}

func newFakePhones() *fakePhones {
	return &fakePhones{events: make(chan phoneEvent, 256), legs: map[string]*calltest.Leg{},
		legErr: map[string]error{}, ringErr: map[string]error{}, scripts: map[string][]calltest.Event{}}
}

func (p *fakePhones) Ring(ctx context.Context, agentID string, o Offer) error {
	p.mu.Lock()
	err := p.ringErr[agentID]
	p.mu.Unlock()
	if err != nil {
		return err
	}
	p.events <- phoneEvent{kind: "ring", agent: agentID, callID: o.CallID, offer: o}
	return nil
}

func (p *fakePhones) Cancel(ctx context.Context, agentID, callID, reason string) error {
	p.events <- phoneEvent{kind: "cancel", agent: agentID, callID: callID, reason: reason}
	return nil
}

func (p *fakePhones) Leg(ctx context.Context, agentID, callID string) (call.Leg, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.legErr[agentID]; err != nil {
		return nil, err
	}
	l := calltest.NewLeg(p.scripts[agentID]...)
	l.Pace = true
	p.legs[agentID+"/"+callID] = l
	return l, nil
}

// leg waits for the agent leg of a call to be handed out.
func (p *fakePhones) leg(t *testing.T, agentID, callID string) *calltest.Leg {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		l := p.legs[agentID+"/"+callID]
		p.mu.Unlock()
		if l != nil {
			return l
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("no agent leg for %s/%s", agentID, callID)
	return nil
}

// fakeAnnouncer records announcements per call; each one writes a frame of
// tone to the leg (so scripted digits fall due after it), hold waits.
type fakeAnnouncer struct {
	mu   sync.Mutex
	byID map[call.Leg][]Announcement
}

func newFakeAnnouncer() *fakeAnnouncer { return &fakeAnnouncer{byID: map[call.Leg][]Announcement{}} }

func (a *fakeAnnouncer) Announce(ctx context.Context, leg call.Leg, m Announcement) error {
	if m.Kind == AnnounceHold {
		<-ctx.Done()
		return ctx.Err()
	}
	a.mu.Lock()
	a.byID[leg] = append(a.byID[leg], m)
	a.mu.Unlock()
	frame := make([]int16, call.FrameSamples)
	for i := range frame {
		frame[i] = 1000
	}
	return leg.WriteAudio(ctx, frame)
}

func (a *fakeAnnouncer) heard(leg call.Leg) []Announcement {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Announcement(nil), a.byID[leg]...)
}

// waitHeard waits until leg has heard an announcement of kind.
func (a *fakeAnnouncer) waitHeard(t *testing.T, leg call.Leg, kind AnnouncementKind) Announcement {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range a.heard(leg) {
			if m.Kind == kind {
				return m
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("caller never heard %q; heard %+v", kind, a.heard(leg))
	return Announcement{}
}

// fakeDialer answers call-backs with calltest legs.
type fakeDialer struct {
	mu     sync.Mutex
	dialed []string
	fail   int  // fail this many dials first
	block  bool // ring until ctx is done
	legs   []*calltest.Leg
}

func (d *fakeDialer) Dial(ctx context.Context, target, from string) (call.Leg, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dialed = append(d.dialed, target)
	if d.block {
		d.mu.Unlock()
		<-ctx.Done()
		d.mu.Lock()
		return nil, ctx.Err()
	}
	if d.fail > 0 {
		d.fail--
		return nil, errors.New("no answer")
	}
	l := calltest.NewLeg()
	l.Pace = true
	d.legs = append(d.legs, l)
	return l, nil
}

func (d *fakeDialer) calls() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.dialed...)
}

// harness runs a Router on a fake clock with fake phones.
type harness struct {
	t       *testing.T
	r       *Router
	clock   *fakeClock
	phones  *fakePhones
	ann     *fakeAnnouncer
	ctx     context.Context
	wg      sync.WaitGroup
	numbers int
}

// queuedCall is a call whose handler sits in Enqueue.
type queuedCall struct {
	c    *call.Call
	leg  *calltest.Leg
	done chan struct{}
	out  Outcome
	err  error
}

func newHarness(t *testing.T, cfg Config, opts ...Option) *harness {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	h := &harness{t: t, clock: newFakeClock(), phones: newFakePhones(), ann: newFakeAnnouncer(), ctx: ctx}
	opts = append([]Option{WithClock(h.clock), WithPhones(h.phones), WithAnnouncer(h.ann)}, opts...)
	r, err := New(cfg, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h.r = r
	runErr := make(chan error, 1)
	go func() { runErr <- r.Run(context.Background()) }()
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if n := r.badMoves.Load(); n != 0 {
			t.Errorf("%d state changes outside the tables of state.go (see the log)", n)
		}
		if err := <-runErr; err != nil {
			t.Errorf("Run: %v", err)
		}
		waited := make(chan struct{})
		go func() { h.wg.Wait(); close(waited) }()
		select {
		case <-waited:
		case <-time.After(5 * time.Second):
			t.Errorf("queued calls still blocked 5 s after Close")
		}
		cancel()
		goleak.VerifyNone(t)
	})
	return h
}

// sync waits until the loop has run everything sent to it so far.
func (h *harness) sync() Snapshot {
	h.t.Helper()
	var s Snapshot
	if err := h.r.exec(h.ctx, func() { s = h.r.snapshot() }); err != nil {
		h.t.Fatalf("sync: %v", err)
	}
	return s
}

func (h *harness) advance(d time.Duration) {
	h.clock.Advance(d)
	h.sync()
}

func (h *harness) available(id string, skills map[string]int) {
	h.t.Helper()
	if skills == nil {
		skills = map[string]int{}
	}
	if err := h.r.Login(h.ctx, AgentInfo{ID: id, Skills: skills}); err != nil {
		h.t.Fatalf("Login %s: %v", id, err)
	}
	if err := h.r.SetState(h.ctx, id, StateAvailable, ""); err != nil {
		h.t.Fatalf("SetState %s: %v", id, err)
	}
}

func (h *harness) enqueue(id string, req Request, script ...calltest.Event) *queuedCall {
	h.t.Helper()
	leg := calltest.NewLeg(script...)
	leg.Pace = true
	c := call.New(id, leg, nil)
	h.numbers++
	c.Caller = fmt.Sprintf("+44207900%04d", h.numbers)
	q := &queuedCall{c: c, leg: leg, done: make(chan struct{})}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		defer close(q.done)
		q.out, q.err = h.r.Enqueue(h.ctx, c, req)
	}()
	// Wait until the loop has the call.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		var in bool
		if err := h.r.exec(h.ctx, func() { in = h.r.entries[id] != nil }); err != nil {
			h.t.Fatalf("enqueue %s: %v", id, err)
		}
		if in {
			return q
		}
		select {
		case <-q.done:
			h.t.Fatalf("Enqueue %s returned at once: %+v %v", id, q.out, q.err)
		default:
		}
		time.Sleep(time.Millisecond)
	}
	h.t.Fatalf("call %s never queued", id)
	return nil
}

func (q *queuedCall) wait(t *testing.T) (Outcome, error) {
	t.Helper()
	select {
	case <-q.done:
		return q.out, q.err
	case <-time.After(5 * time.Second):
		t.Fatalf("Enqueue %s did not return", q.c.ID)
		return Outcome{}, nil
	}
}

// next returns the router's next call on the phones.
func (h *harness) next() phoneEvent {
	h.t.Helper()
	select {
	case e := <-h.phones.events:
		return e
	case <-time.After(5 * time.Second):
		h.t.Fatalf("no ring or cancel within 5 s")
		return phoneEvent{}
	}
}

func (h *harness) expectRing(agent, callID string) Offer {
	h.t.Helper()
	e := h.next()
	if e.kind != "ring" || e.agent != agent || e.callID != callID {
		h.t.Fatalf("got %v, want ring %s %s", e, agent, callID)
	}
	return e.offer
}

func (h *harness) expectCancel(agent, callID string) phoneEvent {
	h.t.Helper()
	e := h.next()
	if e.kind != "cancel" || e.agent != agent || e.callID != callID {
		h.t.Fatalf("got %v, want cancel %s %s", e, agent, callID)
	}
	return e
}

// expectNothingRinging checks that no agent is being offered a call.
func (h *harness) expectNothingRinging() {
	h.t.Helper()
	for _, a := range h.sync().Agents {
		if a.State == StateOffered {
			h.t.Fatalf("agent %s is offered %s, want no offer", a.ID, a.CallID)
		}
	}
}

func (h *harness) agent(id string) AgentStatus {
	h.t.Helper()
	for _, a := range h.sync().Agents {
		if a.ID == id {
			return a
		}
	}
	return AgentStatus{ID: id, State: StateLoggedOut}
}

func (h *harness) expectState(id string, s State, reason string) {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		a := h.agent(id)
		if a.State == s && (reason == "" || a.Reason == reason) {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("agent %s is %s (%q), want %s (%q)", id, a.State, a.Reason, s, reason)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (h *harness) queue(name string) QueueStats {
	h.t.Helper()
	for _, q := range h.sync().Queues {
		if q.Name == name {
			return q
		}
	}
	h.t.Fatalf("no queue %s", name)
	return QueueStats{}
}
