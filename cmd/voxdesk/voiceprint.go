package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/voxdesk/voxdesk/identify"
	"github.com/voxdesk/voxdesk/media"
	"github.com/voxdesk/voxdesk/media/g711"
	"github.com/voxdesk/voxdesk/service"
	"github.com/voxdesk/voxdesk/voiceprint"
)

func init() {
	register(command{Name: "voiceprint", Summary: "enrol, identify, evaluate and calibrate voiceprints (voiceprint enrol|identify|eval|calibrate)", Run: func(ctx context.Context, args []string) error {
		return subcommands(ctx, "voiceprint", args, map[string]func(context.Context, []string) error{
			"enrol": func(ctx context.Context, args []string) error {
				return voiceprintEnrol(ctx, args, os.Stdout, os.Stderr)
			},
			"identify": func(ctx context.Context, args []string) error {
				return voiceprintIdentify(ctx, args, os.Stdout, os.Stderr)
			},
			"eval": func(ctx context.Context, args []string) error { return voiceprintEval(ctx, args, os.Stdout, os.Stderr) },
			"calibrate": func(ctx context.Context, args []string) error {
				return voiceprintCalibrate(ctx, args, os.Stdout, os.Stderr)
			},
		})
	}})
}

// audioFlags are the flags every voiceprint verb shares.
type audioFlags struct {
	model *string
	ulaw  *bool
}

func addAudioFlags(fs *flag.FlagSet) audioFlags {
	return audioFlags{
		model: fs.String("model", "", "speaker model folder (default: the installed one, see voxdesk model fetch)"),
		ulaw:  fs.Bool("ulaw", false, "pass the audio through G.711 mu-law and back, as a phone call would"),
	}
}

func (a audioFlags) open() (*voiceprint.Model, error) {
	dir := *a.model
	if dir == "" {
		d, err := voiceprint.FindModelDir()
		if err != nil {
			return nil, fmt.Errorf("%w (run voxdesk model fetch, or pass --model)", err)
		}
		dir = d
	}
	return voiceprint.Load(dir)
}

// load reads an audio file as 8 kHz PCM, through mu-law if asked.
func (a audioFlags) load(path string) ([]int16, error) {
	pcm, err := media.LoadPCM(path, voiceprint.SampleRate)
	if err != nil {
		return nil, err
	}
	if *a.ulaw {
		u := make([]byte, len(pcm))
		g711.EncodeUlaw(u, pcm)
		g711.DecodeUlaw(pcm, u)
	}
	return pcm, nil
}

// storedVoiceprint is one entry of a voiceprint file (a JSON array).
type storedVoiceprint struct {
	ID            string    `json:"id"`
	Vector        []float32 `json:"vector"`
	Utterances    int       `json:"utterances"`
	SpeechSeconds float64   `json:"speech_seconds"`
}

func readVoiceprints(path string) ([]storedVoiceprint, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var vs []storedVoiceprint
	if err := json.Unmarshal(b, &vs); err != nil {
		return nil, fmt.Errorf("voiceprint file %s: %w", path, err)
	}
	for i, v := range vs {
		if v.ID == "" || len(v.Vector) != voiceprint.Dim {
			return nil, fmt.Errorf("voiceprint file %s: entry %d: want an id and %d values", path, i, voiceprint.Dim)
		}
	}
	return vs, nil
}

