package nn

import (
	"fmt"
	"math"
	"slices"

	"github.com/voxdesk/voxdesk/voiceprint/internal/kernel"

	"gorgonia.org/tensor"
)

// Layer is one frame-level TDNN layer: the input spliced at time Offsets,
// an affine transform, then optionally ReLU and a test-mode BatchNorm
// (y = (x - mean) * targetRms / sqrt(var + eps)), fused into one pass.
type Layer struct {
	Name     string
	Offsets  []int // sorted time offsets of the spliced input
	In, Out  int   // per-frame input dim (before splicing) and output dim
	w        *tensor.Dense
	wt       []float32 // W transposed: (In*len(Offsets)) x Out, row-major
	bias     []float32
	relu     bool
	scale    []float32        // BatchNorm scale, nil without BatchNorm
	shift    []float32        // BatchNorm offset (-mean*scale)
	q8       *kernel.PackedS8 // 8-bit weights (see QuantizeInt8), nil in float32
	colScale []float32        // their per-column scales
	meanOut  []float64        // training mean of the output after ReLU and BatchNorm scale (no offset)
}

// Left and Right are the frames of context the layer needs on each side.
func (l *Layer) Left() int  { return -l.Offsets[0] }
func (l *Layer) Right() int { return l.Offsets[len(l.Offsets)-1] }

// K is the spliced input width.
func (l *Layer) K() int { return l.In * len(l.Offsets) }

// Network is an x-vector extractor: frame-level layers, statistics pooling
// (mean and standard deviation) and the segment-level affine whose output
// is the embedding.
type Network struct {
	InputDim int
	Layers   []*Layer
	// PoolDim is the frame-level output dimension pooled.
	PoolDim int
	// VarianceFloor is applied to the pooled variance before the square root.
	VarianceFloor float64
	// MaxChunk is the pooling component's right context. Kaldi asks for
	// the x-vector at t=0, so one computation pools frame outputs t=0..MaxChunk
	// only; its recipes therefore extract in chunks of MaxChunk input frames
	// and average the chunk x-vectors weighted by their length.
	MaxChunk int
	// Output maps [mean, stddev] (2*PoolDim) to the embedding.
	Output    *Layer
	Left      int // total left context of the frame-level layers
	Right     int // total right context
	OutputDim int
	eng       *engine
}

