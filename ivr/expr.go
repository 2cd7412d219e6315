package ivr

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Type is the type of a value in a condition or a variable.
type Type int

// Types of the condition language.
const (
	TypeInvalid Type = iota
	TypeBool
	TypeNumber
	TypeString
	typeList // a [..] literal, only on the right of "in"
)

func (t Type) String() string {
	switch t {
	case TypeBool:
		return "bool"
	case TypeNumber:
		return "number"
	case TypeString:
		return "string"
	case typeList:
		return "list"
	}
	return "invalid"
}

func parseType(s string) Type {
	switch s {
	case "bool":
		return TypeBool
	case "number":
		return TypeNumber
	case "string":
		return TypeString
	}
	return TypeInvalid
}

// value is a run-time value of an expression.
type value struct {
	t    Type
	b    bool
	n    float64
	s    string
	list []value
}

func (v value) String() string {
	switch v.t {
	case TypeBool:
		return strconv.FormatBool(v.b)
	case TypeNumber:
		return strconv.FormatFloat(v.n, 'g', -1, 64)
	}
	return v.s
}

// valueOf converts a call variable's text to a value of type t.
func valueOf(t Type, s string) value {
	switch t {
	case TypeBool:
		b, _ := strconv.ParseBool(s)
		return value{t: t, b: b}
	case TypeNumber:
		n, _ := strconv.ParseFloat(strings.TrimSpace(s), 64)
		return value{t: t, n: n}
	}
	return value{t: TypeString, s: s}
}

// refKind says where a name in an expression gets its value.
type refKind int

const (
	refBuiltin refKind = iota // identified, score, caller...
	refField                  // customer.<field>
	refVar                    // a flow variable (set, collect)
)

// builtins are the names every flow can read, with their types.
var builtins = map[string]Type{
	"identified": TypeBool,   // a customer is known (any method)
	"customer":   TypeString, // customer id
	"score":      TypeNumber, // identification score
	"method":     TypeString, // voice, pin, number, none
	"candidates": TypeString, // comma-separated ids considered
	"voice":      TypeString, // verified, unknown, not_sure; "" when no voice decision
	"warning":    TypeString, // identification warning for the agent
	"watchlist":  TypeString, // fraud watchlist entry the voice matched
	"caller":     TypeString, // calling number
	"callee":     TypeString, // dialled number
	"channel":    TypeString, // sip or webrtc
	"trunk":      TypeString, // SIP trunk name
}

// defaultFields are the customer fields known without a fields: section.
var defaultFields = map[string]Type{
	"name":     TypeString,
	"segment":  TypeString,
	"vip":      TypeBool,
	"language": TypeString,
	"advisor":  TypeString,
}

// funcs are the functions of the condition language.
var funcs = map[string]struct {
	args []Type
	ret  Type
}{
	"open":       {[]Type{TypeString}, TypeBool}, // open('calendar'): business hours now
	"holiday":    {[]Type{TypeString}, TypeBool}, // holiday('calendar'): today is a holiday
	"startswith": {[]Type{TypeString, TypeString}, TypeBool},
	"endswith":   {[]Type{TypeString, TypeString}, TypeBool},
	"contains":   {[]Type{TypeString, TypeString}, TypeBool},
	"len":        {[]Type{TypeString}, TypeNumber},
	"num":        {[]Type{TypeString}, TypeNumber}, // text to number, 0 when not a number
}

// Expr is a compiled, type-checked expression.
type Expr struct {
	src  string
	root *exprNode
	typ  Type
}

// String returns the expression's source text.
func (e *Expr) String() string { return e.src }

// Type returns the expression's type.
func (e *Expr) Type() Type { return e.typ }

type exprNode struct {
	op   string // "lit", "ref", "call", "not", "and", "or", "in", "list", or a comparison
	off  int    // byte offset in the source, for errors
	val  value
	name string // ref or function name
	ref  refKind
	args []*exprNode
	typ  Type
}

// exprError is an error at a byte offset in the expression.
type exprError struct {
	off int
	msg string
}

func (e *exprError) Error() string { return e.msg }

// scope resolves names while type-checking.
type scope interface {
	lookup(name string) (refKind, Type, error)
	calendar(name string) bool
}

