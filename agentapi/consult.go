package agentapi

import (
	"context"
	"errors"
	"fmt"

	"github.com/voxdesk/voxdesk/routing"
)

// Consulter is the routing side of warm transfer; *routing.Router
// implements it. An agent on a call consults another agent (or the first
// available of a queue) while the caller waits on hold, then completes
// (the caller goes to that agent) or cancels (back to the caller).
type Consulter interface {
	Consult(ctx context.Context, agentID, callID, queue, toAgent string) error
	CompleteConsult(ctx context.Context, agentID, callID string) error
	CancelConsult(ctx context.Context, agentID, callID string) error
}

// handleConsult acts on MsgConsult, MsgConsultComplete and
// MsgConsultCancel from the page of the agent holding the call.
func (s *Server) handleConsult(ctx context.Context, c *agentConn, m ClientMessage) error {
	cs, ok := s.router.(Consulter)
	if !ok {
		return errors.New("agentapi: warm transfer not configured")
	}
	ac, err := c.call(m.Call, phaseTalking)
	if err != nil {
		return err
	}
	c.mu.Lock()
	from := ac.offer.ConsultFrom
	c.mu.Unlock()
	if from != "" {
		return fmt.Errorf("agentapi: call %q is a consultation %s asked you for: only they can transfer it", m.Call, from)
	}
	id := c.acct.ID
	switch m.Type {
	case MsgConsult:
		if m.Agent == id {
			return errors.New("agentapi: cannot consult yourself")
		}
		if err := cs.Consult(ctx, id, m.Call, m.Queue, m.Agent); err != nil {
			return err
		}
		// The router holds the caller now: the page's own hold would
		// keep the agent from hearing the one they consult.
		if ac.leg != nil && ac.leg.Held() {
			ac.leg.SetHold(false)
			c.send(ServerMessage{Type: "held", Call: m.Call, On: ptr(false)})
		}
		c.log.Info("consultation asked", "call_id", m.Call, "agent_to", m.Agent, "queue", m.Queue)
	case MsgConsultComplete:
		if err := cs.CompleteConsult(ctx, id, m.Call); err != nil {
			return err
		}
		c.log.Info("consultation completed", "call_id", m.Call)
	case MsgConsultCancel:
		if err := cs.CancelConsult(ctx, id, m.Call); err != nil {
			return err
		}
		c.log.Info("consultation cancelled", "call_id", m.Call)
	}
	return nil
}

// ConsultEvent tells the pages how a consultation stands
// (routing.EventConsult; other events are ignored): the asking agent's
// page every change, the consulted agent's page that the call is now
// theirs once completed. Subscribe it with routing.Router.OnEvent.
func (s *Server) ConsultEvent(ev routing.Event) {
	if ev.Type != routing.EventConsult {
		return
	}
	if c := s.agent(ev.Agent); c != nil {
		if ev.Reason == routing.ConsultCompleted {
			c.mu.Lock()
			if ac := c.calls[ev.CallID]; ac != nil {
				ac.handedTo = ev.Peer
			}
			c.mu.Unlock()
		}
		c.send(ServerMessage{Type: "consult", Call: ev.CallID, State: ev.Reason, Peer: ev.Peer})
	}
	if ev.Reason != routing.ConsultCompleted {
		return
	}
	if c := s.agent(ev.Peer); c != nil {
		c.mu.Lock()
		if ac := c.calls[ev.CallID]; ac != nil {
			ac.offer.ConsultFrom = ""
		}
		c.mu.Unlock()
		c.send(ServerMessage{Type: "consult", Call: ev.CallID, State: ev.Reason, Peer: ev.Agent})
		c.log.Info("call transferred to this agent after consultation", "call_id", ev.CallID, "from", ev.Agent)
	}
}
