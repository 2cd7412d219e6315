package identify

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// impostorDist is a synthetic impostor score distribution with a
// closed-form survival quantile, so the best of N impostors can be drawn
// exactly: its survival is 1-(1-S)^N, which inverts to one draw of U.
type impostorDist struct {
	name string
	// inv is the score whose survival (share of impostors at or
	// above) is s.
	inv func(s float64) float64
}

var impostorDists = []impostorDist{
	{"Gaussian", func(s float64) float64 { return math.Sqrt2 * math.Erfcinv(2*s) }},
	{"logistic (exponential tail)", func(s float64) float64 { return 0.6 * math.Log((1-s)/s) }},
	{"generalised Pareto xi=0.2 (heavy tail)", func(s float64) float64 { return -1 + 0.5/0.2*(math.Pow(s, -0.2)-1) }},
}

// draw is one score from d.
func (d impostorDist) draw(r *rand.Rand) float64 { return d.inv(1 - r.Float64()) }

// maxOf draws the best of n independent impostor scores.
func (d impostorDist) maxOf(r *rand.Rand, n int) float64 {
	u := 1 - r.Float64() // (0, 1]
	// P(max < x) = (1-S(x))^n = u  =>  S(x) = 1-u^(1/n).
	return d.inv(-math.Expm1(math.Log(u) / float64(n)))
}

// syntheticPolicy fits one tail to calibration draws of d.
func syntheticPolicy(t *testing.T, d impostorDist, r *rand.Rand, scores int) *Policy {
	t.Helper()
	cal := make([]float64, scores)
	for i := range cal {
		cal[i] = d.draw(r)
	}
	tl, err := FitTail(3, cal)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Calibration{Tails: []Tail{tl}}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestFalseIdentificationHoldsAsNGrows: for searches over 1 to a million
// voiceprints, the share of unknown callers who pass as somebody stays at
// the target (0.5 %) or the policy says it cannot decide; never more.
// Monte Carlo with a fixed seed: 20000 unknown callers per N, each the
// best of N impostor scores drawn exactly.
func TestFalseIdentificationHoldsAsNGrows(t *testing.T) {
	const calls = 20000
	target := DefaultTarget
	// One-sided 4-sigma allowance for the Monte Carlo's own noise.
	allowed := target + 4*math.Sqrt(target*(1-target)/calls)
	for _, d := range impostorDists {
		for _, calScores := range []int{20000, 500000} {
			r := rand.New(rand.NewPCG(1, uint64(calScores)))
			p := syntheticPolicy(t, d, r, calScores)
			for _, n := range []int{1, 10, 100, 1000, 10000, 100000, 1000000} {
				thr, ok, why := p.Threshold(n, 3*time.Second, 0)
				if !ok {
					t.Logf("%s, %d calibration scores, N=%d: not sure (%s)", d.name, calScores, n, why)
					if n <= 1000 {
						t.Errorf("%s, N=%d: a calibration of %d scores must reach it: %s", d.name, n, calScores, why)
					}
					continue
				}
				passed := 0
				for range calls {
					if d.maxOf(r, n) >= thr {
						passed++
					}
				}
				rate := float64(passed) / calls
				t.Logf("%s, %d calibration scores, N=%d: threshold %.3f, unknown callers passing %.4f (target %.4f)", d.name, calScores, n, thr, rate, target)
				if rate > allowed {
					t.Errorf("%s, N=%d: %.4f of unknown callers pass, target %.4f (allowed with Monte Carlo noise %.4f)", d.name, n, rate, target, allowed)
				}
			}
		}
	}
}

// TestThresholdGrowsWithN: a larger search needs a higher score, and
// the reach of the calibration ends it.
func TestThresholdGrowsWithN(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	p := syntheticPolicy(t, impostorDists[0], r, 20000)
	prev := math.Inf(-1)
	for n := 1; n <= 100000; n *= 10 {
		thr, ok, why := p.Threshold(n, 5*time.Second, 0)
		if !ok {
			t.Fatalf("N=%d: %s", n, why)
		}
		if thr <= prev {
			t.Errorf("N=%d: threshold %.3f not above N/10's %.3f", n, thr, prev)
		}
		prev = thr
	}
	// 20000 scores x 1000 = reach 5e-8; a million voiceprints need 5e-9.
	if _, ok, why := p.Threshold(1000000, 5*time.Second, 0); ok {
		t.Error("N=10^6 from 20000 calibration scores: threshold given, want not sure")
	} else {
		t.Log("N=10^6:", why)
	}
}

func TestDecide(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	p := syntheticPolicy(t, impostorDists[0], r, 20000)
	thr10, _, _ := p.Threshold(10, 3*time.Second, 0)
	thr1, _, _ := p.Threshold(1, 3*time.Second, 0)
	inf := math.Inf(1)
	cases := []struct {
		name   string
		cands  []Scored
		n      int
		speech time.Duration
		want   Outcome
		id     string
	}{
		{"above the threshold for N: verified", []Scored{{"a", thr10 + 0.1, inf}, {"b", 0, inf}}, 10, 3 * time.Second, Verified, "a"},
		{"below it: unknown", []Scored{{"a", thr10 - 0.1, inf}}, 10, 3 * time.Second, Unknown, "a"},
		{"the same score passes 1:1", []Scored{{"a", thr1 + 0.01, inf}}, 1, 3 * time.Second, Verified, "a"},
		{"but not a search over 10", []Scored{{"a", thr1 + 0.01, inf}}, 10, 3 * time.Second, Unknown, "a"},
		{"too little speech: not sure however high", []Scored{{"a", 100, inf}}, 1, 2900 * time.Millisecond, NotSure, "a"},
		{"threshold above a perfect match: not sure", []Scored{{"a", thr10 + 1, thr10 - 0.01}}, 10, 3 * time.Second, NotSure, "a"},
		{"beyond the calibration's reach: not sure", []Scored{{"a", 100, inf}}, 1000000, 3 * time.Second, NotSure, "a"},
		{"nobody to compare with", nil, 0, 3 * time.Second, NotSure, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := p.Decide(c.cands, c.n, c.speech, 0)
			if d.Outcome != c.want || d.ID != c.id {
				t.Fatalf("got %s %q (%s), want %s %q", d.Outcome, d.ID, d.Why, c.want, c.id)
			}
			if d.Outcome == NotSure && d.Why == "" {
				t.Error("not sure without a reason")
			}
			if d.Target != DefaultTarget {
				t.Errorf("target %v", d.Target)
			}
		})
	}
	d := p.Decide([]Scored{{"a", thr10 + 0.5, inf}, {"b", thr10 - 0.2, inf}}, 10, 3*time.Second, 0)
	if d.RunnerUp != "b" || math.Abs(d.Margin-0.7) > 1e-9 || !(d.Rate < DefaultTarget) {
		t.Errorf("runner-up %q margin %.3f rate %.2g", d.RunnerUp, d.Margin, d.Rate)
	}
}

func TestFitTailRefuses(t *testing.T) {
	if _, err := FitTail(3, make([]float64, 999)); err == nil {
		t.Error("999 scores fitted")
	}
	if _, err := FitTail(3, make([]float64, 2000)); err == nil {
		t.Error("2000 equal scores fitted")
	}
	s := make([]float64, 2000)
	for i := range s {
		s[i] = float64(i)
	}
	s[5] = math.NaN()
	if _, err := FitTail(3, s); err == nil {
		t.Error("NaN fitted")
	}
	if _, err := New(Calibration{}, Config{}); err == nil {
		t.Error("empty calibration accepted")
	}
}
