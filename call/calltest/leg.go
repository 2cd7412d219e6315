// Package calltest provides scripted fake legs for testing call handlers,
// as net/http/httptest does for HTTP handlers. A Leg plays back speech and
// key presses on a virtual 20 ms clock and records what the handler sent.
package calltest

import (
	"context"
	"sync"
	"time"

	"github.com/voxdesk/voxdesk/call"
)

// Event is one scripted caller action, applied when the leg has delivered
// At worth of audio frames (At is virtual time from the start of the call).
type Event struct {
	At     time.Duration
	Digit  rune    // a key press, if non-zero
	Speech []int16 // 8 kHz PCM the caller starts saying at At, if non-nil
	Hangup bool    // the caller hangs up at At
}

// Leg is a fake call.Leg driven by a script. Nothing sleeps: the leg keeps
// a virtual clock, the larger of the audio read from it and the audio
// written to it, so tests run as fast as the handler consumes or produces
// audio. Handlers should therefore measure time in frames (as a media loop
// does), not with timers, to be testable with it.
// Fields other than Script may be read after the handler returns.
type Leg struct {
	Script []Event
	// MaxDuration ends the call (caller hangs up) after this much virtual
	// time, so a handler that never stops cannot hang a test. Zero means
	// 10 minutes.
	MaxDuration time.Duration
	// Pace makes ReadAudio wait for real time to catch up with the virtual
	// clock, like a network leg, for tests of code that relays audio
	// between legs.
	Pace bool

	mu       sync.Mutex
	started  bool
	t0       time.Time
	readT    time.Duration // audio delivered to the handler
	writeT   time.Duration // audio received from the handler
	now      time.Duration // max(readT, writeT): the call's virtual time
	next     int
	speech   []int16
	digits   chan call.Digit
	done     chan struct{}
	cause    call.Cause
	answered bool
	written  []int16
	sentAt   []time.Duration // virtual time of each written frame
}

var _ call.Leg = (*Leg)(nil)

// NewLeg returns a leg that plays the script.
func NewLeg(script ...Event) *Leg {
	return &Leg{Script: script}
}

func (l *Leg) init() {
	if !l.started {
		l.started = true
		l.t0 = time.Now()
		l.digits = make(chan call.Digit, 64)
		l.done = make(chan struct{})
		if l.MaxDuration == 0 {
			l.MaxDuration = 10 * time.Minute
		}
	}
}

// Answer marks the leg answered.
func (l *Leg) Answer(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.init()
	if l.cause != call.CauseNone {
		return call.ErrHangup
	}
	l.answered = true
	return nil
}

// ReadAudio returns the next frame of the caller's scripted audio (silence
// between utterances), applying the events that fall due.
func (l *Leg) ReadAudio(ctx context.Context, dst []int16) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.init()
	if l.Pace {
		wait := time.Until(l.t0.Add(l.readT))
		l.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
		l.mu.Lock()
		if err := ctx.Err(); err != nil {
			return 0, err
		}
	}
	if l.cause != call.CauseNone {
		return 0, call.ErrHangup
	}
	l.applyLocked()
	if l.cause != call.CauseNone {
		return 0, call.ErrHangup
	}
	n := min(len(dst), call.FrameSamples)
	clear(dst[:n])
	k := copy(dst[:n], l.speech)
	l.speech = l.speech[k:]
	l.readT += call.FrameDuration
	l.now = max(l.readT, l.writeT)
	return n, nil
}

func (l *Leg) applyLocked() {
	for l.next < len(l.Script) && l.Script[l.next].At <= l.now {
		ev := l.Script[l.next]
		l.next++
		if ev.Digit != 0 {
			select {
			case l.digits <- call.Digit{Key: ev.Digit, Duration: 100 * time.Millisecond}:
			default:
			}
		}
		if ev.Speech != nil {
			l.speech = ev.Speech
		}
		if ev.Hangup {
			l.endLocked(call.CauseNormal)
			return
		}
	}
	if l.now >= l.MaxDuration {
		l.endLocked(call.CauseNormal)
	}
}

// WriteAudio records the frame. Writing advances the virtual clock too, so
// scripted digits arrive during prompts.
func (l *Leg) WriteAudio(ctx context.Context, frame []int16) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.init()
	if l.cause != call.CauseNone {
		return call.ErrHangup
	}
	l.written = append(l.written, frame...)
	l.sentAt = append(l.sentAt, l.now)
	l.writeT += call.FrameDuration
	l.now = max(l.readT, l.writeT)
	l.applyLocked()
	return nil
}

// Digits delivers scripted key presses as they fall due.
func (l *Leg) Digits() <-chan call.Digit {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.init()
	return l.digits
}

// Hangup ends the leg.
func (l *Leg) Hangup(ctx context.Context, cause call.Cause) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.init()
	l.endLocked(cause)
	return nil
}

func (l *Leg) endLocked(cause call.Cause) {
	if l.cause != call.CauseNone {
		return
	}
	l.cause = cause
	close(l.done)
	close(l.digits)
}

// Done is closed when the leg ends.
func (l *Leg) Done() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.init()
	return l.done
}

// Cause reports why the leg ended.
func (l *Leg) Cause() call.Cause {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cause
}

// Answered reports whether the handler answered.
func (l *Leg) Answered() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.answered
}

// Written returns a copy of all audio the handler sent.
func (l *Leg) Written() []int16 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int16(nil), l.written...)
}

// Now returns the leg's virtual time.
func (l *Leg) Now() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.now
}
