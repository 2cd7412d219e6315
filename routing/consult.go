package routing

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Consultation (warm transfer). The agent talking to a caller asks to
// consult another agent, named or the first available of a queue: the
// caller is put on hold (hold music, or silence without an Announcer), the
// other agent's phone rings with the caller's offer marked ConsultFrom,
// and once they answer the two agents talk. The asking agent then
// completes (the caller is put through to the consulted agent, who owns
// the call from then on, its wrap-up included; the asking agent goes to
// wrap-up for their part) or cancels (back to the caller). A consulted
// agent who declines, lets it ring out (a missed offer, counted like any),
// hangs up or goes away ends the consultation: the asking agent is told
// (EventConsult) and is back with the caller.
//
// The caller's entry stays answered (callTalking) throughout; the
// consulted agent is offered, then busy, and free again when the
// consultation ends without the caller. If the caller hangs up during the
// consultation, it ends with the call: the asking agent goes to wrap-up,
// the consulted agent is free. If the asking agent hangs up (or their page
// goes away) during the consultation, the caller is not dropped: once the
// consulted agent has answered, the consultation completes at once; while
// they still ring, the call becomes a blind transfer to them (it waits in
// its queue, or the queue the consultation named, offered to them first).

// Reasons of EventConsult: how a consultation stands.
const (
	ConsultRinging    = "ringing"        // the consulted agent is rung
	ConsultConnected  = "connected"      // the consulted agent answered: the agents talk
	ConsultDeclined   = "declined"       // the consulted agent declined
	ConsultCancelled  = "cancelled"      // the asking agent went back to the caller
	ConsultEnded      = "ended"          // the consulted agent hung up after answering
	ConsultCompleted  = "completed"      // the caller is put through to the consulted agent
	ConsultCallerGone = "caller hung up" // the caller hung up on hold
	// ConsultTransferred: the asking agent left while the consulted agent
	// still rang; the call is transferred to them blind.
	ConsultTransferred = "transferred"
	// A consultation not answered within Config.OfferTimeout ends with
	// ReasonNotAnswered; one whose consulted agent's phone or leg went
	// away with ReasonConnectionLost.
)

// Consult puts agentID's caller on hold and rings another agent for a
// consultation: toAgent, or when empty the longest-idle available agent
// of queue able to take its calls. Exactly one of queue and toAgent is
// given. It fails, changing nothing, when the call is not connected to
// agentID, a consultation is already under way, the agent or queue is
// unknown, or the agent (every agent of the queue) is not available.
func (r *Router) Consult(ctx context.Context, agentID, callID, queue, toAgent string) error {
	return r.do(ctx, func() error { return r.consult(agentID, callID, queue, toAgent) })
}

// CompleteConsult puts agentID's caller through to the agent they consult,
// who must have answered; agentID goes to wrap-up.
func (r *Router) CompleteConsult(ctx context.Context, agentID, callID string) error {
	return r.do(ctx, func() error {
		a, e, err := r.consulting(agentID, callID)
		if err != nil {
			return err
		}
		if e.consult.state != consultTalking {
			return fmt.Errorf("%w: %s has not answered the consultation yet", ErrState, e.consult.to)
		}
		r.completeConsult(e, a, false)
		return nil
	})
}

// CancelConsult ends agentID's consultation on callID (ringing or
// answered) and puts them back with the caller.
func (r *Router) CancelConsult(ctx context.Context, agentID, callID string) error {
	return r.do(ctx, func() error {
		_, e, err := r.consulting(agentID, callID)
		if err != nil {
			return err
		}
		r.endConsult(e, ConsultCancelled, StateAvailable, "")
		return nil
	})
}

// ownCall returns the agent and the call connected to them, talking.
func (r *Router) ownCall(agentID, callID string) (*agent, *entry, error) {
	a, err := r.agentFor(agentID)
	if err != nil {
		return nil, nil, err
	}
	e := r.entries[callID]
	if e == nil || e.state != callTalking || e.agentID != a.info.ID || e.stopWhy != stopNone || e.w == nil {
		return nil, nil, fmt.Errorf("%w: agent %q call %q", ErrNotYourCall, agentID, callID)
	}
	return a, e, nil
}

// consulting returns agentID's call on which they hold a consultation.
func (r *Router) consulting(agentID, callID string) (*agent, *entry, error) {
	a, e, err := r.ownCall(agentID, callID)
	if err != nil {
		return nil, nil, err
	}
	if e.consult.state == consultNone {
		return nil, nil, fmt.Errorf("%w (call %q)", ErrNoConsult, callID)
	}
	return a, e, nil
}

