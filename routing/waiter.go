package routing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/voxdesk/voxdesk/call"
)

type msgKind int

const (
	msgAnnounce  msgKind = iota // play ann
	msgConnect                  // an agent answered: bridge to agent
	msgFinish                   // leave the queue with out
	msgRearrange                // while talking: a consultation began, changed or ended (ask the loop)
)

// waiterMsg is what the loop tells the goroutine serving a queued call.
type waiterMsg struct {
	kind  msgKind
	ann   Announcement
	agent string
	stop  chan struct{}
	out   Outcome
}

// waiter is the loop's handle on the goroutine serving a queued caller.
type waiter struct {
	box *mailbox[waiterMsg]
	log *slog.Logger // the call's, for the serving goroutine
}

func newWaiter(log *slog.Logger) *waiter { return &waiter{box: newMailbox[waiterMsg](), log: log} }
func (w *waiter) put(m waiterMsg)        { w.box.put(m) }
func (w *waiter) sig() <-chan struct{}   { return w.box.sig }
func (w *waiter) take() []waiterMsg      { return w.box.take() }

// Queue fits the IVR's queue step: it queues c and returns when the call
// is over. It returns nil when the caller talked to an agent or booked a
// call-back, ErrAbandoned when the caller hung up first, ErrMaxWait when
// the queue's maximum wait passed with no overflow, ErrNoAgents when no
// agent able to take the call is logged in (or the last one logged out
// while it waited): the flow goes on to its fail: way.
func (r *Router) Queue(ctx context.Context, c *call.Call, queue string, skills []string, priority int, preferred string) error {
	out, err := r.Enqueue(ctx, c, Request{Queue: queue, Skills: skills, Priority: priority, Preferred: preferred})
	if err != nil {
		return err
	}
	switch out.Result {
	case ResultAbandoned:
		return ErrAbandoned
	case ResultMaxWait:
		return ErrMaxWait
	case ResultNoAgents:
		return ErrNoAgents
	}
	return nil
}

// Enqueue queues c and blocks while it waits, rings and talks. The caller
// hears position announcements (and a call-back offer when the estimated
// wait is long) from the Announcer. When an agent answers, caller and
// agent are bridged until one hangs up; if the agent hangs up, Enqueue
// hangs up the caller. If the agent's leg is lost, the caller is told and
// re-queued at the head. Enqueue answers c.Leg if it is not answered yet.
// The error is non-nil only when the call could not be queued, ctx ended,
// or the router closed.
func (r *Router) Enqueue(ctx context.Context, c *call.Call, req Request) (Outcome, error) {
	if c == nil || c.Leg == nil {
		return Outcome{}, errors.New("routing: enqueue needs a call with a leg")
	}
	req, err := requestFromVars(c, req)
	if err != nil {
		return Outcome{}, fmt.Errorf("routing: enqueue %s: %w", c.ID, err)
	}
	extra, err := parseSkills(req.Skills)
	if err != nil {
		return Outcome{}, fmt.Errorf("routing: enqueue %s: %w", c.ID, err)
	}
	log := c.Log
	if log == nil {
		log = r.log.With("call_id", c.ID)
	}
	if req.Preferred == "" && r.dir != nil {
		if cust := customerOf(c); cust != "" {
			p, err := r.dir.PreferredAgent(ctx, cust)
			if err != nil {
				log.Warn("preferred advisor lookup failed", "customer", cust, "err", err)
			}
			req.Preferred = p
		}
	}
	if req.CallbackNumber == "" {
		req.CallbackNumber = c.Caller
	}
	// A call that cannot be queued is refused before it is answered,
	// so a front end handing calls straight to the router rejects it
	// (503) rather than answering and hanging up.
	var aerr error
	if err := r.exec(ctx, func() { aerr = r.admit(req.Queue, extra, log) }); err != nil {
		return Outcome{}, err
	}
	if aerr != nil {
		return Outcome{}, &call.RejectError{Cause: call.CauseUnavailable, Reason: "no agent available", Err: aerr}
	}
	if err := c.Leg.Answer(ctx); err != nil {
		return Outcome{}, fmt.Errorf("routing: answer %s: %w", c.ID, err)
	}
	w := newWaiter(log)
	e := &entry{c: c, w: w, log: log,
		entryData: entryData{id: c.ID, basePrio: req.Priority, preferred: req.Preferred, cbNumber: req.CallbackNumber}}
	var qerr error
	if err := r.exec(ctx, func() { qerr = r.enqueue(e, req.Queue, extra) }); err != nil {
		return Outcome{}, err
	}
	if qerr != nil {
		return Outcome{}, qerr
	}
	return r.serve(ctx, e, c, w)
}

