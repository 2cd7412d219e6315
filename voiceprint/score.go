package voiceprint

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Scoring errors.
var (
	// ErrNoUtterances is returned when enrolling from nothing.
	ErrNoUtterances = errors.New("voiceprint: no utterances to enrol")
	// ErrDimension is returned when embeddings of different lengths meet.
	ErrDimension = errors.New("voiceprint: embedding dimensions differ")
	// ErrZeroVector is returned for an embedding of zero length or with
	// a value that is not finite: it has no direction to compare.
	ErrZeroVector = errors.New("voiceprint: embedding is zero or not finite")
)

// Cosine returns the cosine similarity of a and b, in [-1, 1]; 0 when
// either is zero. a and b must have the same length.
func Cosine(a, b []float32) float64 {
	if len(a) != len(b) {
		panic(fmt.Sprintf("voiceprint: Cosine of lengths %d and %d", len(a), len(b)))
	}
	var ab, aa, bb float64
	for i, x := range a {
		y := float64(b[i])
		ab += float64(x) * y
		aa += float64(x) * float64(x)
		bb += y * y
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}

// unit returns v scaled to length 1, or ErrZeroVector.
func unit(v []float32) ([]float32, error) {
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	if ss == 0 || math.IsNaN(ss) || math.IsInf(ss, 0) {
		return nil, ErrZeroVector
	}
	inv := 1 / math.Sqrt(ss)
	u := make([]float32, len(v))
	for i, x := range v {
		u[i] = float32(float64(x) * inv)
	}
	return u, nil
}

// dot is the inner product of two unit vectors, the cosine.
func dot(a, b []float32) float64 {
	b = b[:len(a)]
	var s float64
	for i, x := range a {
		s += float64(x) * float64(b[i])
	}
	return s
}

// Voiceprint is an enrolled speaker: the direction of their voice and
// what it was learnt from.
type Voiceprint struct {
	// Vector has unit length: the mean of the unit-length utterance
	// embeddings, normalised again.
	Vector []float32
	// Utterances is how many recordings were enrolled.
	Utterances int
	// SpeechSeconds is the net voiced speech over all of them.
	SpeechSeconds float64
}

// Enrol builds a voiceprint from the embeddings of one or more utterances. Each
// embedding is length-normalised before averaging, so that a long
// recording does not outweigh the others (the network's pooling already
// averages over its frames); the mean is normalised again because cosine
// scoring ignores length.
func Enrol(utts []Embedding) (Voiceprint, error) {
	if len(utts) == 0 {
		return Voiceprint{}, ErrNoUtterances
	}
	dim := len(utts[0].Vector)
	sum := make([]float64, dim)
	var secs float64
	for i, u := range utts {
		if len(u.Vector) != dim {
			return Voiceprint{}, fmt.Errorf("voiceprint: enrol utterance %d has %d values, utterance 0 has %d: %w", i, len(u.Vector), dim, ErrDimension)
		}
		v, err := unit(u.Vector)
		if err != nil {
			return Voiceprint{}, fmt.Errorf("voiceprint: enrol utterance %d: %w", i, err)
		}
		for j, x := range v {
			sum[j] += float64(x)
		}
		secs += u.Speech
	}
	mean := make([]float32, dim)
	for j, s := range sum {
		mean[j] = float32(s / float64(len(utts)))
	}
	vec, err := unit(mean)
	if err != nil {
		// Opposite embeddings cancel: no direction is left.
		return Voiceprint{}, fmt.Errorf("voiceprint: enrol: mean embedding: %w", err)
	}
	return Voiceprint{Vector: vec, Utterances: len(utts), SpeechSeconds: secs}, nil
}

// NormStats are the mean and standard deviation of the scores of one
// embedding against an impostor cohort.
type NormStats struct {
	Mean, Std float64
}

// minStd keeps s-norm finite for degenerate cohorts (one member, or all
// scores equal).
const minStd = 1e-3

// Cohort is a set of impostor embeddings (speakers who are not the ones
// being scored) used to normalise scores. Adaptive s-norm compares each
// side only with its TopN closest cohort members, which tracks the part of
// the impostor distribution that causes false accepts.
type Cohort struct {
	vectors [][]float32 // unit length
	topN    int
}

// NewCohort builds a cohort from impostor embeddings. topN is the number
// of closest members whose scores give the statistics; 0 or more than the
// cohort size uses all of them (plain s-norm).
func NewCohort(embeddings [][]float32, topN int) (*Cohort, error) {
	if len(embeddings) < 2 {
		return nil, fmt.Errorf("voiceprint: cohort of %d embeddings: need at least 2", len(embeddings))
	}
	c := &Cohort{vectors: make([][]float32, len(embeddings))}
	dim := len(embeddings[0])
	for i, e := range embeddings {
		if len(e) != dim {
			return nil, fmt.Errorf("voiceprint: cohort embedding %d: %w", i, ErrDimension)
		}
		u, err := unit(e)
		if err != nil {
			return nil, fmt.Errorf("voiceprint: cohort embedding %d: %w", i, err)
		}
		c.vectors[i] = u
	}
	c.topN = topN
	if topN <= 0 || topN > len(embeddings) {
		c.topN = len(embeddings)
	}
	return c, nil
}

// Len is the number of cohort embeddings.
func (c *Cohort) Len() int { return len(c.vectors) }

// TopN is the number of closest members the statistics use.
func (c *Cohort) TopN() int { return c.topN }

// Stats returns the mean and standard deviation of the TopN highest
// cosine scores of v against the cohort.
func (c *Cohort) Stats(v []float32) (NormStats, error) {
	u, err := unit(v)
	if err != nil {
		return NormStats{}, err
	}
	if len(u) != len(c.vectors[0]) {
		return NormStats{}, fmt.Errorf("voiceprint: cohort stats: %w", ErrDimension)
	}
	scores := make([]float64, len(c.vectors))
	for i, cv := range c.vectors {
		scores[i] = dot(u, cv)
	}
	if c.topN < len(scores) {
		slices.Sort(scores)
		scores = scores[len(scores)-c.topN:]
	}
	return meanStd(scores), nil
}

func meanStd(x []float64) NormStats {
	var m float64
	for _, v := range x {
		m += v
	}
	m /= float64(len(x))
	var ss float64
	for _, v := range x {
		ss += (v - m) * (v - m)
	}
	return NormStats{Mean: m, Std: max(math.Sqrt(ss/float64(len(x))), minStd)}
}

// SNorm is symmetric score normalisation: the raw score as a z-score
// against the enrolment side's cohort scores, and against the test side's,
// averaged:
//
//	0.5*((raw-enrol.Mean)/enrol.Std + (raw-test.Mean)/test.Std)
func SNorm(raw float64, enrol, test NormStats) float64 {
	return 0.5 * ((raw-enrol.Mean)/max(enrol.Std, minStd) + (raw-test.Mean)/max(test.Std, minStd))
}