// consult is Consult on the loop.
func (r *Router) consult(agentID, callID, queue, toAgent string) error {
	a, e, err := r.ownCall(agentID, callID)
	if err != nil {
		return err
	}
	if e.consult.state != consultNone {
		return fmt.Errorf("%w (with %s)", ErrConsulting, e.consult.to)
	}
	var b *agent
	switch {
	case queue != "" && toAgent != "":
		return errors.New("routing: consult names an agent or a queue, not both")
	case toAgent == agentID:
		return fmt.Errorf("%w: an agent cannot consult themselves", ErrState)
	case toAgent != "":
		if b = r.agents[toAgent]; b == nil {
			return fmt.Errorf("routing: consult %q: %w", toAgent, ErrUnknownAgent)
		}
		if b.state != StateAvailable {
			return fmt.Errorf("routing: consult %q: %w (%s)", toAgent, ErrNotAvailable, b.state)
		}
	case queue != "":
		q := r.queues[queue]
		if q == nil {
			return fmt.Errorf("routing: consult: %w: %q", ErrUnknownQueue, queue)
		}
		if b = r.firstAvailable(q.skills, a); b == nil {
			return fmt.Errorf("routing: consult queue %q: %w: none of its agents is", queue, ErrNotAvailable)
		}
	default:
		return errors.New("routing: consult needs an agent or a queue")
	}
	now := r.clock.Now()
	r.setConsult(e, consultRinging)
	e.consult.from, e.consult.to, e.consult.queue, e.consult.since = a.info.ID, b.info.ID, queue, now
	b.callID = e.id
	r.setState(b, StateOffered, "")
	o := r.offerFor(e, false, now)
	o.ConsultFrom = a.info.ID
	e.consultTimer = r.after(r.cfg.OfferTimeout, func() { r.consultTimedOut(e, b) })
	id := b.info.ID
	r.phoneq.put(func(ctx context.Context) {
		if err := r.phones.Ring(ctx, id, o); err != nil {
			r.post(func() { r.consultRingFailed(e, b, err) })
		}
	})
	e.log.Info("consultation", "agent", a.info.ID, "consulted", id, "queue", queue)
	r.emitConsult(e, ConsultRinging)
	r.emit(Event{Type: EventOffer, Queue: e.queue, CallID: e.id, Agent: id, Offer: &o})
	e.w.put(waiterMsg{kind: msgRearrange})
	return nil
}

// firstAvailable is the longest-idle available agent with the skills,
// other than not.
func (r *Router) firstAvailable(skills []skill, not *agent) *agent {
	var best *agent
	for _, a := range r.agents {
		if a == not || a.state != StateAvailable || !a.qualifies(skills) {
			continue
		}
		if best == nil || a.idleSince.Before(best.idleSince) ||
			(a.idleSince.Equal(best.idleSince) && a.info.ID < best.info.ID) {
			best = a
		}
	}
	return best
}

// consultee reports whether a is the agent consulted on e.
func (e *entry) consultee(a *agent) bool {
	return a != nil && e.consult.state != consultNone && e.consult.to == a.info.ID
}

// consultOf returns the call a is consulted on, or nil.
func (r *Router) consultOf(a *agent) *entry {
	if e := r.callOf(a); e != nil && e.consultee(a) {
		return e
	}
	return nil
}

func (r *Router) emitConsult(e *entry, reason string) {
	if reason != ConsultRinging && reason != ConsultConnected {
		r.m.consults.WithLabelValues(e.queue, reason).Inc()
	}
	r.emit(Event{Type: EventConsult, Queue: e.queue, CallID: e.id, Agent: e.consult.from, Peer: e.consult.to, Reason: reason})
}

// consultAnswered connects the consulted agent b to the asking agent.
func (r *Router) consultAnswered(e *entry, b *agent) {
	r.stopTimer(&e.consultTimer)
	r.setConsult(e, consultTalking)
	b.missed, b.callStart = 0, r.clock.Now()
	r.setState(b, StateBusy, "")
	e.log.Info("consultation answered", "agent", e.consult.from, "consulted", b.info.ID)
	r.emitConsult(e, ConsultConnected)
	e.w.put(waiterMsg{kind: msgRearrange})
}

// endConsult ends e's consultation without the caller going over: the
// consulted agent moves to state s (reason), the asking agent's page is
// told why, a ringing offer is withdrawn from the consulted agent's
// phone, and the caller's goroutine puts the caller back with the asking
// agent (loop).
func (r *Router) endConsult(e *entry, why string, s State, reason string) {
	r.stopTimer(&e.consultTimer)
	ringing, to := e.consult.state == consultRinging, e.consult.to
	r.emitConsult(e, why)
	e.log.Info("consultation over", "agent", e.consult.from, "consulted", to, "reason", why)
	r.setConsult(e, consultNone)
	if b := r.agents[to]; b != nil && b.callID == e.id {
		if s == StateAvailable {
			b.idleSince = r.clock.Now()
		}
		r.setState(b, s, reason)
	}
	if ringing && why != ReasonConnectionLost {
		cid := e.id
		r.phoneq.put(func(ctx context.Context) {
			if err := r.phones.Cancel(ctx, to, cid, "consultation "+why); err != nil {
				r.log.Debug("cancel consultation", "agent", to, "call_id", cid, "err", err)
			}
		})
	}
	e.w.put(waiterMsg{kind: msgRearrange})
}

