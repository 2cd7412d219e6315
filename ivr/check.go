package ivr

import (
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// targets reports jumps to steps that do not exist or live in another
// step list, and calls of unknown sub-flows.
func (p *loader) targets() {
	f := p.flow
	for _, r := range p.refs {
		st, ok := f.steps[r.name]
		switch {
		case !ok:
			p.errorf(r.pos, "step %q does not exist%s", r.name, p.closestStep(r.name))
		case st.seq != r.from.seq:
			p.errorf(r.pos, "step %q is in %s, not in %s: use call: to run a sub-flow", r.name, seqName(st.seq), seqName(r.from.seq))
		}
	}
	for _, r := range p.calls {
		if _, ok := f.subs[r.name]; !ok {
			p.errorf(r.pos, "sub-flow %q does not exist", r.name)
		}
	}
}

func seqName(s *seq) string {
	if s.name == "main" {
		return "the main steps"
	}
	return "sub-flow " + s.name
}

func (p *loader) closestStep(name string) string {
	var ids []string
	for id, st := range p.flow.steps {
		if !st.auto {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return closest(name, ids, "")
}

// exit is the pseudo-target for "the call or sub-flow ends here".
const exit = ""

// edges returns where a step may go next (see stepOptions.edges).
func (f *Flow) edges(st *Step) []string { return st.opts.edges(st) }

// checkGraph reports unreachable steps, never-called sub-flows, loops
// with no exit and sub-flows that call themselves.
func (p *loader) checkGraph() {
	if len(p.errs) > 0 {
		return // targets may be missing: the graph would only add noise
	}
	f := p.flow
	called := map[string]bool{}
	for _, s := range f.seqs() {
		if len(s.steps) == 0 {
			continue
		}
		roots := []*Step{s.steps[0]}
		if s == f.main && f.operator != "" {
			roots = append(roots, f.steps[f.operator])
		}
		reached := p.reach(roots)
		for _, st := range s.steps {
			if c, ok := st.opts.(*callStep); ok && reached[st] {
				called[c.sub] = true
			}
		}
		p.unreachable(s, reached)
		p.loops(s, reached)
	}
	for _, name := range f.subOrder {
		if !called[name] {
			p.errorf(f.subs[name].pos, "sub-flow %q is never called", name)
		}
	}
	p.recursion()
}

// reach returns the steps reachable from roots.
func (p *loader) reach(roots []*Step) map[*Step]bool {
	seen := map[*Step]bool{}
	stack := append([]*Step(nil), roots...)
	for len(stack) > 0 {
		st := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[st] {
			continue
		}
		seen[st] = true
		for _, t := range p.flow.edges(st) {
			if t != exit {
				stack = append(stack, p.flow.steps[t])
			}
		}
	}
	return seen
}

// unreachable reports the first step of each unreachable stretch.
func (p *loader) unreachable(s *seq, reached map[*Step]bool) {
	covered := map[*Step]bool{}
	for _, st := range s.steps {
		if reached[st] || covered[st] {
			continue
		}
		p.errorf(st.pos, "step %s is unreachable: no step leads to it", st.id)
		for x := range p.reach([]*Step{st}) {
			covered[x] = true
		}
	}
}

// loops reports each cycle of reachable steps from which no exit can be
// reached.
func (p *loader) loops(s *seq, reached map[*Step]bool) {
	// Steps that can reach an exit, by walking edges backwards.
	canExit := map[*Step]bool{}
	preds := map[*Step][]*Step{}
	var work []*Step
	for _, st := range s.steps {
		for _, t := range p.flow.edges(st) {
			if t == exit {
				if !canExit[st] {
					canExit[st] = true
					work = append(work, st)
				}
			} else {
				preds[p.flow.steps[t]] = append(preds[p.flow.steps[t]], st)
			}
		}
	}
	for len(work) > 0 {
		st := work[len(work)-1]
		work = work[:len(work)-1]
		for _, q := range preds[st] {
			if !canExit[q] {
				canExit[q] = true
				work = append(work, q)
			}
		}
	}
	// Tarjan's strongly connected components over the trapped steps.
	index := map[*Step]int{}
	low := map[*Step]int{}
	onStack := map[*Step]bool{}
	var stack []*Step
	next := 0
	var strong func(v *Step)
	strong = func(v *Step) {
		index[v], low[v] = next, next
		next++
		stack = append(stack, v)
		onStack[v] = true
		selfLoop := false
		for _, t := range p.flow.edges(v) {
			if t == exit {
				continue
			}
			w := p.flow.steps[t]
			if canExit[w] || !reached[w] {
				continue
			}
			if w == v {
				selfLoop = true
			}
			if _, seen := index[w]; !seen {
				strong(w)
				low[v] = min(low[v], low[w])
			} else if onStack[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] != index[v] {
			return
		}
		var comp []*Step
		for {
			w := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			onStack[w] = false
			comp = append(comp, w)
			if w == v {
				break
			}
		}
		if len(comp) > 1 || selfLoop {
			first := comp[0]
			for _, c := range comp {
				if c.index < first.index {
					first = c
				}
			}
			ids := make([]string, 0, len(comp))
			for _, st := range s.steps {
				for _, c := range comp {
					if c == st {
						ids = append(ids, st.id)
					}
				}
			}
			p.errorf(first.pos, "loop with no exit: steps %s never reach a hangup, queue, transfer or the end of the flow", strings.Join(ids, ", "))
		}
	}
	for _, st := range s.steps {
		if reached[st] && !canExit[st] {
			if _, seen := index[st]; !seen {
				strong(st)
			}
		}
	}
}

// recursion reports sub-flows that call themselves, directly or not.
func (p *loader) recursion() {
	f := p.flow
	callees := map[string][]string{}
	for _, s := range f.seqs() {
		for _, st := range s.steps {
			if c, ok := st.opts.(*callStep); ok {
				callees[s.name] = append(callees[s.name], c.sub)
			}
		}
	}
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var visit func(name string) bool
	visit = func(name string) bool {
		color[name] = grey
		for _, c := range callees[name] {
			switch color[c] {
			case grey:
				p.errorf(f.subs[c].pos, "sub-flow %q calls itself (through %s): sub-flows cannot recurse", c, name)
				return false
			case white:
				if !visit(c) {
					return false
				}
			}
		}
		color[name] = black
		return true
	}
	for _, name := range append([]string{"main"}, f.subOrder...) {
		if color[name] == white && !visit(name) {
			return
		}
	}
}

// Catalog is what the switch is configured with, for checking the names a
// flow uses: a flow naming a queue the switch does not have is refused
// when it is loaded (at start-up, by a reload, by `voxdesk flow check
// --config`), rather than failing each call at run time.
type Catalog struct {
	// Queues are the router's queue names: queue and callback steps must
	// name one. Nil leaves queue names unchecked (a switch with no router
	// holds queued callers, then hangs up).
	Queues []string
	// Skills are the highest level of each skill some agent holds: the
	// skills of a queue step ("name" or "name:level") must be among them.
	// Nil leaves skills unchecked (no agents configured).
	Skills map[string]int
	// NoRecording, when set, says why the switch cannot record calls
	// (no customer store, no key to seal them): a record step is then an
	// error rather than a step that always takes its fail: way.
	NoRecording string
}

// queueName reads the queue a queue or callback step names.
func (p *loader) queueName(st *Step, n ast.Node, what string) string {
	s, ok := p.text(n, what)
	if ok {
		p.queues = append(p.queues, ref{from: st, name: s, pos: posOf(n)})
	}
	return s
}

// switchNames checks the skills' form ("name" or "name:level", as the
// router reads them), then the queues and skills the flow names against
// the switch's Catalog.
func (p *loader) switchNames() {
	type need struct {
		ref
		skill string
		level int
	}
	var needs []need
	for _, r := range p.skills {
		name, lv, hasLevel := strings.Cut(r.name, ":")
		name = strings.TrimSpace(name)
		level := 1
		if hasLevel {
			n, err := strconv.Atoi(strings.TrimSpace(lv))
			if err != nil || n < 0 {
				p.errorf(r.pos, "skill %q: the level after : must be a whole number, 0 or more", r.name)
				continue
			}
			level = n
		}
		if name == "" {
			p.errorf(r.pos, "skill %q has no name", r.name)
			continue
		}
		needs = append(needs, need{r, name, level})
	}
	c := p.opts.Switch
	if c == nil {
		return
	}
	p.recordable(c)
	if c.Queues != nil {
		known := slices.Sorted(slices.Values(c.Queues))
		for _, r := range p.queues {
			if !slices.Contains(known, r.name) {
				p.errorf(r.pos, "queue %q is not a queue of the switch%s", r.name, closest(r.name, known, "routing.queues has "+strings.Join(known, ", ")))
			}
		}
	}
	if c.Skills != nil {
		held := slices.Sorted(maps.Keys(c.Skills))
		for _, n := range needs {
			top, ok := c.Skills[n.skill]
			switch {
			case !ok:
				p.errorf(n.pos, "skill %q: no agent of the switch has it, so no call of this step could be answered%s", n.skill, closest(n.skill, held, ""))
			case top < n.level:
				p.errorf(n.pos, "skill %q at level %d: the switch's agents have it at level %d at most", n.skill, n.level, top)
			}
		}
	}
}
