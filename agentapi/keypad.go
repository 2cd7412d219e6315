package agentapi

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/rtc"
)

// Keypad sends an agent's keypad keys to the far party of a call as RFC
// 4733 telephone-events, when the far party's leg negotiated them. The
// service implements it over the SIP trunk legs' RTP sessions; the web
// callers' legs (rtc) are the agent API's own.
type Keypad interface {
	// SendDigit sends one keypad key lasting duration and returns once it
	// is sent, or ErrNoTelephoneEvents when the call's far leg has no
	// telephone-event payload type (or is unknown).
	SendDigit(ctx context.Context, callID string, key rune, duration time.Duration) error
}

// ErrNoTelephoneEvents is returned by a Keypad for a call whose far leg
// cannot carry telephone-events: the keys are then played in-band.
var ErrNoTelephoneEvents = errors.New("agentapi: telephone-events not negotiated with the far party")

// WithKeypad sends the agents' keypad keys as RFC 4733 telephone-events
// where the caller's SIP leg negotiated them (in-band tones otherwise).
func WithKeypad(k Keypad) Option { return func(s *Server) { s.keypad = k } }

// Each key lasts toneOn and keys are toneOff apart, as telephone-events
// or as tones.
const (
	toneOn  = time.Duration(toneOnSamples) * time.Second / call.SampleRate
	toneOff = time.Duration(toneOffSamples) * time.Second / call.SampleRate
)

// pressKeys sends the agent's keys to the far party of the call ac: as
// telephone-events when the far leg has them (RFC 4733 section 2.3), else
// as in-band tones (Q.23) in place of the agent's microphone.
func (s *Server) pressKeys(ctx context.Context, c *agentConn, ac *agentCall, callID, digits string) error {
	if send := s.digitSender(callID); send != nil {
		n, err := sendKeys(ctx, send, digits)
		if err == nil {
			c.log.Info("keypad", "call_id", callID, "digits", len(digits), "method", "rfc4733")
			return nil
		}
		if !errors.Is(err, ErrNoTelephoneEvents) {
			return fmt.Errorf("agentapi: keypad: %w", err)
		}
		digits = digits[n:] // the keys not sent as events
	}
	if err := ac.leg.PlayToFar(dtmfTones(digits)); err != nil {
		return fmt.Errorf("agentapi: keypad: %w", err)
	}
	c.log.Info("keypad", "call_id", callID, "digits", len(digits), "method", "in-band")
	return nil
}

// digitSenderFunc sends one key as telephone-events.
type digitSenderFunc func(ctx context.Context, key rune, duration time.Duration) error

// digitSender returns how to send telephone-events to the far party of
// callID: its WebRTC leg for a web caller, else the Keypad; nil if
// neither.
func (s *Server) digitSender(callID string) digitSenderFunc {
	s.mu.Lock()
	var leg *rtc.Leg
	for wc := range s.webcalls {
		if wc.callID == callID && wc.leg != nil {
			leg = wc.leg
		}
	}
	s.mu.Unlock()
	switch {
	case leg != nil:
		return func(ctx context.Context, key rune, d time.Duration) error {
			err := leg.SendDigit(ctx, key, d)
			if errors.Is(err, rtc.ErrNoTelephoneEvents) {
				return fmt.Errorf("%w: %w", ErrNoTelephoneEvents, err)
			}
			return err
		}
	case s.keypad != nil:
		return func(ctx context.Context, key rune, d time.Duration) error {
			return s.keypad.SendDigit(ctx, callID, key, d)
		}
	}
	return nil
}

// sendKeys sends the keys one by one, toneOff apart, and returns how many
// bytes of digits were sent.
func sendKeys(ctx context.Context, send digitSenderFunc, digits string) (int, error) {
	for i, key := range digits {
		if i > 0 {
			t := time.NewTimer(toneOff)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return i, ctx.Err()
			}
		}
		if err := send(ctx, key, toneOn); err != nil {
			return i, err
		}
	}
	return len(digits), nil
}

// Keypad tones (ITU-T Q.23): each key is the sum of a row and a column
// frequency, played for toneOn then silent for toneOff, loud enough for
// any DTMF receiver (about -10 dBm0 per frequency).
const (
	toneOnSamples  = call.SampleRate / 10      // 100 ms
	toneOffSamples = call.SampleRate * 6 / 100 // 60 ms
	toneAmplitude  = 6000
)

var (
	rowHz = [4]float64{697, 770, 852, 941}
	colHz = [4]float64{1209, 1336, 1477, 1633}
	// keypadRows lays the keys out as on a telephone: row i, column j.
	keypadRows = [4]string{"123A", "456B", "789C", "*0#D"}
)

// dtmfTones returns the in-band tones of digits, which must be keypad
// keys (ParseClientMessage checked them).
func dtmfTones(digits string) []int16 {
	out := make([]int16, 0, len(digits)*(toneOnSamples+toneOffSamples))
	for _, k := range digits {
		row, col := -1, -1
		for i, r := range keypadRows {
			if j := strings.IndexRune(r, k); j >= 0 {
				row, col = i, j
			}
		}
		if row < 0 {
			continue
		}
		for n := range toneOnSamples {
			t := float64(n) / call.SampleRate
			v := math.Sin(2*math.Pi*rowHz[row]*t) + math.Sin(2*math.Pi*colHz[col]*t)
			out = append(out, int16(toneAmplitude*v))
		}
		out = append(out, make([]int16, toneOffSamples)...)
	}
	return out
}
