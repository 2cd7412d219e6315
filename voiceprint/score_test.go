package voiceprint

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestEnrol(t *testing.T) {
	s := float32(1 / math.Sqrt2)
	tests := []struct {
		name    string
		utts    []Embedding
		want    []float32
		secs    float64
		wantErr error
	}{
		{name: "one utterance is normalised", utts: []Embedding{{Vector: []float32{3, 4}, Speech: 2.5}}, want: []float32{0.6, 0.8}, secs: 2.5},
		{name: "lengths do not weigh", utts: []Embedding{{Vector: []float32{100, 0}, Speech: 1}, {Vector: []float32{0, 1}, Speech: 2}}, want: []float32{s, s}, secs: 3},
		{name: "three utterances", utts: []Embedding{{Vector: []float32{1, 0, 0}}, {Vector: []float32{0, 1, 0}}, {Vector: []float32{0, 0, 2}}}, want: []float32{0.57735026, 0.57735026, 0.57735026}},
		{name: "nothing", utts: nil, wantErr: ErrNoUtterances},
		{name: "dimension mismatch", utts: []Embedding{{Vector: []float32{1, 0}}, {Vector: []float32{1, 0, 0}}}, wantErr: ErrDimension},
		{name: "zero embedding", utts: []Embedding{{Vector: []float32{0, 0}}}, wantErr: ErrZeroVector},
		{name: "NaN embedding", utts: []Embedding{{Vector: []float32{float32(math.NaN()), 1}}}, wantErr: ErrZeroVector},
		{name: "opposite embeddings cancel", utts: []Embedding{{Vector: []float32{1, 0}}, {Vector: []float32{-1, 0}}}, wantErr: ErrZeroVector},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vp, err := Enrol(tt.utts)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i := range tt.want {
				if !near(float64(vp.Vector[i]), float64(tt.want[i]), 1e-6) {
					t.Fatalf("vector = %v, want %v", vp.Vector, tt.want)
				}
			}
			if vp.Utterances != len(tt.utts) || vp.SpeechSeconds != tt.secs {
				t.Fatalf("utterances %d speech %v, want %d %v", vp.Utterances, vp.SpeechSeconds, len(tt.utts), tt.secs)
			}
		})
	}
}

func TestEnrolDoesNotAliasInput(t *testing.T) {
	in := []float32{1, 0}
	vp, err := Enrol([]Embedding{{Vector: in}})
	if err != nil {
		t.Fatal(err)
	}
	vp.Vector[0] = 7
	if in[0] != 1 {
		t.Fatal("Enrol returned the caller's slice")
	}
}

