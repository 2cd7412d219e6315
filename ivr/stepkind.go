package ivr

import (
	"sort"
	"time"

	"github.com/goccy/go-yaml/ast"
)

// Step kinds.
const (
	kindPlay      = "play"
	kindMenu      = "menu"
	kindCollect   = "collect"
	kindIdentify  = "identify"
	kindVerify    = "verify"
	kindPIN       = "pin"
	kindEnrol     = "enrol"
	kindBranch    = "branch"
	kindSet       = "set"
	kindQueue     = "queue"
	kindTransfer  = "transfer"
	kindCallback  = "callback"
	kindVoicemail = "voicemail"
	kindRecord    = "record"
	kindHangup    = "hangup"
	kindGoto      = "goto"
	kindCall      = "call"
	kindReturn    = "return"
)

// stepKind is one step type: what the loader accepts, how it reads the
// step into the type's own options, and how the graph draws it. What the
// step does when it runs, what it says in a summary and where it may go
// next are methods of its options (stepOptions). Adding a step type is
// one file (its options type, parse function and methods), one entry in
// stepKinds and its paragraph in the spec, doc.go (TestStepKindsMatchSpec
// holds the two together).
type stepKind struct {
	// fields are the fields the step accepts besides id, next and
	// operator.
	fields []string
	// ends: the step never continues to the next one, so it takes no
	// next:.
	ends bool
	// bare: the step may be written as its name alone ("- hangup").
	bare bool
	// colour fills the step's box in the graph.
	colour string
	// parse reads the step's argument and fields into its options,
	// reporting mistakes through a.
	parse func(a *stepArgs) stepOptions
}

// stepKinds is every step type by name.
var stepKinds = map[string]*stepKind{
	kindPlay:      {fields: []string{"bargein"}, colour: "#e8f0fe", parse: parsePlay},
	kindMenu:      {fields: []string{"choices", "timeout", "retries", "no-input", "invalid", "fail"}, colour: "#fff4d6", parse: parseMenu},
	kindCollect:   {fields: []string{"prompt", "min", "max", "terminator", "timeout", "retries", "no-input", "invalid", "fail"}, colour: "#fff4d6", parse: parseCollect},
	kindIdentify:  {fields: []string{"listen", "silence", "fail"}, colour: "#e6f6ea", parse: parseIdentify},
	kindVerify:    {fields: []string{"prompt", "listen", "fail"}, colour: "#e6f6ea", parse: parseVerify},
	kindPIN:       {fields: []string{"customer", "fail"}, colour: "#e6f6ea", parse: parsePIN},
	kindEnrol:     {fields: []string{"customer", "accept", "prompt", "speech", "listen", "timeout", "fail"}, colour: "#e6f6ea", parse: parseEnrol},
	kindBranch:    {fields: []string{"else"}, colour: "#f3e8fd", parse: parseBranch},
	kindSet:       {colour: "#f1f3f4", parse: parseSet},
	kindQueue:     {fields: []string{"skills", "priority", "preferred", "hold", "record-notice", "fail"}, ends: true, colour: "#fde8e8", parse: parseQueue},
	kindTransfer:  {fields: []string{"prompt", "fail"}, ends: true, colour: "#fde8e8", parse: parseTransfer},
	kindCallback:  {fields: []string{"number", "prompt", "fail"}, colour: "#fde8e8", parse: parseCallback},
	kindVoicemail: {fields: []string{"prompt", "listen", "fail"}, colour: "#fde8e8", parse: parseVoicemail},
	kindRecord:    {fields: []string{"start", "fail"}, colour: "#fde8e8", parse: parseRecord},
	kindHangup:    {ends: true, bare: true, colour: "#dadce0", parse: parseHangup},
	kindGoto:      {ends: true, colour: "#f1f3f4", parse: parseGoto},
	kindCall:      {colour: "#f1f3f4", parse: parseCall},
	kindReturn:    {ends: true, bare: true, colour: "#dadce0", parse: parseReturn},
}