// Build turns a parsed nnet3 model into a Network, following the graph from
// the output node back to the input. It accepts the x-vector shape:
// input -> (affine [relu] [batchnorm])+ -> statistics extraction ->
// statistics pooling -> affine -> output.
func Build(n *Nnet3) (*Network, error) {
	nodes := map[string]Node{}
	var out *Node
	for i, nd := range n.Nodes {
		if _, dup := nodes[nd.Name]; dup && nd.Kind != "output-node" {
			return nil, fmt.Errorf("nn: duplicate node %q", nd.Name)
		}
		if nd.Kind == "output-node" {
			if nd.Name == "output" {
				out = &n.Nodes[i]
			}
			continue
		}
		nodes[nd.Name] = nd
	}
	if out == nil {
		return nil, fmt.Errorf("nn: model has no output-node named output")
	}
	// Walk back to the input node collecting (node, offsets).
	type step struct {
		node Node
		in   Input
	}
	var chain []step
	cur, err := ParseInput(out.Input)
	if err != nil {
		return nil, fmt.Errorf("nn: output node: %w", err)
	}
	for len(chain) < 1000 {
		nd, ok := nodes[cur.Node]
		if !ok {
			return nil, fmt.Errorf("nn: node %q is not defined", cur.Node)
		}
		if nd.Kind == "input-node" {
			chain = append(chain, step{node: nd, in: cur})
			break
		}
		in, err := ParseInput(nd.Input)
		if err != nil {
			return nil, fmt.Errorf("nn: node %q: %w", nd.Name, err)
		}
		chain = append(chain, step{node: nd, in: cur})
		cur = in
	}
	slices.Reverse(chain)
	if chain[0].node.Kind != "input-node" {
		return nil, fmt.Errorf("nn: graph does not reach the input node")
	}
	// chain[i].in is how chain[i+1] reads chain[i]; re-index so that each
	// component node carries the offsets it reads its input with.
	net := &Network{InputDim: chain[0].node.Dim}
	dim := net.InputDim
	var cur2 *Layer
	stage := 0 // 0 frame-level, 1 after extraction, 2 after pooling, 3 after output affine
	for i := 1; i < len(chain); i++ {
		nd := chain[i].node
		offs := chain[i-1].in.Offsets
		c := n.Components[nd.Component]
		where := func(format string, args ...any) error {
			return &FormatError{Component: c.Name, Offset: c.Offset, Msg: fmt.Sprintf(format, args...)}
		}
		plain := len(offs) == 1 && offs[0] == 0
		switch c.Type {
		case "NaturalGradientAffineComponent", "AffineComponent":
			if stage == 1 {
				return nil, where("affine directly after statistics extraction")
			}
			if stage == 3 {
				return nil, where("more than one affine after pooling")
			}
			if !slices.IsSorted(offs) || len(offs) == 0 {
				return nil, where("offsets %v must be increasing", offs)
			}
			l, err := newLayer(c, offs, dim)
			if err != nil {
				return nil, err
			}
			if stage == 2 {
				if !plain {
					return nil, where("segment-level affine cannot splice")
				}
				net.Output = l
				net.OutputDim = l.Out
				stage = 3
			} else {
				net.Layers = append(net.Layers, l)
			}
			cur2 = l
			dim = l.Out
		case "RectifiedLinearComponent":
			if cur2 == nil || !plain || cur2.relu || cur2.scale != nil || stage == 3 {
				return nil, where("ReLU must follow an affine directly")
			}
			if d := c.Ints["Dim"]; d != dim {
				return nil, where("dim %d, input has %d", d, dim)
			}
			cur2.relu = true
		case "BatchNormComponent":
			if cur2 == nil || !plain || cur2.scale != nil || stage == 3 {
				return nil, where("BatchNorm must follow an affine or ReLU directly")
			}
			if err := cur2.setBatchNorm(c, dim); err != nil {
				return nil, err
			}
		case "StatisticsExtractionComponent":
			if stage != 0 || !plain || len(net.Layers) == 0 {
				return nil, where("statistics extraction must follow the frame-level layers")
			}
			if c.Ints["InputDim"] != dim || c.Ints["InputPeriod"] != 1 || c.Ints["OutputPeriod"] != 1 || !c.Bools["IncludeVarinance"] {
				return nil, where("only input-dim=%d, periods 1 and include-variance=true are supported", dim)
			}
			net.PoolDim = dim
			stage = 1
			cur2 = nil
		case "StatisticsPoolingComponent":
			if stage != 1 || !plain {
				return nil, where("statistics pooling must follow statistics extraction")
			}
			if c.Ints["InputDim"] != 2*dim+1 || c.Ints["InputPeriod"] != 1 || c.Ints["LeftContext"] != 0 ||
				c.Ints["NumLogCountFeatures"] != 0 || !c.Bools["OutputStddevs"] {
				return nil, where("only left-context 0, no log-count, stddev output is supported")
			}
			rc := c.Ints["RightContext"]
			if rc < 1 || rc > 1<<20 {
				return nil, where("bad right context %d", rc)
			}
			vf := c.Floats["VarianceFloor"]
			if !(vf >= 0) || math.IsInf(vf, 0) {
				return nil, where("bad variance floor %v", vf)
			}
			net.MaxChunk = rc
			net.VarianceFloor = vf
			dim = 2 * dim
			stage = 2
		default:
			return nil, where("component type %s is not supported in the extractor path", c.Type)
		}
	}
	if stage != 3 {
		return nil, fmt.Errorf("nn: model does not end in statistics pooling and an affine output")
	}
	for _, l := range net.Layers {
		net.Left += l.Left()
		net.Right += l.Right()
	}
	if net.Left+net.Right > maxContext {
		return nil, fmt.Errorf("nn: frame context %d+%d is more than %d frames", net.Left, net.Right, maxContext)
	}
	net.eng = newEngine(net)
	return net, nil
}

func newLayer(c *Component, offs []int, inDim int) (*Layer, error) {
	w, ok := c.Matrix["LinearParams"]
	b := c.Vectors["BiasParams"]
	where := func(format string, args ...any) error {
		return &FormatError{Component: c.Name, Offset: c.Offset, Msg: fmt.Sprintf(format, args...)}
	}
	if !ok || b == nil {
		return nil, where("affine without LinearParams or BiasParams")
	}
	if w.Cols != inDim*len(offs) || w.Rows != len(b) || w.Rows == 0 || w.Cols == 0 {
		return nil, where("weights %dx%d and bias %d do not fit input %d x %d offsets", w.Rows, w.Cols, len(b), inDim, len(offs))
	}
	for _, v := range w.Data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, where("non-finite weight")
		}
	}
	l := &Layer{Name: c.Name, Offsets: slices.Clone(offs), In: inDim, Out: w.Rows, bias: b}
	// Store W transposed so the product is X (rows x K) times Wt (K x Out).
	k := w.Cols
	l.wt = make([]float32, k*w.Rows)
	for o := 0; o < w.Rows; o++ {
		for j := 0; j < k; j++ {
			l.wt[j*w.Rows+o] = w.Data[o*k+j]
		}
	}
	return l, nil
}

