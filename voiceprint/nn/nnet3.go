package nn

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// Nnet3 is the content of a Kaldi nnet3 "raw" model file: the network
// configuration (nodes and how they connect) and the components by name.
type Nnet3 struct {
	Nodes      []Node
	Components map[string]*Component
}

// Node is one line of the nnet3 config section.
type Node struct {
	Kind      string // "input-node", "component-node" or "output-node"
	Name      string
	Component string // component-node only
	Input     string // descriptor, e.g. "Append(Offset(input, -2), input)"
	Dim       int    // input-node only
}

// Component holds the parameters of one nnet3 component. Only the fields
// that matter for the component's Type are set.
type Component struct {
	Name string
	Type string // Kaldi class name, e.g. "BatchNormComponent"
	// Offset of the component's name token in the file, for error messages.
	Offset int

	Ints    map[string]int
	Floats  map[string]float64
	Bools   map[string]bool
	Vectors map[string][]float32
	Matrix  map[string]Matrix
}

// fieldKind says how the value after a tag is stored in binary mode.
type fieldKind int

const (
	kInt fieldKind = iota
	kFloat
	kBool
	kVector
	kMatrix
)

// componentFields lists, for each supported component class, the tags it
// may contain and their value kinds (Kaldi's Write order is not enforced;
// the set is). Tags of training-only state are read and kept but unused.
var componentFields = map[string]map[string]fieldKind{
	"NaturalGradientAffineComponent": {
		"MaxChange": kFloat, "LearningRate": kFloat, "LearningRateFactor": kFloat,
		"L2Regularize": kFloat, "LinearParams": kMatrix, "BiasParams": kVector,
		"RankIn": kInt, "RankOut": kInt, "UpdatePeriod": kInt, "NumSamplesHistory": kFloat,
		"Alpha": kFloat, "IsGradient": kBool, "OrthonormalConstraint": kFloat,
	},
	"AffineComponent": {
		"MaxChange": kFloat, "LearningRate": kFloat, "LearningRateFactor": kFloat,
		"L2Regularize": kFloat, "LinearParams": kMatrix, "BiasParams": kVector,
		"IsGradient": kBool, "OrthonormalConstraint": kFloat,
	},
	"RectifiedLinearComponent": nonlinearFields,
	"LogSoftmaxComponent":      nonlinearFields,
	"BatchNormComponent": {
		"Dim": kInt, "BlockDim": kInt, "Epsilon": kFloat, "TargetRms": kFloat,
		"TestMode": kBool, "Count": kFloat, "StatsMean": kVector, "StatsVar": kVector,
	},
	"StatisticsExtractionComponent": {
		"InputDim": kInt, "InputPeriod": kInt, "OutputPeriod": kInt, "IncludeVarinance": kBool,
	},
	"StatisticsPoolingComponent": {
		"InputDim": kInt, "InputPeriod": kInt, "LeftContext": kInt, "RightContext": kInt,
		"NumLogCountFeatures": kInt, "OutputStddevs": kBool, "VarianceFloor": kFloat,
	},
}

var nonlinearFields = map[string]fieldKind{
	"Dim": kInt, "BlockDim": kInt, "ValueAvg": kVector, "DerivAvg": kVector, "Count": kFloat,
	"OderivRms": kVector, "OderivCount": kFloat, "NumDimsSelfRepaired": kFloat,
	"NumDimsProcessed": kFloat, "SelfRepairScale": kFloat,
	"SelfRepairLowerThreshold": kFloat, "SelfRepairUpperThreshold": kFloat,
}

// maxComponents bounds <NumComponents>.
const maxComponents = 10000

