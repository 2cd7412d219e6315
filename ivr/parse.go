package ivr

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/media"
)

// Options tell the loader where prompts live and how to decode them.
type Options struct {
	// Prompts is where prompt files are looked up. Load uses the flow
	// file's folder when nil; Parse then only consults Builtin.
	Prompts fs.FS
	// Builtin holds the built-in prompts, consulted after Prompts.
	Builtin fs.FS
	// Decode turns a prompt file into 8 kHz mono PCM. Nil uses
	// media.DecodePCM (WAV or FLAC, any rate, resampled).
	Decode func(name string, data []byte) ([]int16, error)
	// Switch, when set, is the switch's configuration the flow's queue
	// and call-back steps are checked against (see Catalog); nil checks
	// the flow on its own.
	Switch *Catalog
	// Calendars overrides calendars of the flows by name: a calendar
	// named here is open all the time (CalendarOpen) or never
	// (CalendarClosed), whatever its hours say; a demo or a test sets it
	// so a flow behaves the same at any hour. Names no flow defines are
	// ignored (the switch's flows need not all share calendars).
	Calendars map[string]string
}

// Calendar overrides (Options.Calendars, ivr.calendars in voxdesk.yaml).
const (
	CalendarOpen   = "always-open"
	CalendarClosed = "always-closed"
)

// CheckCalendars reports an override that is neither CalendarOpen nor
// CalendarClosed.
func CheckCalendars(over map[string]string) error {
	for name, v := range over {
		if v != CalendarOpen && v != CalendarClosed {
			return fmt.Errorf("ivr: calendar %s: override %q: want %s or %s", name, v, CalendarOpen, CalendarClosed)
		}
	}
	return nil
}

// MaxFlowSize bounds a flow file; larger files are refused.
const MaxFlowSize = 1 << 20

// Load reads, parses and checks the flow file at path. Prompt files are
// resolved relative to the file's folder unless opts.Prompts is set. On
// failure the error is an ErrorList holding every problem found.
func Load(file string, opts Options) (*Flow, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("ivr: load flow: %w", err)
	}
	if opts.Prompts == nil {
		opts.Prompts = os.DirFS(filepath.Dir(file))
	}
	return Parse(file, data, opts)
}

// Parse parses and checks a flow from src; file names it in errors. On
// failure the error is an ErrorList holding every problem found.
func Parse(file string, src []byte, opts Options) (*Flow, error) {
	p := &loader{file: file, opts: opts}
	if p.opts.Decode == nil {
		p.opts.Decode = func(name string, data []byte) ([]int16, error) { return media.DecodePCM(data, call.SampleRate) }
	}
	f := p.parse(src)
	if len(p.errs) > 0 {
		p.errs.sort()
		return nil, p.errs
	}
	return f, nil
}

type loader struct {
	file string
	opts Options
	errs ErrorList
	flow *Flow

	// variables: definitions found in the first pass, typed lazily.
	varDefs   map[string][]*varDef
	varTyping map[string]bool
	exprs     []pendingExpr
	refs      []ref // step targets to resolve
	calls     []ref // sub-flow calls to resolve
	queues    []ref // queues named by queue and callback steps
	skills    []ref // skills named by queue steps
}

// ref is a name used by a step, resolved once all steps are known.
type ref struct {
	from *Step
	name string
	pos  Pos
}

// target notes a step id used as a jump target.
func (p *loader) target(st *Step, n ast.Node, what string) string {
	s, ok := p.text(n, what)
	if ok {
		p.refs = append(p.refs, ref{from: st, name: s, pos: posOf(n)})
	}
	return s
}

type varDef struct {
	pos  Pos
	typ  Type   // known type (collect, literal) or TypeInvalid until compiled
	src  string // expression text for set
	node ast.Node
	out  **Expr
}

type pendingExpr struct {
	node ast.Node
	want Type
	out  **Expr
}

