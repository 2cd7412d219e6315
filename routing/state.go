package routing

import (
	"slices"
	"time"
)

// This file holds every state a queued call and an agent can be in, and
// every move between them. The loop changes a call's state only through
// setCall and an agent's only through setState, which check the move
// against the tables below.
//
// What the states speak of is plain data: a call names its queue and its
// agent by name and id, an agent names its call by id, and the times are
// wall-clock times. Nothing in entryData or agentData points into another
// object or a goroutine, so the queues and agents can later live in a
// store shared by several switches; the process-local parts (the caller's
// leg, the goroutine serving it, timers) sit beside them.

// callState is where a queued call stands.
type callState uint8

const (
	callWaiting  callState = iota // in its queue, no agent ringing (a caller on the line, or a booked call-back)
	callOffered                   // ringing agentID
	callDialling                  // a call-back whose offer agentID answered: the customer is being dialled
	callTalking                   // answered by agentID: bridged, or about to be
	callEnded                     // has left the router
)

var callStateNames = [...]string{"waiting", "offered", "dialling", "talking", "ended"}

func (s callState) String() string {
	if int(s) < len(callStateNames) {
		return callStateNames[s]
	}
	return "invalid"
}

// callMoves lists, for each call state, the states it may move to.
//
//	waiting  -> offered (an agent is rung), ended (caller hung up, max wait, call-back cancelled)
//	offered  -> waiting (declined, missed, agent lost, call-back booked), talking (answered),
//	            dialling (a call-back's offer answered), ended (caller hung up)
//	dialling -> talking (customer answered), waiting (not reached, or the agent stopped it),
//	            ended (given up)
//	talking  -> waiting (agent lost, transferred), ended (conversation over)
var callMoves = map[callState][]callState{
	callWaiting:  {callOffered, callEnded},
	callOffered:  {callWaiting, callTalking, callDialling, callEnded},
	callDialling: {callTalking, callWaiting, callEnded},
	callTalking:  {callWaiting, callEnded},
}

// consultState is where an agent's consultation on a call stands (warm
// transfer): the caller stays answered (callTalking) with the agent who
// asked, on hold while the consultation lasts.
type consultState uint8

const (
	consultNone    consultState = iota // no consultation: caller and agent talk
	consultRinging                     // the consulted agent is rung
	consultTalking                     // the consulted agent answered: the two agents talk, the caller is on hold
)

var consultStateNames = [...]string{"none", "ringing", "talking"}

func (s consultState) String() string {
	if int(s) < len(consultStateNames) {
		return consultStateNames[s]
	}
	return "invalid"
}

// consultMoves lists, for each consultation state, the states it may move
// to.
//
//	none    -> ringing (the agent asked for a consultation)
//	ringing -> talking (the consulted agent answered), none (declined, not
//	           answered, cancelled, consulted agent lost, caller or agent gone)
//	talking -> none (completed: the consulted agent has the caller;
//	           cancelled or ended by either agent: back to the caller)
var consultMoves = map[consultState][]consultState{
	consultNone:    {consultRinging},
	consultRinging: {consultTalking, consultNone},
	consultTalking: {consultNone},
}

// agentMoves lists, for each agent state, the states the router may move
// the agent to (staying in the same state is always allowed).
//
//	logged-out -> away (login)
//	away       -> available (the agent's button), logged-out
//	available  -> offered (rung), away, logged-out
//	offered    -> busy (answered), available (declined, caller gone), away (missed, lost), logged-out
//	busy       -> wrap-up (call over), away (leg lost), available (call-back not reached,
//	              a consultation over without the caller)
//	wrap-up    -> available (timer or button), away, logged-out
var agentMoves = map[State][]State{
	StateLoggedOut: {StateAway},
	StateAway:      {StateAvailable, StateLoggedOut},
	StateAvailable: {StateOffered, StateAway, StateLoggedOut},
	StateOffered:   {StateBusy, StateAvailable, StateAway, StateLoggedOut},
	StateBusy:      {StateWrapUp, StateAway, StateAvailable},
	StateWrapUp:    {StateAvailable, StateAway, StateLoggedOut},
}