func TestCohortStats(t *testing.T) {
	// Scores of (1,0) against the cohort are 1, 0, -1 and 0.6.
	cohort := [][]float32{{1, 0}, {0, 1}, {-1, 0}, {0.6, 0.8}}
	tests := []struct {
		name string
		topN int
		want NormStats
	}{
		{name: "all members (plain s-norm)", topN: 0, want: NormStats{Mean: 0.15, Std: math.Sqrt((0.85*0.85 + 0.15*0.15 + 1.15*1.15 + 0.45*0.45) / 4)}},
		{name: "topN above size means all", topN: 9, want: NormStats{Mean: 0.15, Std: math.Sqrt((0.85*0.85 + 0.15*0.15 + 1.15*1.15 + 0.45*0.45) / 4)}},
		{name: "top two", topN: 2, want: NormStats{Mean: 0.8, Std: 0.2}},
		{name: "top one floors the deviation", topN: 1, want: NormStats{Mean: 1, Std: minStd}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewCohort(cohort, tt.topN)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Stats([]float32{2, 0})
			if err != nil {
				t.Fatal(err)
			}
			if !near(got.Mean, tt.want.Mean, 1e-6) || !near(got.Std, tt.want.Std, 1e-6) {
				t.Fatalf("stats = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestNewCohortErrors(t *testing.T) {
	tests := []struct {
		name string
		in   [][]float32
	}{
		{"empty", nil},
		{"one member", [][]float32{{1, 0}}},
		{"dimension mismatch", [][]float32{{1, 0}, {1, 0, 0}}},
		{"zero member", [][]float32{{1, 0}, {0, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewCohort(tt.in, 0); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestSNorm(t *testing.T) {
	tests := []struct {
		name        string
		raw         float64
		enrol, test NormStats
		want        float64
	}{
		{"at both means", 0.2, NormStats{0.2, 0.1}, NormStats{0.2, 0.05}, 0},
		{"two and four deviations", 0.6, NormStats{0.4, 0.1}, NormStats{0.4, 0.05}, 3},
		{"zero deviation is floored", 0.5, NormStats{0.5, 0}, NormStats{0.4, 0}, 0.5 * (0.1 / minStd)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SNorm(tt.raw, tt.enrol, tt.test); !near(got, tt.want, 1e-9) {
				t.Fatalf("SNorm = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestShippedOperatingPoints(t *testing.T) {
	for _, op := range []OperatingPoint{OperatingPointFA1, OperatingPointFA01} {
		t.Run(op.Name, func(t *testing.T) {
			// The upper tail of N(0,1) beyond the threshold is the rate.
			tail := 0.5 * math.Erfc(op.Threshold/math.Sqrt2)
			if !near(tail, op.FalseAccept, 1e-12) {
				t.Fatalf("P(Z >= %v) = %v, want %v", op.Threshold, tail, op.FalseAccept)
			}
		})
	}
	if !(OperatingPointFA01.Threshold > OperatingPointFA1.Threshold) {
		t.Fatal("the stricter operating point must have the higher threshold")
	}
}

// TestShippedThresholdOnGaussianImpostors draws s-norm scores of simulated
// impostors from N(0,1) and checks the false-accept rate the shipped
// thresholds give.
func TestShippedThresholdOnGaussianImpostors(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	const n = 400000
	for _, op := range []OperatingPoint{OperatingPointFA1, OperatingPointFA01} {
		accepted := 0
		for i := 0; i < n; i++ {
			if rng.NormFloat64() >= op.Threshold {
				accepted++
			}
		}
		rate := float64(accepted) / n
		// Binomial standard error, 4 sigma.
		se := math.Sqrt(op.FalseAccept * (1 - op.FalseAccept) / n)
		if math.Abs(rate-op.FalseAccept) > 4*se {
			t.Errorf("%s: false accepts %.5f, want %.5f ± %.5f", op.Name, rate, op.FalseAccept, 4*se)
		}
	}
}

func TestCalibrateThreshold(t *testing.T) {
	scores := make([]float64, 2000)
	for i := range scores {
		scores[i] = float64(i) / 2000
	}
	tests := []struct {
		name     string
		far      float64
		accepted int
		wantErr  error
	}{
		{name: "1 percent of 2000", far: 0.01, accepted: 20},
		{name: "0.5 percent of 2000", far: 0.005, accepted: 10},
		{name: "0.1 percent needs 10000 scores", far: 0.001, wantErr: ErrTooFewScores},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th, err := CalibrateThreshold(scores, tt.far)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, s := range scores {
				if s >= th {
					n++
				}
			}
			if n != tt.accepted {
				t.Fatalf("threshold %v accepts %d, want %d", th, n, tt.accepted)
			}
		})
	}
	if _, err := CalibrateThreshold(scores, 0); err == nil {
		t.Fatal("far 0 accepted")
	}
}

func TestCalibrateThresholdTies(t *testing.T) {
	// 1000 scores all equal: accepting any accepts all, so the threshold
	// must reject them all.
	scores := make([]float64, 1000)
	th, err := CalibrateThreshold(scores, 0.01)
	if err != nil {
		t.Fatal(err)
	}
	if th <= 0 {
		t.Fatalf("threshold %v accepts the tied scores", th)
	}
}

func TestVerifyAndIdentify(t *testing.T) {
	alice := Candidate{ID: "alice", Vector: []float32{1, 0, 0}}
	bob := Candidate{ID: "bob", Vector: []float32{0, 1, 0}}
	op := OperatingPoint{Name: "test", Threshold: 0.8}
	tests := []struct {
		name       string
		test       []float32
		wantID     string
		wantAccept bool
	}{
		{name: "close to alice", test: []float32{0.95, 0.1, 0.1}, wantID: "alice", wantAccept: true},
		{name: "close to bob", test: []float32{0.1, 2, 0.1}, wantID: "bob", wantAccept: true},
		{name: "nobody: unknown caller", test: []float32{0.1, 0.1, 1}, wantID: "", wantAccept: false},
		{name: "between both: unknown caller", test: []float32{1, 1, 0}, wantID: "", wantAccept: false},
	}
	var s Scorer // raw cosine
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			best, ranked, err := s.Identify(tt.test, []Candidate{alice, bob}, op)
			if err != nil {
				t.Fatal(err)
			}
			if best.ID != tt.wantID || best.Accept != tt.wantAccept {
				t.Fatalf("best = %+v, want id %q accept %v", best, tt.wantID, tt.wantAccept)
			}
			if len(ranked) != 2 || ranked[0].Score < ranked[1].Score {
				t.Fatalf("ranked = %+v", ranked)
			}
			if !tt.wantAccept && best.Score != ranked[0].Score {
				t.Fatalf("unknown caller should still report the best score")
			}
			d, err := s.Verify(tt.test, ranked[0].ID, Voiceprint{Vector: []float32{1, 0, 0}}, op)
			if err != nil {
				t.Fatal(err)
			}
			if want := Cosine(tt.test, []float32{1, 0, 0}); !near(d.Raw, want, 1e-6) {
				t.Fatalf("Verify raw %v, want the cosine %v", d.Raw, want)
			}
		})
	}
	if _, _, err := s.Identify([]float32{1, 0}, []Candidate{alice}, op); !errors.Is(err, ErrDimension) {
		t.Fatalf("dimension mismatch: err = %v", err)
	}
	if _, err := s.Verify([]float32{0, 0, 0}, "alice", Voiceprint{Vector: alice.Vector}, op); !errors.Is(err, ErrZeroVector) {
		t.Fatalf("zero test embedding: err = %v", err)
	}
}

// TestSNormScorerSeparatesSpeakers builds synthetic speakers (a direction
// plus per-utterance noise) and checks that s-norm scores of true trials
// clear the shipped thresholds while impostor trials mostly do not.
func TestSNormScorerSeparatesSpeakers(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	const dim = 32
	speaker := func() []float32 { return randUnit(rng, dim) }
	utt := func(c []float32) []float32 {
		v := make([]float32, dim)
		for i := range v {
			v[i] = c[i] + 0.15*float32(rng.NormFloat64())
		}
		return v
	}
	var cohortVecs [][]float32
	for i := 0; i < 200; i++ {
		cohortVecs = append(cohortVecs, utt(speaker()))
	}
	cohort, err := NewCohort(cohortVecs, 50)
	if err != nil {
		t.Fatal(err)
	}
	s := Scorer{Cohort: cohort}
	var accTrue, accImp, nTrue, nImp int
	for i := 0; i < 40; i++ {
		a, b := speaker(), speaker()
		vp, err := Enrol([]Embedding{{Vector: utt(a)}, {Vector: utt(a)}})
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			test   []float32
			target bool
		}{{utt(a), true}, {utt(b), false}} {
			d, err := s.Verify(tc.test, "x", vp, OperatingPointFA1)
			if err != nil {
				t.Fatal(err)
			}
			if tc.target {
				nTrue++
				if d.Accept {
					accTrue++
				}
			} else {
				nImp++
				if d.Accept {
					accImp++
				}
			}
		}
	}
	if accTrue != nTrue {
		t.Errorf("true speakers accepted %d/%d", accTrue, nTrue)
	}
	if accImp > 2 {
		t.Errorf("impostors accepted %d/%d", accImp, nImp)
	}
}

func randUnit(rng *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	var ss float64
	for i := range v {
		x := rng.NormFloat64()
		v[i] = float32(x)
		ss += x * x
	}
	inv := float32(1 / math.Sqrt(ss))
	for i := range v {
		v[i] *= inv
	}
	return v
}

func TestEER(t *testing.T) {
	tests := []struct {
		name              string
		target, nontarget []float64
		want              float64
	}{
		{name: "separated", target: []float64{0.8, 0.9}, nontarget: []float64{0.1, 0.2, 0.3}, want: 0},
		{name: "reversed", target: []float64{0.1, 0.2}, nontarget: []float64{0.8, 0.9}, want: 1},
		{name: "one of four wrong on each side", target: []float64{0.1, 0.6, 0.7, 0.8}, nontarget: []float64{0.2, 0.3, 0.4, 0.9}, want: 0.25},
		{name: "all tied", target: []float64{0.5, 0.5}, nontarget: []float64{0.5, 0.5}, want: 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EER(tt.target, tt.nontarget)
			if err != nil {
				t.Fatal(err)
			}
			if !near(got, tt.want, 1e-9) {
				t.Fatalf("EER = %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := EER(nil, []float64{1}); err == nil {
		t.Fatal("no targets: no error")
	}
	if _, err := EER([]float64{math.NaN()}, []float64{1}); err == nil {
		t.Fatal("NaN: no error")
	}
}

// TestEERGaussian checks EER against its closed form for two unit-variance
// Gaussians d apart: Phi(-d/2).
func TestEERGaussian(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	const n, d = 100000, 2.0
	tg, nt := make([]float64, n), make([]float64, n)
	for i := range tg {
		tg[i] = d + rng.NormFloat64()
		nt[i] = rng.NormFloat64()
	}
	got, err := EER(tg, nt)
	if err != nil {
		t.Fatal(err)
	}
	want := 0.5 * math.Erfc(d/2/math.Sqrt2)
	if !near(got, want, 0.003) {
		t.Fatalf("EER = %v, want %v", got, want)
	}
}

func TestMinDCF(t *testing.T) {
	tests := []struct {
		name              string
		target, nontarget []float64
		params            DCFParams
		want              float64
	}{
		{name: "separated", target: []float64{0.8, 0.9}, nontarget: []float64{0.1, 0.2}, params: DefaultDCF, want: 0},
		{name: "no information", target: []float64{0.5}, nontarget: []float64{0.5}, params: DefaultDCF, want: 1},
		// One impostor of 4 above every target: rejecting all costs
		// 0.01; accepting down to 0.9 misses nothing but lets 1/4 in.
		{name: "rejecting all is best at P_target 0.01", target: []float64{0.6, 0.7}, nontarget: []float64{0.1, 0.2, 0.3, 0.95}, params: DefaultDCF, want: 1},
		{name: "equal priors", target: []float64{0.6, 0.7}, nontarget: []float64{0.1, 0.2, 0.3, 0.95}, params: DCFParams{PTarget: 0.5, CostMiss: 1, CostFA: 1}, want: 0.25},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MinDCF(tt.target, tt.nontarget, tt.params)
			if err != nil {
				t.Fatal(err)
			}
			if !near(got, tt.want, 1e-9) {
				t.Fatalf("minDCF = %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := MinDCF([]float64{1}, []float64{0}, DCFParams{PTarget: 0}); err == nil {
		t.Fatal("bad params: no error")
	}
}

func TestTop1Accuracy(t *testing.T) {
	tests := []struct {
		name    string
		scores  [][]float64
		truth   []int
		want    float64
		wantErr bool
	}{
		{name: "all right", scores: [][]float64{{0.9, 0.1}, {0.2, 0.8}}, truth: []int{0, 1}, want: 1},
		{name: "half right", scores: [][]float64{{0.9, 0.1}, {0.9, 0.8}}, truth: []int{0, 1}, want: 0.5},
		{name: "tie is wrong", scores: [][]float64{{0.5, 0.5}}, truth: []int{0}, want: 0},
		{name: "label out of range", scores: [][]float64{{0.5, 0.5}}, truth: []int{2}, wantErr: true},
		{name: "length mismatch", scores: [][]float64{{0.5}}, truth: nil, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Top1Accuracy(tt.scores, tt.truth)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if got != tt.want {
				t.Fatalf("top-1 = %v, want %v", got, tt.want)
			}
		})
	}
}