func (p *loader) errorf(pos Pos, format string, args ...any) {
	if len(p.errs) >= 100 {
		return
	}
	p.errs = append(p.errs, &Error{File: p.file, Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

func posOf(n ast.Node) Pos {
	if n == nil {
		return Pos{1, 1}
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil {
		return Pos{1, 1}
	}
	return Pos{tk.Position.Line, tk.Position.Column}
}

func (p *loader) parse(src []byte) *Flow {
	f := &Flow{
		name:      strings.TrimSuffix(filepath.Base(p.file), filepath.Ext(p.file)),
		file:      p.file,
		hash:      hashOf(src),
		src:       append([]byte(nil), src...),
		calendars: map[string]*calendar{},
		fields:    map[string]Type{},
		vars:      map[string]Type{},
		subs:      map[string]*seq{},
		steps:     map[string]*Step{},
		prompts:   map[string][]int16{},
		stamps:    map[string]stamp{},
	}
	p.flow = f
	for k, v := range defaultFields {
		f.fields[k] = v
	}
	if len(src) > MaxFlowSize {
		p.errorf(Pos{1, 1}, "flow file is %d bytes, more than the %d allowed", len(src), MaxFlowSize)
		return nil
	}
	file, err := parser.ParseBytes(src, 0)
	if err != nil {
		var ye yaml.Error
		if errors.As(err, &ye) && ye.GetToken() != nil && ye.GetToken().Position != nil {
			pos := ye.GetToken().Position
			msg := ye.GetMessage()
			if strings.Contains(msg, "non-map value") {
				msg += " (a word alone on a line inside a step needs a colon, like hangup:)"
			}
			p.errorf(Pos{pos.Line, pos.Column}, "YAML syntax: %s", msg)
		} else {
			p.errorf(Pos{1, 1}, "YAML syntax: %v", err)
		}
		return nil
	}
	if len(file.Docs) != 1 || file.Docs[0].Body == nil {
		if len(file.Docs) > 1 {
			p.errorf(posOf(file.Docs[1]), "a flow file holds one YAML document")
		} else {
			p.errorf(Pos{1, 1}, "empty flow file: want at least operator: and steps:")
		}
		return nil
	}
	if !p.noExotics(file.Docs[0].Body, 0) {
		return nil
	}
	top := p.mapping(file.Docs[0].Body, "the flow file")
	if top == nil {
		return nil
	}
	var stepsNode, subsNode, operatorNode ast.Node
	for _, kv := range top {
		k, v := keyOf(kv), kv.Value
		switch k {
		case "flow":
			if s, ok := p.text(v, "flow"); ok {
				f.name = s
			}
		case "description":
			f.desc, _ = p.text(v, "description")
		case "operator":
			operatorNode = v
		case "calendars":
			p.calendars(v)
		case "fields":
			p.fields(v)
		case "steps":
			stepsNode = v
		case "subflows":
			subsNode = v
		default:
			p.errorf(posOf(kv.Key), "unknown top-level field %q (want flow, description, operator, calendars, fields, steps or subflows)", k)
		}
	}
	// Pass 1: build steps, note variable definitions.
	p.varDefs = map[string][]*varDef{}
	p.varTyping = map[string]bool{}
	if stepsNode == nil {
		p.errorf(Pos{1, 1}, "no steps: a flow needs a steps: list")
		f.main = &seq{name: "main", pos: Pos{1, 1}}
	} else {
		f.main = p.seq("main", stepsNode)
	}
	if subsNode != nil {
		for _, kv := range p.mapping(subsNode, "subflows") {
			name := keyOf(kv)
			if !idRE.MatchString(name) {
				p.errorf(posOf(kv.Key), "bad sub-flow name %q: use letters, digits, - and _", name)
				continue
			}
			if name == "main" {
				p.errorf(posOf(kv.Key), `"main" is the name of the main steps; pick another sub-flow name`)
				continue
			}
			if _, dup := f.subs[name]; dup {
				p.errorf(posOf(kv.Key), "sub-flow %q defined twice", name)
				continue
			}
			sub := p.seq(name, kv.Value)
			sub.pos = posOf(kv.Key)
			f.subs[name] = sub
			f.subOrder = append(f.subOrder, name)
		}
	}
	// Operator.
	if operatorNode == nil {
		p.errorf(Pos{1, 1}, "no way out to a person: add operator: <step id> (the step 0 leads to), or operator: none")
	} else if s, ok := p.text(operatorNode, "operator"); ok {
		if s != "none" {
			st, ok := f.steps[s]
			switch {
			case !ok:
				p.errorf(posOf(operatorNode), "operator step %q does not exist", s)
			case st.seq != f.main:
				p.errorf(posOf(operatorNode), "operator step %q must be in the main steps, not in sub-flow %q", s, st.seq.name)
			default:
				f.operator = s
			}
		}
	}
	// Pass 2: expressions, now that every variable is known.
	for name, defs := range p.varDefs {
		p.typeVar(name, defs)
	}
	for _, e := range p.exprs {
		p.compile(e.node, e.want, e.out)
	}
	p.targets()
	p.checkGraph()
	p.switchNames()
	if len(p.errs) > 0 {
		return nil
	}
	return f
}

// noExotics refuses anchors, aliases, tags and merge keys: flows are plain
// data, and aliases would let a small file expand without bound.
func (p *loader) noExotics(n ast.Node, depth int) bool {
	if depth > 64 {
		p.errorf(posOf(n), "flow nested too deeply")
		return false
	}
	switch n := n.(type) {
	case *ast.AnchorNode, *ast.AliasNode, *ast.TagNode, *ast.MergeKeyNode:
		p.errorf(posOf(n), "YAML anchors, aliases, tags and merge keys are not supported in flows")
		return false
	case *ast.MappingNode:
		ok := true
		for _, kv := range n.Values {
			ok = p.noExotics(kv.Key, depth+1) && p.noExotics(kv.Value, depth+1) && ok
		}
		return ok
	case *ast.MappingValueNode:
		return p.noExotics(n.Key, depth+1) && p.noExotics(n.Value, depth+1)
	case *ast.SequenceNode:
		ok := true
		for _, v := range n.Values {
			ok = p.noExotics(v, depth+1) && ok
		}
		return ok
	}
	return true
}

// --- node helpers

func keyOf(kv *ast.MappingValueNode) string {
	if s, ok := scalar(kv.Key); ok {
		return s
	}
	return kv.Key.String()
}

// scalar returns the text of a scalar node.
func scalar(n ast.Node) (string, bool) {
	switch n := n.(type) {
	case *ast.StringNode:
		return n.Value, true
	case *ast.LiteralNode:
		return n.Value.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return n.GetToken().Value, true
	case *ast.MappingKeyNode:
		return scalar(n.Value)
	}
	return "", false
}

func describe(n ast.Node) string {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.NullNode, nil:
		return "nothing"
	}
	return "a value"
}

// mapping returns the entries of a mapping node, reporting other shapes
// and duplicate keys.
func (p *loader) mapping(n ast.Node, what string) []*ast.MappingValueNode {
	var kvs []*ast.MappingValueNode
	switch m := n.(type) {
	case *ast.MappingNode:
		kvs = m.Values
	case *ast.MappingValueNode:
		kvs = []*ast.MappingValueNode{m}
	default:
		p.errorf(posOf(n), "%s must be a mapping of key: value, found %s", what, describe(n))
		return nil
	}
	seen := map[string]bool{}
	out := kvs[:0:0]
	for _, kv := range kvs {
		k := keyOf(kv)
		if seen[k] {
			p.errorf(posOf(kv.Key), "%q appears twice in %s", k, what)
			continue
		}
		seen[k] = true
		out = append(out, kv)
	}
	return out
}

func (p *loader) text(n ast.Node, what string) (string, bool) {
	s, ok := scalar(n)
	if !ok || s == "" {
		p.errorf(posOf(n), "%s must be a single value, found %s", what, describe(n))
		return "", false
	}
	return s, true
}

// list returns the scalars of a list, or of a single scalar.
func (p *loader) list(n ast.Node, what string) ([]string, []ast.Node) {
	if s, ok := scalar(n); ok {
		return []string{s}, []ast.Node{n}
	}
	seq, ok := n.(*ast.SequenceNode)
	if !ok {
		p.errorf(posOf(n), "%s must be a value or a list of values, found %s", what, describe(n))
		return nil, nil
	}
	var out []string
	var nodes []ast.Node
	for _, v := range seq.Values {
		s, ok := p.text(v, what)
		if ok {
			out = append(out, s)
			nodes = append(nodes, v)
		}
	}
	return out, nodes
}

func (p *loader) duration(n ast.Node, what string) time.Duration {
	s, ok := scalar(n)
	if !ok {
		p.errorf(posOf(n), "%s must be a duration like 5s, found %s", what, describe(n))
		return 0
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		p.errorf(posOf(n), "bad duration %q for %s: add a unit, like %ss", s, what, s)
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		p.errorf(posOf(n), "bad duration %q for %s: want a number and a unit, like 8s, 500ms or 1m30s", s, what)
		return 0
	}
	if d <= 0 || d > time.Hour {
		p.errorf(posOf(n), "duration %s for %s is out of range (more than 0, at most 1h)", s, what)
		return 0
	}
	return d
}

func (p *loader) integer(n ast.Node, what string, lo, hi int) int {
	s, ok := scalar(n)
	v, err := strconv.Atoi(s)
	if !ok || err != nil {
		p.errorf(posOf(n), "%s must be a whole number, found %q", what, s)
		return lo
	}
	if v < lo || v > hi {
		p.errorf(posOf(n), "%s must be between %d and %d, found %d", what, lo, hi, v)
		return lo
	}
	return v
}

func (p *loader) boolean(n ast.Node, what string) bool {
	s, _ := scalar(n)
	switch s {
	case "true", "yes", "on":
		return true
	case "false", "no", "off":
		return false
	}
	p.errorf(posOf(n), "%s must be true or false, found %q", what, s)
	return false
}

func (p *loader) key(n ast.Node, what string) rune {
	s, _ := scalar(n)
	if len(s) != 1 || !strings.ContainsRune("0123456789*#ABCD", rune(s[0])) {
		p.errorf(posOf(n), "%s must be one key: 0-9, * or #, found %q", what, s)
		return 0
	}
	return rune(s[0])
}

// --- top-level sections

func (p *loader) calendars(n ast.Node) {
	for _, kv := range p.mapping(n, "calendars") {
		c := &calendar{name: keyOf(kv), loc: time.UTC, holidays: map[string]bool{}}
		for _, f := range p.mapping(kv.Value, "calendar "+c.name) {
			switch keyOf(f) {
			case "timezone":
				if s, ok := p.text(f.Value, "timezone"); ok {
					loc, err := time.LoadLocation(s)
					if err != nil || s == "" || s == "Local" {
						p.errorf(posOf(f.Value), "unknown time zone %q (want a name like Europe/Paris)", s)
					} else {
						c.loc = loc
					}
				}
			case "hours":
				for _, h := range p.mapping(f.Value, "hours") {
					days, err := parseDays(keyOf(h))
					if err != nil {
						p.errorf(posOf(h.Key), "%v", err)
						continue
					}
					s, _ := scalar(h.Value)
					if _, isNull := h.Value.(*ast.NullNode); isNull || s == "closed" {
						continue
					}
					spans, err := parseSpans(s)
					if err != nil {
						p.errorf(posOf(h.Value), "%v", err)
						continue
					}
					for _, d := range days {
						c.open[d] = append(c.open[d], spans...)
					}
				}
			case "holidays":
				ds, nodes := p.list(f.Value, "holidays")
				for i, d := range ds {
					if _, err := time.Parse(time.DateOnly, d); err != nil {
						p.errorf(posOf(nodes[i]), "bad holiday %q: want a date like 2026-12-25", d)
						continue
					}
					c.holidays[d] = true
				}
			default:
				p.errorf(posOf(f.Key), "unknown field %q in calendar %s (want timezone, hours, holidays)", keyOf(f), c.name)
			}
		}
		switch p.opts.Calendars[c.name] {
		case CalendarOpen:
			c.open = [7][]span{}
			for d := range c.open {
				c.open[d] = []span{{0, 24 * 60}}
			}
			clear(c.holidays)
		case CalendarClosed:
			c.open = [7][]span{}
		}
		p.flow.calendars[c.name] = c
	}
}

func (p *loader) fields(n ast.Node) {
	for _, kv := range p.mapping(n, "fields") {
		name := keyOf(kv)
		s, _ := scalar(kv.Value)
		t := parseType(s)
		if t == TypeInvalid {
			p.errorf(posOf(kv.Value), "field %s: unknown type %q (want bool, number or string)", name, s)
			continue
		}
		p.flow.fields[name] = t
	}
}

// --- steps

var idRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)

var varRE = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

func (p *loader) seq(name string, n ast.Node) *seq {
	s := &seq{name: name, pos: posOf(n)}
	list, ok := n.(*ast.SequenceNode)
	if !ok {
		p.errorf(posOf(n), "steps must be a list (each step starts with -), found %s", describe(n))
		return s
	}
	if len(list.Values) == 0 {
		p.errorf(posOf(n), "%s has no steps", name)
	}
	for _, v := range list.Values {
		if st := p.step(s, v); st != nil {
			s.steps = append(s.steps, st)
		}
	}
	return s
}

func (p *loader) step(s *seq, n ast.Node) *Step {
	st := &Step{seq: s, index: len(s.steps), pos: posOf(n), operator: true}
	// A bare word is a step with no argument: "- hangup", "- return".
	if w, ok := scalar(n); ok {
		if k, ok := stepKinds[w]; ok && k.bare {
			st.kind = w
			p.nameStep(st, "")
			st.opts = k.parse(&stepArgs{loader: p, st: st, arg: ast.Null(nil)})
			return st
		}
		p.errorf(posOf(n), "unknown step %q (a step is a mapping like play: welcome)", w)
		return nil
	}
	kvs := p.mapping(n, "a step")
	if kvs == nil {
		return nil
	}
	var verb *ast.MappingValueNode
	fields := map[string]*ast.MappingValueNode{}
	extra := map[*ast.MappingValueNode]bool{}
	for _, kv := range kvs {
		k := keyOf(kv)
		if _, isVerb := stepKinds[k]; isVerb {
			if verb != nil {
				p.errorf(posOf(kv.Key), "a step has one type, found %s and %s", keyOf(verb), k)
				extra[kv] = true
				continue
			}
			verb = kv
			continue
		}
		fields[k] = kv
	}
	if verb == nil {
		for _, kv := range kvs {
			if k := keyOf(kv); k != "id" && k != "next" && k != "operator" && !isOption(k) {
				p.errorf(posOf(kv.Key), "unknown step type %q%s", k, suggest(k))
				return nil
			}
		}
		p.errorf(posOf(n), "step has no type (want one of %s)", strings.Join(kindNames(), ", "))
		return nil
	}
	st.kind = keyOf(verb)
	st.pos = posOf(kvs[0].Key)
	allowed := map[string]bool{"id": true, "operator": true}
	kind := stepKinds[st.kind]
	if !kind.ends {
		allowed["next"] = true
	}
	for _, f := range kind.fields {
		allowed[f] = true
	}
	var id string
	for _, kv := range kvs {
		k := keyOf(kv)
		if kv == verb || extra[kv] {
			continue
		}
		if !allowed[k] {
			known := make([]string, 0, len(allowed))
			for a := range allowed {
				known = append(known, a)
			}
			sort.Strings(known)
			p.errorf(posOf(kv.Key), "unknown field %q in a %s step (known: %s)", k, st.kind, strings.Join(known, ", "))
			continue
		}
		switch k {
		case "id":
			id, _ = p.text(kv.Value, "id")
			if id != "" && !idRE.MatchString(id) {
				p.errorf(posOf(kv.Value), "bad step id %q: use letters, digits, - and _", id)
				id = ""
			}
		case "next":
			st.next = p.target(st, kv.Value, "next")
		case "operator":
			st.operator = p.boolean(kv.Value, "operator")
		}
	}
	p.nameStep(st, id)
	for k, kv := range fields {
		if !allowed[k] {
			p.stray(st, k, kv.Value)
			delete(fields, k) // reported above
		}
	}
	if v, ok := fields["fail"]; ok {
		st.fail = p.target(st, v.Value, "fail")
	}
	st.opts = kind.parse(&stepArgs{loader: p, st: st, arg: verb.Value, fields: fields})
	return st
}

// suggest names the step type closest to a misspelt one.
func suggest(k string) string { return closest(k, kindNames(), "") }

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// stray checks the value of a field the step's type does not take (an
// error already) when it is one most types share, as the loader always
// has: its bad value, missing prompt or target is reported too.
func (p *loader) stray(st *Step, k string, v ast.Node) {
	switch k {
	case "timeout", "listen", "speech", "silence":
		p.duration(v, k)
	case "retries":
		p.integer(v, k, 0, 9)
	case "fail":
		p.target(st, v, k)
	case "prompt", "no-input", "invalid":
		p.promptList(v, k)
	case "customer":
		p.expr(v, TypeString, new(*Expr))
	}
}

func (p *loader) nameStep(st *Step, id string) {
	if id == "" {
		id = fmt.Sprintf("%s:%d", st.seq.name, st.index+1)
		st.auto = true
	}
	if prev, dup := p.flow.steps[id]; dup {
		p.errorf(st.pos, "step id %q already used at %s", id, prev.pos)
		id = fmt.Sprintf("%s:%d", st.seq.name, st.index+1)
		st.auto = true
	}
	st.id = id
	p.flow.steps[id] = st
}

func (p *loader) expr(n ast.Node, want Type, out **Expr) {
	p.exprs = append(p.exprs, pendingExpr{node: n, want: want, out: out})
}

// compile type-checks one expression node. YAML numbers and bools are
// literals; text is parsed as an expression.
func (p *loader) compile(n ast.Node, want Type, out **Expr) Type {
	src, ok := scalar(n)
	if !ok {
		p.errorf(posOf(n), "want a condition or value, found %s", describe(n))
		return TypeInvalid
	}
	switch n.(type) {
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
	default:
		if strings.TrimSpace(src) == "" {
			p.errorf(posOf(n), "empty condition")
			return TypeInvalid
		}
	}
	e, err := compileExpr(src, (*loaderScope)(p), want)
	if err != nil {
		var ee *exprError
		pos := posOf(n)
		if errors.As(err, &ee) {
			pos.Col += ee.off
			if tk := n.GetToken(); tk != nil && (tk.Type == token.DoubleQuoteType || tk.Type == token.SingleQuoteType) {
				pos.Col++
			}
		}
		p.errorf(pos, "%s", err.Error())
		return TypeInvalid
	}
	*out = e
	return e.typ
}

// defineVar records that a step writes variable name with a known type.
func (p *loader) defineVar(n ast.Node, name string, t Type) string {
	if !p.checkVarName(n, name) {
		return ""
	}
	p.varDefs[name] = append(p.varDefs[name], &varDef{pos: posOf(n), typ: t})
	return name
}

// defineVarExpr records a set: name = expression, typed in pass 2.
func (p *loader) defineVarExpr(key ast.Node, name string, val ast.Node, out **Expr) string {
	if !p.checkVarName(key, name) {
		return ""
	}
	d := &varDef{pos: posOf(key), node: val, out: out}
	p.varDefs[name] = append(p.varDefs[name], d)
	return name
}

func (p *loader) checkVarName(n ast.Node, name string) bool {
	switch {
	case !varRE.MatchString(name):
		p.errorf(posOf(n), "bad variable name %q: use lower-case letters, digits and _", name)
	case builtins[name] != TypeInvalid || name == "queue" || name == "true" || name == "false" || name == "and" || name == "or" || name == "not" || name == "in":
		p.errorf(posOf(n), "%q is a built-in name; pick another variable name", name)
	default:
		return true
	}
	return false
}

// typeVar settles the type of a flow variable from all its definitions.
func (p *loader) typeVar(name string, defs []*varDef) Type {
	if t, ok := p.flow.vars[name]; ok {
		return t
	}
	if p.varTyping[name] {
		return TypeInvalid // a set that reads itself: typed by its other definitions
	}
	p.varTyping[name] = true
	defer delete(p.varTyping, name)
	t := TypeInvalid
	var first Pos
	for _, d := range defs {
		dt := d.typ
		if d.node != nil {
			if *d.out == nil {
				dt = p.compile(d.node, TypeInvalid, d.out)
			} else {
				dt = (*d.out).typ
			}
			d.typ = dt
		}
		if dt == TypeInvalid {
			continue
		}
		if t == TypeInvalid {
			t, first = dt, d.pos
		} else if dt != t {
			p.errorf(d.pos, "type error: variable %s is a %s here but a %s at %s", name, dt, t, first)
		}
	}
	if t != TypeInvalid {
		p.flow.vars[name] = t
	}
	return t
}

type loaderScope loader

func (sc *loaderScope) lookup(name string) (refKind, Type, error) {
	p := (*loader)(sc)
	if t, ok := builtins[name]; ok {
		return refBuiltin, t, nil
	}
	if f, ok := strings.CutPrefix(name, "customer."); ok {
		if t, ok := p.flow.fields[f]; ok {
			return refField, t, nil
		}
		return 0, 0, fmt.Errorf("unknown customer field %q%s", f, closest(f, keysOf(p.flow.fields), "declare it under fields:"))
	}
	if defs, ok := p.varDefs[name]; ok {
		if t := p.typeVar(name, defs); t != TypeInvalid {
			return refVar, t, nil
		}
		return 0, 0, fmt.Errorf("variable %s has no type (it is only set from itself)", name)
	}
	if name == "queue" {
		return refBuiltin, TypeString, nil
	}
	names := append(keysOf(builtins), keysOf(p.varDefs)...)
	return 0, 0, fmt.Errorf("unknown variable %q%s", name, closest(name, names, "no set: or collect: step defines it"))
}

func keysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// nearest returns the known name within two edits of a misspelt one
// (the first of the closest), or "".
func nearest(name string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := editDistance(name, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// closest is " (did you mean X?)" for the nearest known name, else
// " (hint)", or "" without a hint.
func closest(name string, known []string, hint string) string {
	if best := nearest(name, known); best != "" {
		return fmt.Sprintf(" (did you mean %s?)", best)
	}
	if hint == "" {
		return ""
	}
	return " (" + hint + ")"
}

func (sc *loaderScope) calendar(name string) bool {
	_, ok := sc.flow.calendars[name]
	return ok
}

// --- prompts

func (p *loader) promptList(n ast.Node, what string) []string {
	names, nodes := p.list(n, what)
	var out []string
	for i, name := range names {
		if key, ok := p.prompt(nodes[i], name); ok {
			out = append(out, key)
		}
	}
	return out
}

// prompt resolves a prompt name to a file, loads it once and returns the
// key it is stored under.
func (p *loader) prompt(n ast.Node, name string) (string, bool) {
	file := name
	if path.Ext(file) == "" {
		file += ".wav"
	}
	if _, done := p.flow.prompts[file]; done {
		return file, true
	}
	if !fs.ValidPath(file) {
		p.errorf(posOf(n), "prompt %q: use a path relative to the flow's folder, with / and no ..", name)
		return "", false
	}
	for i, fsys := range []fs.FS{p.opts.Prompts, p.opts.Builtin} {
		if fsys == nil {
			continue
		}
		data, err := fs.ReadFile(fsys, file)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			p.errorf(posOf(n), "prompt %q: %v", name, err)
			return "", false
		}
		pcm, err := p.opts.Decode(file, data)
		if err != nil {
			p.errorf(posOf(n), "prompt %q: %v", name, err)
			return "", false
		}
		if len(pcm) > 10*60*8000 {
			p.errorf(posOf(n), "prompt %q is longer than 10 minutes", name)
			return "", false
		}
		p.flow.prompts[file] = pcm
		if i == 0 { // the flow's own folder: watch the file for edits
			if fi, err := fs.Stat(fsys, file); err == nil {
				p.flow.stamps[file] = stamp{fi.Size(), fi.ModTime()}
			}
		}
		return file, true
	}
	p.errorf(posOf(n), "prompt file %q not found (looked in the flow's folder and the built-in prompts)", file)
	return "", false
}
