package identify

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// Outcome is what a decision concluded.
type Outcome string

// Outcomes.
const (
	// Verified: the voice is the candidate's, at the configured
	// false-identification rate for the number of voiceprints searched.
	Verified Outcome = "verified"
	// Unknown: enough speech was heard and no candidate passed.
	Unknown Outcome = "unknown"
	// NotSure: too little speech, or the model cannot keep the rate for
	// this many voiceprints: no candidate may be acted on.
	NotSure Outcome = "not_sure"
)

// DefaultTarget is the default false-identification rate per call: the
// share of callers who are not enrolled that any search may take for an
// enrolled customer.
const DefaultTarget = 0.005

// DefaultMaxExtrapolation is how far below its own resolution (one in
// the number of impostor scores it was fitted on) a tail is trusted.
const DefaultMaxExtrapolation = 1000

// Config sets the policy. The zero value uses the defaults.
type Config struct {
	// Target is the false-identification rate per call (default 0.005).
	Target float64
	// MaxExtrapolation bounds how far the impostor tail is extrapolated:
	// a per-comparison rate below 1/(scores*MaxExtrapolation) is out of
	// the calibration's reach and gives NotSure (default 1000).
	MaxExtrapolation float64
}

func (c *Config) setDefaults() {
	if c.Target == 0 {
		c.Target = DefaultTarget
	}
	if c.MaxExtrapolation == 0 {
		c.MaxExtrapolation = DefaultMaxExtrapolation
	}
}

// ErrCalibration is wrapped by every error about a calibration.
var ErrCalibration = errors.New("identify: bad calibration")

// Calibration is what a deployment measured about impostor scores: one
// tail per test duration, for the score of Gallery (adaptive s-norm).
type Calibration struct {
	Model  string    `json:"model"`  // speaker model the scores came from
	Made   time.Time `json:"made"`   // when
	Source string    `json:"source"` // what it was measured on
	Tails  []Tail    `json:"tails"`  // by Seconds, ascending
	// Cohort are the embeddings of cohort speakers who are not enrolled
	// that the tails were measured with; a Gallery takes them as
	// GalleryConfig.Extra.
	Cohort [][]float32 `json:"cohort,omitempty"`
}

// Check reports whether the calibration can be used.
func (c *Calibration) Check() error {
	if len(c.Tails) == 0 {
		return fmt.Errorf("%w: no tails", ErrCalibration)
	}
	for i, t := range c.Tails {
		switch {
		case !(t.Seconds > 0):
			return fmt.Errorf("%w: tail %d: duration %v s", ErrCalibration, i, t.Seconds)
		case i > 0 && t.Seconds <= c.Tails[i-1].Seconds:
			return fmt.Errorf("%w: tails not in ascending duration at %v s", ErrCalibration, t.Seconds)
		case t.Count < MinTailScores:
			return fmt.Errorf("%w: tail at %v s fitted on %d scores, need %d", ErrCalibration, t.Seconds, t.Count, MinTailScores)
		case !(t.Sigma > 0) || !(t.Q > 0 && t.Q < 1) || !(t.Xi >= 0 && t.Xi <= maxXi) || !(t.Std > 0) || math.IsNaN(t.U) || math.IsNaN(t.Mean):
			return fmt.Errorf("%w: tail at %v s: parameters out of range %+v", ErrCalibration, t.Seconds, t)
		}
	}
	return nil
}

// MinSpeech is the shortest calibrated duration: below it nothing is
// decided.
func (c *Calibration) MinSpeech() time.Duration {
	return time.Duration(c.Tails[0].Seconds * float64(time.Second))
}

// tail is the tail for a test of speech seconds: the longest calibrated
// duration not above it. ok is false below the shortest.
func (c *Calibration) tail(speech time.Duration) (Tail, bool) {
	s := speech.Seconds()
	i := len(c.Tails) - 1
	for i >= 0 && c.Tails[i].Seconds > s+1e-9 {
		i--
	}
	if i < 0 {
		return Tail{}, false
	}
	return c.Tails[i], true
}

// Policy turns scores into decisions. It is immutable and safe for
// concurrent use.
type Policy struct {
	cfg Config
	cal Calibration
}

// New returns the policy for a calibration.
func New(cal Calibration, cfg Config) (*Policy, error) {
	cfg.setDefaults()
	if !(cfg.Target > 0 && cfg.Target < 1) {
		return nil, fmt.Errorf("identify: target rate %v outside (0, 1)", cfg.Target)
	}
	if !(cfg.MaxExtrapolation >= 1) {
		return nil, fmt.Errorf("identify: max extrapolation %v below 1", cfg.MaxExtrapolation)
	}
	if err := cal.Check(); err != nil {
		return nil, err
	}
	cal.Tails = slices.Clone(cal.Tails)
	return &Policy{cfg: cfg, cal: cal}, nil
}

