package ivr

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/voxdesk/voxdesk/call"
)

// exec runs one step and returns the id of the next one (exit when the
// step list ends).
func (s *session) exec(st *Step) (string, error) {
	switch st.kind {
	case kindPlay:
		_, err := s.play(st.prompts, st.bargein)
		return st.following(), err
	case kindMenu:
		return s.menu(st)
	case kindCollect:
		return s.collect(st)
	case kindIdentify:
		return s.identify(st)
	case kindVerify:
		return s.verify(st)
	case kindPIN:
		return s.pin(st)
	case kindEnrol:
		return s.enrol(st)
	case kindBranch:
		for _, c := range st.cases {
			if c.when.eval(s).b {
				return c.target, nil
			}
		}
		if st.els != "" {
			return st.els, nil
		}
		return st.following(), nil
	case kindSet:
		for _, a := range st.sets {
			s.c.SetVar(a.name, a.expr.eval(s).String())
		}
		return st.following(), nil
	case kindQueue:
		return s.queue(st)
	case kindTransfer:
		return s.transfer(st)
	case kindCallback:
		return s.callback(st)
	case kindVoicemail:
		return s.voicemail(st)
	case kindRecord:
		return s.record(st)
	case kindHangup:
		s.zero = false
		if _, err := s.play(st.prompts, false); err != nil {
			return exit, err
		}
		_ = s.leg.Hangup(s.ctx, call.CauseNormal)
		return exit, errEnd
	case kindGoto:
		return st.target, nil
	case kindCall:
		if err := s.runSeq(s.f.subs[st.sub]); err != nil {
			return exit, err
		}
		return st.following(), nil
	case kindReturn:
		return exit, nil
	}
	return exit, errors.New("unknown step kind " + st.kind)
}

func (s *session) menu(st *Step) (string, error) {
	if st.choice('0') {
		s.zero = false // the menu says what 0 does
	}
	for attempt := 0; attempt <= st.retries; attempt++ {
		if len(s.ahead) == 0 {
			if _, err := s.play(st.prompts, true); err != nil {
				return exit, err
			}
		}
		k, ok, err := s.waitKey(st.timeout)
		if err != nil {
			return exit, err
		}
		if !ok {
			if attempt < st.retries {
				if _, err := s.play(st.noInput, true); err != nil {
					return exit, err
				}
			}
			continue
		}
		for _, c := range st.choices {
			if c.key == k {
				return c.target, nil
			}
		}
		if k == '0' && s.f.operator != "" && st.operator {
			return exit, errOperator
		}
		if attempt < st.retries {
			s.ahead = s.ahead[:0]
			if _, err := s.play(st.invalid, true); err != nil {
				return exit, err
			}
		}
	}
	return s.failed(st, "no valid choice"), nil
}

func (st *Step) choice(k rune) bool {
	for _, c := range st.choices {
		if c.key == k {
			return true
		}
	}
	return false
}

func (s *session) collect(st *Step) (string, error) {
	s.zero = false // digits are data here
	for attempt := 0; attempt <= st.retries; attempt++ {
		if len(s.ahead) == 0 {
			if _, err := s.play(st.prompts, true); err != nil {
				return exit, err
			}
		}
		var digits strings.Builder
		n := 0
		for n < st.max {
			k, ok, err := s.waitKey(st.timeout)
			if err != nil {
				return exit, err
			}
			if !ok || k == st.terminator {
				break
			}
			digits.WriteRune(k)
			n++
		}
		if n >= st.min {
			s.c.SetVar(st.into, digits.String())
			return st.following(), nil
		}
		if attempt < st.retries {
			again := st.invalid
			if n == 0 && st.noInput != nil {
				again = st.noInput
			}
			s.ahead = s.ahead[:0]
			if _, err := s.play(again, true); err != nil {
				return exit, err
			}
		}
	}
	return s.failed(st, "too few digits"), nil
}

// heard is what a listening step learnt: the best candidate, its score,
// whether the decision is confident, and whether the caller spoke at all.
type heard struct {
	who   string
	score float64
	ok    bool
	spoke bool
}