// stepOptions are one step's own options, of its kind's type; their
// methods are what the runner, the checker and the graph ask of a step.
type stepOptions interface {
	// run performs the step and returns the id of the next one (exit
	// when the step list ends).
	run(s *session, st *Step) (string, error)
	// edges returns where the step may go next; exit stands for the end
	// of the call (or the return from a sub-flow). Pressing 0 is not an
	// edge: the checks must hold for callers who never press it.
	edges(st *Step) []string
	// about returns what the step's summary says after its kind.
	about() []string
}

// jumper is a step with labelled jumps of its own (keys, conditions,
// goto), drawn before its fail: and next ways; with only set, it has no
// other way out.
type jumper interface {
	jumps() (out []edge, only bool)
}

// recorder is a step that may have the call recorded.
type recorder interface {
	records() bool
}

// onward is embedded by the steps that continue with the next step or
// take their fail: way.
type onward struct{}

func (onward) edges(st *Step) []string {
	if st.fail != "" {
		return []string{st.following(), st.fail}
	}
	return []string{st.following()}
}

// final is embedded by the steps that end the call (or the sub-flow),
// or take their fail: way.
type final struct{}

func (final) edges(st *Step) []string {
	if st.fail != "" {
		return []string{exit, st.fail}
	}
	return []string{exit}
}

// otherwise appends the way a step takes when none of its own jumps
// does: alt, or the next step when alt is "".
func otherwise(out []string, alt string, st *Step) []string {
	if alt != "" {
		return append(out, alt)
	}
	return append(out, st.following())
}

// stepArgs is a step being read: its argument (the value of its type
// key) and its other fields, which the unknown-field check let through.
type stepArgs struct {
	*loader
	st     *Step
	arg    ast.Node
	fields map[string]*ast.MappingValueNode
}

// get returns field k's value, or nil when the step does not set it.
func (a *stepArgs) get(k string) ast.Node {
	if kv, ok := a.fields[k]; ok {
		return kv.Value
	}
	return nil
}

// empty reports whether the step has no argument.
func (a *stepArgs) empty() bool {
	_, isNull := a.arg.(*ast.NullNode)
	return isNull
}

// need reports whether the step has an argument, reporting its absence.
func (a *stepArgs) need(what string) bool {
	if a.empty() {
		a.errorf(posOf(a.arg), "%s needs %s", a.st.kind, what)
		return false
	}
	return true
}

// dur reads duration field k, def when absent.
func (a *stepArgs) dur(k string, def time.Duration) time.Duration {
	if v := a.get(k); v != nil {
		return a.duration(v, k)
	}
	return def
}

// num reads whole-number field k in [lo, hi], def when absent.
func (a *stepArgs) num(k string, lo, hi, def int) int {
	if v := a.get(k); v != nil {
		return a.integer(v, k, lo, hi)
	}
	return def
}

// keyField reads key field k, def when absent.
func (a *stepArgs) keyField(k string, def rune) rune {
	if v := a.get(k); v != nil {
		return a.key(v, k)
	}
	return def
}

// promptsOf reads prompt-list field k, nil when absent.
func (a *stepArgs) promptsOf(k string) []string {
	if v := a.get(k); v != nil {
		return a.promptList(v, k)
	}
	return nil
}

// exprOf notes expression field k, compiled once every variable is
// known; out stays nil when the field is absent.
func (a *stepArgs) exprOf(k string, want Type, out **Expr) {
	if v := a.get(k); v != nil {
		a.expr(v, want, out)
	}
}

func isOption(k string) bool {
	for _, sk := range stepKinds {
		for _, f := range sk.fields {
			if f == k {
				return true
			}
		}
	}
	return false
}

func kindNames() []string {
	out := make([]string, 0, len(stepKinds))
	for k := range stepKinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// exec runs one step and returns the id of the next one (exit when the
// step list ends).
func (s *session) exec(st *Step) (string, error) { return st.opts.run(s, st) }
