package identify

import (
	"fmt"
	"math"
	"slices"
)

// DETPoint is one threshold of a detection error trade-off curve.
type DETPoint struct {
	Threshold   float64
	Miss        float64 // share of target trials below the threshold
	FalseAccept float64 // share of impostor trials at or above it
}

// DET sweeps the threshold over every distinct score and returns the
// curve from accepting everything to rejecting everything.
func DET(target, impostor []float64) ([]DETPoint, error) {
	if len(target) == 0 || len(impostor) == 0 {
		return nil, fmt.Errorf("identify: DET needs target and impostor scores (have %d and %d)", len(target), len(impostor))
	}
	t, im := slices.Clone(target), slices.Clone(impostor)
	slices.Sort(t)
	slices.Sort(im)
	all := append(slices.Clone(t), im...)
	slices.Sort(all)
	all = slices.Compact(all)
	out := make([]DETPoint, 0, len(all)+1)
	for _, thr := range append(all, math.Inf(1)) {
		miss, _ := slices.BinarySearch(t, thr)   // targets below thr
		below, _ := slices.BinarySearch(im, thr) // impostors below thr
		out = append(out, DETPoint{
			Threshold:   thr,
			Miss:        float64(miss) / float64(len(t)),
			FalseAccept: float64(len(im)-below) / float64(len(im)),
		})
	}
	return out, nil
}

// MissAt is the share of target scores below thr.
func MissAt(target []float64, thr float64) float64 {
	n := 0
	for _, s := range target {
		if s < thr {
			n++
		}
	}
	return float64(n) / float64(len(target))
}