// listen feeds the caller's audio to the listeners (best first) while the
// prompt plays and then for up to st.listen, asking them to decide every
// DecideEvery; it stops at the first confident decision or key press, and
// when st.silence passed after the prompt without the caller speaking
// (HasSpeech over everything heard since the prompt began).
func (s *session) listen(st *Step, ls []Listener) (heard, error) {
	warned := false
	var audio []int16 // kept only to tell silence from speech
	s.tap = func(frame []int16) {
		if synthetic(s.leg) {
			return // concealment or fill: not the caller's speech
		}
		if st.silence > 0 {
			audio = append(audio, frame...)
		}
		for _, l := range ls {
			if err := l.Write(frame); err != nil && !warned {
				warned = true // once per step: the next frames would say the same
				s.log.Warn("ivr: listener write", "err", err)
			}
		}
	}
	decide := func() (string, float64, bool) {
		best, bestScore := "", 0.0
		for i, l := range ls {
			who, score, ok, _ := l.Decide()
			if ok {
				return who, score, true
			}
			if i == 0 {
				best, bestScore = who, score
			}
		}
		return best, bestScore, false
	}
	every := frameCount(s.r.cfg.DecideEvery)
	start := s.frames
	if stopped, err := s.play(st.prompts, true); err != nil || stopped {
		return heard{spoke: stopped}, err
	}
	s.waiting(true)
	quiet := frameCount(st.silence)
	// Without a silence limit nobody is judged silent; nor when no
	// listener listens (the voice side was at capacity): then nothing is
	// waited for either.
	idle := allUnavailable(ls)
	spoke := st.silence <= 0 || idle
	for i, n := 0, frameCount(st.listen); i < n && len(s.ahead) == 0 && !idle; i++ {
		if err := s.tick(nil); err != nil {
			return heard{spoke: spoke}, err
		}
		if (s.frames-start)%every == 0 {
			if who, score, ok := decide(); ok {
				return heard{who, score, true, true}, nil
			}
		}
		if !spoke && (i+1)%quiet == 0 {
			if spoke = HasSpeech(audio); !spoke {
				s.log.Info("ivr: caller silent: listening stopped", "step", st.id, "after", time.Duration(s.frames-start)*call.FrameDuration)
				break
			}
			audio = nil // speech was heard: no need to keep listening for it
		}
	}
	who, score, ok := decide()
	return heard{who, score, ok, spoke || ok || len(s.ahead) > 0}, nil
}

// allUnavailable reports whether no listener is listening (each says
// it is Unavailable): then nothing is waited for after the prompt.
func allUnavailable(ls []Listener) bool {
	for _, l := range ls {
		if u, ok := l.(Unavailable); !ok || !u.Unavailable() {
			return false
		}
	}
	return len(ls) > 0
}

func (s *session) identify(st *Step) (string, error) {
	var cands []string
	if d := s.r.cfg.Directory; d != nil && s.c.Caller != "" {
		var err error
		if cands, err = d.ByNumber(s.ctx, s.c.Caller); err != nil {
			s.log.Warn("ivr: customers by number", "err", err)
		}
	}
	s.c.SetVar(call.VarCandidates, joinIDs(cands))
	who, score, ok, silent := "", 0.0, false, false
	var verdict *Verdict
	if id := s.r.cfg.Identifier; id != nil {
		var ls []Listener
		if len(cands) > 0 {
			ls = append(ls, id.Listen(cands))
		}
		if _, judges := firstReporter(ls); !judges {
			ls = append(ls, id.Listen(nil))
		}
		defer func() {
			for _, l := range ls {
				l.Close()
			}
		}()
		h, err := s.listen(st, ls)
		if err != nil {
			return exit, err
		}
		who, score, ok, silent = h.who, h.score, h.ok, !h.spoke
		if r, judges := firstReporter(ls); judges {
			v := r.Verdict()
			verdict = &v
		}
	} else {
		s.log.Info("ivr: no identifier: identify records the number only")
	}
	switch {
	case ok:
		s.identified(who, call.MethodVoice, score)
	case len(cands) == 1:
		s.identified(cands[0], call.MethodNumber, score)
	default:
		s.identified("", call.MethodNone, score)
	}
	s.judged(verdict)
	m, _ := s.c.Var(call.VarIdentMethod)
	s.log.Info("ivr: identify", "customer", s.builtin("customer").s, "method", m, "score", score, "candidates", len(cands),
		"voice", s.builtin("voice").s, "warning", s.builtin("warning").s, "watchlist", s.builtin("watchlist").s)
	if silent {
		return s.failed(st, "the caller said nothing"), nil
	}
	return st.following(), nil
}

// firstReporter is the first listener that gives a Verdict.
func firstReporter(ls []Listener) (Reporter, bool) {
	for _, l := range ls {
		if r, ok := l.(Reporter); ok {
			return r, true
		}
	}
	return nil, false
}

