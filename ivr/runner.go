package ivr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/voxdesk/voxdesk/call"
)

// Call variables the runner sets besides the identification ones of
// package call.
const (
	VarFlow        = "ivr.flow"     // flow name and version, "hotline@1a2b3c4d5e6f"
	VarStep        = "ivr.step"     // id of the step running (or last run)
	VarPath        = "ivr.path"     // ids of the steps run, space-separated, the last MaxPathSteps of them
	VarEnrolStatus = "enrol.status" // done, refused or incomplete
)

// MaxPathSteps bounds the steps kept in VarPath (the agent's page shows
// the caller's way through the menus).
const MaxPathSteps = 32

// Config holds what a Runner needs from the rest of the switch and its
// limits. Nil collaborators are allowed: steps that need them take their
// fail: way (identify just records "none"; queue holds, then hangs up).
type Config struct {
	Identifier Identifier
	Verifier   Verifier
	Enroller   Enroller
	Directory  Directory
	Router     Router
	Callbacks  Callbacks
	Voicemail  Voicemail
	Dialer     call.Dialer
	Recorder   Recorder

	// DecideEvery is how much caller audio passes between two calls of
	// Listener.Decide (500 ms when zero).
	DecideEvery time.Duration
	// HoldLimit is how long a queue step holds the caller when there is
	// no Router, before hanging up (2 minutes when zero).
	HoldLimit time.Duration
	// MaxSteps bounds the steps one call may run (1000 when zero).
	MaxSteps int
}

func (c *Config) fill() {
	if c.DecideEvery <= 0 {
		c.DecideEvery = 500 * time.Millisecond
	}
	if c.HoldLimit <= 0 {
		c.HoldLimit = 2 * time.Minute
	}
	if c.MaxSteps <= 0 {
		c.MaxSteps = 1000
	}
}

// Option sets a Runner collaborator that is not part of the flow's world:
// logger, clock, tracing.
type Option func(*Runner)

// WithLogger sets the logger (slog.Default() otherwise); call lines carry
// the call's call_id.
func WithLogger(l *slog.Logger) Option { return func(r *Runner) { r.log = l } }

// WithClock sets the wall clock business hours are judged by. The runner
// reads it once per call and advances it by the audio exchanged, so a
// scripted call sees time pass as a real one would.
func WithClock(now func() time.Time) Option { return func(r *Runner) { r.now = now } }

// OnStep registers fn to be called as each step starts (tracing, tests,
// the simulator).
func OnStep(fn func(c *call.Call, f *Flow, step string)) Option {
	return func(r *Runner) { r.onStep = fn }
}

// Runner serves calls with a flow. It is a call.Handler.
type Runner struct {
	flow   func(c *call.Call) *Flow
	cfg    Config
	log    *slog.Logger
	now    func() time.Time
	onStep func(c *call.Call, f *Flow, step string)
	stats  *stats // nil outside a Library
}

var _ call.Handler = (*Runner)(nil)

// NewRunner returns a Runner that serves every call with f.
func NewRunner(f *Flow, cfg Config, opts ...Option) *Runner {
	return newRunner(func(*call.Call) *Flow { return f }, cfg, opts)
}

