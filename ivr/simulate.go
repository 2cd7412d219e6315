package ivr

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/voxdesk/voxdesk/call"
)

// Simulation is a scripted caller for Simulate: each time the flow waits
// for a key the caller presses the next of Digits; the first time it
// listens for speech the caller says Speech (8 kHz PCM).
type Simulation struct {
	Digits []rune
	Speech []int16
	Caller string
	Callee string
	At     time.Time     // wall clock at the start of the call (business hours)
	Max    time.Duration // the caller hangs up after this long (10 minutes when zero)
}

// SimStep is one step the simulated call ran.
type SimStep struct {
	At   time.Duration // call time when the step started
	ID   string
	What string // what the step does
}

// SimResult is what a simulated call did.
type SimResult struct {
	Flow     string
	Path     []SimStep
	Vars     map[string]string
	Duration time.Duration
	Cause    call.Cause // why the call ended
}

// Simulate runs one call through f with a scripted caller on a virtual
// clock (it takes as long as the computation, not the call) and reports
// the steps taken and the call variables at the end.
func Simulate(ctx context.Context, f *Flow, sim Simulation, cfg Config, log *slog.Logger) (*SimResult, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	leg := &simLeg{sim: sim, digits: make(chan call.Digit, 1), done: make(chan struct{})}
	if leg.sim.Max <= 0 {
		leg.sim.Max = 10 * time.Minute
	}
	at := sim.At
	if at.IsZero() {
		at = time.Now()
	}
	res := &SimResult{Flow: f.name + "@" + f.Version()}
	c := call.New("simulated", leg, log)
	c.Caller, c.Callee, c.Start = sim.Caller, sim.Callee, at
	r := NewRunner(f, cfg, WithLogger(log), WithClock(func() time.Time { return at }),
		OnStep(func(c *call.Call, f *Flow, id string) {
			res.Path = append(res.Path, SimStep{At: leg.now(), ID: id, What: f.steps[id].summary()})
		}))
	err := r.ServeCall(ctx, c)
	res.Vars = c.Vars()
	res.Duration = leg.now()
	res.Cause = leg.Cause()
	return res, err
}

// inputWaiter is told when the flow starts waiting for the caller: the
// simulator's caller answers then.
type inputWaiter interface{ waitingForInput(speech bool) }

func (s *session) waiting(speech bool) {
	if w, ok := s.leg.(inputWaiter); ok {
		w.waitingForInput(speech)
	}
}

// simLeg is the simulated caller's leg.
type simLeg struct {
	sim       Simulation
	mu        sync.Mutex
	frames    int
	speech    []int16
	spoke     bool
	nextDigit int
	digits    chan call.Digit
	done      chan struct{}
	cause     call.Cause
}

func (l *simLeg) now() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return time.Duration(l.frames) * call.FrameDuration
}

func (l *simLeg) waitingForInput(speech bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if speech {
		if !l.spoke && len(l.sim.Speech) > 0 {
			l.spoke = true
			l.speech = l.sim.Speech
		}
		return
	}
	if l.nextDigit < len(l.sim.Digits) && len(l.digits) == 0 && l.cause == call.CauseNone {
		l.digits <- call.Digit{Key: l.sim.Digits[l.nextDigit], Duration: 100 * time.Millisecond}
		l.nextDigit++
	}
}

func (l *simLeg) Answer(ctx context.Context) error { return nil }

func (l *simLeg) ReadAudio(ctx context.Context, dst []int16) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cause != call.CauseNone {
		return 0, call.ErrHangup
	}
	n := min(len(dst), call.FrameSamples)
	clear(dst[:n])
	k := copy(dst[:n], l.speech)
	l.speech = l.speech[k:]
	l.frames++
	if time.Duration(l.frames)*call.FrameDuration >= l.sim.Max {
		l.endLocked(call.CauseNormal)
	}
	return n, nil
}

func (l *simLeg) WriteAudio(ctx context.Context, frame []int16) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cause != call.CauseNone {
		return call.ErrHangup
	}
	return nil
}

func (l *simLeg) Digits() <-chan call.Digit { return l.digits }
func (l *simLeg) Done() <-chan struct{}     { return l.done }

func (l *simLeg) Hangup(ctx context.Context, cause call.Cause) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.endLocked(cause)
	return nil
}

func (l *simLeg) endLocked(cause call.Cause) {
	if l.cause == call.CauseNone {
		l.cause = cause
		close(l.done)
		close(l.digits)
	}
}

func (l *simLeg) Cause() call.Cause {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cause
}
