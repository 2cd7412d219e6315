package routing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/voxdesk/voxdesk/call"
)

// Router queues calls and puts them through to agents. Create it with New,
// start it with Run, stop it with Close.
type Router struct {
	cfg    Config
	log    *slog.Logger
	clock  Clock
	phones Phones
	ann    Announcer
	dialer call.Dialer
	dir    Directory
	m      *metrics

	ops       chan func()
	closing   chan struct{} // closed by Close
	done      chan struct{} // closed when the loop has stopped
	finished  chan struct{} // closed when Run has returned
	closeOnce sync.Once
	runOnce   sync.Once
	running   atomic.Bool
	startMu   sync.Mutex // orders SetPhones before Run
	started   bool

	events *mailbox[Event]
	subMu  sync.Mutex
	subs   map[int]func(Event)
	subID  int

	phoneq *mailbox[func(context.Context)]
	wg     sync.WaitGroup // goroutines started by Run

	// Loop state: touched only by the loop goroutine.
	runCtx  context.Context
	queues  map[string]*queue
	qorder  []*queue
	agents  map[string]*agent
	entries map[string]*entry
	seq     uint64
	timers  map[*timer]struct{}
	cbDone  map[string]CallbackStatus // finished call-backs, for CallbackStatus
	cbOrder []string

	badMoves atomic.Int64 // state changes the tables of state.go do not allow
}

// Option sets one of the router's collaborators.
type Option func(*Router)

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(r *Router) { r.log = l } }

// WithClock sets the time source (default: the system clock).
func WithClock(c Clock) Option { return func(r *Router) { r.clock = c } }

// WithPhones sets how agents' softphones are reached. Required by Run
// (or SetPhones before it).
func WithPhones(p Phones) Option { return func(r *Router) { r.phones = p } }

// SetPhones sets how agents' softphones are reached, for wiring where
// the phones need the Router first (the agent API takes the Router as
// its routing side and is the Router's Phones). It fails once Run has
// started.
func (r *Router) SetPhones(p Phones) error {
	r.startMu.Lock()
	defer r.startMu.Unlock()
	if r.started {
		return errors.New("routing: SetPhones after Run")
	}
	r.phones = p
	return nil
}

// WithAnnouncer sets what plays position announcements, call-back offers
// and hold music to queued callers (default: none, callers hear silence
// and no call-back is offered).
func WithAnnouncer(a Announcer) Option { return func(r *Router) { r.ann = a } }

// WithDialer sets how call-backs are dialled (default: none, so no
// call-back is offered).
func WithDialer(d call.Dialer) Option { return func(r *Router) { r.dialer = d } }

// WithDirectory sets where a customer's preferred advisor is looked up.
func WithDirectory(d Directory) Option { return func(r *Router) { r.dir = d } }

// WithRegisterer registers the router's Prometheus metrics.
func WithRegisterer(reg prometheus.Registerer) Option {
	return func(r *Router) { r.m.register(reg) }
}

// New returns a Router for cfg. It checks the configuration; it starts
// nothing.
func New(cfg Config, opts ...Option) (*Router, error) {
	cfg.fill()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	r := &Router{
		cfg:      cfg,
		log:      slog.New(slog.DiscardHandler),
		clock:    realClock{},
		m:        newMetrics(),
		ops:      make(chan func()),
		closing:  make(chan struct{}),
		done:     make(chan struct{}),
		finished: make(chan struct{}),
		events:   newMailbox[Event](),
		subs:     map[int]func(Event){},
		phoneq:   newMailbox[func(context.Context)](),
		queues:   map[string]*queue{},
		agents:   map[string]*agent{},
		entries:  map[string]*entry{},
		timers:   map[*timer]struct{}{},
		cbDone:   map[string]CallbackStatus{},
	}
	for _, o := range opts {
		o(r)
	}
	for _, qc := range cfg.Queues {
		skills, _ := parseSkills(qc.Skills) // validated
		q := &queue{cfg: qc, skills: skills, aht: cfg.HandleTime}
		r.queues[qc.Name] = q
		r.qorder = append(r.qorder, q)
	}
	for _, q := range r.qorder {
		if q.cfg.Overflow != "" {
			q.overflow = r.queues[q.cfg.Overflow]
		}
		r.m.initQueue(q.cfg.Name)
	}
	r.log = r.log.With("component", "routing")
	return r, nil
}

// Run runs the router's loop until ctx is done or Close is called, then
// stops every goroutine it started and waits for them. Queued callers get
// ErrClosed. It returns nil after Close, ctx.Err() when ctx ended it.
func (r *Router) Run(ctx context.Context) error {
	err := ErrClosed
	r.runOnce.Do(func() { err = r.run(ctx) })
	return err
}

