package routing

import (
	"context"
	"errors"
	"fmt"

	"github.com/voxdesk/voxdesk/call"
)

// ErrNotTalking is returned by TalkingCall when the agent is logged in
// but not talking to a caller (available, ringing, wrapping up, away, or
// on a call-back still dialling the customer).
var ErrNotTalking = errors.New("routing: agent is not talking to a caller")

// TalkingCall returns the call agentID is talking on, for a supervisor
// who wants to listen, whisper or barge in: its Taps see the bridge's
// audio. It fails with ErrUnknownAgent for an agent not logged in and
// ErrNotTalking otherwise.
func (r *Router) TalkingCall(ctx context.Context, agentID string) (*call.Call, error) {
	var c *call.Call
	err := r.do(ctx, func() error {
		a, err := r.agentFor(agentID)
		if err != nil {
			return err
		}
		e := r.callOf(a)
		if a.state != StateBusy || e == nil || e.state != callTalking || e.c == nil || e.w == nil {
			return fmt.Errorf("%w: %q is %s", ErrNotTalking, agentID, a.state)
		}
		c = e.c
		return nil
	})
	return c, err
}