func writeVoiceprints(path string, vs []storedVoiceprint) error {
	b, err := json.MarshalIndent(vs, "", " ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// voiceprintEnrol runs "voxdesk voiceprint enrol --db FILE --id ID AUDIO...".
func voiceprintEnrol(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("voiceprint enrol", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: voxdesk voiceprint enrol --db voiceprints.json --id ID [--ulaw] AUDIO.wav|.flac ...")
		fs.PrintDefaults()
	}
	a := addAudioFlags(fs)
	db := fs.String("db", "voiceprints.json", "voiceprint file (JSON) to add the speaker to; an existing id is replaced")
	id := fs.String("id", "", "speaker or customer id")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *id == "" || fs.NArg() == 0 {
		return usagef("enrol needs --id and at least one audio file")
	}
	m, err := a.open()
	if err != nil {
		return err
	}
	x := m.NewExtractor()
	var utts []voiceprint.Embedding
	for _, f := range fs.Args() {
		if err := ctx.Err(); err != nil {
			return err
		}
		pcm, err := a.load(f)
		if err != nil {
			return err
		}
		e, err := x.Embed(pcm, voiceprint.SampleRate)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		fmt.Fprintf(stdout, "%s: %.1f s of speech\n", f, e.Speech)
		utts = append(utts, e)
	}
	vp, err := voiceprint.Enrol(utts)
	if err != nil {
		return err
	}
	vs, err := readVoiceprints(*db)
	if err != nil {
		return err
	}
	entry := storedVoiceprint{ID: *id, Vector: vp.Vector, Utterances: vp.Utterances, SpeechSeconds: vp.SpeechSeconds}
	if i := slices.IndexFunc(vs, func(v storedVoiceprint) bool { return v.ID == *id }); i >= 0 {
		vs[i] = entry
	} else {
		vs = append(vs, entry)
	}
	if err := writeVoiceprints(*db, vs); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "enrolled %s: %d utterances, %.1f s of speech, into %s (%d voiceprints)\n", *id, vp.Utterances, vp.SpeechSeconds, *db, len(vs))
	return nil
}

// voiceprintIdentify runs "voxdesk voiceprint identify --db FILE AUDIO":
// the switch's policy (package identify) over the voiceprints of FILE.
func voiceprintIdentify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("voiceprint identify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: voxdesk voiceprint identify --db voiceprints.json [--cohort impostors.json] [--calibration FILE] [--ulaw] AUDIO")
		fs.PrintDefaults()
	}
	a := addAudioFlags(fs)
	db := fs.String("db", "voiceprints.json", "enrolled voiceprints (from voiceprint enrol)")
	cohortFile := fs.String("cohort", "", "voiceprints of impostor speakers (same format) for score normalisation; the policy needs 50 voiceprints and cohort together")
	calFile := fs.String("calibration", "", "calibration from voiceprint calibrate (default: the built-in one)")
	k := fs.Int("k", 5, "how many candidates to list")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 || *k <= 0 {
		return usagef("identify needs exactly one audio file and k > 0")
	}
	vs, err := readVoiceprints(*db)
	if err != nil {
		return err
	}
	if len(vs) == 0 {
		return fmt.Errorf("no voiceprints in %s", *db)
	}
	var extra [][]float32
	if *cohortFile != "" {
		cs, err := readVoiceprints(*cohortFile)
		if err != nil {
			return err
		}
		for _, c := range cs {
			extra = append(extra, c.Vector)
		}
	}
	cal, err := service.ReadCalibration(*calFile)
	if err != nil {
		return err
	}
	policy, err := identify.New(cal, identify.Config{})
	if err != nil {
		return err
	}
	g, err := identify.NewGallery(identify.GalleryConfig{Extra: append(extra, cal.Cohort...)})
	if err != nil {
		return err
	}
	for _, v := range vs {
		if err := g.Put(v.ID, v.Vector); err != nil {
			return err
		}
	}
	m, err := a.open()
	if err != nil {
		return err
	}
	pcm, err := a.load(fs.Arg(0))
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	e, err := m.NewExtractor().Embed(pcm, voiceprint.SampleRate)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %.1f s of speech\n", fs.Arg(0), e.Speech)
	probe, err := g.NewProbe(e.Vector)
	if errors.Is(err, identify.ErrSmallCohort) {
		// No normalised scores: the cosines, and no decision.
		slices.SortFunc(vs, func(a, b storedVoiceprint) int {
			return cmp.Compare(voiceprint.Cosine(e.Vector, b.Vector), voiceprint.Cosine(e.Vector, a.Vector))
		})
		for i, v := range vs[:min(*k, len(vs))] {
			fmt.Fprintf(stdout, "%2d. %-20s cosine %.3f\n", i+1, v.ID, voiceprint.Cosine(e.Vector, v.Vector))
		}
		fmt.Fprintf(stdout, "not sure: %v (pass --cohort)\n", err)
		return nil
	}
	if err != nil {
		return err
	}
	scored, n, err := g.Search(probe, max(*k, 10), nil)
	if err != nil {
		return err
	}
	slices.SortFunc(scored, func(a, b identify.Scored) int { return cmp.Compare(b.Score, a.Score) })
	for i, s := range scored[:min(*k, len(scored))] {
		vec, _ := g.Vector(s.ID)
		fmt.Fprintf(stdout, "%2d. %-20s cosine %.3f  s-norm %.2f\n", i+1, s.ID, voiceprint.Cosine(e.Vector, vec), s.Score)
	}
	d := policy.Decide(scored, n, time.Duration(e.Speech*float64(time.Second)), 0)
	switch d.Outcome {
	case identify.Verified:
		fmt.Fprintf(stdout, "verified: %s (s-norm %.2f >= %.2f, the threshold for %d voiceprints at %.2g false identifications per call)\n", d.ID, d.Score, d.Threshold, n, d.Target)
	case identify.Unknown:
		fmt.Fprintf(stdout, "unknown caller (best s-norm %.2f < %.2f for %d voiceprints at %.2g)\n", d.Score, d.Threshold, n, d.Target)
	default:
		fmt.Fprintf(stdout, "not sure: %s\n", d.Why)
	}
	return nil
}