// compileExpr parses and type-checks src; want is the required result type
// (TypeInvalid accepts any).
func compileExpr(src string, sc scope, want Type) (*Expr, error) {
	p := &exprParser{src: src}
	p.next()
	root, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF {
		return nil, &exprError{p.tok.off, fmt.Sprintf("unexpected %s", p.tok.describe())}
	}
	if err := check(root, sc); err != nil {
		return nil, err
	}
	if want != TypeInvalid && root.typ != want {
		return nil, &exprError{0, fmt.Sprintf("type error: %q is a %s, want a %s", src, root.typ, want)}
	}
	return &Expr{src: src, root: root, typ: root.typ}, nil
}

// --- lexer

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tNum
	tStr
	tOp // punctuation and comparison operators
)

type tok struct {
	kind tokKind
	off  int
	text string
	num  float64
}

func (t tok) describe() string {
	switch t.kind {
	case tEOF:
		return "end of condition"
	case tStr:
		return fmt.Sprintf("string %q", t.text)
	}
	return fmt.Sprintf("%q", t.text)
}

type exprParser struct {
	src   string
	pos   int
	tok   tok
	err   error
	depth int
}

func (p *exprParser) next() {
	if p.err != nil {
		p.tok = tok{kind: tEOF, off: len(p.src)}
		return
	}
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t' || p.src[p.pos] == '\n' || p.src[p.pos] == '\r') {
		p.pos++
	}
	start := p.pos
	if p.pos >= len(p.src) {
		p.tok = tok{kind: tEOF, off: start}
		return
	}
	c := p.src[p.pos]
	switch {
	case c == '_' || c < 0x80 && unicode.IsLetter(rune(c)):
		for p.pos < len(p.src) && (isIdentByte(p.src[p.pos]) || p.src[p.pos] == '.' && p.pos+1 < len(p.src) && isIdentByte(p.src[p.pos+1])) {
			p.pos++
		}
		p.tok = tok{kind: tIdent, off: start, text: p.src[start:p.pos]}
	case c >= '0' && c <= '9' || c == '.' && p.pos+1 < len(p.src) && p.src[p.pos+1] >= '0' && p.src[p.pos+1] <= '9':
		for p.pos < len(p.src) && (p.src[p.pos] >= '0' && p.src[p.pos] <= '9' || p.src[p.pos] == '.') {
			p.pos++
		}
		text := p.src[start:p.pos]
		n, err := strconv.ParseFloat(text, 64)
		if err != nil {
			p.fail(start, fmt.Sprintf("bad number %q", text))
			return
		}
		p.tok = tok{kind: tNum, off: start, text: text, num: n}
	case c == '\'' || c == '"':
		end := strings.IndexByte(p.src[p.pos+1:], c)
		if end < 0 {
			p.fail(start, "string not closed")
			return
		}
		p.pos += end + 2
		p.tok = tok{kind: tStr, off: start, text: p.src[start+1 : p.pos-1]}
	default:
		for _, op := range []string{"==", "!=", "<=", ">=", "<", ">", "(", ")", "[", "]", ",", "+", "-", "*", "/"} {
			if strings.HasPrefix(p.src[p.pos:], op) {
				p.pos += len(op)
				p.tok = tok{kind: tOp, off: start, text: op}
				return
			}
		}
		if c == '=' {
			p.fail(start, `"=" is not an operator (use == to compare)`)
			return
		}
		if c == '&' || c == '|' || c == '!' {
			p.fail(start, fmt.Sprintf("%q is not an operator (use and, or, not)", c))
			return
		}
		p.fail(start, fmt.Sprintf("unexpected character %q", rune(c)))
	}
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func (p *exprParser) fail(off int, msg string) {
	if p.err == nil {
		p.err = &exprError{off, msg}
	}
	p.tok = tok{kind: tEOF, off: len(p.src)}
}

func (p *exprParser) isWord(w string) bool { return p.tok.kind == tIdent && p.tok.text == w }
func (p *exprParser) isOp(op string) bool  { return p.tok.kind == tOp && p.tok.text == op }

// --- parser: or := and {"or" and}; and := not {"and" not}; not := "not" not | cmp;
// cmp := sum [cmpop sum | "in" list]; sum := prod {("+"|"-") prod};
// prod := unary {("*"|"/") unary}; unary := "-" unary | primary

// maxDepth bounds nesting so hostile input cannot exhaust the stack.
const maxDepth = 50

func (p *exprParser) parseOr() (*exprNode, error) {
	return p.parseBinary("or", p.parseAnd)
}

func (p *exprParser) parseAnd() (*exprNode, error) {
	return p.parseBinary("and", p.parseNot)
}

