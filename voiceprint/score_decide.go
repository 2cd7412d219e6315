package voiceprint

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// ErrTooFewScores is returned when calibrating a threshold from fewer
// impostor scores than the false-accept rate can be measured with.
var ErrTooFewScores = errors.New("voiceprint: too few impostor scores to calibrate")

// OperatingPoint is a named decision threshold: scores at or above
// Threshold are accepted, and FalseAccept is the share of impostor trials
// expected to pass.
type OperatingPoint struct {
	Name        string
	FalseAccept float64
	Threshold   float64
}

// The shipped operating points, in s-norm units (see Scorer).
//
// How they are set: s-norm turns a score into the number of standard
// deviations it lies above the impostor scores of both sides, so impostor
// trials score about N(0, 1). The threshold for a false-accept rate p is
// the standard normal quantile z(1-p): 2.326 for 1 %, 3.090 for 0.1 %. No
// evaluation data went into them. Adaptive s-norm (a TopN cohort smaller
// than the cohort) measures against the closest impostors, whose mean is
// higher, so impostors then score below N(0, 1) and the real false-accept
// rate is at most the nominal one (the thresholds are conservative).
// Impostor tails heavier than Gaussian work the other way; a deployment
// with its own impostor trials should recalibrate with CalibrateThreshold.
var (
	OperatingPointFA1  = gaussianOperatingPoint("FA1%", 0.01)
	OperatingPointFA01 = gaussianOperatingPoint("FA0.1%", 0.001)
)

// gaussianOperatingPoint is the threshold z with P(N(0,1) >= z) = far.
func gaussianOperatingPoint(name string, far float64) OperatingPoint {
	return OperatingPoint{Name: name, FalseAccept: far, Threshold: math.Sqrt2 * math.Erfinv(1-2*far)}
}

// CalibrateThreshold returns the lowest threshold at which at most a
// share far of the given impostor scores is accepted (score >= threshold).
// It needs at least 10/far scores so that the rate is measured on at least
// ten false accepts' worth of trials.
func CalibrateThreshold(impostor []float64, far float64) (float64, error) {
	if !(far > 0 && far < 1) {
		return 0, fmt.Errorf("voiceprint: calibrate: false-accept rate %v outside (0, 1)", far)
	}
	if need := int(math.Ceil(10 / far)); len(impostor) < need {
		return 0, fmt.Errorf("voiceprint: calibrate at %g: %d scores, need %d: %w", far, len(impostor), need, ErrTooFewScores)
	}
	s := slices.Clone(impostor)
	slices.Sort(s)
	slices.Reverse(s)
	allowed := int(math.Floor(far * float64(len(s))))
	// Accept the allowed highest scores; the next one (and all equal to
	// it) must be rejected.
	return math.Nextafter(s[allowed], math.Inf(1)), nil
}

// Decision is the outcome of comparing a caller's embedding with a
// voiceprint.
type Decision struct {
	ID     string  // the voiceprint compared with; "" for an unknown caller
	Raw    float64 // cosine similarity
	Score  float64 // the normalised score the threshold applies to
	Accept bool    // Score >= the operating point's threshold
}

// Scorer compares embeddings with voiceprints. With a Cohort it applies
// adaptive s-norm and its scores are in the units of the shipped
// operating points; without one, Score is the raw cosine and thresholds
// must come from CalibrateThreshold on cosine scores.
type Scorer struct {
	Cohort *Cohort
}

// prepared is a test embedding made ready for scoring.
type prepared struct {
	vec   []float32
	stats NormStats
}

func (s *Scorer) prepare(test []float32) (prepared, error) {
	u, err := unit(test)
	if err != nil {
		return prepared{}, fmt.Errorf("voiceprint: test embedding: %w", err)
	}
	p := prepared{vec: u}
	if s.Cohort != nil {
		if p.stats, err = s.Cohort.Stats(u); err != nil {
			return prepared{}, err
		}
	}
	return p, nil
}

func (s *Scorer) score(p prepared, vp []float32) (raw, score float64, err error) {
	if len(vp) != len(p.vec) {
		return 0, 0, fmt.Errorf("voiceprint: voiceprint of %d values, embedding of %d: %w", len(vp), len(p.vec), ErrDimension)
	}
	raw = dot(p.vec, vp)
	if s.Cohort == nil {
		return raw, raw, nil
	}
	es, err := s.Cohort.Stats(vp)
	if err != nil {
		return 0, 0, err
	}
	return raw, SNorm(raw, es, p.stats), nil
}

// Score returns the raw cosine of test against a voiceprint vector and
// the normalised score.
func (s *Scorer) Score(test, voiceprint []float32) (raw, score float64, err error) {
	p, err := s.prepare(test)
	if err != nil {
		return 0, 0, err
	}
	return s.score(p, voiceprint)
}

// Verify is 1:1 verification: is the caller who they claim to be?
func (s *Scorer) Verify(test []float32, claimedID string, claimed Voiceprint, op OperatingPoint) (Decision, error) {
	raw, score, err := s.Score(test, claimed.Vector)
	if err != nil {
		return Decision{}, err
	}
	return Decision{ID: claimedID, Raw: raw, Score: score, Accept: score >= op.Threshold}, nil
}

// Candidate is an enrolled voiceprint that 1:N identification considers.
type Candidate struct {
	ID     string
	Vector []float32 // unit length
}

// Identify is 1:N identification with open-set rejection: it scores test
// against every candidate and returns the best, with Accept false (and
// ID "") when even the best is below the operating point: an unknown
// caller. ranked, if not nil, receives every candidate's decision, best
// first. For large populations pass the index's top candidates
// (Index.Search), not everyone: s-norm only reorders near the top.
//
// An unknown caller meets every enrolled voiceprint as an impostor: at a
// per-comparison false-accept rate p, about min(1, N*p) of unknown
// callers are accepted as one of N enrolled speakers. Use a stricter
// operating point than for 1:1 verification (OperatingPointFA01 at
// least), or one calibrated on 1:N trials (best impostor score per
// unknown caller) with CalibrateThreshold.
func (s *Scorer) Identify(test []float32, candidates []Candidate, op OperatingPoint) (best Decision, ranked []Decision, err error) {
	p, err := s.prepare(test)
	if err != nil {
		return Decision{}, nil, err
	}
	ranked = make([]Decision, 0, len(candidates))
	for _, c := range candidates {
		raw, score, err := s.score(p, c.Vector)
		if err != nil {
			return Decision{}, nil, fmt.Errorf("voiceprint: identify: candidate %q: %w", c.ID, err)
		}
		ranked = append(ranked, Decision{ID: c.ID, Raw: raw, Score: score, Accept: score >= op.Threshold})
	}
	slices.SortStableFunc(ranked, func(a, b Decision) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return 0
	})
	if len(ranked) == 0 || !ranked[0].Accept {
		unknown := Decision{}
		if len(ranked) > 0 {
			unknown.Raw, unknown.Score = ranked[0].Raw, ranked[0].Score
		}
		return unknown, ranked, nil
	}
	return ranked[0], ranked, nil
}