func requestFromVars(c *call.Call, req Request) (Request, error) {
	if req.Queue == "" {
		req.Queue, _ = c.Var(call.VarQueue)
	}
	if req.Queue == "" {
		return req, errors.New("no queue given")
	}
	if req.Skills == nil {
		if v, ok := c.Var(call.VarSkills); ok {
			req.Skills = splitList(v)
		}
	}
	if req.Priority == 0 {
		if v, ok := c.Var(call.VarPriority); ok && v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return req, fmt.Errorf("bad %s %q", call.VarPriority, v)
			}
			req.Priority = n
		}
	}
	if req.Preferred == "" {
		req.Preferred, _ = c.Var(call.VarPreferredAgent)
	}
	return req, nil
}

// enqueue puts a new call in queue qname (loop).
func (r *Router) enqueue(e *entry, qname string, extra []skill) error {
	q := r.queues[qname]
	if q == nil {
		return fmt.Errorf("%w: %q", ErrUnknownQueue, qname)
	}
	if r.entries[e.id] != nil {
		return fmt.Errorf("routing: call %s is already queued", e.id)
	}
	if e.w != nil {
		if err := r.admit(qname, extra, e.log); err != nil {
			return err
		}
	}
	now := r.clock.Now()
	r.seq++
	e.seq, e.since, e.tried = r.seq, now, map[string]time.Time{}
	if e.preferred != "" {
		e.prefUntil = now.Add(max(r.cfg.PreferredWait, 0))
		if r.cfg.PreferredWait > 0 {
			// Wake the dispatcher when the hold for the advisor ends.
			e.wakeTimer = r.after(r.cfg.PreferredWait, func() {})
		}
	}
	r.entries[e.id] = e
	r.move(e, q, extra)
	q.queued++
	r.m.queued.WithLabelValues(q.cfg.Name).Inc()
	r.m.waiting.WithLabelValues(q.cfg.Name).Set(float64(r.waitingIn(q)))
	e.log.Info("queued", "queue", q.cfg.Name, "priority", e.prio, "preferred", e.preferred)
	r.emit(Event{Type: EventQueued, Queue: q.cfg.Name, CallID: e.id, Customer: customerOf(e.c)})
	r.dispatch()
	r.announce(e)
	return nil
}

// serve is the goroutine of a queued caller: it relays announcements,
// watches for hang-up and the call-back key, and talks to agents.
func (r *Router) serve(ctx context.Context, e *entry, c *call.Call, w *waiter) (Outcome, error) {
	p := r.startPlayer(ctx, c.Leg)
	defer func() { p.stop() }()
	digits := c.Leg.Digits()
	cbOffered := false
	for {
		select {
		case <-w.sig():
			for _, m := range w.take() {
				switch m.kind {
				case msgAnnounce:
					if m.ann.Kind == AnnounceCallbackOffer {
						cbOffered = true
					}
					p.say(m.ann)
				case msgFinish:
					return m.out, nil
				case msgConnect:
					p.stop()
					p = nil
					v, err := r.talk(ctx, e, c, m, w)
					if err != nil || v.finish {
						return v.out, err
					}
					p = r.startPlayer(ctx, c.Leg)
					p.say(Announcement{Kind: v.tell, Queue: v.out.Queue})
				}
			}
		case d, ok := <-digits:
			if !ok {
				digits = nil
				continue
			}
			if !cbOffered || d.Key != '1' {
				continue
			}
			var booked bool
			var qname string
			if err := r.exec(ctx, func() { booked, qname = r.bookCallback(e) }); err != nil {
				return Outcome{}, err
			}
			if !booked {
				continue
			}
			p.stop()
			p = nil
			if r.ann != nil {
				actx, cancel := context.WithTimeout(ctx, 30*time.Second)
				if err := r.ann.Announce(actx, c.Leg, Announcement{Kind: AnnounceCallbackBooked, Queue: qname}); err != nil {
					w.log.Debug("call-back announcement", "err", err)
				}
				cancel()
			}
			if err := c.Leg.Hangup(ctx, call.CauseNormal); err != nil {
				w.log.Debug("hang up after call-back booking", "err", err)
			}
			return Outcome{Result: ResultCallback, Queue: qname}, nil
		case <-c.Leg.Done():
			return r.abandon(ctx, e)
		case <-ctx.Done():
			out, _ := r.abandon(context.WithoutCancel(ctx), e)
			return out, ctx.Err()
		case <-r.done:
			return Outcome{}, ErrClosed
		}
	}
}

