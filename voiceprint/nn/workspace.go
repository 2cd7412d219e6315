package nn

import (
	"fmt"
	"math"

	"github.com/voxdesk/voxdesk/voiceprint/internal/kernel"
	"gorgonia.org/tensor"
)

// Workspace holds the buffers one goroutine needs to run a Network. It is
// not safe for concurrent use. After the first calls with a given number of
// rows, running the network allocates nothing.
type Workspace struct {
	net     *Network
	maxRows int
	xs, ys  [][]float32
	u8      [][]uint8   // 8-bit layers: quantized input rows
	acc     [][]int32   // 8-bit layers: integer products
	rscale  [][]float32 // 8-bit layers: per-row scales
	fmax    [][]float32 // 8-bit layers: per-input-frame maxima
	cache   []map[tensorKey][2]*tensor.Dense
	pooled  []float32
	pooledT *tensor.Dense
	outT    *tensor.Dense
	out     []float32
}

// NewWorkspace returns buffers for inputs of at most maxRows frames per
// Forward call.
func (n *Network) NewWorkspace(maxRows int) *Workspace {
	ws := &Workspace{net: n, maxRows: maxRows}
	for _, l := range n.Layers {
		ws.xs = append(ws.xs, make([]float32, maxRows*l.K()))
		ws.ys = append(ws.ys, make([]float32, maxRows*l.Out))
		var u8 []uint8
		var acc []int32
		var rs, fm []float32
		if l.q8 != nil {
			u8, acc, rs = make([]uint8, maxRows*l.K()), make([]int32, maxRows*l.Out), make([]float32, maxRows)
			fm = make([]float32, maxRows+l.Left()+l.Right())
		}
		ws.u8, ws.acc, ws.rscale = append(ws.u8, u8), append(ws.acc, acc), append(ws.rscale, rs)
		ws.fmax = append(ws.fmax, fm)
		ws.cache = append(ws.cache, map[tensorKey][2]*tensor.Dense{})
	}
	ws.pooled = make([]float32, 2*n.PoolDim)
	ws.out = make([]float32, n.OutputDim)
	ws.pooledT = dense(n.eng, 1, 2*n.PoolDim, ws.pooled)
	ws.outT = dense(n.eng, 1, n.OutputDim, ws.out)
	return ws
}

// tensorKey identifies the tensors wrapping a layer's input: its backing
// array (the layer's splice buffer, or for unspliced layers the caller's
// buffer, which in steady state is one of a few fixed buffers) and rows.
type tensorKey struct {
	data *float32
	rows int
}

// MaxRows is the largest input accepted by Forward.
func (ws *Workspace) MaxRows() int { return ws.maxRows }

