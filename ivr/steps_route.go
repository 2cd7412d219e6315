package ivr

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"

	"github.com/voxdesk/voxdesk/call"
)

// This file holds the steps that hand the call on: queue, transfer,
// callback and voicemail.

// queueStep hands the call to the router's queue, with the skills,
// priority and preferred agent the call needs.
type queueStep struct {
	final
	queue     string
	skills    []string
	priority  *Expr
	preferred *Expr
	hold      []string // played while no router holds the call
	notice    []string // recording notice played before queuing (record-notice)
}

func parseQueue(a *stepArgs) stepOptions {
	o := &queueStep{}
	if a.need("a queue name") {
		o.queue = a.queueName(a.st, a.arg, "queue")
	}
	if v := a.get("skills"); v != nil {
		var nodes []ast.Node
		o.skills, nodes = a.list(v, "skills")
		for i, s := range o.skills {
			a.skills = append(a.skills, ref{from: a.st, name: s, pos: posOf(nodes[i])})
		}
	}
	a.exprOf("priority", TypeNumber, &o.priority)
	a.exprOf("preferred", TypeString, &o.preferred)
	o.hold = a.promptsOf("hold")
	o.notice = a.promptsOf("record-notice")
	return o
}

func (o *queueStep) about() []string {
	out := []string{o.queue}
	if len(o.skills) > 0 {
		out = append(out, "["+strings.Join(o.skills, ", ")+"]")
	}
	if o.priority != nil {
		out = append(out, "priority "+o.priority.String())
	}
	if o.preferred != nil {
		out = append(out, "preferred "+o.preferred.String())
	}
	if len(o.notice) > 0 {
		out = append(out, "recorded after notice "+strings.Join(o.notice, ", "))
	}
	return out
}

func (o *queueStep) records() bool { return len(o.notice) > 0 }

// transferStep plays its prompts and bridges the caller to a SIP or tel
// URI.
type transferStep struct {
	final
	prompts []string
	to      string
}

func parseTransfer(a *stepArgs) stepOptions {
	o := &transferStep{prompts: a.promptsOf("prompt")}
	if a.need("a SIP URI") {
		if s, ok := a.text(a.arg, "transfer"); ok {
			if !strings.HasPrefix(s, "sip:") && !strings.HasPrefix(s, "sips:") && !strings.HasPrefix(s, "tel:") {
				a.errorf(posOf(a.arg), "transfer target %q must be a sip:, sips: or tel: URI", s)
			}
			o.to = s
		}
	}
	return o
}

func (o *transferStep) about() []string { return []string{o.to} }

// callbackStep records that the caller wants to be called back, by a
// queue's agents, at a number (the caller's own by default).
type callbackStep struct {
	onward
	queue   string
	number  *Expr
	prompts []string // played once the call-back is recorded
}

func parseCallback(a *stepArgs) stepOptions {
	o := &callbackStep{prompts: a.promptsOf("prompt")}
	if a.need("a queue name") {
		o.queue = a.queueName(a.st, a.arg, "callback")
	}
	a.exprOf("number", TypeString, &o.number)
	return o
}

func (o *callbackStep) about() []string { return []string{o.queue} }

// voicemailStep records a message for a mailbox.
type voicemailStep struct {
	onward
	box     string
	prompts []string
	listen  time.Duration // longest message
}

func parseVoicemail(a *stepArgs) stepOptions {
	o := &voicemailStep{prompts: a.promptsOf("prompt"), listen: a.dur("listen", 2*time.Minute)}
	if a.need("a mailbox name") {
		o.box, _ = a.text(a.arg, "voicemail")
	}
	return o
}

func (o *voicemailStep) about() []string { return []string{o.box} }

