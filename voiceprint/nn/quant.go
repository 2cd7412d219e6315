package nn

import (
	"math"
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
// Until an int8 kernel is plugged in, the products run in float32 on the
// rounded values: the results are those of the 8-bit computation (to
// float32 rounding of the sums) but not its speed. It exists to measure
// what 8 bits cost in accuracy.
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
		for o := 0; o < out && round; o++ {
			var m float64
			for j := 0; j < k; j++ {
				m = math.Max(m, math.Abs(float64(wt[j*out+o])))
			}
			if m == 0 {
				continue
			}
			sc := m / 127
			var corr float64
			for j := 0; j < k; j++ {
				w := float64(wt[j*out+o])
				r := math.Max(-127, math.Min(127, math.Round(w/sc))) * sc
				// Bias correction: remove the rounding error's mean effect,
				// using the input's training mean (BatchNorm statistics).
				corr += (r - w) * prev.meanOut[j%l.In]
				wt[j*out+o] = float32(r)
			}
			bias[o] -= float32(corr)
		}
		l.wt, l.bias, l.quantIn = wt, bias, round
		prev.shift = make([]float32, len(prev.shift))
	}
	q.Output = new(Layer)
	*q.Output = *n.Output
	q.eng = newEngine(&q)
	return &q
}

// quantizeRows rounds each row of x (rows x k, values >= 0) to 8 unsigned
// bits with its own scale.
func quantizeRows(x []float32, rows, k int) {
	for r := 0; r < rows; r++ {
		row := x[r*k : r*k+k]
		var m float32
		for _, v := range row {
			m = max(m, v)
		}
		if m == 0 {
			continue
		}
		sc, inv := m/255, 255/m
		for i, v := range row {
			row[i] = float32(int32(v*inv+0.5)) * sc
		}
	}
}
