package rtc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/media"
)

// concealAfter is how late a frame may be before ReadAudio returns
// silence in its place.
const concealAfter = 40 * time.Millisecond

// Leg is one call carried by a Session: a call.Leg whose audio is the
// browser's microphone and speaker. It ends when hung up, or with
// call.CauseFailure when its session ends (the browser closed the page, the
// WebSocket dropped or ICE failed): that is how the routing side learns
// that an agent's browser is gone.
type Leg struct {
	s  *Session
	id string

	in     chan []int16 // decoded frames from the browser
	out    chan []int16 // frames for the browser, drained by writeLoop
	digits chan call.Digit
	done   chan struct{}

	mu       sync.Mutex
	cause    call.Cause
	onAnswer func(context.Context) error
	answered bool

	hold, mute atomic.Bool
	due        time.Time // reader only: when the next frame is expected
	synthetic  bool      // reader only: the last frame read was not the browser's
	holdAudio  []int16   // played to the far party while held; set before use
	holdPos    int       // reader only

	farMu sync.Mutex
	far   []int16 // queued by PlayToFar, played in place of the microphone
}

// MaxPlayToFar bounds the audio queued by PlayToFar (10 s).
const MaxPlayToFar = 10 * call.SampleRate

// ErrPlayQueueFull is returned by PlayToFar when the audio would exceed
// MaxPlayToFar samples queued.
var ErrPlayQueueFull = errors.New("rtc: audio queue for the far party is full")

// PlayToFar queues audio that the far party hears in place of the
// browser's microphone (the agent's keypad tones), then the microphone
// again. Nothing is queued when the total would exceed MaxPlayToFar.
func (l *Leg) PlayToFar(pcm []int16) error {
	l.farMu.Lock()
	defer l.farMu.Unlock()
	if len(l.far)+len(pcm) > MaxPlayToFar {
		return ErrPlayQueueFull
	}
	l.far = append(l.far, pcm...)
	return nil
}

// fillFar replaces dst with the next queued PlayToFar audio, if any, and
// reports whether it did.
func (l *Leg) fillFar(dst []int16) bool {
	l.farMu.Lock()
	defer l.farMu.Unlock()
	if len(l.far) == 0 {
		return false
	}
	n := copy(dst, l.far)
	clear(dst[n:])
	l.far = l.far[n:]
	if len(l.far) == 0 {
		l.far = nil
	}
	return true
}

var (
	_ call.Leg     = (*Leg)(nil)
	_ media.Marker = (*Leg)(nil)
)

// Synthetic reports whether the frame the last ReadAudio returned was made
// here rather than received from the browser: silence standing in for a
// frame that did not arrive in time (loss concealment), the hold audio, or
// PlayToFar audio (keypad tones). The voiceprint side skips such frames,
// as it skips an RTP session's concealment (media.Marker). Call it from
// the reading goroutine, after ReadAudio.
func (l *Leg) Synthetic() bool { return l.synthetic }

func newLeg(s *Session, id string) *Leg {
	return &Leg{
		s: s, id: id,
		in:     make(chan []int16, 10),
		out:    make(chan []int16, 3),
		digits: make(chan call.Digit, 16),
		done:   make(chan struct{}),
	}
}

// ID returns the leg's id (the call id given to Attach).
func (l *Leg) ID() string { return l.id }

// Session returns the session carrying the leg.
func (l *Leg) Session() *Session { return l.s }

// OnAnswer sets a function run by the first Answer (a web caller's page is
// told that the call was answered). Set it before the leg is used.
func (l *Leg) OnAnswer(f func(context.Context) error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.onAnswer = f
}

// Answer runs the OnAnswer function once; later calls do nothing.
func (l *Leg) Answer(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cause != call.CauseNone {
		return call.ErrHangup
	}
	if l.answered {
		return nil
	}
	if l.onAnswer != nil {
		if err := l.onAnswer(ctx); err != nil {
			return fmt.Errorf("rtc: answer %s: %w", l.id, err)
		}
	}
	l.answered = true
	return nil
}

// SetHold puts the far party on hold (true) or back (false): while held,
// the browser's audio is replaced by the hold audio (or silence) and the
// audio written to the leg is not played to the browser.
func (l *Leg) SetHold(on bool) { l.hold.Store(on) }

// SetHoldAudio sets 8 kHz PCM played in a loop, instead of the browser's
// audio, while the leg is held (music on hold). Call it before the leg is
// read.
func (l *Leg) SetHoldAudio(pcm []int16) { l.holdAudio = pcm }

// SetMute stops (true) or restores (false) the browser's audio towards the
// call; the browser still hears the call.
func (l *Leg) SetMute(on bool) { l.mute.Store(on) }

