package ivr

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/voxdesk/voxdesk/call"
)

// This file holds the steps that listen to the caller's voice or check
// who the caller is: identify, verify, pin and enrol.

// identifyStep finds the caller among the customers: by voice when an
// Identifier is configured, else (or when the voice is not recognised) by
// number when it belongs to one customer.
type identifyStep struct {
	onward
	listening
}

func parseIdentify(a *stepArgs) stepOptions {
	o := &identifyStep{listening: listening{listen: a.dur("listen", 8*time.Second), silence: a.dur("silence", 0)}}
	if !a.empty() {
		o.prompts = a.promptList(a.arg, "identify")
	}
	return o
}

func (o *identifyStep) about() []string { return []string{strings.Join(o.prompts, ", ")} }

// verifyStep checks the caller's voice against a claimed customer's.
type verifyStep struct {
	onward
	listening
	customer *Expr
}

func parseVerify(a *stepArgs) stepOptions {
	o := &verifyStep{listening: listening{listen: a.dur("listen", 8*time.Second), prompts: a.promptsOf("prompt")}}
	if a.need("the claimed customer (a condition-language expression, like account)") {
		a.expr(a.arg, TypeString, &o.customer)
	}
	return o
}

func (o *verifyStep) about() []string { return customerCode(o.customer, nil) }

// customerCode is the summary of a verify or pin step.
func customerCode(customer, code *Expr) []string {
	var out []string
	if customer != nil {
		out = append(out, "customer="+customer.String())
	}
	if code != nil {
		out = append(out, "code="+code.String())
	}
	return out
}

// pinStep checks a PIN the caller typed for a customer.
type pinStep struct {
	onward
	customer *Expr // the customer identified so far when nil
	code     *Expr
}

func parsePIN(a *stepArgs) stepOptions {
	o := &pinStep{}
	a.exprOf("customer", TypeString, &o.customer)
	if a.need("the PIN to check (an expression, like pin)") {
		a.expr(a.arg, TypeString, &o.code)
	}
	return o
}

func (o *pinStep) about() []string { return customerCode(o.customer, o.code) }

// enrolStep asks the caller's consent, then makes a voiceprint of their
// speech.
type enrolStep struct {
	onward
	customer *Expr    // the customer identified so far when nil
	prompts  []string // consent question
	accept   rune     // key that consents
	speak    []string // "please speak", after consent
	timeout  time.Duration
	listen   time.Duration // longest listening time
	speech   time.Duration // net speech needed
}

func parseEnrol(a *stepArgs) stepOptions {
	o := &enrolStep{
		timeout: a.dur("timeout", 5*time.Second),
		listen:  a.dur("listen", 60*time.Second),
		speech:  a.dur("speech", 20*time.Second),
		speak:   a.promptsOf("prompt"),
	}
	a.exprOf("customer", TypeString, &o.customer)
	if a.need("a consent prompt") {
		o.prompts = a.promptList(a.arg, "enrol")
	}
	o.accept = a.keyField("accept", '1')
	return o
}

func (o *enrolStep) about() []string {
	return []string{fmt.Sprintf("consent %s, %v of speech", strings.Join(o.prompts, ", "), o.speech)}
}

// heard is what a listening step learnt: the best candidate, its score,
// whether the decision is confident, and whether the caller spoke at all.
type heard struct {
	who   string
	score float64
	ok    bool
	spoke bool
}

// listening is what the steps that listen to the caller's voice share:
// the prompt played first, the longest listening time and, for identify,
// how long a silence after the prompt stops listening (0: listen the
// whole listen: time).
type listening struct {
	prompts []string
	listen  time.Duration
	silence time.Duration
}

// listen feeds the caller's audio to the listeners (best first) while the
// prompt plays and then for up to o.listen, asking them to decide every
// DecideEvery; it stops at the first confident decision or key press, and
// when o.silence passed after the prompt without the caller speaking
// (HasSpeech over everything heard since the prompt began).
func (s *session) listen(st *Step, o *listening, ls []Listener) (heard, error) {
	warned := false
	var audio []int16 // kept only to tell silence from speech
	s.tap = func(frame []int16) {
		if synthetic(s.leg) {
			return // concealment or fill: not the caller's speech
		}
		if o.silence > 0 {
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
	if stopped, err := s.play(o.prompts, true); err != nil || stopped {
		return heard{spoke: stopped}, err
	}
	s.waiting(true)
	quiet := frameCount(o.silence)
	// Without a silence limit nobody is judged silent; nor when no
	// listener listens (the voice side was at capacity): then nothing is
	// waited for either.
	idle := allUnavailable(ls)
	spoke := o.silence <= 0 || idle
	for i, n := 0, frameCount(o.listen); i < n && len(s.ahead) == 0 && !idle; i++ {
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

func (o *identifyStep) run(s *session, st *Step) (string, error) {
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
		h, err := s.listen(st, &o.listening, ls)
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

func (o *verifyStep) run(s *session, st *Step) (string, error) {
	claimed := s.evalString(o.customer, "")
	if claimed == "" {
		return s.failed(st, "no claimed customer"), nil
	}
	if s.r.cfg.Verifier == nil {
		return s.failed(st, "no verifier"), nil
	}
	l := s.r.cfg.Verifier.Verify(claimed)
	defer l.Close()
	h, err := s.listen(st, &o.listening, []Listener{l})
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

func (o *pinStep) run(s *session, st *Step) (string, error) {
	who := s.evalString(o.customer, s.builtin("customer").s)
	code := s.evalString(o.code, "")
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

func (o *enrolStep) run(s *session, st *Step) (string, error) {
	who := s.evalString(o.customer, s.builtin("customer").s)
	e := s.r.cfg.Enroller
	if who == "" || e == nil {
		return s.failed(st, "no customer or no enroller"), nil
	}
	if o.accept == '0' {
		s.zero = false
	}
	s.ahead = s.ahead[:0]
	if _, err := s.play(o.prompts, true); err != nil {
		return exit, err
	}
	k, _, err := s.waitKey(o.timeout)
	if err != nil {
		return exit, err
	}
	given := k == o.accept
	if err := e.RecordConsent(s.ctx, who, s.c.ID, given, strings.Join(o.prompts, ","), s.now()); err != nil {
		s.c.SetVar(VarEnrolStatus, "refused")
		return s.failed(st, "consent not recorded", "err", err), nil
	}
	if !given {
		s.c.SetVar(VarEnrolStatus, "refused")
		return s.failed(st, "consent refused"), nil
	}
	if _, err := s.play(o.speak, false); err != nil {
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
	for n := frameCount(o.listen); n > 0 && en.Speech() < o.speech; n-- {
		if err := s.tick(nil); err != nil {
			return exit, err
		}
	}
	if en.Speech() < o.speech {
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