func (p *exprParser) parseBinary(word string, sub func() (*exprNode, error)) (*exprNode, error) {
	l, err := sub()
	if err != nil {
		return nil, err
	}
	for p.isWord(word) {
		off := p.tok.off
		p.next()
		r, err := sub()
		if err != nil {
			return nil, err
		}
		l = &exprNode{op: word, off: off, args: []*exprNode{l, r}}
	}
	return l, p.err
}

func (p *exprParser) parseNot() (*exprNode, error) {
	if p.isWord("not") {
		off := p.tok.off
		p.next()
		if err := p.enter(off); err != nil {
			return nil, err
		}
		defer p.leave()
		x, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		return &exprNode{op: "not", off: off, args: []*exprNode{x}}, nil
	}
	return p.parseCmp()
}

// enter counts one level of nesting; it fails once maxDepth is passed.
func (p *exprParser) enter(off int) error {
	p.depth++
	if p.depth > maxDepth {
		p.fail(off, "condition nested too deeply")
		return p.err
	}
	return nil
}

func (p *exprParser) leave() { p.depth-- }

func (p *exprParser) parseArith(ops string, sub func() (*exprNode, error)) (*exprNode, error) {
	l, err := sub()
	if err != nil {
		return nil, err
	}
	for p.tok.kind == tOp && len(p.tok.text) == 1 && strings.Contains(ops, p.tok.text) {
		op, off := p.tok.text, p.tok.off
		p.next()
		r, err := sub()
		if err != nil {
			return nil, err
		}
		l = &exprNode{op: op, off: off, args: []*exprNode{l, r}}
	}
	return l, p.err
}

func (p *exprParser) parseSum() (*exprNode, error) { return p.parseArith("+-", p.parseProd) }

func (p *exprParser) parseProd() (*exprNode, error) { return p.parseArith("*/", p.parseUnary) }

func (p *exprParser) parseUnary() (*exprNode, error) {
	if p.isOp("-") {
		off := p.tok.off
		p.next()
		if err := p.enter(off); err != nil {
			return nil, err
		}
		defer p.leave()
		x, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		return &exprNode{op: "neg", off: off, args: []*exprNode{x}}, nil
	}
	return p.parsePrimary()
}

func (p *exprParser) parseCmp() (*exprNode, error) {
	l, err := p.parseSum()
	if err != nil {
		return nil, err
	}
	if p.tok.kind == tOp {
		switch p.tok.text {
		case "==", "!=", "<", "<=", ">", ">=":
			op, off := p.tok.text, p.tok.off
			p.next()
			r, err := p.parseSum()
			if err != nil {
				return nil, err
			}
			return &exprNode{op: op, off: off, args: []*exprNode{l, r}}, p.err
		}
	}
	if p.isWord("in") {
		off := p.tok.off
		p.next()
		if !p.isOp("[") {
			return nil, p.errHere("want a list like ['gold', 'platinum'] after in")
		}
		r, err := p.parsePrimary()
		if err != nil {
			return nil, err
		}
		return &exprNode{op: "in", off: off, args: []*exprNode{l, r}}, p.err
	}
	return l, p.err
}

func (p *exprParser) errHere(msg string) error {
	if p.err != nil {
		return p.err
	}
	return &exprError{p.tok.off, msg + ", found " + p.tok.describe()}
}