// ParseNnet3 parses a Kaldi nnet3 binary model ("\0B<Nnet3> "). Every
// structural problem, unknown component class or truncation is a
// *FormatError naming the component and the byte offset.
func ParseNnet3(b []byte) (*Nnet3, error) {
	if !bytes.HasPrefix(b, []byte("\x00B<Nnet3>")) {
		return nil, &FormatError{Msg: `not a Kaldi nnet3 binary model (want "\0B<Nnet3>")`}
	}
	r := &reader{b: b, p: 2}
	if err := r.expect("<Nnet3>"); err != nil {
		return nil, err
	}
	n := &Nnet3{Components: map[string]*Component{}}
	if r.p < len(b) && b[r.p] == '\n' {
		r.p++ // the config section starts on the next line
	}
	// Config section: text lines up to an empty line.
	for {
		end := bytes.IndexByte(b[r.p:], '\n')
		if end < 0 {
			return nil, r.errf("truncated config section")
		}
		line := strings.TrimSpace(string(b[r.p : r.p+end]))
		lineAt := r.p
		r.p += end + 1
		if line == "" {
			break
		}
		node, err := parseNodeLine(line)
		if err != nil {
			return nil, &FormatError{Offset: lineAt, Msg: err.Error()}
		}
		n.Nodes = append(n.Nodes, node)
	}
	if err := r.expect("<NumComponents>"); err != nil {
		return nil, err
	}
	num, err := r.int32()
	if err != nil {
		return nil, err
	}
	if num < 0 || num > maxComponents {
		return nil, r.errf("bad component count %d", num)
	}
	for i := 0; i < num; i++ {
		c, err := r.component()
		if err != nil {
			return nil, err
		}
		if _, dup := n.Components[c.Name]; dup {
			return nil, &FormatError{Component: c.Name, Offset: c.Offset, Msg: "duplicate component name"}
		}
		n.Components[c.Name] = c
	}
	r.comp = ""
	if err := r.expect("</Nnet3>"); err != nil {
		return nil, err
	}
	for _, nd := range n.Nodes {
		if nd.Kind == "component-node" && n.Components[nd.Component] == nil {
			return nil, &FormatError{Msg: fmt.Sprintf("node %q refers to missing component %q", nd.Name, nd.Component)}
		}
	}
	return n, nil
}

func (r *reader) component() (*Component, error) {
	if err := r.expect("<ComponentName>"); err != nil {
		return nil, err
	}
	at := r.p
	name, err := r.token()
	if err != nil {
		return nil, err
	}
	r.comp = name
	typeTok, err := r.token()
	if err != nil {
		return nil, err
	}
	if len(typeTok) < 3 || typeTok[0] != '<' || typeTok[len(typeTok)-1] != '>' {
		return nil, r.errf("want <ComponentType>, got %q", typeTok)
	}
	typ := typeTok[1 : len(typeTok)-1]
	fields, ok := componentFields[typ]
	if !ok {
		return nil, &FormatError{Component: name, Offset: at, Msg: fmt.Sprintf("unknown component type %s", typ)}
	}
	c := &Component{Name: name, Type: typ, Offset: at,
		Ints: map[string]int{}, Floats: map[string]float64{}, Bools: map[string]bool{},
		Vectors: map[string][]float32{}, Matrix: map[string]Matrix{}}
	endTok := "</" + typ + ">"
	for {
		tagAt := r.p
		tok, err := r.token()
		if err != nil {
			return nil, err
		}
		if tok == endTok {
			return c, nil
		}
		if len(tok) < 3 || tok[0] != '<' || tok[len(tok)-1] != '>' {
			r.p = tagAt
			return nil, r.errf("want a <Tag> or %s, got %q", endTok, tok)
		}
		tag := tok[1 : len(tok)-1]
		kind, ok := fields[tag]
		if !ok {
			r.p = tagAt
			return nil, r.errf("unexpected tag <%s> in %s", tag, typ)
		}
		switch kind {
		case kInt:
			c.Ints[tag], err = r.int32()
		case kFloat:
			c.Floats[tag], err = r.float()
		case kBool:
			c.Bools[tag], err = r.boolean()
		case kVector:
			c.Vectors[tag], err = r.vector()
		case kMatrix:
			c.Matrix[tag], err = r.matrix()
		}
		if err != nil {
			return nil, err
		}
	}
}

