package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/voxdesk/voxdesk/agentapi"
	"github.com/voxdesk/voxdesk/media"
)

// keypad sends agents' keypad keys to callers on SIP trunk legs as RFC
// 4733 telephone-events, on the RTP session of the caller's leg found by
// call id. calls is set before the SIP front end starts.
type keypad struct {
	calls *frameMarks
}

var _ agentapi.Keypad = (*keypad)(nil)

func (k *keypad) SendDigit(ctx context.Context, callID string, key rune, duration time.Duration) error {
	m, _ := k.calls.get(callID).(*rtpMedia)
	if m == nil {
		return fmt.Errorf("service: keypad %s: not a SIP call: %w", callID, agentapi.ErrNoTelephoneEvents)
	}
	s := m.session()
	if s == nil {
		return fmt.Errorf("service: keypad %s: %w", callID, media.ErrClosed)
	}
	err := s.SendDigit(ctx, key, duration)
	if errors.Is(err, media.ErrNoEvents) {
		return fmt.Errorf("service: keypad %s: %w", callID, agentapi.ErrNoTelephoneEvents)
	}
	if err != nil {
		return fmt.Errorf("service: keypad %s: %w", callID, err)
	}
	return nil
}