func (r *Router) abandon(ctx context.Context, e *entry) (Outcome, error) {
	out := Outcome{Result: ResultAbandoned}
	if err := r.exec(ctx, func() { out = r.abandoned(e) }); err != nil {
		return out, err
	}
	return out, nil
}

// loggedInFor reports whether an agent with the skills is logged in,
// whatever their state.
func (r *Router) loggedInFor(skills []skill) bool {
	for _, a := range r.agents {
		if a.qualifies(skills) {
			return true
		}
	}
	return false
}

// admit refuses a live caller for queue qname when no agent able to take
// the call is logged in and the queue does not JoinEmpty; it counts and
// logs the refusal (loop). An unknown queue is left to enqueue.
func (r *Router) admit(qname string, extra []skill, log *slog.Logger) error {
	q := r.queues[qname]
	if q == nil || q.cfg.JoinEmpty || r.loggedInFor(append(append([]skill(nil), q.skills...), extra...)) {
		return nil
	}
	q.noAgents++
	r.m.noAgents.WithLabelValues(q.cfg.Name).Inc()
	log.Warn("not queued: no agent of the queue is logged in", "queue", q.cfg.Name)
	return fmt.Errorf("%w: %q", ErrNoAgents, qname)
}

// leaveEmpty sends callers waiting where no agent able to take them is
// logged in any more back to their flow (ResultNoAgents), unless their
// queue lets them wait for nobody (JoinEmpty) (loop).
func (r *Router) leaveEmpty() {
	for _, e := range r.entries {
		q := r.queueOf(e)
		if e.state != callWaiting || e.w == nil || q.cfg.JoinEmpty || r.loggedInFor(e.skills) {
			continue
		}
		q.noAgents++
		r.m.noAgents.WithLabelValues(q.cfg.Name).Inc()
		e.log.Warn("left the queue: no agent of the queue is logged in any more", "queue", q.cfg.Name)
		out := r.finish(e, ResultNoAgents)
		e.w.put(waiterMsg{kind: msgFinish, out: out})
	}
}

// callerGone reports whether e's caller is on a leg that has ended (hung
// up, or cut off by the media timeout) even if its goroutine has not told
// the loop yet (loop).
func (e *entry) callerGone() bool {
	if e.w == nil || e.c.Leg == nil {
		return false
	}
	select {
	case <-e.c.Leg.Done():
		return true
	default:
		return false
	}
}

// dropGone ends a waiting or ringing call whose caller's leg has ended:
// abandoned, never offered or answered (loop).
func (r *Router) dropGone(e *entry) {
	out := r.abandoned(e)
	e.w.put(waiterMsg{kind: msgFinish, out: out})
}

// abandoned ends a call whose caller hung up while queued (loop).
func (r *Router) abandoned(e *entry) Outcome {
	if r.entries[e.id] != e {
		return Outcome{Result: ResultAbandoned, Queue: e.queue}
	}
	res := ResultAbandoned
	switch e.state {
	case callOffered:
		a := r.endOffer(e, "caller hung up", true)
		r.setState(a, StateAvailable, "")
	case callTalking:
		// Answered, but the caller left before the bridge started.
		r.wrapUp(r.agentOf(e), r.queueOf(e))
		res = ResultAnswered
	}
	e.log.Info("caller hung up in queue", "queue", e.queue)
	return r.finish(e, res)
}

// observation is what the caller's goroutine saw end a conversation.
type observation struct {
	callerGone bool
	agentGone  bool
	agentCause call.Cause
	legErr     error // Phones.Leg failed
	talk       time.Duration
}

// verdict is the loop's decision after a conversation ended.
type verdict struct {
	finish bool
	out    Outcome
	tell   AnnouncementKind // when not finished: what to tell the caller
}

