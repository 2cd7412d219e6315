package agentapi

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/routing"
)

// dialTimeout bounds an outbound call's set-up (ringing included).
const dialTimeout = 60 * time.Second

// ReasonOutbound is the away reason while an agent calls a customer, so
// routing offers them nothing meanwhile.
const ReasonOutbound = "outbound call"

// dial calls a customer on a number of their file for the agent: the
// agent is set away (ReasonOutbound), the page shows the call as
// "dialling", and once the customer answers their leg is bridged to the
// agent's softphone like an answered call (hang-up, hold, keypad,
// wrap-up). A number not in the customer's file is refused and nothing
// is dialled.
func (s *Server) dial(ctx context.Context, c *agentConn, cust, number string) error {
	if s.dialer == nil || s.dir == nil {
		return errors.New("agentapi: outbound calls not configured (no trunk or no customer directory)")
	}
	c.mu.Lock()
	busy := len(c.calls) > 0 && slices.ContainsFunc(mapValues(c.calls), func(ac *agentCall) bool { return ac.phase != phaseWrapUp })
	c.mu.Unlock()
	if busy {
		return errors.New("agentapi: finish the current call before dialling")
	}
	select {
	case <-c.sess.Connected():
	default:
		return errors.New("agentapi: your softphone audio is not connected yet (microphone allowed?)")
	}
	f, err := s.dir.File(ctx, cust)
	if err != nil {
		return fmt.Errorf("agentapi: dial: customer %q: %w; nothing dialled", cust, err)
	}
	if !slices.Contains(f.Phones, number) {
		return fmt.Errorf("agentapi: %s is not a number in customer %s's file; nothing dialled", number, cust)
	}
	if s.router != nil {
		if err := s.router.SetState(ctx, c.acct.ID, routing.StateAway, ReasonOutbound); err != nil {
			return fmt.Errorf("agentapi: dial: %w", err)
		}
		c.setState(string(routing.StateAway), ReasonOutbound, time.Time{})
	}
	id := newCallID("out-")
	o := routing.Offer{CallID: id, Caller: number, Channel: call.ChannelSIP, Customer: cust, IdentMethod: call.MethodNumber,
		Vars: map[string]string{varOutbound: "1"}}
	dctx, cancel := context.WithTimeout(s.life, dialTimeout)
	ac := &agentCall{offer: o, file: &f, phase: phaseRinging, offeredAt: s.now(), cancelDial: cancel}
	c.mu.Lock()
	c.calls[id] = ac
	c.mu.Unlock()
	c.send(ServerMessage{Type: "dialling", Offer: offerView(o, &f)})
	c.log.Info("dialling a customer", "call_id", id, "customer", cust)
	if !s.goTracked(func() { s.connectOutbound(dctx, cancel, c, id, number) }) {
		cancel()
		c.forget(id)
		return errors.New("agentapi: shutting down")
	}
	return nil
}

// varOutbound marks an agent's outbound call in its offer's variables.
const varOutbound = "agentapi.outbound"

// connectOutbound places the call and bridges it to the agent's
// softphone until either side hangs up.
func (s *Server) connectOutbound(ctx context.Context, cancel context.CancelFunc, c *agentConn, id, number string) {
	defer cancel()
	far, err := s.dialer.Dial(ctx, number, s.dialFrom)
	if err != nil {
		c.log.Info("outbound call failed", "call_id", id, "err", err)
		c.forget(id)
		reason := "the call did not go through"
		if errors.Is(err, context.Canceled) {
			reason = "cancelled"
		}
		c.send(ServerMessage{Type: "cancel", Call: id, Reason: reason})
		return
	}
	agent, err := s.Leg(ctx, c.acct.ID, id)
	if err != nil {
		c.log.Info("outbound call: agent leg", "call_id", id, "err", err)
		_ = far.Hangup(context.Background(), call.CauseCancelled)
		c.forget(id)
		c.send(ServerMessage{Type: "cancel", Call: id, Reason: "cancelled"})
		return
	}
	ended, _ := call.Bridge(s.life, far, agent)
	hctx, hcancel := context.WithTimeout(context.Background(), opTimeout)
	defer hcancel()
	_ = far.Hangup(hctx, call.CauseNormal)
	_ = agent.Hangup(hctx, call.CauseNormal)
	c.log.Info("outbound call over", "call_id", id, "customer_hung_up", ended == far)
}

func mapValues[K comparable, V any](m map[K]V) []V {
	out := make([]V, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