func (p *exprParser) parsePrimary() (*exprNode, error) {
	if p.err != nil {
		return nil, p.err
	}
	t := p.tok
	switch t.kind {
	case tNum:
		p.next()
		return &exprNode{op: "lit", off: t.off, val: value{t: TypeNumber, n: t.num}}, p.err
	case tStr:
		p.next()
		return &exprNode{op: "lit", off: t.off, val: value{t: TypeString, s: t.text}}, p.err
	case tIdent:
		switch t.text {
		case "true", "false":
			p.next()
			return &exprNode{op: "lit", off: t.off, val: value{t: TypeBool, b: t.text == "true"}}, p.err
		case "and", "or", "not", "in":
			return nil, &exprError{t.off, fmt.Sprintf("want a value, found %q", t.text)}
		}
		p.next()
		if !p.isOp("(") {
			return &exprNode{op: "ref", off: t.off, name: t.text}, p.err
		}
		if err := p.enter(p.tok.off); err != nil {
			return nil, err
		}
		defer p.leave()
		p.next()
		n := &exprNode{op: "call", off: t.off, name: t.text}
		for !p.isOp(")") {
			if len(n.args) > 0 {
				if !p.isOp(",") {
					return nil, p.errHere("want , or ) in the arguments of " + t.text)
				}
				p.next()
			}
			a, err := p.parseOr()
			if err != nil {
				return nil, err
			}
			n.args = append(n.args, a)
			if len(n.args) > 8 {
				return nil, &exprError{t.off, "too many arguments to " + t.text}
			}
		}
		p.next()
		return n, p.err
	case tOp:
		switch t.text {
		case "(":
			if err := p.enter(t.off); err != nil {
				return nil, err
			}
			defer p.leave()
			p.next()
			x, err := p.parseOr()
			if err != nil {
				return nil, err
			}
			if !p.isOp(")") {
				return nil, p.errHere("want )")
			}
			p.next()
			return x, p.err
		case "[":
			p.next()
			n := &exprNode{op: "list", off: t.off}
			for !p.isOp("]") {
				if len(n.args) > 0 {
					if !p.isOp(",") {
						return nil, p.errHere("want , or ] in the list")
					}
					p.next()
				}
				if p.tok.kind != tNum && p.tok.kind != tStr {
					return nil, p.errHere("a list holds numbers or strings")
				}
				a, err := p.parsePrimary()
				if err != nil {
					return nil, err
				}
				n.args = append(n.args, a)
			}
			p.next()
			return n, p.err
		}
	}
	return nil, p.errHere("want a value")
}

// --- type checking

func check(n *exprNode, sc scope) error {
	for _, a := range n.args {
		if err := check(a, sc); err != nil {
			return err
		}
	}
	switch n.op {
	case "lit":
		n.typ = n.val.t
	case "ref":
		k, t, err := sc.lookup(n.name)
		if err != nil {
			return &exprError{n.off, err.Error()}
		}
		n.ref, n.typ = k, t
	case "call":
		f, ok := funcs[n.name]
		if !ok {
			return &exprError{n.off, fmt.Sprintf("unknown function %q", n.name)}
		}
		if len(n.args) != len(f.args) {
			return &exprError{n.off, fmt.Sprintf("%s takes %d argument(s), got %d", n.name, len(f.args), len(n.args))}
		}
		for i, a := range n.args {
			if a.typ != f.args[i] {
				return &exprError{a.off, fmt.Sprintf("type error: argument %d of %s is a %s, want a %s", i+1, n.name, a.typ, f.args[i])}
			}
		}
		if n.name == "open" || n.name == "holiday" {
			a := n.args[0]
			if a.op != "lit" {
				return &exprError{a.off, n.name + " wants a calendar name in quotes"}
			}
			if !sc.calendar(a.val.s) {
				return &exprError{a.off, fmt.Sprintf("unknown calendar %q (define it under calendars:)", a.val.s)}
			}
		}
		n.typ = f.ret
	case "not":
		if n.args[0].typ != TypeBool {
			return &exprError{n.args[0].off, fmt.Sprintf("type error: not needs a bool, got a %s", n.args[0].typ)}
		}
		n.typ = TypeBool
	case "and", "or":
		for _, a := range n.args {
			if a.typ != TypeBool {
				return &exprError{a.off, fmt.Sprintf("type error: %s needs bools on both sides, got a %s", n.op, a.typ)}
			}
		}
		n.typ = TypeBool
	case "list":
		for _, a := range n.args[1:] {
			if a.typ != n.args[0].typ {
				return &exprError{a.off, "type error: a list mixes numbers and strings"}
			}
		}
		n.typ = typeList
	case "neg":
		if n.args[0].typ != TypeNumber {
			return &exprError{n.off, fmt.Sprintf("type error: - needs a number, got a %s", n.args[0].typ)}
		}
		n.typ = TypeNumber
	case "+", "-", "*", "/":
		l, r := n.args[0], n.args[1]
		if n.op == "+" && l.typ == TypeString && r.typ == TypeString {
			n.typ = TypeString // text + text joins them
			break
		}
		for _, a := range n.args {
			if a.typ != TypeNumber {
				what := "numbers"
				if n.op == "+" {
					what = "two numbers or two strings"
				}
				return &exprError{n.off, fmt.Sprintf("type error: %s needs %s, got a %s and a %s", n.op, what, l.typ, r.typ)}
			}
		}
		n.typ = TypeNumber
	case "in":
		l, r := n.args[0], n.args[1]
		if len(r.args) > 0 && r.args[0].typ != l.typ {
			return &exprError{n.off, fmt.Sprintf("type error: in compares a %s with a list of %ss", l.typ, r.args[0].typ)}
		}
		n.typ = TypeBool
	default: // comparisons
		l, r := n.args[0], n.args[1]
		if l.typ != r.typ {
			return &exprError{n.off, fmt.Sprintf("type error: %s compares a %s with a %s", n.op, l.typ, r.typ)}
		}
		if l.typ == TypeBool && n.op != "==" && n.op != "!=" {
			return &exprError{n.off, fmt.Sprintf("type error: %s does not apply to bools", n.op)}
		}
		n.typ = TypeBool
	}
	return nil
}