// talk gets the agent's leg and bridges it to the caller until one side
// ends, the agent hangs up or transfers, or the router closes. While the
// agent consults another (consult.go) the caller is held and the two
// agents' legs are bridged instead; the loop says who is connected
// (arrange) after each stretch.
func (r *Router) talk(ctx context.Context, e *entry, c *call.Call, m waiterMsg, w *waiter) (verdict, error) {
	cust, log := c.Leg, w.log
	lctx, cancel := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case <-m.stop:
		case <-r.done:
		case <-cust.Done():
		case <-lctx.Done():
		}
		cancel()
	}()
	bg := context.WithoutCancel(ctx)
	hangup := func(l call.Leg, who string) {
		if l != nil {
			if herr := l.Hangup(bg, call.CauseNormal); herr != nil {
				log.Debug("hang up agent leg", "agent", who, "err", herr)
			}
		}
	}
	var obs observation
	owner, ownerID := call.Leg(nil), m.agent
	var cons call.Leg
	consID := ""
	var err error
	if owner, err = r.phones.Leg(lctx, ownerID, c.ID); err != nil {
		obs.legErr, owner = err, nil
	}
	arr := arrangement{owner: ownerID}
	for owner != nil {
		var s stretch
		if arr.joined && cons == nil {
			if cons, err = r.phones.Leg(lctx, arr.consult, c.ID); err != nil {
				cons, s.consultErr = nil, err
			} else {
				consID = arr.consult
			}
		}
		s.owner, s.consult = ownerID, arr.consult
		if s.consultErr == nil {
			r.stretch(lctx, &s, c, owner, cons, arr.hold(), m.stop, w)
		}
		obs.talk += s.talk
		if s.stopped {
			break
		}
		if xerr := r.exec(bg, func() { arr = r.arrange(e, s) }); xerr != nil || arr.end {
			break
		}
		if cons != nil && (!arr.joined || arr.consult != consID) && arr.owner != consID {
			hangup(cons, consID)
			cons, consID = nil, ""
		}
		if arr.owner != ownerID { // completed: the consulted agent has the caller
			old, oldID := owner, ownerID
			var lerr error
			if cons == nil {
				cons, lerr = r.phones.Leg(lctx, arr.owner, c.ID)
			}
			owner, ownerID, cons, consID = cons, arr.owner, nil, ""
			hangup(old, oldID)
			if lerr != nil {
				obs.legErr, owner = lerr, nil
			}
		}
	}
	hangup(cons, consID)
	cancel()
	<-watched
	if owner != nil && owner.Cause() != call.CauseNone {
		obs.agentGone, obs.agentCause = true, owner.Cause()
	}
	if cust.Cause() != call.CauseNone {
		obs.callerGone = true
	}
	v := verdict{finish: true, out: Outcome{Result: ResultAnswered, Agent: ownerID}}
	err = r.exec(bg, func() { v = r.callEnded(e, obs) })
	hangup(owner, ownerID)
	switch {
	case err != nil:
		_ = cust.Hangup(bg, call.CauseUnavailable)
		return v, err
	case v.finish && v.out.AgentHungUp && !obs.callerGone:
		_ = cust.Hangup(bg, call.CauseNormal)
	}
	return v, nil
}

// stretch runs one arrangement of a conversation: the caller bridged to
// owner (through the call's taps), or, on hold, the caller hearing hold
// music while owner and cons (when answered) talk. It returns when a leg
// ends, the loop has news (w) or ends the call (stop), or ctx is done.
func (r *Router) stretch(ctx context.Context, s *stretch, c *call.Call, owner, cons call.Leg, hold bool, stop <-chan struct{}, w *waiter) {
	sctx, cancel := context.WithCancel(ctx)
	bridged := make(chan struct{})
	var p *player
	start := r.clock.Now()
	switch {
	case !hold:
		go func() {
			defer close(bridged)
			if _, err := c.Taps.Bridge(sctx, c.Leg, owner); err != nil {
				w.log.Debug("bridge", "agent", s.owner, "err", err)
			}
		}()
	case cons != nil:
		p = r.startPlayer(sctx, c.Leg)
		go func() {
			defer close(bridged)
			if _, err := call.Bridge(sctx, owner, cons); err != nil {
				w.log.Debug("consultation bridge", "agent", s.owner, "consulted", s.consult, "err", err)
			}
		}()
	default:
		p = r.startPlayer(sctx, c.Leg)
		close(bridged)
	}
	var consDone <-chan struct{}
	if cons != nil {
		consDone = cons.Done()
	}
	select {
	case <-c.Leg.Done():
	case <-owner.Done():
	case <-consDone:
	case <-w.sig():
		for _, m := range w.take() {
			if m.kind != msgRearrange {
				w.log.Debug("message ignored while talking", "kind", int(m.kind))
			}
		}
	case <-stop:
		s.stopped = true
	case <-r.done:
		s.stopped = true
	case <-ctx.Done():
		s.stopped = true
	}
	cancel()
	<-bridged
	p.stop()
	if !hold {
		s.talk = r.clock.Now().Sub(start)
	}
	s.callerGone = c.Leg.Cause() != call.CauseNone
	if cause := owner.Cause(); cause != call.CauseNone {
		s.ownerGone, s.ownerNormal = true, cause == call.CauseNormal
	}
	if cons != nil {
		if cause := cons.Cause(); cause != call.CauseNone {
			s.consultGone, s.consultNormal = true, cause == call.CauseNormal
		}
	}
}