// parseNodeLine parses "input-node name=input dim=23" and the like.
func parseNodeLine(line string) (Node, error) {
	kind, rest, _ := strings.Cut(line, " ")
	nd := Node{Kind: kind}
	switch kind {
	case "input-node", "component-node", "output-node":
	default:
		return nd, fmt.Errorf("unknown config line %q", line)
	}
	// key=value pairs; the input descriptor may contain spaces, and runs to
	// the next " key=" or the end of the line.
	for rest = strings.TrimSpace(rest); rest != ""; {
		key, val, ok := strings.Cut(rest, "=")
		if !ok {
			return nd, fmt.Errorf("config line %q: want key=value", line)
		}
		rest = ""
		if i := nextKey(val); i >= 0 {
			val, rest = strings.TrimSpace(val[:i]), strings.TrimSpace(val[i:])
		}
		switch key {
		case "name":
			nd.Name = val
		case "component":
			nd.Component = val
		case "input":
			nd.Input = val
		case "dim":
			d, err := strconv.Atoi(val)
			if err != nil || d <= 0 || d > 1<<20 {
				return nd, fmt.Errorf("config line %q: bad dim", line)
			}
			nd.Dim = d
		case "objective":
		default:
			return nd, fmt.Errorf("config line %q: unknown key %q", line, key)
		}
	}
	if nd.Name == "" {
		return nd, fmt.Errorf("config line %q: no name", line)
	}
	return nd, nil
}

// nextKey returns the index of the space before the next "key=" outside
// parentheses, or -1.
func nextKey(s string) int {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
		case ' ':
			if depth == 0 {
				j := i + 1
				for j < len(s) && s[j] != ' ' && s[j] != '=' && s[j] != '(' {
					j++
				}
				if j < len(s) && s[j] == '=' {
					return i
				}
			}
		}
	}
	return -1
}

// Input is a parsed descriptor of the simple forms a TDNN uses: a node
// spliced at time offsets (Append of Offset terms, or a plain node name;
// Round(node, 1) is the identity).
type Input struct {
	Node    string
	Offsets []int
}

// ParseInput parses a descriptor. Descriptors mixing several nodes, or
// other functions (Sum, IfDefined, ReplaceIndex...), are not supported.
func ParseInput(desc string) (Input, error) {
	desc = strings.TrimSpace(desc)
	terms := []string{desc}
	if inner, ok := call(desc, "Append"); ok {
		terms = splitTop(inner)
	}
	var in Input
	for _, t := range terms {
		node, off, err := parseTerm(strings.TrimSpace(t))
		if err != nil {
			return Input{}, fmt.Errorf("descriptor %q: %w", desc, err)
		}
		if in.Node != "" && in.Node != node {
			return Input{}, fmt.Errorf("descriptor %q: appends different nodes, not supported", desc)
		}
		in.Node = node
		in.Offsets = append(in.Offsets, off)
	}
	return in, nil
}

func parseTerm(t string) (string, int, error) {
	if inner, ok := call(t, "Offset"); ok {
		parts := splitTop(inner)
		if len(parts) != 2 {
			return "", 0, fmt.Errorf("Offset(%s): want node and offset", inner)
		}
		off, err := strconv.Atoi(strings.TrimSpace(parts[1]))
		if err != nil || off < -1000 || off > 1000 {
			return "", 0, fmt.Errorf("Offset(%s): bad offset", inner)
		}
		node, off2, err := parseTerm(strings.TrimSpace(parts[0]))
		return node, off + off2, err
	}
	if inner, ok := call(t, "Round"); ok {
		parts := splitTop(inner)
		if len(parts) != 2 || strings.TrimSpace(parts[1]) != "1" {
			return "", 0, fmt.Errorf("Round(%s): only modulus 1 is supported", inner)
		}
		return parseTerm(strings.TrimSpace(parts[0]))
	}
	if t == "" || strings.ContainsAny(t, "(), ") {
		return "", 0, fmt.Errorf("unsupported term %q", t)
	}
	return t, 0, nil
}

// call returns the argument text of "name(args)".
func call(s, name string) (string, bool) {
	if strings.HasPrefix(s, name+"(") && strings.HasSuffix(s, ")") {
		return s[len(name)+1 : len(s)-1], true
	}
	return "", false
}

// splitTop splits on commas outside parentheses.
func splitTop(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}