// Calibration returns the calibration the policy decides with.
func (p *Policy) Calibration() Calibration { return p.cal }

// Target is the configured false-identification rate per call.
func (p *Policy) Target() float64 { return p.cfg.Target }

// PerComparison is the rate p at which each of n independent impostor
// comparisons may pass so that any of them passes with probability
// target: 1-(1-target)^(1/n), computed without cancellation.
func PerComparison(target float64, n int) float64 {
	return -math.Expm1(math.Log1p(-target) / float64(max(n, 1)))
}

// Threshold is the score a candidate among n searched must reach after
// speech of net speech for the false-identification rate to stay at
// target (0: the configured one). ok is false, with the reason, when the
// calibration cannot promise that: too little speech, or a rate beyond
// the tail's reach.
func (p *Policy) Threshold(n int, speech time.Duration, target float64) (thr float64, ok bool, why string) {
	target = cmp.Or(target, p.cfg.Target)
	t, ok := p.cal.tail(speech)
	if !ok {
		return 0, false, fmt.Sprintf("%.1f s of speech, need %.0f s", speech.Seconds(), p.cal.Tails[0].Seconds)
	}
	rate := PerComparison(target, n)
	if reach := t.Reach(p.cfg.MaxExtrapolation); rate < reach {
		return 0, false, fmt.Sprintf("%d voiceprints need a per-comparison rate of %.1e, below the calibration's reach (%.1e)", n, rate, reach)
	}
	return t.Quantile(rate), true, ""
}

// Scored is one candidate's score for a decision.
type Scored struct {
	ID    string
	Score float64 // normalised score
	// Ceiling is the score this candidate would get for a perfect match
	// (the same direction as its voiceprint); +Inf when unknown.
	Ceiling float64
}

// Decision is the outcome of one identification or verification.
type Decision struct {
	Outcome Outcome
	// ID is the verified candidate; for the other outcomes the best
	// candidate, to be logged and never acted on.
	ID        string
	Score     float64 // the best candidate's score
	Threshold float64 // what Verified needed (0 when not reachable)
	// Target is the false-identification rate per call the threshold
	// keeps; Rate is the modelled chance that an unknown caller scores
	// as high as Score against any of the N voiceprints.
	Target, Rate float64
	N            int           // voiceprints searched
	Speech       time.Duration // net speech heard
	RunnerUp     string        // second best candidate, "" if none
	Margin       float64       // best score minus the runner-up's
	Why          string        // for NotSure: in plain words
}

// Decide judges the scored candidates (any order) of a search over n
// voiceprints after speech, at target (0: the configured rate).
func (p *Policy) Decide(cands []Scored, n int, speech time.Duration, target float64) Decision {
	target = cmp.Or(target, p.cfg.Target)
	d := Decision{Outcome: NotSure, Target: target, N: n, Speech: speech, Rate: 1}
	if len(cands) == 0 || n <= 0 {
		d.Why = "no voiceprint to compare with"
		return d
	}
	best, second := -1, -1
	for i, c := range cands {
		switch {
		case best < 0 || c.Score > cands[best].Score:
			best, second = i, best
		case second < 0 || c.Score > cands[second].Score:
			second = i
		}
	}
	b := cands[best]
	d.ID, d.Score = b.ID, b.Score
	if second >= 0 {
		d.RunnerUp, d.Margin = cands[second].ID, b.Score-cands[second].Score
	}
	if t, ok := p.cal.tail(speech); ok {
		d.Rate = -math.Expm1(float64(n) * math.Log1p(-min(t.Survival(b.Score), 1-1e-16)))
	}
	thr, ok, why := p.Threshold(n, speech, target)
	if !ok {
		d.Why = why
		return d
	}
	d.Threshold = thr
	ceiling := math.Inf(-1)
	for _, c := range cands {
		ceiling = max(ceiling, c.Ceiling)
	}
	if thr > ceiling {
		d.Why = fmt.Sprintf("the threshold %.2f for %d voiceprints is above what a perfect match scores (%.2f)", thr, n, ceiling)
		return d
	}
	if b.Score >= thr {
		d.Outcome = Verified
		return d
	}
	d.Outcome = Unknown
	return d
}