func (r *Router) run(ctx context.Context) error {
	defer close(r.finished)
	r.startMu.Lock()
	r.started = true
	r.startMu.Unlock()
	if r.phones == nil {
		r.closeOnce.Do(func() { close(r.closing) })
		close(r.done)
		return ErrNoPhones
	}
	select {
	case <-r.closing:
		close(r.done)
		return nil
	default:
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.runCtx = runCtx
	r.running.Store(true)
	r.wg.Add(2)
	go r.deliverEvents(runCtx)
	go r.runPhones(runCtx)
	r.log.Info("router started", "queues", len(r.qorder))

	var err error
loop:
	for {
		select {
		case f := <-r.ops:
			f()
			r.dispatch()
		case <-r.closing:
			break loop
		case <-ctx.Done():
			err = ctx.Err()
			break loop
		}
	}
	r.running.Store(false)
	for t := range r.timers {
		t.t.Stop()
	}
	clear(r.timers)
	close(r.done)
	cancel()
	r.wg.Wait()
	r.log.Info("router stopped")
	return err
}

// Close stops the router now and waits for Run to return.
func (r *Router) Close() error {
	r.closeOnce.Do(func() { close(r.closing) })
	r.runOnce.Do(func() {
		// Run was never called: nothing to wait for.
		close(r.done)
		close(r.finished)
	})
	<-r.finished
	return nil
}

// exec runs f on the loop and waits for it.
func (r *Router) exec(ctx context.Context, f func()) error {
	done := make(chan struct{})
	op := func() { defer close(done); f() }
	select {
	case r.ops <- op:
	case <-r.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	<-done
	return nil
}

// do runs f on the loop like exec and returns f's error, or exec's when
// f could not run. f's named result lets a bare return report what was
// set so far.
func (r *Router) do(ctx context.Context, f func() error) error {
	var err error
	if e := r.exec(ctx, func() { err = f() }); e != nil {
		return e
	}
	return err
}

// post queues f for the loop without waiting for it to run; it gives up
// when the loop has stopped.
func (r *Router) post(f func()) {
	select {
	case r.ops <- f:
	case <-r.done:
	}
}

// timer is a clock timer whose function runs on the loop, unless it was
// stopped first.
type timer struct{ t Timer }

// after runs f on the loop in d. The clock's goroutine waits until f and
// the dispatch that follows it have run, so a clock that fires its timers
// in turn (the tests' fake one) has each f see the time it fell due at.
func (r *Router) after(d time.Duration, f func()) *timer {
	tm := &timer{}
	r.timers[tm] = struct{}{}
	tm.t = r.clock.AfterFunc(d, func() {
		r.post(func() {
			if _, live := r.timers[tm]; !live {
				return
			}
			delete(r.timers, tm)
			f()
		})
		ran := make(chan struct{})
		r.post(func() { close(ran) }) // after the dispatch that followed f
		select {
		case <-ran:
		case <-r.done:
		}
	})
	return tm
}

func (r *Router) stopTimer(tm **timer) {
	if *tm == nil {
		return
	}
	delete(r.timers, *tm)
	(*tm).t.Stop()
	*tm = nil
}

// queueOf is e's queue.
func (r *Router) queueOf(e *entry) *queue { return r.queues[e.queue] }

// agentOf is the agent e is offered to or connected to, or nil.
func (r *Router) agentOf(e *entry) *agent {
	if e.agentID == "" {
		return nil
	}
	return r.agents[e.agentID]
}

// callOf is the call a is offered or connected, or nil.
func (r *Router) callOf(a *agent) *entry {
	if a.callID == "" {
		return nil
	}
	return r.entries[a.callID]
}

// queue is one queue's configuration and live figures.
type queue struct {
	cfg      QueueConfig
	skills   []skill
	overflow *queue
	aht      time.Duration // moving average handle time

	queued, answered, answeredInSL, abandoned, abandonedInSL int
	overflowed, timedOut, noAgents, callbacks                int
	answerWait                                               time.Duration // sum over answered
}

// serviceLevel is the share of calls answered within the threshold among
// those answered or abandoned after it (callers who hung up before the
// threshold are not counted against the queue). 1 with no calls yet.
func (q *queue) serviceLevel() float64 {
	n := q.answered + q.abandoned - q.abandonedInSL
	if n == 0 {
		return 1
	}
	return float64(q.answeredInSL) / float64(n)
}

type stopReason int

const (
	stopNone        stopReason = iota
	stopAgentHangup            // the agent pressed hang up
	stopAgentLost              // the agent's page went away
	stopTransfer               // the agent transferred the call
)

// entry is a queued call, live from Enqueue to its end (including while
// talking, so the agent can act on it): its plain data (state.go) and
// what only this process holds.
type entry struct {
	entryData
	c    *call.Call
	w    *waiter // nil while a booked call-back waits or dials
	log  *slog.Logger
	stop chan struct{} // closed to end the conversation

	offerTimer, announceTimer, maxWaitTimer, wakeTimer *timer
	reofferTimer                                       *timer // wakes the dispatcher when a back-off ends
	consultTimer                                       *timer // a consultation rings out
}

// agent is a logged-in agent.
type agent struct {
	agentData
	wrapTimer *timer
}

func (a *agent) qualifies(req []skill) bool {
	for _, s := range req {
		if lv, ok := a.info.Skills[s.name]; !ok || lv < s.level {
			return false
		}
	}
	return true
}

// before orders waiting calls: re-queued calls first, then higher
// priority, then longest waiting.
func before(a, b *entry) bool {
	if a.head != b.head {
		return a.head
	}
	if a.prio != b.prio {
		return a.prio > b.prio
	}
	if !a.since.Equal(b.since) {
		return a.since.Before(b.since)
	}
	return a.seq < b.seq
}

// dispatch offers waiting calls to free agents. It runs after every
// operation.
func (r *Router) dispatch() {
	var free []*agent
	for _, a := range r.agents {
		if a.state == StateAvailable {
			free = append(free, a)
		}
	}
	if len(free) == 0 {
		return // the common case under load: nothing can be offered
	}
	now := r.clock.Now()
	var ws, gone []*entry
	for _, e := range r.entries {
		switch {
		case e.state != callWaiting || now.Before(e.notBefore):
		case e.callerGone():
			gone = append(gone, e)
		default:
			ws = append(ws, e)
		}
	}
	for _, e := range gone {
		r.dropGone(e)
	}
	if len(ws) == 0 {
		return
	}
	sort.Slice(ws, func(i, j int) bool { return before(ws[i], ws[j]) })
	for _, e := range ws {
		a, pref := r.pick(e, now, free)
		if a == nil {
			continue
		}
		r.offer(e, a, pref)
		free = slices.DeleteFunc(free, func(x *agent) bool { return x == a })
		if len(free) == 0 {
			return
		}
	}
}

// pick chooses the agent for e among the free ones: the preferred advisor
// when available (and nobody while the call is held for them), else the
// longest-idle agent with the skills who has not declined or missed this
// call. An agent who did gets it again only when no other free agent can
// take it, once Config.ReofferAfter has passed since (the one who turned
// it down longest ago first); until then a timer wakes the dispatcher.
func (r *Router) pick(e *entry, now time.Time, free []*agent) (*agent, bool) {
	if e.preferred != "" && !now.After(e.prefUntil) {
		if p := r.agents[e.preferred]; p != nil && !e.triedBy(p.info.ID) && (e.direct || p.qualifies(e.skills)) {
			switch p.state {
			case StateAvailable:
				return p, true
			case StateOffered, StateBusy, StateWrapUp:
				if now.Before(e.prefUntil) {
					return nil, false // held for the advisor
				}
			}
		}
	}
	var best, again *agent
	var againAt, wake time.Time
	for _, a := range free {
		if !a.qualifies(e.skills) {
			continue
		}
		if at, tried := e.tried[a.info.ID]; tried {
			due := at.Add(r.cfg.ReofferAfter)
			switch {
			case now.Before(due):
				if wake.IsZero() || due.Before(wake) {
					wake = due
				}
			case again == nil || at.Before(againAt) || (at.Equal(againAt) && a.info.ID < again.info.ID):
				again, againAt = a, at
			}
			continue
		}
		if best == nil || a.idleSince.Before(best.idleSince) ||
			(a.idleSince.Equal(best.idleSince) && a.info.ID < best.info.ID) {
			best = a
		}
	}
	if best == nil && again == nil && !wake.IsZero() && e.reofferTimer == nil {
		e.reofferTimer = r.after(wake.Sub(now), func() { e.reofferTimer = nil })
	}
	if best == nil {
		return again, false
	}
	return best, false
}

func (e *entry) triedBy(agentID string) bool {
	_, ok := e.tried[agentID]
	return ok
}

func (r *Router) offer(e *entry, a *agent, pref bool) {
	now := r.clock.Now()
	r.setCall(e, callOffered, a.info.ID)
	a.callID = e.id
	r.setState(a, StateOffered, "")
	o := r.offerFor(e, pref, now)
	e.offerTimer = r.after(r.cfg.OfferTimeout, func() { r.offerTimedOut(e, a) })
	e.log.Info("offer", "agent", a.info.ID, "queue", e.queue, "preferred", pref, "callback", e.booked)
	id := a.info.ID
	r.phoneq.put(func(ctx context.Context) {
		if err := r.phones.Ring(ctx, id, o); err != nil {
			r.post(func() { r.ringFailed(e, a, err) })
		}
	})
	r.emit(Event{Type: EventOffer, Queue: e.queue, CallID: e.id, Agent: id, Offer: &o})
}

func (r *Router) offerFor(e *entry, pref bool, now time.Time) Offer {
	vars := e.c.Vars()
	o := Offer{
		CallID:      e.id,
		Queue:       e.queue,
		Caller:      e.c.Caller,
		Called:      e.c.Callee,
		Arrived:     e.c.Start,
		Channel:     e.c.Channel,
		Customer:    vars[call.VarCustomer],
		IdentMethod: call.Method(vars[call.VarIdentMethod]),
		Vars:        vars,
		Priority:    e.prio,
		Waited:      now.Sub(e.since),
		Preferred:   pref,
		Callback:    e.booked,
		Requeued:    e.requeued,
		Expires:     now.Add(r.cfg.OfferTimeout),
	}
	if o.IdentMethod == "" {
		o.IdentMethod = call.MethodNone
	}
	if s, err := strconv.ParseFloat(vars[call.VarIdentScore], 64); err == nil {
		o.IdentScore = s
	}
	if e.booked {
		o.Caller = e.cbNumber
	}
	return o
}

// offering reports whether e is ringing a.
func (e *entry) offering(a *agent) bool { return e.state == callOffered && e.agentID == a.info.ID }

// endOffer takes the ringing offer back from its agent; the caller sets
// the agent's next state.
func (r *Router) endOffer(e *entry, reason string, tellPhone bool) *agent {
	a := r.agentOf(e)
	r.stopTimer(&e.offerTimer)
	r.setCall(e, callWaiting, "")
	a.callID = ""
	if e.tried == nil {
		e.tried = map[string]time.Time{}
	}
	e.tried[a.info.ID] = r.clock.Now()
	if tellPhone {
		id, cid := a.info.ID, e.id
		r.phoneq.put(func(ctx context.Context) {
			if err := r.phones.Cancel(ctx, id, cid, reason); err != nil {
				r.log.Debug("cancel offer", "agent", id, "call_id", cid, "err", err)
			}
		})
	}
	result := "withdrawn"
	switch reason {
	case "declined":
		result = "declined"
	case ReasonNotAnswered:
		result = "missed"
	}
	r.m.offers.WithLabelValues(e.queue, result).Inc()
	e.log.Info("offer withdrawn", "agent", a.info.ID, "reason", reason)
	r.emit(Event{Type: EventOfferCancelled, Queue: e.queue, CallID: e.id, Agent: a.info.ID, Reason: reason})
	return a
}

func (r *Router) offerTimedOut(e *entry, a *agent) {
	if !e.offering(a) {
		return
	}
	r.endOffer(e, ReasonNotAnswered, true)
	a.missed++
	if a.missed >= r.cfg.MaxMissed {
		r.setState(a, StateAway, ReasonMissedOffers)
	} else {
		r.setState(a, StateAvailable, "")
		a.idleSince = r.clock.Now() // to the back of the idle order
	}
	e.log.Info("offer missed", "agent", a.info.ID, "missed_in_a_row", a.missed, "state", string(a.state))
	st := a.status()
	r.emit(Event{Type: EventOfferMissed, Queue: e.queue, CallID: e.id, Agent: a.info.ID, Customer: customerOf(e.c),
		Reason: ReasonNotAnswered, AgentStatus: &st})
	r.afterOffer(e)
}

func (r *Router) ringFailed(e *entry, a *agent, err error) {
	if !e.offering(a) {
		return
	}
	e.log.Warn("ring failed", "agent", a.info.ID, "err", err)
	r.lostWhileRinging(e, a)
}

// lostWhileRinging handles an agent whose phone went away while the call
// rang: the call goes to the head of the queue, the caller is told, the
// agent is set away.
func (r *Router) lostWhileRinging(e *entry, a *agent) {
	r.endOffer(e, ReasonConnectionLost, false)
	r.setState(a, StateAway, ReasonConnectionLost)
	e.head, e.requeued = true, true
	if e.w != nil {
		e.w.put(waiterMsg{kind: msgAnnounce, ann: Announcement{Kind: AnnounceRequeued, Queue: e.queue}})
	}
	e.log.Info("re-queued at head", "queue", e.queue, "lost_agent", a.info.ID)
	r.emit(Event{Type: EventRequeued, Queue: e.queue, CallID: e.id, Agent: a.info.ID, Reason: ReasonConnectionLost})
	r.afterOffer(e)
}

// afterOffer handles a maximum wait that fell due while the call rang.
func (r *Router) afterOffer(e *entry) {
	if mw := r.queueOf(e).cfg.MaxWait; mw > 0 && !e.booked && !r.clock.Now().Before(e.queuedAt.Add(mw)) {
		r.maxWait(e)
	}
}

// wrapUp starts an agent's after-call time.
func (r *Router) wrapUp(a *agent, q *queue) {
	d := r.cfg.WrapUp
	if q.cfg.WrapUp != 0 {
		d = q.cfg.WrapUp
	}
	a.wrapQueue = q.cfg.Name
	if d < 0 {
		r.endWrapUp(a, StateAvailable, "")
		return
	}
	a.wrapUntil = r.clock.Now().Add(d)
	r.setState(a, StateWrapUp, "")
	a.wrapTimer = r.after(d, func() { r.endWrapUp(a, StateAvailable, "") })
}

// endWrapUp closes the call's handle time and moves the agent on.
func (r *Router) endWrapUp(a *agent, s State, reason string) {
	if q := r.queues[a.wrapQueue]; q != nil {
		h := r.clock.Now().Sub(a.callStart)
		w := r.cfg.Smoothing
		q.aht = time.Duration(w*float64(h) + (1-w)*float64(q.aht))
		r.m.handle.WithLabelValues(q.cfg.Name).Observe(h.Seconds())
		a.wrapQueue = ""
		a.handled++
	}
	r.setState(a, s, reason)
}

// unanswered reports whether e still waits for an agent (ringing included).
func (e *entry) unanswered() bool { return e.state == callWaiting || e.state == callOffered }

// position is e's 1-based place among its queue's unanswered calls.
func (r *Router) position(e *entry) int {
	p := 1
	for _, o := range r.entries {
		if o != e && o.queue == e.queue && o.unanswered() && before(o, e) {
			p++
		}
	}
	return p
}

// estimatedWait for the call at position pos of q: pos × average handle
// time ÷ agents staffed for q. ok is false when nobody is staffed.
func (r *Router) estimatedWait(q *queue, pos int) (time.Duration, bool) {
	staffed := 0
	for _, a := range r.agents {
		if a.state != StateAway && a.qualifies(q.skills) {
			staffed++
		}
	}
	if staffed == 0 {
		return 0, false
	}
	return time.Duration(int64(pos) * int64(q.aht) / int64(staffed)), true
}

// announce tells a waiting caller their position and wait, offers a
// call-back when the wait is long, and schedules the next announcement.
func (r *Router) announce(e *entry) {
	r.scheduleAnnounce(e)
	q := r.queueOf(e)
	if e.w == nil || q.cfg.AnnounceInterval < 0 || e.state != callWaiting {
		return
	}
	pos := r.position(e)
	ewt, ok := r.estimatedWait(q, pos)
	a := Announcement{Kind: AnnouncePosition, Queue: e.queue, Position: pos, EstimatedWait: ewt, WaitKnown: ok}
	e.w.put(waiterMsg{kind: msgAnnounce, ann: a})
	if ca := q.cfg.CallbackAfter; ca > 0 && ok && ewt > ca && !e.cbOffered && r.dialer != nil && validNumber(e.cbNumber) {
		e.cbOffered = true
		a.Kind = AnnounceCallbackOffer
		e.w.put(waiterMsg{kind: msgAnnounce, ann: a})
		e.log.Info("call-back offered", "estimated_wait", ewt)
	}
}

// scheduleAnnounce arms the next position announcement.
func (r *Router) scheduleAnnounce(e *entry) {
	r.stopTimer(&e.announceTimer)
	if iv := r.queueOf(e).cfg.AnnounceInterval; e.w != nil && iv > 0 {
		e.announceTimer = r.after(iv, func() { r.announce(e) })
	}
}

// maxWait moves a call that waited its queue's MaxWait on. A call that
// is ringing is left alone: afterOffer calls again when the offer ends.
func (r *Router) maxWait(e *entry) {
	if e.state != callWaiting {
		return
	}
	from := r.queueOf(e)
	if from.overflow == nil {
		from.timedOut++
		r.m.timedOut.WithLabelValues(from.cfg.Name).Inc()
		e.log.Info("max wait reached", "queue", from.cfg.Name)
		out := r.finish(e, ResultMaxWait)
		e.w.put(waiterMsg{kind: msgFinish, out: out})
		return
	}
	from.overflowed++
	r.m.overflowed.WithLabelValues(from.cfg.Name).Inc()
	r.move(e, from.overflow, e.skills[len(from.skills):])
	e.log.Info("overflow", "from", from.cfg.Name, "to", e.queue)
	r.emit(Event{Type: EventOverflow, Queue: e.queue, CallID: e.id, Reason: from.cfg.Name})
}

// move puts e in queue q, keeping its original arrival time.
func (r *Router) move(e *entry, q *queue, extra []skill) {
	e.queue = q.cfg.Name
	e.skills = append(append([]skill(nil), q.skills...), extra...)
	e.prio = q.cfg.Priority + e.basePrio
	e.queuedAt = r.clock.Now()
	clear(e.tried)
	r.stopTimer(&e.maxWaitTimer)
	if q.cfg.MaxWait > 0 && !e.booked {
		e.maxWaitTimer = r.after(q.cfg.MaxWait, func() { r.maxWait(e) })
	}
}

// finish removes e from the router and returns its outcome.
func (r *Router) finish(e *entry, res Result) Outcome {
	now := r.clock.Now()
	q := r.queueOf(e)
	if res == ResultAbandoned && !e.answered {
		w := now.Sub(e.since)
		q.abandoned++
		if w <= q.cfg.ServiceLevel {
			q.abandonedInSL++
		}
		r.m.abandoned.WithLabelValues(q.cfg.Name).Inc()
		r.m.wait.WithLabelValues(q.cfg.Name, "abandoned").Observe(w.Seconds())
		r.m.serviceLevel.WithLabelValues(q.cfg.Name).Set(q.serviceLevel())
	}
	r.stopTimer(&e.offerTimer)
	r.stopTimer(&e.announceTimer)
	r.stopTimer(&e.maxWaitTimer)
	r.stopTimer(&e.wakeTimer)
	r.stopTimer(&e.reofferTimer)
	r.stopTimer(&e.consultTimer)
	r.setCall(e, callEnded, "")
	delete(r.entries, e.id)
	r.m.waiting.WithLabelValues(q.cfg.Name).Set(float64(r.waitingIn(q)))
	wait := e.wait
	if !e.answered {
		wait = now.Sub(e.since)
	}
	out := Outcome{Result: res, Queue: q.cfg.Name, Wait: wait, Talk: e.talk}
	if e.wasCallback {
		st := CallbackStatus{State: "done", Attempts: e.cbAttempts}
		if res != ResultAnswered {
			st.State = "failed"
		}
		r.rememberCallback(e.id, st)
	}
	e.log.Info("queue call ended", "result", string(res), "queue", q.cfg.Name, "wait", wait)
	r.emit(Event{Type: EventEnded, Queue: q.cfg.Name, CallID: e.id, Reason: string(res)})
	return out
}

func (r *Router) waitingIn(q *queue) int {
	n := 0
	for _, e := range r.entries {
		if e.queue == q.cfg.Name && e.unanswered() {
			n++
		}
	}
	return n
}

func (r *Router) agentFor(id string) (*agent, error) {
	a := r.agents[id]
	if a == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownAgent, id)
	}
	return a, nil
}

