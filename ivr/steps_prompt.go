package ivr

import (
	"fmt"
	"strings"
	"time"

	"github.com/voxdesk/voxdesk/call"
)

// This file holds the steps that play prompts and read keys: play,
// hangup, menu and collect.

// playStep plays prompts, the caller's keys cutting them short with
// bargein.
type playStep struct {
	onward
	prompts []string
	bargein bool
}

func parsePlay(a *stepArgs) stepOptions {
	o := &playStep{}
	if a.need("one or more prompts") {
		o.prompts = a.promptList(a.arg, "play")
	}
	if v := a.get("bargein"); v != nil {
		o.bargein = a.boolean(v, "bargein")
	}
	return o
}

func (o *playStep) run(s *session, st *Step) (string, error) {
	_, err := s.play(o.prompts, o.bargein)
	return st.following(), err
}

func (o *playStep) about() []string { return []string{strings.Join(o.prompts, ", ")} }

// hangupStep plays its prompts, if any, and hangs up.
type hangupStep struct {
	final
	prompts []string
}

func parseHangup(a *stepArgs) stepOptions {
	o := &hangupStep{}
	if !a.empty() {
		o.prompts = a.promptList(a.arg, "hangup")
	}
	return o
}

func (o *hangupStep) run(s *session, st *Step) (string, error) {
	s.zero = false
	if _, err := s.play(o.prompts, false); err != nil {
		return exit, err
	}
	_ = s.leg.Hangup(s.ctx, call.CauseNormal)
	return exit, errEnd
}

func (o *hangupStep) about() []string { return []string{strings.Join(o.prompts, ", ")} }

// asking is what the steps that wait for keys share: the question, what
// to say when nothing or something wrong was pressed, how long to wait
// and how many times to ask again.
type asking struct {
	prompts          []string
	noInput, invalid []string
	timeout          time.Duration
	retries          int
}

func (a *stepArgs) asking() asking {
	return asking{
		timeout: a.dur("timeout", 5*time.Second),
		retries: a.num("retries", 0, 9, 2),
		noInput: a.promptsOf("no-input"),
		invalid: a.promptsOf("invalid"),
	}
}

// menuStep asks for one key and jumps where the key's choice says.
type menuStep struct {
	asking
	choices []choice
}

type choice struct {
	key    rune
	target string
	pos    Pos
}

func parseMenu(a *stepArgs) stepOptions {
	o := &menuStep{asking: a.asking()}
	if a.need("a prompt") {
		o.prompts = a.promptList(a.arg, "menu")
	}
	if v := a.get("choices"); v != nil {
		for _, kv := range a.mapping(v, "choices") {
			k := a.key(kv.Key, "a menu choice")
			t := a.target(a.st, kv.Value, "a menu choice's target")
			if k != 0 && t != "" {
				o.choices = append(o.choices, choice{key: k, target: t, pos: posOf(kv.Value)})
			}
		}
	} else {
		a.errorf(a.st.pos, "menu needs choices: (key: step id)")
	}
	return o
}

func (o *menuStep) run(s *session, st *Step) (string, error) {
	if o.choice('0') {
		s.zero = false // the menu says what 0 does
	}
	for attempt := 0; attempt <= o.retries; attempt++ {
		if len(s.ahead) == 0 {
			if _, err := s.play(o.prompts, true); err != nil {
				return exit, err
			}
		}
		k, ok, err := s.waitKey(o.timeout)
		if err != nil {
			return exit, err
		}
		if !ok {
			if attempt < o.retries {
				if _, err := s.play(o.noInput, true); err != nil {
					return exit, err
				}
			}
			continue
		}
		for _, c := range o.choices {
			if c.key == k {
				return c.target, nil
			}
		}
		if k == '0' && s.f.operator != "" && st.operator {
			return exit, errOperator
		}
		if attempt < o.retries {
			s.ahead = s.ahead[:0]
			if _, err := s.play(o.invalid, true); err != nil {
				return exit, err
			}
		}
	}
	return s.failed(st, "no valid choice"), nil
}

func (o *menuStep) choice(k rune) bool {
	for _, c := range o.choices {
		if c.key == k {
			return true
		}
	}
	return false
}

// edges: a choice's target, or without a valid choice the fail: way (the
// next step without one).
func (o *menuStep) edges(st *Step) []string {
	out := make([]string, 0, len(o.choices)+1)
	for _, c := range o.choices {
		out = append(out, c.target)
	}
	return otherwise(out, st.fail, st)
}

func (o *menuStep) jumps() ([]edge, bool) {
	out := make([]edge, 0, len(o.choices))
	for _, c := range o.choices {
		out = append(out, edge{c.target, string(c.key)})
	}
	return out, false
}

func (o *menuStep) about() []string { return []string{strings.Join(o.prompts, ", ")} }

// collectStep reads digits into a flow variable.
type collectStep struct {
	onward
	asking
	into       string
	min, max   int
	terminator rune
}

func parseCollect(a *stepArgs) stepOptions {
	o := &collectStep{asking: a.asking()}
	o.prompts = a.promptsOf("prompt")
	if a.need("a variable name to collect into") {
		if s, ok := a.text(a.arg, "collect"); ok {
			o.into = a.defineVar(a.arg, s, TypeString)
		}
	}
	o.min = a.num("min", 1, 32, 1)
	o.max = a.num("max", 1, 32, 16)
	if o.max < o.min {
		a.errorf(a.st.pos, "max (%d) is less than min (%d)", o.max, o.min)
	}
	o.terminator = a.keyField("terminator", '#')
	return o
}

func (o *collectStep) run(s *session, st *Step) (string, error) {
	s.zero = false // digits are data here
	for attempt := 0; attempt <= o.retries; attempt++ {
		if len(s.ahead) == 0 {
			if _, err := s.play(o.prompts, true); err != nil {
				return exit, err
			}
		}
		var digits strings.Builder
		n := 0
		for n < o.max {
			k, ok, err := s.waitKey(o.timeout)
			if err != nil {
				return exit, err
			}
			if !ok || k == o.terminator {
				break
			}
			digits.WriteRune(k)
			n++
		}
		if n >= o.min {
			s.c.SetVar(o.into, digits.String())
			return st.following(), nil
		}
		if attempt < o.retries {
			again := o.invalid
			if n == 0 && o.noInput != nil {
				again = o.noInput
			}
			s.ahead = s.ahead[:0]
			if _, err := s.play(again, true); err != nil {
				return exit, err
			}
		}
	}
	return s.failed(st, "too few digits"), nil
}

func (o *collectStep) about() []string {
	return []string{fmt.Sprintf("%s (%d-%d digits)", o.into, o.min, o.max)}
}