// judged records a listener's verdict in the call's variables; nil (a
// listener without one) clears them.
func (s *session) judged(v *Verdict) {
	if v == nil {
		v = &Verdict{}
	}
	s.c.SetVar(call.VarVoice, v.Voice)
	s.c.SetVar(call.VarIdentWarning, v.Warning)
	rate := ""
	if v.Voice != "" {
		rate = strconv.FormatFloat(v.FalseIdent, 'g', 3, 64)
	}
	s.c.SetVar(call.VarIdentFalseRate, rate)
	// A watchlist hit stays for the rest of the call, whatever later
	// steps hear.
	if v.Watchlist != "" {
		s.c.SetVar(call.VarWatchlist, v.Watchlist)
		s.log.Warn("ivr: caller's voice matches the fraud watchlist", "entry", v.Watchlist)
	}
}

func (s *session) verify(st *Step) (string, error) {
	claimed := s.evalString(st.customer, "")
	if claimed == "" {
		return s.failed(st, "no claimed customer"), nil
	}
	if s.r.cfg.Verifier == nil {
		return s.failed(st, "no verifier"), nil
	}
	l := s.r.cfg.Verifier.Verify(claimed)
	defer l.Close()
	h, err := s.listen(st, []Listener{l})
	score, ok := h.score, h.ok
	if err != nil {
		return exit, err
	}
	if r, judges := l.(Reporter); judges {
		v := r.Verdict()
		s.judged(&v)
	}
	if !ok {
		return s.failed(st, "voice not verified", "customer", claimed, "score", score), nil
	}
	s.identified(claimed, call.MethodVoice, score)
	return st.following(), nil
}

func (s *session) pin(st *Step) (string, error) {
	who := s.evalString(st.customer, s.builtin("customer").s)
	code := s.evalString(st.code, "")
	d := s.r.cfg.Directory
	if who == "" || code == "" || d == nil {
		return s.failed(st, "nothing to check"), nil
	}
	ok, err := d.CheckPIN(s.ctx, who, code)
	if err != nil || !ok {
		return s.failed(st, "PIN refused", "customer", who, "err", err), nil
	}
	s.identified(who, call.MethodPIN, 1)
	return st.following(), nil
}

func (s *session) enrol(st *Step) (string, error) {
	who := s.evalString(st.customer, s.builtin("customer").s)
	e := s.r.cfg.Enroller
	if who == "" || e == nil {
		return s.failed(st, "no customer or no enroller"), nil
	}
	if st.accept == '0' {
		s.zero = false
	}
	s.ahead = s.ahead[:0]
	if _, err := s.play(st.prompts, true); err != nil {
		return exit, err
	}
	k, _, err := s.waitKey(st.timeout)
	if err != nil {
		return exit, err
	}
	given := k == st.accept
	if err := e.RecordConsent(s.ctx, who, s.c.ID, given, strings.Join(st.prompts, ","), s.now()); err != nil {
		s.c.SetVar(VarEnrolStatus, "refused")
		return s.failed(st, "consent not recorded", "err", err), nil
	}
	if !given {
		s.c.SetVar(VarEnrolStatus, "refused")
		return s.failed(st, "consent refused"), nil
	}
	if _, err := s.play(st.speak, false); err != nil {
		return exit, err
	}
	en := e.Enrol(who)
	defer en.Close()
	warned := false
	s.tap = func(frame []int16) {
		if synthetic(s.leg) {
			return // a voiceprint is made of received speech only
		}
		if err := en.Write(frame); err != nil && !warned {
			warned = true
			s.log.Warn("ivr: enrolment write", "err", err)
		}
	}
	s.waiting(true)
	for n := frameCount(st.listen); n > 0 && en.Speech() < st.speech; n-- {
		if err := s.tick(nil); err != nil {
			return exit, err
		}
	}
	if en.Speech() < st.speech {
		s.c.SetVar(VarEnrolStatus, "incomplete")
		return s.failed(st, "too little speech", "speech", en.Speech()), nil
	}
	if err := en.Commit(s.ctx); err != nil {
		s.c.SetVar(VarEnrolStatus, "incomplete")
		return s.failed(st, "enrolment not stored", "err", err), nil
	}
	s.c.SetVar(VarEnrolStatus, "done")
	return st.following(), nil
}