func newRunner(flow func(c *call.Call) *Flow, cfg Config, opts []Option) *Runner {
	cfg.fill()
	r := &Runner{flow: flow, cfg: cfg, log: slog.Default(), now: time.Now}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Errors that end a step list early; never returned to the front end.
var (
	errOperator = errors.New("ivr: caller pressed 0")
	errEnd      = errors.New("ivr: call ended by the flow")
	errGone     = errors.New("ivr: caller hung up")
)

// ServeCall answers the call and runs the flow that is current when the
// call arrives; that version serves the call to its end.
func (r *Runner) ServeCall(ctx context.Context, c *call.Call) (err error) {
	f := r.flow(c)
	if f == nil {
		return &call.RejectError{Cause: call.CauseUnavailable, Reason: "no flow", Err: ErrNoFlow}
	}
	log := c.Log
	if log == nil {
		log = r.log.With("call_id", c.ID)
	}
	log = log.With("flow", f.name, "version", f.Version())
	s := &session{
		r: r, f: f, c: c, leg: c.Leg, ctx: ctx, log: log,
		in: make([]int16, call.FrameSamples), out: make([]int16, call.FrameSamples),
		t0: r.now(), fields: map[string]map[string]string{},
	}
	defer func() {
		if p := recover(); p != nil {
			log.Error("ivr: panic in flow", "panic", p, "stack", string(debug.Stack()))
			_ = c.Leg.Hangup(context.WithoutCancel(ctx), call.CauseFailure)
			err = fmt.Errorf("ivr: flow %s panicked: %v", f.name, p)
		}
	}()
	if err := c.Leg.Answer(ctx); err != nil {
		return fmt.Errorf("ivr: answer %s: %w", c.ID, err)
	}
	c.SetVar(VarFlow, f.name+"@"+f.Version())
	log.Info("ivr: flow started")
	defer s.endRecordings()
	err = s.run()
	r.stats.ended(f.name, c)
	switch {
	case err == nil, errors.Is(err, errEnd):
		log.Info("ivr: flow ended", "step", s.step)
	case errors.Is(err, errGone), errors.Is(err, call.ErrHangup):
		log.Info("ivr: caller hung up", "step", s.step)
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	default:
		log.Error("ivr: flow failed", "step", s.step, "err", err)
		_ = c.Leg.Hangup(context.WithoutCancel(ctx), call.CauseFailure)
		return fmt.Errorf("ivr: flow %s step %s: %w", f.name, s.step, err)
	}
	if c.Leg.Cause() == call.CauseNone {
		_ = c.Leg.Hangup(ctx, call.CauseNormal)
	}
	return nil
}

// session is one call's walk through a flow.
type session struct {
	r   *Runner
	f   *Flow
	c   *call.Call
	leg call.Leg
	ctx context.Context
	log *slog.Logger

	in, out []int16
	frames  int           // frames exchanged: the call's clock
	t0      time.Time     // wall clock at the start
	ahead   []rune        // keys pressed and not consumed yet
	zero    bool          // a new 0 key reaches the operator
	tap     func([]int16) // where caller audio goes besides the flow
	hungUp  bool          // the digit channel closed
	step    string        // current step id
	path    []string      // step ids run, the last MaxPathSteps (VarPath)
	steps   int           // steps run
	idle    int           // steps run since audio last moved
	fields  map[string]map[string]string
	lastRun int      // frames at the last step start
	records []func() // record steps' done functions, called as the call ends
}

func (s *session) run() error {
	err := s.runSeq(s.f.main)
	for errors.Is(err, errOperator) {
		s.log.Info("ivr: caller pressed 0, to the operator", "from", s.step)
		s.r.stats.operator(s.f.name, s.step)
		err = s.runFrom(s.f.main, s.f.steps[s.f.operator])
	}
	return err
}

func (s *session) runSeq(sq *seq) error {
	if len(sq.steps) == 0 {
		return nil
	}
	return s.runFrom(sq, sq.steps[0])
}

// runFrom runs steps of sq from st until the list ends (nil), the call
// ends (errEnd) or the caller presses 0 (errOperator).
func (s *session) runFrom(sq *seq, st *Step) error {
	for st != nil {
		s.steps++
		if s.steps > s.r.cfg.MaxSteps {
			return fmt.Errorf("more than %d steps in one call", s.r.cfg.MaxSteps)
		}
		if s.frames == s.lastRun {
			s.idle++
			if s.idle > 100 {
				return errors.New("the flow loops without waiting for the caller")
			}
		} else {
			s.idle = 0
		}
		s.lastRun = s.frames
		s.step = st.id
		s.c.SetVar(VarStep, st.id)
		s.path = append(s.path, st.id)
		if len(s.path) > MaxPathSteps {
			s.path = s.path[len(s.path)-MaxPathSteps:]
		}
		s.c.SetVar(VarPath, strings.Join(s.path, " "))
		if s.r.onStep != nil {
			s.r.onStep(s.c, s.f, st.id)
		}
		s.log.Debug("ivr: step", "step", st.id, "kind", st.kind)
		s.zero = st.operator && s.f.operator != ""
		next, err := s.exec(st)
		s.tap = nil
		if err != nil {
			return err
		}
		if next == exit {
			return nil
		}
		st = s.f.steps[next]
	}
	return nil
}

func (s *session) failed(st *Step, why string, args ...any) string {
	s.log.Info("ivr: step failed: "+why, append([]any{"step", st.id}, args...)...)
	if st.fail != "" {
		return st.fail
	}
	return st.following()
}

// --- media

// tick sends one frame (silence when out is nil) and reads one frame of
// the caller; keys that arrived are queued in s.ahead.
func (s *session) tick(out []int16) error {
	if out == nil {
		clear(s.out)
		out = s.out
	} else if len(out) < call.FrameSamples {
		n := copy(s.out, out)
		clear(s.out[n:])
		out = s.out
	}
	if err := s.leg.WriteAudio(s.ctx, out); err != nil {
		return s.legErr(err)
	}
	n, err := s.leg.ReadAudio(s.ctx, s.in)
	if err != nil {
		return s.legErr(err)
	}
	s.frames++
	if s.tap != nil && n > 0 {
		s.tap(s.in[:n])
	}
	return s.keys()
}

// marker is a leg that tells the frames it synthesised (loss
// concealment, silence fill; see media.Marker) from received ones.
type marker interface {
	Synthetic() bool
}

// synthetic reports whether the frame just read from leg was
// synthesised: listeners and enrolments skip it (voicemail keeps it, as
// the caller's line sounded).
func synthetic(leg call.Leg) bool {
	m, ok := leg.(marker)
	return ok && m.Synthetic()
}

func (s *session) legErr(err error) error {
	if errors.Is(err, call.ErrHangup) {
		return errGone
	}
	return err
}

// keys drains pressed keys without blocking.
func (s *session) keys() error {
	for !s.hungUp {
		select {
		case d, ok := <-s.leg.Digits():
			if !ok {
				s.hungUp = true
				return errGone
			}
			if d.Key == '0' && s.zero {
				return errOperator
			}
			if len(s.ahead) < 64 {
				s.ahead = append(s.ahead, d.Key)
			}
		default:
			return nil
		}
	}
	return errGone
}

func (s *session) pop() rune {
	d := s.ahead[0]
	s.ahead = s.ahead[1:]
	return d
}

// frameCount converts a duration to a number of 20 ms frames.
func frameCount(d time.Duration) int {
	return int((d + call.FrameDuration - 1) / call.FrameDuration)
}

// play plays the prompts; with bargein, a key stops it (the key stays
// queued for the next step). It reports whether a key stopped it.
func (s *session) play(prompts []string, bargein bool) (bool, error) {
	for _, key := range prompts {
		pcm := s.f.prompts[key]
		for off := 0; off < len(pcm); off += call.FrameSamples {
			if bargein && len(s.ahead) > 0 {
				return true, nil
			}
			if err := s.tick(pcm[off:min(off+call.FrameSamples, len(pcm))]); err != nil {
				return false, err
			}
		}
	}
	return bargein && len(s.ahead) > 0, nil
}

// waitKey waits up to d for a key.
func (s *session) waitKey(d time.Duration) (rune, bool, error) {
	if len(s.ahead) == 0 {
		s.waiting(false)
	}
	for n := frameCount(d); len(s.ahead) == 0 && n > 0; n-- {
		if err := s.tick(nil); err != nil {
			return 0, false, err
		}
	}
	if len(s.ahead) == 0 {
		return 0, false, nil
	}
	return s.pop(), true, nil
}

// now is the wall clock advanced by the call's audio.
func (s *session) now() time.Time {
	return s.t0.Add(time.Duration(s.frames) * call.FrameDuration)
}

// --- variables and conditions (session is the expression env)

func (s *session) builtin(name string) value {
	v := func(k string) string { x, _ := s.c.Var(k); return x }
	switch name {
	case "identified":
		return value{t: TypeBool, b: v(call.VarCustomer) != ""}
	case "customer":
		return value{t: TypeString, s: v(call.VarCustomer)}
	case "score":
		return valueOf(TypeNumber, v(call.VarIdentScore))
	case "method":
		m := v(call.VarIdentMethod)
		if m == "" {
			m = string(call.MethodNone)
		}
		return value{t: TypeString, s: m}
	case "candidates":
		return value{t: TypeString, s: v(call.VarCandidates)}
	case "voice":
		return value{t: TypeString, s: v(call.VarVoice)}
	case "warning":
		return value{t: TypeString, s: v(call.VarIdentWarning)}
	case "watchlist":
		return value{t: TypeString, s: v(call.VarWatchlist)}
	case "caller":
		return value{t: TypeString, s: s.c.Caller}
	case "callee":
		return value{t: TypeString, s: s.c.Callee}
	case "channel":
		return value{t: TypeString, s: string(s.c.Channel)}
	case "trunk":
		return value{t: TypeString, s: s.c.Trunk}
	case "queue":
		return value{t: TypeString, s: v(call.VarQueue)}
	}
	return value{t: TypeString}
}

func (s *session) field(name string) value {
	t := s.f.fields[name]
	id, _ := s.c.Var(call.VarCustomer)
	if id == "" || s.r.cfg.Directory == nil {
		return valueOf(t, "")
	}
	fs, ok := s.fields[id]
	if !ok {
		var err error
		fs, err = s.r.cfg.Directory.Fields(s.ctx, id)
		if err != nil {
			s.log.Warn("ivr: customer fields", "customer", id, "err", err)
		}
		s.fields[id] = fs
	}
	return valueOf(t, fs[name])
}

func (s *session) userVar(name string, t Type) value {
	x, _ := s.c.Var(name)
	return valueOf(t, x)
}

func (s *session) open(cal string) bool    { return s.f.calendars[cal].isOpen(s.now()) }
func (s *session) holiday(cal string) bool { return s.f.calendars[cal].isHoliday(s.now()) }

func (s *session) evalString(e *Expr, def string) string {
	if e == nil {
		return def
	}
	return e.eval(s).String()
}

// identified records who the caller is.
func (s *session) identified(customer string, method call.Method, score float64) {
	s.c.SetVar(call.VarCustomer, customer)
	s.c.SetVar(call.VarIdentMethod, string(method))
	s.c.SetVar(call.VarIdentScore, strconv.FormatFloat(score, 'f', 4, 64))
	delete(s.fields, customer)
}

func joinIDs(ids []string) string { return strings.Join(ids, ",") }