// completeConsult puts the caller through to the consulted agent, who
// now owns the call; the asking agent a goes to wrap-up, or away when
// their page went away (lost) (loop).
func (r *Router) completeConsult(e *entry, a *agent, lost bool) {
	r.stopTimer(&e.consultTimer)
	b := r.agents[e.consult.to]
	r.emitConsult(e, ConsultCompleted)
	r.emit(Event{Type: EventTransferred, Queue: e.queue, CallID: e.id, Agent: a.info.ID, Reason: b.info.ID})
	e.log.Info("transferred after consultation", "by", a.info.ID, "to_agent", b.info.ID)
	r.setConsult(e, consultNone)
	r.setCall(e, callTalking, b.info.ID)
	if lost {
		r.setState(a, StateAway, ReasonConnectionLost)
	} else {
		r.wrapUp(a, r.queueOf(e))
	}
	e.w.put(waiterMsg{kind: msgRearrange})
}

// ownerLeft handles the asking agent a hanging up or going away during a
// consultation: completed once the consulted agent answered, else a blind
// transfer to them (loop).
func (r *Router) ownerLeft(e *entry, a *agent, lost bool) {
	if e.consult.state == consultTalking {
		r.completeConsult(e, a, lost)
		return
	}
	to, q := e.consult.to, e.consult.queue
	if q == "" {
		q = e.queue
	}
	r.endConsult(e, ConsultTransferred, StateAvailable, "")
	e.xferQueue, e.xferAgent, e.lostOwner = q, to, lost
	r.stopCall(e, stopTransfer)
}

// consultTimedOut ends a consultation the consulted agent b let ring out:
// a missed offer for b.
func (r *Router) consultTimedOut(e *entry, b *agent) {
	e.consultTimer = nil
	if !e.consultee(b) || e.consult.state != consultRinging {
		return
	}
	b.missed++
	s, reason := StateAvailable, ""
	if b.missed >= r.cfg.MaxMissed {
		s, reason = StateAway, ReasonMissedOffers
	}
	r.endConsult(e, ReasonNotAnswered, s, reason)
	st := b.status()
	r.emit(Event{Type: EventOfferMissed, Queue: e.queue, CallID: e.id, Agent: b.info.ID, Customer: customerOf(e.c),
		Reason: ReasonNotAnswered, AgentStatus: &st})
}

func (r *Router) consultRingFailed(e *entry, b *agent, err error) {
	if !e.consultee(b) || e.consult.state != consultRinging {
		return
	}
	e.log.Warn("consultation ring failed", "consulted", b.info.ID, "err", err)
	r.endConsult(e, ReasonConnectionLost, StateAway, ReasonConnectionLost)
}

// arrangement is who the caller's goroutine connects, as the loop sees it.
type arrangement struct {
	end     bool   // the conversation is over (stopped, or the caller or its agent gone)
	owner   string // the agent who has the caller
	consult string // the consulted agent, "" when none
	joined  bool   // the consulted agent answered: owner and consultee talk
}

// hold reports whether the caller waits on hold.
func (a arrangement) hold() bool { return a.consult != "" }

// arrange decides, after the caller's goroutine saw s end one stretch of
// the conversation, what comes next (loop).
func (r *Router) arrange(e *entry, s stretch) arrangement {
	if r.entries[e.id] != e || e.stopWhy != stopNone || e.state != callTalking {
		return arrangement{end: true}
	}
	cs := &e.consult
	switch {
	case s.callerGone:
		if cs.state != consultNone {
			r.endConsult(e, ConsultCallerGone, StateAvailable, "")
		}
		return arrangement{end: true}
	case s.ownerGone && s.owner == e.agentID:
		if cs.state == consultNone {
			return arrangement{end: true}
		}
		r.ownerLeft(e, r.agentOf(e), !s.ownerNormal)
		if e.stopWhy != stopNone {
			return arrangement{end: true}
		}
	case (s.consultGone || s.consultErr != nil) && cs.state == consultTalking && cs.to == s.consult:
		if s.consultErr != nil || !s.consultNormal {
			e.log.Warn("consulted agent lost", "consulted", cs.to, "err", s.consultErr)
			r.endConsult(e, ReasonConnectionLost, StateAway, ReasonConnectionLost)
		} else {
			r.endConsult(e, ConsultEnded, StateAvailable, "")
		}
	}
	return arrangement{owner: e.agentID, consult: cs.to, joined: cs.state == consultTalking}
}

// stretch is what the caller's goroutine saw end one stretch of a
// conversation: the legs of the agents it had, and which ended.
type stretch struct {
	owner, consult             string // agents whose legs it had ("" consult: none)
	callerGone                 bool
	ownerGone, ownerNormal     bool // the owner's leg ended; hung up normally
	consultGone, consultNormal bool
	consultErr                 error // Phones.Leg failed for the consulted agent
	stopped                    bool  // the loop ended the conversation, or the router stops
	talk                       time.Duration
}