func (l *Layer) setBatchNorm(c *Component, dim int) error {
	where := func(format string, args ...any) error {
		return &FormatError{Component: c.Name, Offset: c.Offset, Msg: fmt.Sprintf(format, args...)}
	}
	mean, vr := c.Vectors["StatsMean"], c.Vectors["StatsVar"]
	if c.Ints["Dim"] != dim || c.Ints["BlockDim"] != dim || len(mean) != dim || len(vr) != dim {
		return where("dim %d block %d stats %d/%d, want %d", c.Ints["Dim"], c.Ints["BlockDim"], len(mean), len(vr), dim)
	}
	eps, rms := c.Floats["Epsilon"], c.Floats["TargetRms"]
	if !(eps > 0) || !(rms > 0) || math.IsInf(eps, 0) || math.IsInf(rms, 0) {
		return where("bad epsilon %v or target rms %v", eps, rms)
	}
	l.scale = make([]float32, dim)
	l.shift = make([]float32, dim)
	l.meanOut = make([]float64, dim)
	for i := range dim {
		v := math.Max(float64(vr[i]), 0) + eps
		s := rms / math.Sqrt(v)
		if math.IsNaN(s) || math.IsInf(s, 0) || math.IsNaN(float64(mean[i])) {
			return where("non-finite statistics at %d", i)
		}
		l.scale[i] = float32(s)
		l.shift[i] = float32(-float64(mean[i]) * s)
		l.meanOut[i] = float64(mean[i]) * s
	}
	return nil
}

// epilogue adds the bias, applies ReLU and BatchNorm to rows of y in place.
// ReLU clears negative values with a mask (no data-dependent branch: the
// signs are random, and mispredicted branches cost more than the product).
func (l *Layer) epilogue(y []float32, rows int) {
	n := l.Out
	b := l.bias[:n]
	for r := 0; r < rows; r++ {
		row := y[r*n : r*n+n]
		switch {
		case l.relu && l.scale != nil:
			s, t := l.scale[:n], l.shift[:n]
			for i, v := range row {
				row[i] = relu(v+b[i])*s[i] + t[i]
			}
		case l.relu:
			for i, v := range row {
				row[i] = relu(v + b[i])
			}
		case l.scale != nil:
			s, t := l.scale[:n], l.shift[:n]
			for i, v := range row {
				row[i] = (v+b[i])*s[i] + t[i]
			}
		default:
			for i, v := range row {
				row[i] = v + b[i]
			}
		}
	}
}

// epilogueInt8 turns the int32 products of rows (acc, row-major) into the
// layer's outputs in y: scaled by row and column, then bias, ReLU, BatchNorm.
func (l *Layer) epilogueInt8(acc []int32, rowScale []float32, y []float32, rows int) {
	n := l.Out
	b, cs := l.bias[:n], l.colScale[:n]
	for r := 0; r < rows; r++ {
		a, row := acc[r*n:r*n+n], y[r*n:r*n+n]
		rs := rowScale[r]
		switch {
		case l.relu && l.scale != nil:
			s, t := l.scale[:n], l.shift[:n]
			for i, v := range a {
				row[i] = relu(float32(v)*rs*cs[i]+b[i])*s[i] + t[i]
			}
		case l.relu:
			for i, v := range a {
				row[i] = relu(float32(v)*rs*cs[i] + b[i])
			}
		case l.scale != nil:
			s, t := l.scale[:n], l.shift[:n]
			for i, v := range a {
				row[i] = (float32(v)*rs*cs[i]+b[i])*s[i] + t[i]
			}
		default:
			for i, v := range a {
				row[i] = float32(v)*rs*cs[i] + b[i]
			}
		}
	}
}

// relu is max(v, 0) without a branch: the sign bit, spread to a mask,
// clears negative values.
func relu(v float32) float32 {
	u := math.Float32bits(v)
	return math.Float32frombits(u &^ uint32(int32(u)>>31))
}

// maxContext bounds the total frame context of the frame-level layers
// (14 in the x-vector model), which sizes the buffers.
const maxContext = 1000

// maxModelBytes bounds the model files read from disk.
const maxModelBytes = 1 << 30

// LoadNetwork reads and builds an nnet3 binary model file.
func LoadNetwork(path string) (*Network, error) {
	b, err := readFile(path, maxModelBytes)
	if err != nil {
		return nil, err
	}
	n, err := ParseNnet3(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	net, err := Build(n)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return net, nil
}

// LoadMatrix reads a Kaldi binary matrix file.
func LoadMatrix(path string) (Matrix, error) {
	b, err := readFile(path, maxModelBytes)
	if err != nil {
		return Matrix{}, err
	}
	m, err := ReadMatrix(b)
	if err != nil {
		return Matrix{}, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// LoadTextVector reads a Kaldi text vector file.
func LoadTextVector(path string) ([]float32, error) {
	b, err := readFile(path, maxModelBytes)
	if err != nil {
		return nil, err
	}
	v, err := ReadTextVector(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}