func (s *session) queue(st *Step) (string, error) {
	if len(st.notice) > 0 {
		// Queued whether or not the recording could start: the caller
		// was only told it might be recorded.
		if why, err := s.tell(st.notice, true); err != nil {
			return exit, err
		} else if why != "" {
			s.log.Warn("ivr: queued without recording: "+why, "step", st.id)
		}
	}
	prio := 0
	if st.priority != nil {
		prio = int(st.priority.eval(s).n)
	}
	pref := s.evalString(st.preferred, "")
	s.c.SetVar(call.VarQueue, st.queue)
	s.c.SetVar(call.VarSkills, strings.Join(st.skills, ","))
	s.c.SetVar(call.VarPriority, strconv.Itoa(prio))
	s.c.SetVar(call.VarPreferredAgent, pref)
	s.log.Info("ivr: queue", "queue", st.queue, "skills", st.skills, "priority", prio, "preferred", pref)
	s.zero = false
	if s.r.cfg.Router == nil {
		// No router yet: hold the caller, then say goodbye.
		for n := frameCount(s.r.cfg.HoldLimit); n > 0; {
			start := s.frames
			if len(st.hold) > 0 {
				if _, err := s.play(st.hold, false); err != nil {
					return exit, err
				}
			}
			for i := 0; i < 50 && s.frames-start < n; i++ { // 1 s between repeats
				if err := s.tick(nil); err != nil {
					return exit, err
				}
			}
			n -= s.frames - start
		}
		_ = s.leg.Hangup(s.ctx, call.CauseNormal)
		return exit, errEnd
	}
	err := s.r.cfg.Router.Queue(s.ctx, s.c, st.queue, st.skills, prio, pref)
	if err == nil {
		return exit, errEnd
	}
	if s.leg.Cause() != call.CauseNone {
		return exit, errGone
	}
	if st.fail == "" {
		s.log.Warn("ivr: queue failed", "queue", st.queue, "err", err)
		return exit, errEnd
	}
	return s.failed(st, "queue refused the call", "err", err), nil
}

func (s *session) transfer(st *Step) (string, error) {
	if _, err := s.play(st.prompts, false); err != nil {
		return exit, err
	}
	if s.r.cfg.Dialer == nil {
		return s.failOrEnd(st, "no dialer")
	}
	other, err := s.r.cfg.Dialer.Dial(s.ctx, st.to, s.c.Caller)
	if err != nil {
		return s.failOrEnd(st, "dial failed", "to", st.to, "err", err)
	}
	s.log.Info("ivr: transfer bridged", "to", st.to)
	_, err = call.Bridge(s.ctx, s.leg, other)
	ctx := context.WithoutCancel(s.ctx)
	_ = other.Hangup(ctx, call.CauseNormal)
	_ = s.leg.Hangup(ctx, call.CauseNormal)
	if err != nil {
		s.log.Warn("ivr: bridge", "err", err)
	}
	return exit, errEnd
}

// failOrEnd takes the fail: way or, without one, ends the call.
func (s *session) failOrEnd(st *Step, why string, args ...any) (string, error) {
	if st.fail == "" {
		s.log.Warn("ivr: "+why, append([]any{"step", st.id}, args...)...)
		_ = s.leg.Hangup(s.ctx, call.CauseFailure)
		return exit, errEnd
	}
	return s.failed(st, why, args...), nil
}

func (s *session) callback(st *Step) (string, error) {
	number := s.evalString(st.number, s.c.Caller)
	cb := s.r.cfg.Callbacks
	if cb == nil || number == "" {
		return s.failed(st, "no call-back service or number"), nil
	}
	if err := cb.Request(s.ctx, s.c.ID, number, s.builtin("customer").s, st.queue, s.now()); err != nil {
		return s.failed(st, "call-back not recorded", "err", err), nil
	}
	if _, err := s.play(st.prompts, true); err != nil {
		return exit, err
	}
	return st.following(), nil
}

func (s *session) voicemail(st *Step) (string, error) {
	vm := s.r.cfg.Voicemail
	if vm == nil {
		return s.failed(st, "no voicemail service"), nil
	}
	if _, err := s.play(st.prompts, false); err != nil {
		return exit, err
	}
	s.zero = false
	s.ahead = s.ahead[:0]
	var msg []int16
	s.tap = func(frame []int16) { msg = append(msg, frame...) }
	var end error
	s.waiting(true)
	for n := frameCount(st.listen); n > 0 && len(s.ahead) == 0; n-- {
		if end = s.tick(nil); end != nil {
			break
		}
	}
	s.tap = nil
	if len(s.ahead) > 0 && s.ahead[0] == '#' {
		s.ahead = s.ahead[1:]
	}
	if end != nil && !errors.Is(end, errGone) {
		return exit, end
	}
	if err := vm.Store(context.WithoutCancel(s.ctx), st.queue, s.c.ID, s.c.Caller, s.builtin("customer").s, msg); errors.Is(err, ErrNoSpeech) {
		s.log.Info("ivr: voicemail dropped: no speech", "box", st.queue, "seconds", float64(len(msg))/call.SampleRate)
		return st.following(), end
	} else if err != nil {
		return s.failed(st, "message not stored", "err", err), end
	}
	s.log.Info("ivr: voicemail stored", "box", st.queue, "seconds", float64(len(msg))/call.SampleRate)
	return st.following(), end
}
