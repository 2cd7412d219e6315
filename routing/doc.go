// Package routing puts queued calls through to agents.
//
// A Router holds agents (logged in with skills, in one of the states
// available, offered, busy, wrap-up or away) and queues (required skills,
// priority, maximum wait, overflow target, service-level threshold,
// announcement interval, call-back threshold). A caller's handler calls
// Enqueue (or Queue, which fits the IVR's queue step) and stays there while
// the call waits, rings an agent and is bridged to that agent; Enqueue
// returns when the conversation is over, the caller hung up, a call-back
// was booked or the maximum wait passed with nowhere to overflow.
//
// Choice of agent: calls are taken highest priority first, then longest
// waiting; a call re-queued because its agent's leg was lost goes back to
// the head. For each call the customer's preferred (or last) advisor is
// offered the call first when available, and the call is held for that
// advisor for Config.PreferredWait while they are busy; otherwise the
// longest-idle available agent with the required skills gets the offer.
// A declined offer goes to the next eligible agent. An offer not answered
// within Config.OfferTimeout goes to the next agent too, the agent gets a
// missed-call notice (EventOfferMissed) and, after Config.MaxMissed such
// offers in a row (one by default), is set away with ReasonMissedOffers.
// An agent who declined or missed a call is offered it again only when no
// other free agent can take it, and not before Config.ReofferAfter.
//
// A call is not queued where nobody could answer it: when no agent able
// to take it is logged in, Enqueue returns ErrNoAgents (unless the queue
// sets JoinEmpty) and the IVR takes its fail: way; so do callers already
// waiting when the last such agent logs out. A queued call leaves
// after its queue's MaxWait (DefaultMaxWait, 10 min, when unset). A
// caller whose leg ends (a hang-up, or the media timeout of a caller gone
// silent) leaves the queue at once, abandoned: the router checks the leg
// before it offers the call and when the agent answers, so no agent is
// ever put through to dead air.
//
// Transfer: Transfer moves a connected call blind to a queue or an agent.
// Consult starts a warm transfer: the caller is held while the agent
// talks to another agent (named, or the first available of a queue), then
// CompleteConsult puts the caller through to them or CancelConsult goes
// back to the caller; consult.go says what happens when anyone declines,
// hangs up or goes away meanwhile.
//
// The states of calls, consultations and agents and every move between
// them are in state.go.
//
// The Router is also a call.Handler (ServeCall queues by the call's
// variables), fits the IVR's Router and Callbacks interfaces (Queue,
// Request), and books call-backs with no caller on the line
// (BookCallback, CallbackStatus, CancelCallback). A queued caller who
// presses 1 after the call-back offer is released and keeps the place;
// the customer is dialled through the Dialer when an agent answers the
// call-back's offer. Package routing/announce speaks the announcements with
// recorded prompts.
//
// Agents' softphones are reached through the Phones interface (the agent
// API implements it over its WebSocket): Ring shows an Offer with the
// caller's identification, Cancel withdraws it, and after the agent calls
// Router.Answer the router asks Phones.Leg for the agent's media leg and
// bridges it to the caller with call.Bridge.
//
// All state lives in one goroutine, the loop started by Run; every public
// method sends an operation to it. Input and output (prompts, ringing,
// bridging, dialling call-backs) happens outside the loop, in the caller's
// handler goroutine or in goroutines the Router starts and waits for.
//
// Estimated wait for the call at position p of a queue is
// p × (average handle time) ÷ (staffed agents able to take it), where the
// average handle time (talk plus wrap-up) is an exponentially weighted
// moving average of the queue's finished calls.
package routing
