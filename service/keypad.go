package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/voxdesk/voxdesk/agentapi"
	"github.com/voxdesk/voxdesk/media"
)

// Keypad timing of telephone-events: each key lasts keyTone, then the
// stream carries audio again for keyGap before the next key, as the
// in-band keypad does (ITU-T Q.24 receivers need 40 ms of each).
const (
	keyTone = 100 * time.Millisecond
	keyGap  = 60 * time.Millisecond
)

// keypad sends agents' keypad keys to callers on SIP trunk legs as RFC
// 4733 telephone-events, on the RTP session of the caller's leg found by
// call id. calls is set before the SIP front end starts.
type keypad struct {
	calls *frameMarks
}

var _ agentapi.Keypad = (*keypad)(nil)

func (k *keypad) SendDigits(ctx context.Context, callID, digits string) error {
	m, _ := k.calls.get(callID).(*rtpMedia)
	if m == nil {
		return fmt.Errorf("service: keypad %s: not a SIP call: %w", callID, agentapi.ErrNoTelephoneEvents)
	}
	s := m.session()
	if s == nil {
		return fmt.Errorf("service: keypad %s: %w", callID, media.ErrClosed)
	}
	for i, key := range digits {
		if i > 0 {
			t := time.NewTimer(keyGap)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			}
		}
		err := s.SendDigit(ctx, key, keyTone)
		if errors.Is(err, media.ErrNoEvents) {
			return fmt.Errorf("service: keypad %s: %w", callID, agentapi.ErrNoTelephoneEvents)
		}
		if err != nil {
			return fmt.Errorf("service: keypad %s: %w", callID, err)
		}
	}
	return nil
}