// parseSeconds reads a comma-separated list of positive lengths.
func parseSeconds(s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || !(v > 0) || v > 3600 {
			return nil, usagef("--test-seconds: %q is not a length in seconds", f)
		}
		out = append(out, v)
	}
	return out, nil
}

// voiceprintEval runs "voxdesk voiceprint eval --manifest M.csv --root DIR".
func voiceprintEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("voiceprint eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: voxdesk voiceprint eval --manifest M.csv --root DIR [--test-seconds 3,7] [--ulaw] [--json OUT]")
		fmt.Fprintln(stderr, "M.csv: header with speaker_id,file,role (enrol|test|cohort) and optional segment; see go doc voiceprint.ParseManifest")
		fs.PrintDefaults()
	}
	a := addAudioFlags(fs)
	manifest := fs.String("manifest", "", "evaluation manifest (CSV)")
	root := fs.String("root", "", "folder the manifest's file paths are relative to (default: the manifest's folder)")
	seconds := fs.String("test-seconds", "3,7", "test lengths in seconds: each test item is cut to its first N seconds")
	jsonOut := fs.String("json", "", "also write the results as JSON to this file")
	topN := fs.Int("cohort-top", 200, "adaptive s-norm: closest cohort members used (0 = all)")
	cohort := fs.String("cohort", voiceprint.CohortEnrolled, "s-norm cohort: enrolled (the other enrolled speakers, as deployed), manifest (its cohort rows) or none (raw cosine)")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *manifest == "" || fs.NArg() != 0 {
		return usagef("eval needs --manifest and no arguments")
	}
	lengths, err := parseSeconds(*seconds)
	if err != nil {
		return err
	}
	if *root == "" {
		*root = filepath.Dir(*manifest)
	}
	f, err := os.Open(*manifest)
	if err != nil {
		return err
	}
	items, err := voiceprint.ParseManifest(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", *manifest, err)
	}
	m, err := a.open()
	if err != nil {
		return err
	}
	var bar *progressbar.ProgressBar
	cfg := voiceprint.EvalConfig{
		Embedder:     m.NewExtractor(),
		Load:         func(file string) ([]int16, error) { return a.load(filepath.Join(*root, file)) },
		TestSeconds:  lengths,
		CohortTopN:   *topN,
		CohortSource: *cohort,
		Progress: func(done, total int) {
			if *quiet {
				return
			}
			if bar == nil {
				bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(stderr),
					progressbar.OptionSetDescription("embedding"), progressbar.OptionShowCount(),
					progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
			}
			bar.Set(done)
		},
	}
	if *topN == 0 {
		cfg.CohortTopN = -1 // all members
	}
	start := time.Now()
	res, err := voiceprint.Evaluate(ctx, cfg, items)
	if bar != nil {
		bar.Finish()
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s (%s), %d speakers, scoring %s, cohort %d, %v\n", *manifest, channel(*a.ulaw), res[0].NSpeakers, res[0].Scoring, res[0].CohortSize, time.Since(start).Round(time.Second))
	fmt.Fprintf(stdout, "%6s %8s %8s %8s %10s %7s %7s %7s\n", "test_s", "EER_%", "minDCF", "top-1", "open_FA", "tests", "trials", "skipped")
	for _, r := range res {
		fa := "-"
		if r.OpenSetFalseAccept != nil {
			fa = fmt.Sprintf("%.4f", *r.OpenSetFalseAccept)
		}
		for name, v := range r.OpenSetByOperatingPoint {
			if name != r.OperatingPoint {
				fa += fmt.Sprintf(" (%.4f at %s)", v, name)
			}
		}
		fmt.Fprintf(stdout, "%6g %8.2f %8.4f %8.4f %10s %7d %7d %7d\n", r.TestSeconds, r.EERPercent, r.MinDCF, r.Top1, fa, r.NTests, r.NTrials, r.NSkipped)
	}
	if res[0].OpenSetFalseAccept != nil {
		fmt.Fprintf(stdout, "open_FA: share of test items accepted at %s (s-norm >= %.3f) with their own speaker left out; minDCF at P_target %.2g, C_miss %g, C_fa %g\n",
			res[0].OperatingPoint, res[0].Threshold, voiceprint.DefaultDCF.PTarget, voiceprint.DefaultDCF.CostMiss, voiceprint.DefaultDCF.CostFA)
	}
	if *jsonOut != "" {
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func channel(ulaw bool) string {
	if ulaw {
		return "8 kHz, G.711 mu-law round trip"
	}
	return "8 kHz linear"
}