// ApplyLayer runs layer i on rowsIn consecutive input frames (rowsIn x
// layer.In values) and returns the rowsIn-Left-Right output frames. The
// result aliases the workspace and is valid until the next call for layer i.
func (ws *Workspace) ApplyLayer(i int, in []float32, rowsIn int) ([]float32, int) {
	l := ws.net.Layers[i]
	rows := rowsIn - l.Left() - l.Right()
	if rows <= 0 {
		return nil, 0
	}
	if rows > ws.maxRows {
		panic(fmt.Sprintf("nn: %d rows exceed the workspace's %d", rows, ws.maxRows))
	}
	k, d := l.K(), l.In
	if l.q8 != nil {
		// Splice and round to 8 bits in one pass: each spliced row's scale
		// is the largest of its frames' maxima.
		fmax := ws.fmax[i][:rowsIn]
		for f := range rowsIn {
			fmax[f] = rowMax(in[f*d : f*d+d])
		}
		u, rs := ws.u8[i], ws.rscale[i]
		for r := 0; r < rows; r++ {
			var m float32
			for _, off := range l.Offsets {
				m = max(m, fmax[r+off+l.Left()])
			}
			dst := u[r*k : r*k+k]
			if !(m > 0) {
				clear(dst)
				rs[r] = 0
				continue
			}
			rs[r] = m / 255
			inv := 255 / m
			for j, off := range l.Offsets {
				src := in[(r+off+l.Left())*d : (r+off+l.Left())*d+d]
				o := dst[j*d : j*d+d]
				for c, v := range src {
					o[c] = uint8(int32(v*inv + 0.5))
				}
			}
		}
		kernel.GemmU8S8(rows, u, k, l.q8, ws.acc[i], l.Out)
		l.epilogueInt8(ws.acc[i], rs, ws.ys[i], rows)
		return ws.ys[i][:rows*l.Out], rows
	}
	x := ws.xs[i]
	if len(l.Offsets) == 1 && l.Offsets[0] == 0 {
		x = in // no splicing: multiply the input where it is
	} else {
		for r := 0; r < rows; r++ {
			dst := x[r*k : r*k+k]
			for j, off := range l.Offsets {
				src := (r + off + l.Left()) * d
				copy(dst[j*d:j*d+d], in[src:src+d])
			}
		}
	}
	key := tensorKey{&x[0], rows}
	t, ok := ws.cache[i][key]
	if !ok {
		t = [2]*tensor.Dense{dense(ws.net.eng, rows, k, x), dense(ws.net.eng, rows, l.Out, ws.ys[i])}
		ws.cache[i][key] = t
	}
	if err := ws.net.eng.MatMul(t[0], l.w, t[1]); err != nil {
		panic(err) // shapes are fixed above: a failure is a programming error
	}
	l.epilogue(ws.ys[i], rows)
	return ws.ys[i][:rows*l.Out], rows
}

// Forward runs all frame-level layers on rows input frames and returns the
// rows-Left-Right final frame outputs (PoolDim each), aliasing the workspace.
func (ws *Workspace) Forward(in []float32, rows int) ([]float32, int) {
	x := in
	for i := range ws.net.Layers {
		x, rows = ws.ApplyLayer(i, x, rows)
		if rows == 0 {
			return nil, 0
		}
	}
	return x, rows
}

// Stats are running pooling statistics: frame count, sum and sum of squares
// per dimension, in float64 so long streams lose no precision.
type Stats struct {
	Count      float64
	Sum, SumSq []float64
}

// NewStats returns empty statistics for the network's pooled dimension.
func (n *Network) NewStats() *Stats {
	return &Stats{Sum: make([]float64, n.PoolDim), SumSq: make([]float64, n.PoolDim)}
}

// Reset empties s.
func (s *Stats) Reset() {
	s.Count = 0
	clear(s.Sum)
	clear(s.SumSq)
}

// CopyFrom makes s equal to o.
func (s *Stats) CopyFrom(o *Stats) {
	s.Count = o.Count
	copy(s.Sum, o.Sum)
	copy(s.SumSq, o.SumSq)
}

// Add accumulates rows frames of len(s.Sum) values each.
func (s *Stats) Add(frames []float32, rows int) {
	d := len(s.Sum)
	for r := 0; r < rows; r++ {
		row := frames[r*d : r*d+d]
		sum, sq := s.Sum[:d], s.SumSq[:d]
		for i, v := range row {
			f := float64(v)
			sum[i] += f
			sq[i] += f * f
		}
	}
	s.Count += float64(rows)
}

// Embed writes the segment-level output (the raw x-vector) for pooled
// statistics s into dst (OutputDim values). s.Count must be positive.
func (ws *Workspace) Embed(s *Stats, dst []float32) {
	n := ws.net
	d := n.PoolDim
	for i := 0; i < d; i++ {
		mean := s.Sum[i] / s.Count
		v := s.SumSq[i]/s.Count - mean*mean
		if v < n.VarianceFloor {
			v = n.VarianceFloor
		}
		ws.pooled[i] = float32(mean)
		ws.pooled[d+i] = float32(math.Sqrt(v))
	}
	if err := ws.net.eng.MatMul(ws.pooledT, n.Output.w, ws.outT); err != nil {
		panic(err)
	}
	n.Output.epilogue(ws.out, 1)
	copy(dst, ws.out)
}