// --- evaluation

// env supplies values at run time.
type env interface {
	builtin(name string) value
	field(name string) value
	userVar(name string, t Type) value
	open(calendar string) bool
	holiday(calendar string) bool
}

// eval evaluates the expression; it cannot fail once type-checked.
func (e *Expr) eval(en env) value { return evalNode(e.root, en) }

func evalNode(n *exprNode, en env) value {
	switch n.op {
	case "lit":
		return n.val
	case "ref":
		switch n.ref {
		case refBuiltin:
			return en.builtin(n.name)
		case refField:
			return en.field(strings.TrimPrefix(n.name, "customer."))
		default:
			return en.userVar(n.name, n.typ)
		}
	case "call":
		a := make([]value, len(n.args))
		for i, x := range n.args {
			a[i] = evalNode(x, en)
		}
		switch n.name {
		case "open":
			return value{t: TypeBool, b: en.open(a[0].s)}
		case "holiday":
			return value{t: TypeBool, b: en.holiday(a[0].s)}
		case "startswith":
			return value{t: TypeBool, b: strings.HasPrefix(a[0].s, a[1].s)}
		case "endswith":
			return value{t: TypeBool, b: strings.HasSuffix(a[0].s, a[1].s)}
		case "contains":
			return value{t: TypeBool, b: strings.Contains(a[0].s, a[1].s)}
		case "len":
			return value{t: TypeNumber, n: float64(len([]rune(a[0].s)))}
		case "num":
			return valueOf(TypeNumber, a[0].s)
		}
	case "not":
		return value{t: TypeBool, b: !evalNode(n.args[0], en).b}
	case "and":
		return value{t: TypeBool, b: evalNode(n.args[0], en).b && evalNode(n.args[1], en).b}
	case "or":
		return value{t: TypeBool, b: evalNode(n.args[0], en).b || evalNode(n.args[1], en).b}
	case "list":
		l := value{t: typeList}
		for _, x := range n.args {
			l.list = append(l.list, x.val)
		}
		return l
	case "neg":
		return value{t: TypeNumber, n: -evalNode(n.args[0], en).n}
	case "+", "-", "*", "/":
		if n.typ == TypeString {
			return value{t: TypeString, s: evalNode(n.args[0], en).s + evalNode(n.args[1], en).s}
		}
		l, r := evalNode(n.args[0], en).n, evalNode(n.args[1], en).n
		var v float64
		switch n.op {
		case "+":
			v = l + r
		case "-":
			v = l - r
		case "*":
			v = l * r
		default:
			if r != 0 {
				v = l / r // division by zero gives 0: a flow must not fail on data
			}
		}
		return value{t: TypeNumber, n: v}
	case "in":
		x := evalNode(n.args[0], en)
		for _, y := range n.args[1].args {
			if equal(x, y.val) {
				return value{t: TypeBool, b: true}
			}
		}
		return value{t: TypeBool}
	default:
		l, r := evalNode(n.args[0], en), evalNode(n.args[1], en)
		return value{t: TypeBool, b: compare(n.op, l, r)}
	}
	return value{}
}

func equal(a, b value) bool {
	switch a.t {
	case TypeBool:
		return a.b == b.b
	case TypeNumber:
		return a.n == b.n
	}
	return a.s == b.s
}

func compare(op string, l, r value) bool {
	var c int
	switch l.t {
	case TypeBool:
		if l.b != r.b {
			c = 1
		}
	case TypeNumber:
		switch {
		case l.n < r.n:
			c = -1
		case l.n > r.n:
			c = 1
		}
	default:
		c = strings.Compare(l.s, r.s)
	}
	switch op {
	case "==":
		return c == 0
	case "!=":
		return c != 0
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	}
	return c >= 0
}
