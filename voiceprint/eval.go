package voiceprint

import (
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
)

// Manifest roles.
const (
	RoleEnrol  = "enrol"
	RoleTest   = "test"
	RoleCohort = "cohort"
)

// Cohort sources for EvalConfig.CohortSource.
const (
	CohortEnrolled = "enrolled"
	CohortManifest = "manifest"
	CohortNone     = "none"
)

// EvalItem is one utterance of an evaluation manifest: one file, or the
// files of a segment joined end to end.
type EvalItem struct {
	Speaker string
	Role    string   // RoleEnrol, RoleTest or RoleCohort
	Segment string   // "" for a single-file item
	Files   []string // as written in the manifest
	Line    int      // manifest line of the first file
}

// ErrManifest is wrapped by every manifest error.
var ErrManifest = errors.New("voiceprint: bad manifest")

// ParseManifest reads an evaluation manifest: CSV with a header naming at
// least the columns speaker_id, file and role (any order; other columns
// are ignored). role is enrol, test or cohort:
//
//   - enrol rows build the speaker's voiceprint (one utterance per item);
//   - test rows are scored against every enrolled speaker;
//   - cohort rows are impostor utterances for score normalisation; their
//     speakers must not be enrolled or tested.
//
// The optional column segment joins files: rows with the same speaker_id,
// role and non-empty segment form one item, their audio concatenated in
// manifest order (short clips such as single digits make one longer test
// utterance). Items keep the order of their first row.
func ParseManifest(r io.Reader) ([]EvalItem, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrManifest, err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if _, dup := col[h]; dup {
			return nil, fmt.Errorf("%w: header names column %q twice", ErrManifest, h)
		}
		col[h] = i
	}
	for _, need := range []string{"speaker_id", "file", "role"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("%w: header %q lacks column %q", ErrManifest, strings.Join(header, ","), need)
		}
	}
	segCol, hasSeg := col["segment"]
	var items []EvalItem
	bySeg := map[[3]string]int{}
	roleOf := map[string]string{} // speaker -> cohort or not
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrManifest, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // blank line
		}
		if len(rec) != len(header) {
			return nil, fmt.Errorf("%w: line %d has %d fields, header %d", ErrManifest, line, len(rec), len(header))
		}
		spk := strings.TrimSpace(rec[col["speaker_id"]])
		file := strings.TrimSpace(rec[col["file"]])
		role := strings.TrimSpace(rec[col["role"]])
		switch {
		case spk == "":
			return nil, fmt.Errorf("%w: line %d: empty speaker_id", ErrManifest, line)
		case file == "":
			return nil, fmt.Errorf("%w: line %d: empty file", ErrManifest, line)
		case role != RoleEnrol && role != RoleTest && role != RoleCohort:
			return nil, fmt.Errorf("%w: line %d: role %q is not enrol, test or cohort", ErrManifest, line, role)
		}
		kind := "evaluated"
		if role == RoleCohort {
			kind = RoleCohort
		}
		if prev, ok := roleOf[spk]; ok && prev != kind {
			return nil, fmt.Errorf("%w: line %d: speaker %q is both a cohort speaker and an evaluated one", ErrManifest, line, spk)
		}
		roleOf[spk] = kind
		seg := ""
		if hasSeg {
			seg = strings.TrimSpace(rec[segCol])
		}
		if seg != "" {
			key := [3]string{spk, role, seg}
			if i, ok := bySeg[key]; ok {
				items[i].Files = append(items[i].Files, file)
				continue
			}
			bySeg[key] = len(items)
		}
		items = append(items, EvalItem{Speaker: spk, Role: role, Segment: seg, Files: []string{file}, Line: line})
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("%w: no rows", ErrManifest)
	}
	return items, nil
}

// Embedder turns 8 kHz PCM into an embedding; *Extractor is one.
type Embedder interface {
	Embed(pcm []int16, sampleRate int) (Embedding, error)
}

// EvalConfig drives Evaluate.
type EvalConfig struct {
	Embedder Embedder
	// Load returns the 8 kHz audio of one manifest file (as written in
	// the manifest), after any channel simulation (e.g. G.711).
	Load func(file string) ([]int16, error)
	// TestSeconds are the test lengths: each test item is cut to its
	// first N seconds of audio for each N. Empty means the whole item.
	TestSeconds []float64
	// CohortSource is where the s-norm cohort comes from:
	// CohortEnrolled (the default) is in-domain and leave-speakers-out:
	// each trial's cohort is the enrolment utterances of the enrolled
	// speakers other than the claimed one and the caller, as a deployment
	// would use a sample of other customers. CohortManifest uses the
	// manifest's cohort rows; CohortNone scores raw cosines.
	CohortSource string
	// CohortTopN is the adaptive s-norm cohort size; 0 means 200.
	CohortTopN int
	// OperatingPoint sets the open-set threshold; zero means
	// OperatingPointFA1.
	OperatingPoint OperatingPoint
	// Progress, if set, is called after each embedding.
	Progress func(done, total int)
}

// minPopulationCohort is the fewest speakers an enrolled-population
// cohort may hold for an evaluation to use s-norm.
const minPopulationCohort = 4

