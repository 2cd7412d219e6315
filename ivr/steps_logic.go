package ivr

import (
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// This file holds the steps that decide where the flow goes and keep its
// variables: branch, set, goto, call and return.

// branchStep jumps to the first case whose condition holds, else to its
// else: step or the next one.
type branchStep struct {
	cases []branchCase
	els   string
}

type branchCase struct {
	when   *Expr
	target string
	pos    Pos
}

func parseBranch(a *stepArgs) stepOptions {
	o := &branchStep{}
	a.branch(a.st, o, a.arg)
	if v := a.get("else"); v != nil {
		o.els = a.target(a.st, v, "else")
	}
	return o
}

func (p *loader) branch(st *Step, o *branchStep, n ast.Node) {
	list, ok := n.(*ast.SequenceNode)
	if !ok {
		p.errorf(posOf(n), "branch must be a list of - when: <condition> goto: <step id>, found %s", describe(n))
		return
	}
	var whens []ast.Node
	for _, c := range list.Values {
		bc := branchCase{pos: posOf(c)}
		var when ast.Node
		for _, kv := range p.mapping(c, "a branch case") {
			switch keyOf(kv) {
			case "when":
				when = kv.Value
			case "goto":
				bc.target = p.target(st, kv.Value, "goto")
			default:
				p.errorf(posOf(kv.Key), "unknown field %q in a branch case (want when and goto)", keyOf(kv))
			}
		}
		if when == nil || bc.target == "" {
			p.errorf(posOf(c), "a branch case needs when: and goto:")
			continue
		}
		o.cases = append(o.cases, bc)
		whens = append(whens, when)
	}
	for i, w := range whens {
		p.expr(w, TypeBool, &o.cases[i].when)
	}
}

func (o *branchStep) run(s *session, st *Step) (string, error) {
	for _, c := range o.cases {
		if c.when.eval(s).b {
			return c.target, nil
		}
	}
	if o.els != "" {
		return o.els, nil
	}
	return st.following(), nil
}

func (o *branchStep) edges(st *Step) []string {
	out := make([]string, 0, len(o.cases)+1)
	for _, c := range o.cases {
		out = append(out, c.target)
	}
	return otherwise(out, o.els, st)
}

func (o *branchStep) jumps() ([]edge, bool) {
	out := make([]edge, 0, len(o.cases)+1)
	for _, c := range o.cases {
		out = append(out, edge{c.target, c.when.String()})
	}
	if o.els != "" {
		return append(out, edge{o.els, "else"}), true
	}
	return out, false
}

func (o *branchStep) about() []string { return nil }

// setStep gives flow variables the values of expressions.
type setStep struct {
	onward
	sets []assign
}

type assign struct {
	name string
	expr *Expr
}

func parseSet(a *stepArgs) stepOptions {
	kvs := a.mapping(a.arg, "set")
	o := &setStep{sets: make([]assign, len(kvs))}
	for i, kv := range kvs {
		o.sets[i].name = a.defineVarExpr(kv.Key, keyOf(kv), kv.Value, &o.sets[i].expr)
	}
	return o
}

func (o *setStep) run(s *session, st *Step) (string, error) {
	for _, a := range o.sets {
		s.c.SetVar(a.name, a.expr.eval(s).String())
	}
	return st.following(), nil
}

func (o *setStep) about() []string {
	out := make([]string, len(o.sets))
	for i, a := range o.sets {
		out[i] = a.name + " = " + a.expr.String()
	}
	return []string{strings.Join(out, ", ")}
}

// gotoStep jumps to another step of its list.
type gotoStep struct {
	target string
}

func parseGoto(a *stepArgs) stepOptions {
	o := &gotoStep{}
	if a.need("a step id") {
		o.target = a.target(a.st, a.arg, "goto")
	}
	return o
}

func (o *gotoStep) run(*session, *Step) (string, error) { return o.target, nil }

func (o *gotoStep) edges(*Step) []string { return []string{o.target} }

func (o *gotoStep) jumps() ([]edge, bool) { return []edge{{o.target, ""}}, true }

func (o *gotoStep) about() []string { return []string{o.target} }

// callStep runs a sub-flow, then continues with the next step.
type callStep struct {
	onward
	sub string
}

func parseCall(a *stepArgs) stepOptions {
	o := &callStep{}
	if a.need("a sub-flow name") {
		o.sub, _ = a.text(a.arg, "call")
		a.calls = append(a.calls, ref{from: a.st, name: o.sub, pos: posOf(a.arg)})
	}
	return o
}

func (o *callStep) run(s *session, st *Step) (string, error) {
	if err := s.runSeq(s.f.subs[o.sub]); err != nil {
		return exit, err
	}
	return st.following(), nil
}

func (o *callStep) about() []string { return []string{o.sub} }

// returnStep ends a sub-flow (or, in the main steps, the flow).
type returnStep struct {
	final
}

func parseReturn(a *stepArgs) stepOptions {
	if !a.empty() {
		a.errorf(posOf(a.arg), "return takes no value")
	}
	return &returnStep{}
}

func (*returnStep) run(*session, *Step) (string, error) { return exit, nil }

func (*returnStep) about() []string { return nil }
