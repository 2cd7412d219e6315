package routing

import (
	"context"
	"sort"
	"time"
)

// EventType names what happened.
type EventType string

// Events, delivered in order to OnEvent subscribers.
const (
	EventAgentState     EventType = "agent.state"   // Agent, AgentStatus, Reason
	EventOffer          EventType = "offer"         // Agent, Offer: ring this agent
	EventOfferCancelled EventType = "offer.cancel"  // Agent, CallID, Reason: stop ringing
	EventOfferMissed    EventType = "offer.missed"  // Agent, CallID, Queue, Customer, AgentStatus: the agent let it ring out
	EventQueued         EventType = "call.queued"   // CallID, Queue, Customer
	EventAnswered       EventType = "call.answered" // CallID, Queue, Agent, Customer
	EventRequeued       EventType = "call.requeued" // CallID, Queue, Agent (lost), Reason
	EventTransferred    EventType = "call.transfer" // CallID, Queue (target), Agent (from), Reason (target agent)
	EventOverflow       EventType = "call.overflow" // CallID, Queue (target), Reason (source queue)
	EventConsult        EventType = "call.consult"  // CallID, Queue, Agent (who asked), Peer (consulted), Reason: a Consult* value
	EventCallback       EventType = "call.callback" // CallID, Queue, Reason: booked | connected | not-reached
	EventEnded          EventType = "call.ended"    // CallID, Queue, Reason: the Result
)

// Event is one change the wallboard and agent pages may show.
type Event struct {
	Type        EventType    `json:"type"`
	Time        time.Time    `json:"time"`
	Queue       string       `json:"queue,omitempty"`
	CallID      string       `json:"call_id,omitempty"`
	Agent       string       `json:"agent,omitempty"`
	Customer    string       `json:"customer,omitempty"`
	Reason      string       `json:"reason,omitempty"`
	Peer        string       `json:"peer,omitempty"` // EventConsult: the consulted agent
	Offer       *Offer       `json:"offer,omitempty"`
	AgentStatus *AgentStatus `json:"agent_status,omitempty"`
}

// emit queues an event for subscribers (loop).
func (r *Router) emit(ev Event) {
	ev.Time = r.clock.Now()
	r.events.put(ev)
}

// OnEvent calls f for every event from now on, in order, from one
// goroutine of the router's; f must not block for long. The returned
// function unsubscribes.
func (r *Router) OnEvent(f func(Event)) (cancel func()) {
	r.subMu.Lock()
	defer r.subMu.Unlock()
	r.subID++
	id := r.subID
	r.subs[id] = f
	return func() {
		r.subMu.Lock()
		defer r.subMu.Unlock()
		delete(r.subs, id)
	}
}

func (r *Router) deliverEvents(ctx context.Context) {
	defer r.wg.Done()
	for {
		select {
		case <-r.events.sig:
		case <-ctx.Done():
			return
		}
		for _, ev := range r.events.take() {
			r.subMu.Lock()
			ids := make([]int, 0, len(r.subs))
			for id := range r.subs {
				ids = append(ids, id)
			}
			sort.Ints(ids)
			fs := make([]func(Event), 0, len(ids))
			for _, id := range ids {
				fs = append(fs, r.subs[id])
			}
			r.subMu.Unlock()
			for _, f := range fs {
				f(ev)
			}
		}
	}
}

// phoneTimeout bounds one Ring or Cancel.
const phoneTimeout = 5 * time.Second

// runPhones performs Ring and Cancel in order, outside the loop.
func (r *Router) runPhones(ctx context.Context) {
	defer r.wg.Done()
	for {
		select {
		case <-r.phoneq.sig:
		case <-ctx.Done():
			return
		}
		for _, f := range r.phoneq.take() {
			if ctx.Err() != nil {
				return
			}
			fctx, cancel := context.WithTimeout(ctx, phoneTimeout)
			f(fctx)
			cancel()
		}
	}
}