func (o *queueStep) run(s *session, st *Step) (string, error) {
	if len(o.notice) > 0 {
		// Queued whether or not the recording could start: the caller
		// was only told it might be recorded.
		if why, err := s.tell(o.notice, true); err != nil {
			return exit, err
		} else if why != "" {
			s.log.Warn("ivr: queued without recording: "+why, "step", st.id)
		}
	}
	prio := 0
	if o.priority != nil {
		prio = int(o.priority.eval(s).n)
	}
	pref := s.evalString(o.preferred, "")
	s.c.SetVar(call.VarQueue, o.queue)
	s.c.SetVar(call.VarSkills, strings.Join(o.skills, ","))
	s.c.SetVar(call.VarPriority, strconv.Itoa(prio))
	s.c.SetVar(call.VarPreferredAgent, pref)
	s.log.Info("ivr: queue", "queue", o.queue, "skills", o.skills, "priority", prio, "preferred", pref)
	s.zero = false
	if s.r.cfg.Router == nil {
		// No router yet: hold the caller, then say goodbye.
		for n := frameCount(s.r.cfg.HoldLimit); n > 0; {
			start := s.frames
			if len(o.hold) > 0 {
				if _, err := s.play(o.hold, false); err != nil {
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
	err := s.r.cfg.Router.Queue(s.ctx, s.c, o.queue, o.skills, prio, pref)
	if err == nil {
		return exit, errEnd
	}
	if s.leg.Cause() != call.CauseNone {
		return exit, errGone
	}
	if st.fail == "" {
		s.log.Warn("ivr: queue failed", "queue", o.queue, "err", err)
		return exit, errEnd
	}
	return s.failed(st, "queue refused the call", "err", err), nil
}

func (o *transferStep) run(s *session, st *Step) (string, error) {
	if _, err := s.play(o.prompts, false); err != nil {
		return exit, err
	}
	if s.r.cfg.Dialer == nil {
		return s.failOrEnd(st, "no dialer")
	}
	other, err := s.r.cfg.Dialer.Dial(s.ctx, o.to, s.c.Caller)
	if err != nil {
		return s.failOrEnd(st, "dial failed", "to", o.to, "err", err)
	}
	s.log.Info("ivr: transfer bridged", "to", o.to)
	_, err = s.c.Taps.Bridge(s.ctx, s.leg, other) // a recording of a told caller goes on through it
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

func (o *callbackStep) run(s *session, st *Step) (string, error) {
	number := s.evalString(o.number, s.c.Caller)
	cb := s.r.cfg.Callbacks
	if cb == nil || number == "" {
		return s.failed(st, "no call-back service or number"), nil
	}
	if err := cb.Request(s.ctx, s.c.ID, number, s.builtin("customer").s, o.queue, s.now()); err != nil {
		return s.failed(st, "call-back not recorded", "err", err), nil
	}
	if _, err := s.play(o.prompts, true); err != nil {
		return exit, err
	}
	return st.following(), nil
}

func (o *voicemailStep) run(s *session, st *Step) (string, error) {
	vm := s.r.cfg.Voicemail
	if vm == nil {
		return s.failed(st, "no voicemail service"), nil
	}
	if _, err := s.play(o.prompts, false); err != nil {
		return exit, err
	}
	s.zero = false
	s.ahead = s.ahead[:0]
	var msg []int16
	s.tap = func(frame []int16) { msg = append(msg, frame...) }
	var end error
	s.waiting(true)
	for n := frameCount(o.listen); n > 0 && len(s.ahead) == 0; n-- {
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
	if err := vm.Store(context.WithoutCancel(s.ctx), o.box, s.c.ID, s.c.Caller, s.builtin("customer").s, msg); errors.Is(err, ErrNoSpeech) {
		s.log.Info("ivr: voicemail dropped: no speech", "box", o.box, "seconds", float64(len(msg))/call.SampleRate)
		return st.following(), end
	} else if err != nil {
		return s.failed(st, "message not stored", "err", err), end
	}
	s.log.Info("ivr: voicemail stored", "box", o.box, "seconds", float64(len(msg))/call.SampleRate)
	return st.following(), end
}