// EvalResult are the figures for one test length.
type EvalResult struct {
	TestSeconds float64 `json:"test_seconds"` // 0: whole items
	EERPercent  float64 `json:"eer_percent"`
	MinDCF      float64 `json:"min_dcf"` // DefaultDCF: P_target 0.01, C_miss = C_fa = 1
	Top1        float64 `json:"top1_accuracy"`
	// OpenSetFalseAccept is the share of test items accepted as some
	// enrolled speaker at the operating point when their own speaker is
	// left out of the enrolled set; nil without a cohort (raw cosine
	// scores have no shipped threshold).
	OpenSetFalseAccept *float64 `json:"open_set_false_accept"`
	// OpenSetByOperatingPoint is the same at the operating point and at
	// the stricter shipped one (FA0.1%): 1:N over N enrolled speakers
	// meets N impostors per unknown caller, so identification needs a
	// stricter threshold than 1:1 verification.
	OpenSetByOperatingPoint map[string]float64 `json:"open_set_false_accept_by_operating_point,omitempty"`
	NSpeakers               int                `json:"n_speakers"`
	NTrials                 int                `json:"n_trials"` // test items x enrolled speakers scored
	NTests                  int                `json:"n_tests"`
	NSkipped                int                `json:"n_skipped"` // test items with too little speech
	Scoring                 string             `json:"scoring"`   // "s-norm" or "cosine"
	CohortSize              int                `json:"cohort_size"`
	OperatingPoint          string             `json:"operating_point,omitempty"`
	Threshold               float64            `json:"threshold,omitempty"`
}

