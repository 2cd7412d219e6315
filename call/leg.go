package call

import (
	"context"
	"time"
)

// Digit is one DTMF key press, reported once when it ends.
type Digit struct {
	Key      rune          // '0'-'9', '*', '#', 'A'-'D'
	Duration time.Duration // how long the key was held
}

// Leg is one party of a call: its audio both ways, its key presses and its
// signalling. Implementations are safe for one reader and one writer
// goroutine at a time, plus any number of callers of the other methods.
type Leg interface {
	// Answer accepts the call (SIP 200 OK). It is a no-op on a leg that is
	// already answered.
	Answer(ctx context.Context) error

	// ReadAudio blocks until the next 20 ms of the party's audio and copies
	// it into dst, which must hold FrameSamples samples. Lost packets are
	// concealed, so a reader gets a frame every 20 ms while the leg is up.
	// It returns ErrHangup once the leg is gone.
	ReadAudio(ctx context.Context, dst []int16) (int, error)

	// WriteAudio queues one frame for the party. It blocks while the send
	// queue is full, so a caller writing in a loop is paced by the leg's
	// clock.
	WriteAudio(ctx context.Context, frame []int16) error

	// Digits delivers the party's key presses. It is closed when the leg
	// ends.
	Digits() <-chan Digit

	// Hangup ends the leg with the cause. Hanging up twice is a no-op.
	Hangup(ctx context.Context, cause Cause) error

	// Done is closed when the leg has ended, by either side.
	Done() <-chan struct{}

	// Cause reports why the leg ended; CauseNone while it is up.
	Cause() Cause
}

// Dialer places outbound legs: a call-back through the SIP trunk, a
// transfer to a SIP URI, an agent's softphone. Dial returns once the far
// end answered, or with an error naming why it did not.
type Dialer interface {
	Dial(ctx context.Context, target string, from string) (Leg, error)
}