// callEnded decides what follows a conversation (loop).
func (r *Router) callEnded(e *entry, obs observation) verdict {
	if e.consult.state != consultNone {
		// The conversation ended under a consultation (the caller hung
		// up as the loop was told, or the router stops): it ends too.
		reason := ConsultCancelled
		if obs.callerGone {
			reason = ConsultCallerGone
		}
		r.endConsult(e, reason, StateAvailable, "")
	}
	a, why := r.agentOf(e), e.stopWhy
	e.stop, e.stopWhy = nil, stopNone
	e.talk += obs.talk
	lost := why == stopAgentLost || (why == stopNone && !obs.callerGone &&
		(obs.legErr != nil || (obs.agentGone && obs.agentCause != call.CauseNormal)))
	hungUp := why == stopAgentHangup || (why == stopNone && !obs.callerGone && obs.agentGone && obs.agentCause == call.CauseNormal)
	switch {
	case lost:
		e.log.Warn("agent leg lost", "agent", a.info.ID, "err", obs.legErr, "cause", obs.agentCause.String())
		r.setState(a, StateAway, ReasonConnectionLost)
	case e.lostOwner: // their page went away while a consultation rang: transferred
		r.setState(a, StateAway, ReasonConnectionLost)
	default:
		r.wrapUp(a, r.queueOf(e))
	}
	e.lostOwner = false
	switch {
	case obs.callerGone || (!lost && why != stopTransfer):
		out := r.finish(e, ResultAnswered)
		out.Agent, out.AgentHungUp = a.info.ID, hungUp
		return verdict{finish: true, out: out}
	case lost:
		r.setCall(e, callWaiting, "")
		e.head, e.requeued = true, true
		e.tried = map[string]time.Time{a.info.ID: r.clock.Now()}
		r.scheduleAnnounce(e)
		r.m.waiting.WithLabelValues(e.queue).Set(float64(r.waitingIn(r.queueOf(e))))
		e.log.Info("re-queued at head", "queue", e.queue, "lost_agent", a.info.ID)
		r.emit(Event{Type: EventRequeued, Queue: e.queue, CallID: e.id, Agent: a.info.ID, Reason: ReasonConnectionLost})
		return verdict{tell: AnnounceRequeued, out: Outcome{Queue: e.queue}}
	default: // transfer
		r.setCall(e, callWaiting, "")
		e.head = false
		r.move(e, r.queues[e.xferQueue], nil)
		e.preferred, e.direct = e.xferAgent, e.xferAgent != ""
		e.tried = map[string]time.Time{a.info.ID: r.clock.Now()}
		if e.preferred != "" {
			e.prefUntil = r.clock.Now().Add(max(r.cfg.PreferredWait, 0))
			r.stopTimer(&e.wakeTimer)
			if r.cfg.PreferredWait > 0 {
				e.wakeTimer = r.after(r.cfg.PreferredWait, func() {})
			}
		}
		r.scheduleAnnounce(e)
		r.m.waiting.WithLabelValues(e.queue).Set(float64(r.waitingIn(r.queueOf(e))))
		e.log.Info("transferred", "by", a.info.ID, "queue", e.queue, "to_agent", e.xferAgent)
		r.emit(Event{Type: EventTransferred, Queue: e.queue, CallID: e.id, Agent: a.info.ID, Reason: e.xferAgent})
		return verdict{tell: AnnounceTransferred, out: Outcome{Queue: e.queue}}
	}
}

var _ call.Handler = (*Router)(nil)

// ServeCall makes the Router a call.Handler, for a front end or flow that
// hands calls straight to a queue: c waits where its variables say
// (call.VarQueue, VarSkills, VarPriority, VarPreferredAgent). It returns
// nil once the call was served or the caller hung up, ErrMaxWait when the
// queue's maximum wait passed with nowhere to overflow.
func (r *Router) ServeCall(ctx context.Context, c *call.Call) error {
	out, err := r.Enqueue(ctx, c, Request{})
	if err != nil {
		return err
	}
	switch out.Result {
	case ResultMaxWait:
		return ErrMaxWait
	case ResultNoAgents:
		return ErrNoAgents
	}
	return nil
}
