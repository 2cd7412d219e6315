package voiceprint

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestParseManifest(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []EvalItem
		wantErr string
	}{
		{
			name: "minimal, columns in any order, extra columns ignored",
			in:   "role,gender,file,speaker_id\nenrol,M,a/1.wav,a\ntest,M,a/2.flac,a\n",
			want: []EvalItem{
				{Speaker: "a", Role: "enrol", Files: []string{"a/1.wav"}, Line: 2},
				{Speaker: "a", Role: "test", Files: []string{"a/2.flac"}, Line: 3},
			},
		},
		{
			name: "segments join files in order",
			in: "speaker_id,file,role,segment\n" +
				"a,1.wav,test,s1\nb,9.wav,test,s1\na,2.wav,test,s1\na,3.wav,enrol,s1\na,4.wav,test,\n",
			want: []EvalItem{
				{Speaker: "a", Role: "test", Segment: "s1", Files: []string{"1.wav", "2.wav"}, Line: 2},
				{Speaker: "b", Role: "test", Segment: "s1", Files: []string{"9.wav"}, Line: 3},
				{Speaker: "a", Role: "enrol", Segment: "s1", Files: []string{"3.wav"}, Line: 5},
				{Speaker: "a", Role: "test", Files: []string{"4.wav"}, Line: 6},
			},
		},
		{
			name: "cohort rows and a byte-order mark",
			in:   "\ufeffspeaker_id,file,role\nx,c.wav,cohort\na,1.wav,enrol\n",
			want: []EvalItem{
				{Speaker: "x", Role: "cohort", Files: []string{"c.wav"}, Line: 2},
				{Speaker: "a", Role: "enrol", Files: []string{"1.wav"}, Line: 3},
			},
		},
		{name: "empty input", in: "", wantErr: "header"},
		{name: "missing role column", in: "speaker_id,file\na,1.wav\n", wantErr: `lacks column "role"`},
		{name: "duplicate column", in: "speaker_id,file,role,file\na,1,enrol,2\n", wantErr: "twice"},
		{name: "no rows", in: "speaker_id,file,role\n", wantErr: "no rows"},
		{name: "bad role", in: "speaker_id,file,role\na,1.wav,train\n", wantErr: `line 2: role "train"`},
		{name: "empty file", in: "speaker_id,file,role\na,,enrol\n", wantErr: "line 2: empty file"},
		{name: "empty speaker", in: "speaker_id,file,role\n,1.wav,enrol\n", wantErr: "line 2: empty speaker_id"},
		{name: "short row", in: "speaker_id,file,role\na,1.wav\n", wantErr: "line 2 has 2 fields"},
		{name: "cohort speaker also tested", in: "speaker_id,file,role\na,1.wav,cohort\na,2.wav,test\n", wantErr: "both a cohort speaker"},
		{name: "unterminated quote", in: "speaker_id,file,role\na,\"1.wav,enrol\n", wantErr: "bad manifest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseManifest(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrManifest) {
					t.Fatalf("err = %v, want ErrManifest containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
}

func FuzzParseManifest(f *testing.F) {
	f.Add("speaker_id,file,role\na,1.wav,enrol\na,2.wav,test\n")
	f.Add("speaker_id,file,role,segment\na,1.wav,test,s\na,2.wav,test,s\nx,c.wav,cohort,\n")
	f.Add("role,file,speaker_id\n\"a\"\"b\",x,y\n")
	f.Add("\ufeffspeaker_id,file,role\n\n\n")
	f.Fuzz(func(t *testing.T, in string) {
		items, err := ParseManifest(strings.NewReader(in))
		if err != nil {
			if !errors.Is(err, ErrManifest) {
				t.Fatalf("error does not wrap ErrManifest: %v", err)
			}
			return
		}
		for _, it := range items {
			if it.Speaker == "" || len(it.Files) == 0 || (it.Role != RoleEnrol && it.Role != RoleTest && it.Role != RoleCohort) {
				t.Fatalf("bad item %+v", it)
			}
		}
	})
}

// fakeEmbedder reads a synthetic "recording": sample 0 is the speaker
// number, sample 1 a per-utterance seed; each 800 samples count as 0.1 s
// of speech and less than 1 s is not enough. The embedding is the
// speaker's direction plus noise that shrinks with more speech, like a
// real x-vector.
type fakeEmbedder struct {
	dim    int
	noise  float64
	dirs   map[int16][]float32
	rngSrc uint64
}

func (f *fakeEmbedder) Embed(pcm []int16, rate int) (Embedding, error) {
	if rate != SampleRate {
		return Embedding{}, ErrSampleRate
	}
	speech := float64(len(pcm)) / SampleRate
	if speech < 1 {
		return Embedding{Speech: speech}, &NotEnoughSpeechError{Speech: speech, Need: 1}
	}
	dir, ok := f.dirs[pcm[0]]
	if !ok {
		dir = randUnit(rand.New(rand.NewPCG(uint64(pcm[0]), 77)), f.dim)
		f.dirs[pcm[0]] = dir
	}
	rng := rand.New(rand.NewPCG(uint64(pcm[1]), uint64(len(pcm))))
	v := make([]float32, f.dim)
	sd := f.noise / math.Sqrt(speech)
	for i := range v {
		v[i] = dir[i] + float32(sd*rng.NormFloat64())
	}
	u, _ := unit(v)
	return Embedding{Vector: u, Speech: speech}, nil
}

func TestEvaluateSynthetic(t *testing.T) {
	// Files are named speaker-utterance-seconds.
	var b strings.Builder
	b.WriteString("speaker_id,file,role,segment\n")
	for s := 1; s <= 8; s++ {
		fmt.Fprintf(&b, "s%d,%d-1-10,enrol,\n", s, s)
		fmt.Fprintf(&b, "s%d,%d-2-10,enrol,\n", s, s)
		for u := 3; u < 13; u++ {
			fmt.Fprintf(&b, "s%d,%d-%d-4,test,\n", s, s, u)
		}
		// A test segment of three 0.5 s files.
		for part := 0; part < 3; part++ {
			fmt.Fprintf(&b, "s%d,%d-%d-0.5,test,seg\n", s, s, 90+part)
		}
	}
	// One speech-less test item is skipped, not scored.
	b.WriteString("s1,1-99-0.2,test,\n")
	for c := 100; c < 160; c++ {
		fmt.Fprintf(&b, "c%d,%d-1-5,cohort,\n", c, c)
	}
	items, err := ParseManifest(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	load := func(file string) ([]int16, error) {
		var spk, utt int
		var secs float64
		if _, err := fmt.Sscanf(strings.ReplaceAll(file, "-", " "), "%d %d %g", &spk, &utt, &secs); err != nil {
			return nil, fmt.Errorf("bad name %q", file)
		}
		pcm := make([]int16, int(secs*SampleRate))
		pcm[0], pcm[1] = int16(spk), int16(utt)
		return pcm, nil
	}
	calls := 0
	cfg := EvalConfig{
		Embedder:     &fakeEmbedder{dim: 32, noise: 0.35, dirs: map[int16][]float32{}},
		Load:         load,
		TestSeconds:  []float64{1.2, 3},
		CohortSource: CohortManifest,
		Progress:     func(done, total int) { calls++ },
	}
	res, err := Evaluate(context.Background(), cfg, items)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || calls == 0 {
		t.Fatalf("results %d, progress calls %d", len(res), calls)
	}
	for _, r := range res {
		// 8 speakers x 11 test items (10 + the segment); the 0.2 s item
		// is skipped at every length.
		if r.NSpeakers != 8 || r.NTests != 88 || r.NTrials != 88*8 || r.NSkipped != 1 || r.Scoring != "s-norm, cohort manifest" || r.CohortSize != 60 {
			t.Fatalf("counts: %+v", r)
		}
		if r.OpenSetFalseAccept == nil {
			t.Fatal("no open-set false-accept rate with a cohort")
		}
		t.Logf("%.1f s: EER %.2f %% minDCF %.3f top-1 %.3f open-set FA %.3f", r.TestSeconds, r.EERPercent, r.MinDCF, r.Top1, *r.OpenSetFalseAccept)
	}
	// More speech, less noise: the longer test must be at least as good.
	if res[1].EERPercent > res[0].EERPercent || res[1].Top1 < res[0].Top1 {
		t.Fatalf("3 s (%+v) worse than 1.2 s (%+v)", res[1], res[0])
	}
	if res[1].Top1 < 0.95 || res[1].EERPercent > 5 {
		t.Fatalf("3 s: top-1 %.3f EER %.2f %%: synthetic speakers should separate", res[1].Top1, res[1].EERPercent)
	}

	// The enrolled population as cohort (the manifest's cohort rows
	// are ignored): 8 speakers x 2 enrolment utterances.
	cfg.CohortSource = ""
	res, err = Evaluate(context.Background(), cfg, items)
	if err != nil {
		t.Fatal(err)
	}
	if res[1].Scoring != "s-norm, cohort enrolled" || res[1].CohortSize != 16 || res[1].OpenSetFalseAccept == nil || len(res[1].OpenSetByOperatingPoint) != 2 {
		t.Fatalf("population cohort: %+v", res[1])
	}
	population := res[1]
	t.Logf("population cohort, 3 s: EER %.2f %% top-1 %.3f open-set FA %v", population.EERPercent, population.Top1, population.OpenSetByOperatingPoint)

	// No cohort: raw cosine and no open-set figure.
	cfg.CohortSource = CohortNone
	res, err = Evaluate(context.Background(), cfg, items)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Scoring != "cosine" || res[0].OpenSetFalseAccept != nil {
		t.Fatalf("no cohort: %+v", res[0])
	}
	// Normalising against other speakers must not lose much of what raw
	// cosines rank right. These synthetic speakers are isotropic, where
	// s-norm has little to gain, and each column's cohort (14 utterances
	// of 7 other speakers) is small, so ranking by s-norm costs a few
	// top-1 points here (0.93 vs 0.99).
	t.Logf("raw cosine, 3 s: EER %.2f %% top-1 %.3f", res[1].EERPercent, res[1].Top1)
	if population.Top1 < res[1].Top1-0.1 || population.EERPercent > res[1].EERPercent+2 {
		t.Fatalf("population s-norm (top-1 %.3f, EER %.2f %%) much worse than raw cosine (%.3f, %.2f %%)", population.Top1, population.EERPercent, res[1].Top1, res[1].EERPercent)
	}
	cfg.CohortSource = CohortManifest
	var noCohort []EvalItem
	for _, it := range items {
		if it.Role != RoleCohort {
			noCohort = append(noCohort, it)
		}
	}
	if _, err := Evaluate(context.Background(), cfg, noCohort); err == nil || !strings.Contains(err.Error(), "0 cohort utterances") {
		t.Fatalf("manifest cohort without cohort rows: err = %v", err)
	}
}

func TestEvaluateErrors(t *testing.T) {
	items := []EvalItem{
		{Speaker: "a", Role: RoleEnrol, Files: []string{"1"}, Line: 2},
		{Speaker: "b", Role: RoleEnrol, Files: []string{"2"}, Line: 3},
		{Speaker: "a", Role: RoleTest, Files: []string{"3"}, Line: 4},
	}
	emb := &fakeEmbedder{dim: 8, noise: 0.1, dirs: map[int16][]float32{}}
	okLoad := func(f string) ([]int16, error) {
		pcm := make([]int16, 2*SampleRate)
		pcm[0] = int16(f[0])
		return pcm, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name  string
		ctx   context.Context
		cfg   EvalConfig
		items []EvalItem
		want  string
	}{
		{"no embedder", context.Background(), EvalConfig{Load: okLoad}, items, "needs an Embedder"},
		{"load fails", context.Background(), EvalConfig{Embedder: emb, Load: func(string) ([]int16, error) { return nil, errors.New("corrupt FLAC") }}, items, "line 2: corrupt FLAC"},
		{"one speaker", context.Background(), EvalConfig{Embedder: emb, Load: okLoad}, items[:1], "1 speakers enrolled"},
		{"bad length", context.Background(), EvalConfig{Embedder: emb, Load: okLoad, TestSeconds: []float64{math.NaN()}}, items, "bad test length"},
		{"cancelled", ctx, EvalConfig{Embedder: emb, Load: okLoad}, items, "context canceled"},
		{"unknown cohort source", context.Background(), EvalConfig{Embedder: emb, Load: okLoad, CohortSource: "random"}, items, `unknown cohort source "random"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Evaluate(tt.ctx, tt.cfg, tt.items)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
