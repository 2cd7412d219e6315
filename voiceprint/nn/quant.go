package nn

import (
	"math"

	"github.com/voxdesk/voxdesk/voiceprint/internal/kernel"
	"slices"
)

// QuantizeInt8 returns a copy of the network prepared for 8-bit products:
// the offset of each BatchNorm that feeds another frame-level layer is
// folded into that layer's bias, so the layer's input is a scaled ReLU
// output (never negative); its weights are rounded to 8 bits per output column
// (scale = max|w|/127) and, at run time, each input row to 8 unsigned bits
// (scale = row max/255). That is the u8 x s8 -> int32 shape of AVX-512
// VNNI. The first layer (MFCC input, 4% of the work) and the segment-level
// affine stay in float32.
//
// The 8-bit products run on kernel.GemmU8S8 (AVX-512 VNNI, a Go loop on
// processors without it), outside the gorgonia engine, whose MatMul has no
// mixed-type form. The rounding of each bias is corrected for the mean
// effect of its column's weight rounding, with the training means the
// BatchNorm statistics give.
func (n *Network) QuantizeInt8() *Network { return n.fold(true) }

// fold folds the BatchNorms into the following layers, rounding to 8 bits
// when round is set (without, the outputs are unchanged: tested).
func (n *Network) fold(round bool) *Network {
	q := *n
	q.Layers = make([]*Layer, len(n.Layers))
	for i, l := range n.Layers {
		c := *l
		q.Layers[i] = &c
	}
	for i := 1; i < len(q.Layers); i++ {
		prev, l := q.Layers[i-1], q.Layers[i]
		if !prev.relu || prev.scale == nil || prev.Out != l.In {
			continue
		}
		k, out := l.K(), l.Out
		wt := slices.Clone(l.wt)
		bias := make([]float32, out)
		for o := range out {
			bias[o] = l.bias[o]
		}
		// x = u + t per input frame with u = r*s >= 0 (s > 0): W(u + t) + b =
		// W u + (W t + b). The BatchNorm scale stays with the activations:
		// folded into the weights it would make a few columns' ranges
		// dominate their 8-bit scale.
		for j := 0; j < k; j++ {
			t := prev.shift[j%l.In]
			row := wt[j*out : j*out+out]
			for o := range row {
				bias[o] += row[o] * t
			}
		}
		// Round weights to 8 bits per output column.
		var q8 []int8
		var colScale []float32
		if round {
			q8 = make([]int8, k*out)
			colScale = make([]float32, out)
		}
		for o := 0; o < out && round; o++ {
			var m float64
			for j := 0; j < k; j++ {
				m = math.Max(m, math.Abs(float64(wt[j*out+o])))
			}
			if m == 0 {
				continue
			}
			sc := m / 127
			colScale[o] = float32(sc)
			var corr float64
			for j := 0; j < k; j++ {
				w := float64(wt[j*out+o])
				qv := math.Max(-127, math.Min(127, math.Round(w/sc)))
				q8[j*out+o] = int8(qv)
				r := qv * sc
				// Bias correction: remove the rounding error's mean effect,
				// using the input's training mean (BatchNorm statistics).
				corr += (r - w) * prev.meanOut[j%l.In]
				wt[j*out+o] = float32(r)
			}
			bias[o] -= float32(corr)
		}
		l.wt, l.bias = wt, bias
		if round {
			l.q8 = kernel.PackS8(k, out, q8, out)
			l.colScale = colScale
		}
		prev.shift = make([]float32, len(prev.shift))
	}
	// An 8-bit layer whose BatchNorm offset went to the next layer computes
	// relu(z)*s with s > 0, which is relu(z*s): the scale joins the column
	// scales and the bias, and the epilogue loses two operations.
	for _, l := range q.Layers {
		if l.q8 == nil || l.scale == nil || !l.relu || slices.ContainsFunc(l.shift, func(v float32) bool { return v != 0 }) ||
			slices.ContainsFunc(l.scale, func(v float32) bool { return !(v > 0) }) {
			continue
		}
		for o, s := range l.scale {
			l.colScale[o] *= s
			l.bias[o] *= s
		}
		l.scale, l.shift = nil, nil
	}
	q.Output = new(Layer)
	*q.Output = *n.Output
	q.eng = newEngine(&q)
	return &q
}

// rowMax is the largest value of a row of non-negative values (0 if none
// is positive). Four running maxima break the dependency chain; plain
// compares avoid the builtin max's NaN care.
func rowMax(row []float32) float32 {
	var m0, m1, m2, m3 float32
	i := 0
	for ; i+4 <= len(row); i += 4 {
		if row[i] > m0 {
			m0 = row[i]
		}
		if row[i+1] > m1 {
			m1 = row[i+1]
		}
		if row[i+2] > m2 {
			m2 = row[i+2]
		}
		if row[i+3] > m3 {
			m3 = row[i+3]
		}
	}
	for ; i < len(row); i++ {
		if row[i] > m0 {
			m0 = row[i]
		}
	}
	return max(m0, m1, m2, m3)
}
