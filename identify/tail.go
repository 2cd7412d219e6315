package identify

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// ErrTooFewScores is returned when fitting a tail to fewer impostor
// scores than MinTailScores.
var ErrTooFewScores = errors.New("identify: too few impostor scores to fit a tail")

// MinTailScores is the fewest impostor scores a Tail is fitted on: the
// top tailShare of them (at least 50) give the tail's shape.
const MinTailScores = 1000

// tailShare is the share of the highest impostor scores the
// generalised Pareto tail is fitted to.
const tailShare = 0.05

// maxXi bounds the fitted shape: above 0.5 the excesses have no
// variance and the moment fit means nothing.
const maxXi = 0.45

// Tail is the upper tail of the impostor score distribution at one test
// duration: the scores of callers against voiceprints of other people.
//
// Above U (the score only a share Q of impostor trials reach) the excess
// S-U is modelled as a generalised Pareto distribution (GPD) with scale
// Sigma and shape Xi, which extreme-value theory gives for the excesses
// over a high threshold of almost any distribution (Pickands-Balkema-de
// Haan). The shape is fitted by probability-weighted moments, taken two
// standard errors up, and never below 0: a negative shape (a tail bounded above, as a Gaussian's
// extremes look on a finite sample) would let the extrapolation to one
// in a million promise more than the data shows, while shape 0 (an
// exponential tail) decays more slowly than a Gaussian and so errs on
// the side of rejecting.
type Tail struct {
	Seconds float64 `json:"seconds"` // net speech of the test side
	Count   int     `json:"count"`   // impostor scores fitted
	Mean    float64 `json:"mean"`    // of all impostor scores
	Std     float64 `json:"std"`
	Max     float64 `json:"max"`   // highest impostor score seen
	U       float64 `json:"u"`     // tail start: Q of the scores are above it
	Q       float64 `json:"q"`     // share of scores above U
	Sigma   float64 `json:"sigma"` // GPD scale of the excesses over U
	Xi      float64 `json:"xi"`    // GPD shape, 0 <= Xi <= 0.45
}

// FitTail fits the impostor tail at a test duration of seconds to
// scores (each a caller against someone else's voiceprint).
func FitTail(seconds float64, scores []float64) (Tail, error) {
	if len(scores) < MinTailScores {
		return Tail{}, fmt.Errorf("identify: fit tail at %g s: %d scores, need %d: %w", seconds, len(scores), MinTailScores, ErrTooFewScores)
	}
	s := slices.Clone(scores)
	for _, x := range s {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return Tail{}, fmt.Errorf("identify: fit tail at %g s: score %v", seconds, x)
		}
	}
	slices.Sort(s)
	t := Tail{Seconds: seconds, Count: len(s), Max: s[len(s)-1]}
	t.Mean, t.Std = meanStd(s)
	k := max(50, int(math.Round(tailShare*float64(len(s)))))
	// U sits halfway between the k-th highest score and the one below
	// it, so exactly k scores exceed it.
	i := len(s) - k
	t.U = (s[i-1] + s[i]) / 2
	t.Q = float64(k) / float64(len(s))
	ex := make([]float64, k)
	for j := range ex {
		ex[j] = s[i+j] - t.U
	}
	// Probability-weighted moments (Hosking and Wallis 1987), which
	// stay sound for heavy tails where the excesses' variance barely
	// exists: a0 = mean, a1 = mean of y_(i)*(1-p_i).
	var a0, a1 float64
	for j, y := range ex {
		pj := (float64(j) + 0.65) / float64(k)
		a0 += y
		a1 += y * (1 - pj)
	}
	a0 /= float64(k)
	a1 /= float64(k)
	if a0 <= 0 || a0-2*a1 <= 0 {
		return Tail{}, fmt.Errorf("identify: fit tail at %g s: the top scores are all equal", seconds)
	}
	xi := 2 - a0/(a0-2*a1)
	t.Sigma = 2 * a0 * a1 / (a0 - 2*a1)
	// The shape is taken two standard errors above its estimate (its
	// standard error is about (1+xi)/sqrt(k)): an underestimated shape is
	// what would let the far extrapolation pass more impostors than
	// promised.
	xi += 2 * (1 + max(xi, 0)) / math.Sqrt(float64(k))
	t.Xi = min(max(xi, 0), maxXi)
	if !(t.Sigma > 0) {
		return Tail{}, fmt.Errorf("identify: fit tail at %g s: scale %v", seconds, t.Sigma)
	}
	return t, nil
}

// Survival is the modelled share of impostor trials scoring s or more.
// Below U it is the Gaussian of the whole distribution's mean and
// deviation, floored at Q (the tail model only speaks above U).
func (t Tail) Survival(s float64) float64 {
	if s <= t.U {
		g := 0.5 * math.Erfc((s-t.Mean)/(t.Std*math.Sqrt2))
		return max(g, t.Q)
	}
	y := s - t.U
	if t.Xi == 0 {
		return t.Q * math.Exp(-y/t.Sigma)
	}
	return t.Q * math.Pow(1+t.Xi*y/t.Sigma, -1/t.Xi)
}

// Quantile is the score that a share p of impostor trials reach. For
// p >= Q it returns U: more than the score those p reach, never less.
func (t Tail) Quantile(p float64) float64 {
	if p >= t.Q {
		return t.U
	}
	if t.Xi == 0 {
		return t.U + t.Sigma*math.Log(t.Q/p)
	}
	return t.U + t.Sigma/t.Xi*(math.Pow(t.Q/p, t.Xi)-1)
}

// Reach is the smallest per-comparison rate the tail may be
// extrapolated to: maxExtrapolation times below the rate its own scores
// measure (one in Count).
func (t Tail) Reach(maxExtrapolation float64) float64 {
	return 1 / (float64(t.Count) * maxExtrapolation)
}

func meanStd(x []float64) (mean, std float64) {
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	var ss float64
	for _, v := range x {
		ss += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(ss / float64(len(x)))
}