// Login makes an agent known to the router, away ("logged in") until they
// set themselves available. With nil Skills the agent's profile from
// Config.Agents is used. Logging in again updates name and skills.
func (r *Router) Login(ctx context.Context, info AgentInfo) error {
	if info.ID == "" {
		return errors.New("routing: login without agent id")
	}
	if info.Skills == nil {
		for _, p := range r.cfg.Agents {
			if p.ID == info.ID {
				info.Skills = p.Skills
				if info.Name == "" {
					info.Name = p.Name
				}
			}
		}
	}
	for name, level := range info.Skills {
		if name == "" || level < 0 {
			return fmt.Errorf("routing: login %s: bad skill %q level %d", info.ID, name, level)
		}
	}
	info.Skills = cloneSkills(info.Skills)
	return r.exec(ctx, func() {
		if a := r.agents[info.ID]; a != nil {
			a.info = info
			return
		}
		now := r.clock.Now()
		a := &agent{agentData: agentData{info: info, state: StateLoggedOut, idleSince: now, since: now}}
		r.agents[info.ID] = a
		r.setState(a, StateAway, "logged in")
	})
}

func cloneSkills(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Logout removes an agent. A ringing offer moves on; an agent on a call
// gets ErrAgentBusy.
func (r *Router) Logout(ctx context.Context, agentID string) error {
	return r.do(ctx, func() (err error) {
		var a *agent
		if a, err = r.agentFor(agentID); err != nil {
			return
		}
		switch a.state {
		case StateBusy:
			err = ErrAgentBusy
			return
		case StateOffered:
			if e := r.consultOf(a); e != nil {
				r.endConsult(e, ConsultDeclined, StateAvailable, "")
				break
			}
			e := r.callOf(a)
			r.endOffer(e, "agent logged out", true)
			defer r.afterOffer(e)
		case StateWrapUp:
			r.endWrapUp(a, StateAway, "logged out")
		}
		r.stopTimer(&a.wrapTimer)
		r.setState(a, StateLoggedOut, "")
		delete(r.agents, agentID)
		r.m.agentStates(r.agents)
		r.leaveEmpty()
		return err
	})
}

// SetState is the agent's own state button: StateAvailable, or StateAway
// with a reason. It ends wrap-up early; going away while an offer rings
// declines it. An agent on a call gets ErrAgentBusy.
func (r *Router) SetState(ctx context.Context, agentID string, s State, reason string) error {
	if s != StateAvailable && s != StateAway {
		return fmt.Errorf("%w: agents can set only available or away, not %q", ErrState, s)
	}
	return r.do(ctx, func() (err error) {
		var a *agent
		if a, err = r.agentFor(agentID); err != nil {
			return
		}
		switch a.state {
		case StateBusy:
			err = ErrAgentBusy
		case StateOffered:
			if e := r.consultOf(a); e != nil && s == StateAway {
				r.endConsult(e, ConsultDeclined, StateAway, reason)
			} else if s == StateAway {
				e := r.callOf(a)
				r.endOffer(e, "declined", true)
				r.setState(a, StateAway, reason)
				r.afterOffer(e)
			}
		case StateWrapUp:
			r.endWrapUp(a, s, reason)
		default:
			if s == StateAvailable {
				a.missed = 0
			}
			r.setState(a, s, reason)
		}
		return err
	})
}

// Answer accepts the offer of callID ringing for agentID. The router then
// obtains the agent's leg from Phones.Leg and bridges it to the caller (or
// dials the customer back first, for a call-back).
func (r *Router) Answer(ctx context.Context, agentID, callID string) error {
	return r.do(ctx, func() error { return r.answer(agentID, callID) })
}

// answer is Answer on the loop.
func (r *Router) answer(agentID, callID string) error {
	if b, e := r.consultRinging(agentID, callID); e != nil {
		r.consultAnswered(e, b)
		return nil
	}
	a, e, err := r.offered(agentID, callID)
	if err != nil {
		return err
	}
	if e.callerGone() {
		// The caller's goroutine has not told the loop yet: never put an
		// agent through to dead air.
		r.dropGone(e)
		return fmt.Errorf("%w: call %q", ErrCallerGone, callID)
	}
	r.connect(e, a)
	return nil
}

// consultRinging returns the agent and the call when agentID is rung for
// a consultation on callID, else nil.
func (r *Router) consultRinging(agentID, callID string) (*agent, *entry) {
	b, e := r.agents[agentID], r.entries[callID]
	if e == nil || !e.consultee(b) || e.consult.state != consultRinging {
		return nil, nil
	}
	return b, e
}

func (r *Router) offered(agentID, callID string) (*agent, *entry, error) {
	a, err := r.agentFor(agentID)
	if err != nil {
		return nil, nil, err
	}
	e := r.entries[callID]
	if e == nil || !e.offering(a) {
		return nil, nil, fmt.Errorf("%w: agent %q call %q", ErrNoOffer, agentID, callID)
	}
	return a, e, nil
}

func (r *Router) connect(e *entry, a *agent) {
	now := r.clock.Now()
	r.stopTimer(&e.offerTimer)
	r.stopTimer(&e.announceTimer)
	if e.w != nil {
		r.setCall(e, callTalking, a.info.ID)
	} else {
		r.setCall(e, callDialling, a.info.ID)
	}
	a.callID, a.missed, a.callStart = e.id, 0, now
	r.setState(a, StateBusy, "")
	q := r.queueOf(e)
	if !e.answered {
		e.answered = true
		e.wait = now.Sub(e.since)
		q.answered++
		q.answerWait += e.wait
		if e.wait <= q.cfg.ServiceLevel {
			q.answeredInSL++
		}
		r.m.answered.WithLabelValues(q.cfg.Name).Inc()
		r.m.wait.WithLabelValues(q.cfg.Name, "answered").Observe(e.wait.Seconds())
		r.m.serviceLevel.WithLabelValues(q.cfg.Name).Set(q.serviceLevel())
	}
	r.m.waiting.WithLabelValues(q.cfg.Name).Set(float64(r.waitingIn(q)))
	r.m.offers.WithLabelValues(q.cfg.Name, "answered").Inc()
	e.stop, e.stopWhy = make(chan struct{}), stopNone
	e.log.Info("answered", "agent", a.info.ID, "queue", q.cfg.Name, "wait", e.wait)
	r.emit(Event{Type: EventAnswered, Queue: q.cfg.Name, CallID: e.id, Agent: a.info.ID, Customer: customerOf(e.c)})
	if e.w != nil {
		e.w.put(waiterMsg{kind: msgConnect, agent: a.info.ID, stop: e.stop})
		return
	}
	r.startCallback(e, a)
}

func customerOf(c *call.Call) string {
	v, _ := c.Var(call.VarCustomer)
	return v
}

// Decline turns down the offer of callID: it goes to the next agent and
// the agent stays available (a decline is not a missed offer).
func (r *Router) Decline(ctx context.Context, agentID, callID string) error {
	return r.do(ctx, func() (err error) {
		if _, e := r.consultRinging(agentID, callID); e != nil {
			r.endConsult(e, ConsultDeclined, StateAvailable, "")
			return nil
		}
		a, e, ferr := r.offered(agentID, callID)
		if ferr != nil {
			err = ferr
			return
		}
		r.declined(e, a)
		return err
	})
}

// declined ends an offer the agent turned down (loop).
func (r *Router) declined(e *entry, a *agent) {
	r.endOffer(e, "declined", false)
	r.setState(a, StateAvailable, "")
	a.idleSince = r.clock.Now()
	r.afterOffer(e)
}

// Hangup is the agent's hang-up button: it ends the agent's call (the
// router hangs up the caller), or declines the call if it is still
// ringing.
func (r *Router) Hangup(ctx context.Context, agentID, callID string) error {
	return r.do(ctx, func() (err error) {
		a, aerr := r.agentFor(agentID)
		if aerr != nil {
			err = aerr
			return
		}
		e := r.entries[callID]
		switch {
		case e != nil && e.consultee(a) && e.consult.state == consultRinging:
			r.endConsult(e, ConsultDeclined, StateAvailable, "")
		case e != nil && e.consultee(a):
			r.endConsult(e, ConsultEnded, StateAvailable, "")
		case e != nil && e.offering(a):
			r.declined(e, a)
		case e != nil && e.connectedTo(a) && e.consult.state != consultNone:
			r.ownerLeft(e, a, false)
		case e != nil && e.connectedTo(a):
			r.stopCall(e, stopAgentHangup)
		default:
			err = fmt.Errorf("%w: agent %q call %q", ErrNotYourCall, agentID, callID)
		}
		return err
	})
}

// connectedTo reports whether a answered e (talking, or dialling it back).
func (e *entry) connectedTo(a *agent) bool {
	return (e.state == callTalking || e.state == callDialling) && e.agentID == a.info.ID
}

func (r *Router) stopCall(e *entry, why stopReason) {
	if e.stopWhy != stopNone {
		return
	}
	e.stopWhy = why
	close(e.stop)
}

// Transfer moves the agent's connected call to queue (empty: the call's
// queue) and, when toAgent is set, offers it to that agent first, skills
// or not, for Config.PreferredWait. The agent goes to wrap-up.
func (r *Router) Transfer(ctx context.Context, agentID, callID, queue, toAgent string) error {
	return r.do(ctx, func() (err error) {
		a, aerr := r.agentFor(agentID)
		if aerr != nil {
			err = aerr
			return
		}
		e := r.entries[callID]
		if e == nil || !e.connectedTo(a) {
			err = fmt.Errorf("%w: agent %q call %q", ErrNotYourCall, agentID, callID)
			return
		}
		if e.consult.state != consultNone {
			err = fmt.Errorf("%w: complete or cancel it first", ErrConsulting)
			return
		}
		if queue == "" && toAgent == "" {
			err = errors.New("routing: transfer needs a queue or an agent")
			return
		}
		tq := e.queue
		if queue != "" {
			if r.queues[queue] == nil {
				err = fmt.Errorf("%w: %q", ErrUnknownQueue, queue)
				return
			}
			tq = queue
		}
		switch {
		case toAgent == agentID:
			err = fmt.Errorf("%w: a call cannot be transferred to the agent who has it", ErrState)
			return
		case toAgent != "" && r.agents[toAgent] == nil:
			err = fmt.Errorf("routing: transfer to %q: %w", toAgent, ErrUnknownAgent)
			return
		case toAgent == "":
			if q := r.queues[tq]; !q.cfg.JoinEmpty && !r.loggedInFor(q.skills) {
				err = fmt.Errorf("routing: transfer to queue %q: %w", tq, ErrNoAgents)
				return
			}
		}
		if e.w == nil {
			err = errors.New("routing: call-back not connected yet, cannot transfer")
			return
		}
		e.xferQueue, e.xferAgent = tq, toAgent
		r.stopCall(e, stopTransfer)
		return err
	})
}

// Disconnected tells the router an agent's page or phone went away. A
// ringing offer moves on; a call in progress is re-queued at the head and
// the caller told; the agent is set away with ReasonConnectionLost.
func (r *Router) Disconnected(ctx context.Context, agentID string) error {
	return r.do(ctx, func() (err error) {
		a, aerr := r.agentFor(agentID)
		if aerr != nil {
			err = aerr
			return
		}
		e := r.callOf(a)
		switch {
		case e != nil && e.consultee(a):
			r.endConsult(e, ReasonConnectionLost, StateAway, ReasonConnectionLost)
			return
		case a.state == StateBusy && e != nil && e.consult.state != consultNone && e.agentID == a.info.ID:
			r.ownerLeft(e, a, true)
			return
		}
		switch a.state {
		case StateOffered:
			r.lostWhileRinging(r.callOf(a), a)
		case StateBusy:
			r.stopCall(r.callOf(a), stopAgentLost)
		case StateWrapUp:
			r.endWrapUp(a, StateAway, ReasonConnectionLost)
		default:
			r.setState(a, StateAway, ReasonConnectionLost)
		}
		return err
	})
}
