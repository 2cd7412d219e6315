package rtc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/media/dtmf"
)

// digitDecoder turns the browser's RTCDTMFSender packets (RFC 4733
// telephone-events on the audio SSRC) into call digits.
type digitDecoder struct {
	d   dtmf.Decoder
	buf []dtmf.Digit
	out []call.Digit
}

func (dd *digitDecoder) decode(ssrc, ts uint32, payload []byte) []call.Digit {
	var err error
	dd.buf, err = dd.d.Decode(dd.buf[:0], ssrc, ts, payload)
	if err != nil {
		return nil
	}
	dd.out = dd.out[:0]
	for _, d := range dd.buf {
		dd.out = append(dd.out, call.Digit{Key: d.Key, Duration: d.Duration})
	}
	return dd.out
}

// ErrNoTelephoneEvents is returned by Leg.SendDigit when the browser did
// not negotiate telephone-event (RFC 4733) or the session has no answer
// yet.
var ErrNoTelephoneEvents = errors.New("rtc: telephone-events not negotiated")

// digitRequest is one key for the session's writer to send.
type digitRequest struct {
	events []dtmf.Event
	done   chan struct{} // closed once the last packet is sent
}

// eventSender is the writer's key in progress: packet n of its events,
// all stamped with the RTP time the key started (section 2.5.1.1).
type eventSender struct {
	req *digitRequest
	n   int
	ts  uint32
}

func (e *eventSender) packet(buf []byte) []byte { return e.req.events[e.n].AppendTo(buf) }

// advance moves to the next packet; after the last one the key is done.
func (e *eventSender) advance() {
	if e.n++; e.n == len(e.req.events) {
		e.finish()
	}
}

func (e *eventSender) finish() {
	if e.req != nil {
		close(e.req.done)
		e.req = nil
	}
}

// SendDigit sends key to the browser as RFC 4733 telephone-events lasting
// duration, in place of the leg's audio, and returns once the last end
// packet is sent. It returns ErrNoTelephoneEvents when the browser did
// not negotiate them (the caller then plays the key in-band).
func (l *Leg) SendDigit(ctx context.Context, key rune, duration time.Duration) error {
	l.s.mu.Lock()
	track := l.s.track
	l.s.mu.Unlock()
	if track == nil || track.eventType() == 0 {
		return ErrNoTelephoneEvents
	}
	evs, err := dtmf.Sequence(key, duration, call.FrameDuration)
	if err != nil {
		return fmt.Errorf("rtc: send digit: %w", err)
	}
	req := digitRequest{events: evs, done: make(chan struct{})}
	select {
	case l.s.digitReq <- req:
	case <-l.done:
		return call.ErrHangup
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-req.done:
		return nil
	case <-l.done:
		return call.ErrHangup
	case <-ctx.Done():
		return ctx.Err()
	}
}