// entryData is a queued call as a shared store would hold it.
type entryData struct {
	id      string
	queue   string // queue name
	state   callState
	agentID string // the agent rung (offered) or talking (dialling, talking)

	skills    []skill
	basePrio  int // the request's priority, added to the queue's
	prio      int
	since     time.Time // first enqueued: kept over overflow, re-queue and transfer
	queuedAt  time.Time // entered its current queue
	seq       uint64
	head      bool // re-queued after losing its agent: before everyone
	requeued  bool
	preferred string
	prefUntil time.Time
	direct    bool // transferred to the preferred agent: skills not needed
	// tried holds the agents who declined or missed this call, with when
	// they did: they are offered it again only when nobody else can
	// take it, and not before Config.ReofferAfter.
	tried map[string]time.Time

	stopWhy   stopReason // why the conversation is being ended
	xferQueue string     // transfer target queue
	xferAgent string     // transfer target agent

	// consult is the consultation the talking agent holds on the call,
	// if any (warm transfer); lostOwner marks an agent whose page went
	// away while the agent they consulted was still ringing.
	consult   consultData
	lostOwner bool

	answered bool
	wait     time.Duration // enqueue to first answer
	talk     time.Duration

	cbOffered   bool   // the caller heard the call-back offer
	booked      bool   // a booked call-back: nobody on the line until it is dialled
	wasCallback bool   // booked at some point: CallbackStatus knows it
	cbNumber    string // number a call-back dials
	cbAttempts  int
	notBefore   time.Time // not offered before (call-back time or retry)
}

// consultData is one consultation: agent from (who holds the call)
// consults agent to, picked directly or as the first available agent of
// queue.
type consultData struct {
	state consultState
	from  string
	to    string
	queue string // the queue asked for, "" when an agent was named
	since time.Time
}

// agentData is an agent as a shared store would hold it.
type agentData struct {
	info      AgentInfo
	state     State
	reason    string
	since     time.Time
	idleSince time.Time
	missed    int       // offers missed in a row
	handled   int       // calls finished since login
	callID    string    // the call offered or connected
	wrapQueue string    // queue whose after-call time runs
	wrapUntil time.Time // when that after-call time ends
	callStart time.Time
}

// setCall moves e to state s with agent id (empty when waiting or ended).
func (r *Router) setCall(e *entry, s callState, agentID string) {
	if e.state != s && !slices.Contains(callMoves[e.state], s) {
		r.badMoves.Add(1)
		e.log.Error("routing: call state change not allowed", "from", e.state.String(), "to", s.String())
	}
	e.state, e.agentID = s, agentID
}

// setConsult moves e's consultation to state s; to none, it is cleared.
func (r *Router) setConsult(e *entry, s consultState) {
	if e.consult.state != s && !slices.Contains(consultMoves[e.consult.state], s) {
		r.badMoves.Add(1)
		e.log.Error("routing: consultation state change not allowed", "from", e.consult.state.String(), "to", s.String())
	}
	if s == consultNone {
		e.consult = consultData{}
		return
	}
	e.consult.state = s
}

// setState moves an agent to a state and publishes it.
func (r *Router) setState(a *agent, s State, reason string) {
	if a.state != s && !slices.Contains(agentMoves[a.state], s) {
		r.badMoves.Add(1)
		r.log.Error("routing: agent state change not allowed", "agent", a.info.ID, "from", string(a.state), "to", string(s))
	}
	now := r.clock.Now()
	if s == StateAvailable && a.state != StateAvailable && a.state != StateOffered {
		a.idleSince = now
	}
	if s == StateAvailable {
		reason = ""
	}
	if s != StateWrapUp {
		r.stopTimer(&a.wrapTimer)
	}
	if s != StateOffered && s != StateBusy {
		a.callID = ""
	}
	changed := a.state != s || a.reason != reason
	a.state, a.reason = s, reason
	if changed {
		a.since = now
		r.log.Info("agent state", "agent", a.info.ID, "state", string(s), "reason", reason)
		st := a.status()
		r.emit(Event{Type: EventAgentState, Agent: a.info.ID, AgentStatus: &st, Reason: reason})
		r.m.agentStates(r.agents)
	}
}