// Held and Muted report the leg's hold and mute states.
func (l *Leg) Held() bool  { return l.hold.Load() }
func (l *Leg) Muted() bool { return l.mute.Load() }

// deliver queues a frame from the browser, dropping the oldest when the
// reader is behind. It runs on the session's read goroutine.
func (l *Leg) deliver(frame []int16) {
	if l.mute.Load() {
		clear(frame)
	}
	for {
		select {
		case l.in <- frame:
			return
		default:
		}
		select {
		case <-l.in:
		default:
		}
	}
}

func (l *Leg) deliverDigit(d call.Digit) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cause != call.CauseNone || l.hold.Load() {
		return
	}
	select {
	case l.digits <- d:
	default:
	}
}

// next returns the next frame for the browser, if one is queued. It runs
// on the session's write goroutine.
func (l *Leg) next() ([]int16, bool) {
	select {
	case f := <-l.out:
		if l.hold.Load() {
			return nil, false
		}
		return f, true
	default:
		return nil, false
	}
}

// ReadAudio returns the browser's next 20 ms frame. A frame more than
// concealAfter late is replaced by silence, so a reader gets a frame every
// 20 ms while the leg is up.
func (l *Leg) ReadAudio(ctx context.Context, dst []int16) (int, error) {
	if len(dst) < call.FrameSamples {
		return 0, fmt.Errorf("rtc: ReadAudio buffer of %d samples, need %d", len(dst), call.FrameSamples)
	}
	select {
	case <-l.done:
		return 0, call.ErrHangup
	default:
	}
	now := time.Now()
	if l.due.IsZero() {
		l.due = now.Add(call.FrameDuration)
	}
	t := time.NewTimer(l.due.Add(concealAfter).Sub(now))
	defer t.Stop()
	select {
	case f := <-l.in:
		copy(dst, f)
		l.due = time.Now().Add(call.FrameDuration)
		l.synthetic = false
	case <-t.C:
		clear(dst[:call.FrameSamples])
		l.due = l.due.Add(call.FrameDuration)
		l.synthetic = true
	case <-l.done:
		return 0, call.ErrHangup
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	if l.hold.Load() {
		l.fillHold(dst[:call.FrameSamples])
		l.synthetic = true
	} else if l.fillFar(dst[:call.FrameSamples]) {
		l.synthetic = true
	}
	return call.FrameSamples, nil
}

// fillHold writes the next frame of the hold audio loop, or silence.
func (l *Leg) fillHold(dst []int16) {
	if len(l.holdAudio) == 0 {
		clear(dst)
		return
	}
	for i := range dst {
		if l.holdPos >= len(l.holdAudio) {
			l.holdPos = 0
		}
		dst[i] = l.holdAudio[l.holdPos]
		l.holdPos++
	}
}

// WriteAudio queues one frame (up to FrameSamples samples; shorter frames
// are padded with silence) for the browser. It blocks while three frames
// are queued, so a writer is paced by the session's 20 ms clock.
func (l *Leg) WriteAudio(ctx context.Context, frame []int16) error {
	if len(frame) > call.FrameSamples {
		return fmt.Errorf("rtc: WriteAudio frame of %d samples, max %d", len(frame), call.FrameSamples)
	}
	f := make([]int16, call.FrameSamples)
	copy(f, frame)
	select {
	case <-l.done:
		return call.ErrHangup
	default:
	}
	select {
	case l.out <- f:
		return nil
	case <-l.done:
		return call.ErrHangup
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Digits delivers the browser's key presses (RTCDTMFSender); it is closed
// when the leg ends.
func (l *Leg) Digits() <-chan call.Digit { return l.digits }

// Hangup ends the leg with cause and detaches it from its session, which
// stays up for the next call. Hanging up twice is a no-op.
func (l *Leg) Hangup(ctx context.Context, cause call.Cause) error {
	if cause == call.CauseNone {
		cause = call.CauseNormal
	}
	l.end(cause)
	return nil
}

func (l *Leg) end(cause call.Cause) {
	l.mu.Lock()
	if l.cause != call.CauseNone {
		l.mu.Unlock()
		return
	}
	l.cause = cause
	close(l.done)
	close(l.digits)
	l.mu.Unlock()
	l.s.current.CompareAndSwap(l, nil)
}

// Done is closed when the leg has ended.
func (l *Leg) Done() <-chan struct{} { return l.done }

// Cause reports why the leg ended: call.CauseFailure when the browser went
// away, the cause given to Hangup otherwise; call.CauseNone while up.
func (l *Leg) Cause() call.Cause {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cause
}