// Evaluate enrols every speaker from their enrol items, builds the cohort
// from the cohort items, and scores every test item (cut to each test
// length) against every enrolled speaker.
func Evaluate(ctx context.Context, cfg EvalConfig, items []EvalItem) ([]EvalResult, error) {
	if cfg.Embedder == nil || cfg.Load == nil {
		return nil, errors.New("voiceprint: evaluate needs an Embedder and a Load function")
	}
	lengths := cfg.TestSeconds
	if len(lengths) == 0 {
		lengths = []float64{0}
	}
	for _, n := range lengths {
		if !(n >= 0) || math.IsInf(n, 0) {
			return nil, fmt.Errorf("voiceprint: evaluate: bad test length %v s", n)
		}
	}
	op := cfg.OperatingPoint
	if op.Name == "" {
		op = OperatingPointFA1
	}
	topN := cfg.CohortTopN
	if topN == 0 {
		topN = 200
	}
	var nTests int
	for _, it := range items {
		if it.Role == RoleTest {
			nTests++
		}
	}
	total := len(items) - nTests + nTests*len(lengths)
	done := 0
	step := func() {
		done++
		if cfg.Progress != nil {
			cfg.Progress(done, total)
		}
	}
	// embed loads an item (test audio is kept for the next length), cuts
	// it to secs when secs > 0 and embeds it. Errors name the manifest
	// line; too little speech wraps ErrNotEnoughSpeech.
	cache := map[int][]int16{}
	embed := func(idx int, secs float64) (Embedding, error) {
		if err := ctx.Err(); err != nil {
			return Embedding{}, err
		}
		it := items[idx]
		pcm, ok := cache[idx]
		if !ok {
			for _, f := range it.Files {
				p, err := cfg.Load(f)
				if err != nil {
					return Embedding{}, fmt.Errorf("voiceprint: manifest line %d: %w", it.Line, err)
				}
				pcm = append(pcm, p...)
			}
			if it.Role == RoleTest && len(lengths) > 1 {
				cache[idx] = pcm
			}
		}
		if secs > 0 {
			pcm = pcm[:min(len(pcm), int(secs*SampleRate))]
		}
		e, err := cfg.Embedder.Embed(pcm, SampleRate)
		step()
		if err != nil {
			return e, fmt.Errorf("voiceprint: manifest line %d: %w", it.Line, err)
		}
		return e, nil
	}

	// Enrolment and cohort.
	enrolUtts := map[string][]Embedding{}
	var speakers []string
	var cohortVecs [][]float32
	for i, it := range items {
		if it.Role == RoleTest {
			continue
		}
		e, err := embed(i, 0)
		if errors.Is(err, ErrNotEnoughSpeech) {
			continue // too short to use; the speaker may have others
		}
		if err != nil {
			return nil, err
		}
		if it.Role == RoleCohort {
			cohortVecs = append(cohortVecs, e.Vector)
			continue
		}
		if _, ok := enrolUtts[it.Speaker]; !ok {
			speakers = append(speakers, it.Speaker)
		}
		enrolUtts[it.Speaker] = append(enrolUtts[it.Speaker], e)
	}
	if len(speakers) < 2 {
		return nil, fmt.Errorf("voiceprint: evaluate: %d speakers enrolled, need at least 2", len(speakers))
	}
	col := map[string]int{}
	enrolled := make([]Voiceprint, len(speakers))
	for i, s := range speakers {
		vp, err := Enrol(enrolUtts[s])
		if err != nil {
			return nil, fmt.Errorf("voiceprint: enrol %q: %w", s, err)
		}
		enrolled[i] = vp
		col[s] = i
	}
	// scoreTrial scores test embedding u (unit) against enrolled speaker
	// c. With the enrolled-speakers cohort, the cohort is the enrolment
	// utterances of every enrolled speaker except c and except speaker
	// exclude (the caller; -1 when not enrolled).
	var fixed Scorer
	population := false
	cohortSize := len(cohortVecs)
	switch cfg.CohortSource {
	case "", CohortEnrolled:
		cohortSize = 0
		// Each trial leaves out the claimed speaker and the caller: with
		// fewer than minPopulationCohort speakers left, s-norm statistics
		// are noise and would scramble the ranking, so scores stay raw
		// cosines (Scoring says so).
		if len(speakers)-2 >= minPopulationCohort {
			population = true
			for _, s := range speakers {
				cohortSize += len(enrolUtts[s])
			}
		}
	case CohortManifest:
		if len(cohortVecs) < 2 {
			return nil, fmt.Errorf("voiceprint: evaluate: cohort from the manifest, but %d cohort utterances", len(cohortVecs))
		}
		c, err := NewCohort(cohortVecs, topN)
		if err != nil {
			return nil, err
		}
		fixed.Cohort = c
	case CohortNone:
		cohortSize = 0
	default:
		return nil, fmt.Errorf("voiceprint: evaluate: unknown cohort source %q", cfg.CohortSource)
	}
	scoreTrial := func(u []float32, c, exclude int) (float64, error) {
		if !population {
			_, s, err := fixed.Score(u, enrolled[c].Vector)
			return s, err
		}
		var vecs [][]float32
		for j, spk := range speakers {
			if j != c && j != exclude {
				for _, e := range enrolUtts[spk] {
					vecs = append(vecs, e.Vector)
				}
			}
		}
		co, err := NewCohort(vecs, topN)
		if err != nil {
			return 0, fmt.Errorf("voiceprint: evaluate: population cohort: %w", err)
		}
		sc := Scorer{Cohort: co}
		_, s, err := sc.Score(u, enrolled[c].Vector)
		return s, err
	}
	normalised := population || fixed.Cohort != nil
	strict := OperatingPointFA01
	if op.Threshold > strict.Threshold {
		strict = op
	}

	results := make([]EvalResult, len(lengths))
	for li, secs := range lengths {
		res := EvalResult{TestSeconds: secs, NSpeakers: len(speakers), Scoring: "cosine", CohortSize: cohortSize}
		if normalised {
			res.Scoring, res.OperatingPoint, res.Threshold = "s-norm, cohort "+cmp.Or(cfg.CohortSource, CohortEnrolled), op.Name, op.Threshold
		}
		var target, nontarget []float64
		var rows [][]float64
		var truth []int
		falseAccepts, strictAccepts, openTrials := 0, 0, 0
		for i, it := range items {
			if it.Role != RoleTest {
				continue
			}
			e, err := embed(i, secs)
			if errors.Is(err, ErrNotEnoughSpeech) {
				res.NSkipped++
				continue
			}
			if err != nil {
				return nil, err
			}
			res.NTests++
			u, err := unit(e.Vector)
			if err != nil {
				return nil, fmt.Errorf("voiceprint: manifest line %d: %w", it.Line, err)
			}
			t, known := col[it.Speaker]
			if !known {
				t = -1
			}
			// The cohort of a trial is disjoint from both its sides:
			// never the claimed speaker, never the caller.
			row := make([]float64, len(speakers))
			for j := range enrolled {
				if row[j], err = scoreTrial(u, j, t); err != nil {
					return nil, err
				}
			}
			res.NTrials += len(row)
			// Open set: with the caller's own voiceprint left out, the
			// best of the others is what identification would accept.
			bestOther := math.Inf(-1)
			for j, s := range row {
				if j == t {
					target = append(target, s)
					continue
				}
				nontarget = append(nontarget, s)
				bestOther = max(bestOther, s)
			}
			if known {
				rows = append(rows, row)
				truth = append(truth, t)
			}
			openTrials++
			if bestOther >= op.Threshold {
				falseAccepts++
			}
			if bestOther >= strict.Threshold {
				strictAccepts++
			}
		}
		if len(target) == 0 || len(nontarget) == 0 {
			return nil, fmt.Errorf("voiceprint: evaluate at %g s: no scorable target and non-target trials", secs)
		}
		eer, err := EER(target, nontarget)
		if err != nil {
			return nil, err
		}
		res.EERPercent = 100 * eer
		if res.MinDCF, err = MinDCF(target, nontarget, DefaultDCF); err != nil {
			return nil, err
		}
		if res.Top1, err = Top1Accuracy(rows, truth); err != nil {
			return nil, err
		}
		if normalised && openTrials > 0 {
			fa := float64(falseAccepts) / float64(openTrials)
			res.OpenSetFalseAccept = &fa
			res.OpenSetByOperatingPoint = map[string]float64{op.Name: fa, strict.Name: float64(strictAccepts) / float64(openTrials)}
		}
		results[li] = res
	}
	return results, nil
}
