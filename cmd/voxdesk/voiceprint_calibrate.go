package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/voxdesk/voxdesk/customer"
	"github.com/voxdesk/voxdesk/identify"
	"github.com/voxdesk/voxdesk/service"
	"github.com/voxdesk/voxdesk/voiceprint"
)

// calibrationModel is the model id voiceprints are stored under (the
// switch's, see service).
const calibrationModel = "vosk-model-spk-0.4"

// voiceprintCalibrate runs "voxdesk voiceprint calibrate": impostor
// statistics from the store's own voiceprints and a speech manifest,
// stored where the switch reads them, with a report and a DET plot.
func voiceprintCalibrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("voiceprint calibrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: voxdesk voiceprint calibrate [--config voxdesk.yaml | --db DSN] --speech M.csv [--root DIR] [--out FILE] [--report DIR] [--ulaw]")
		fmt.Fprintln(stderr, "M.csv: speaker_id,file,role (see go doc voiceprint.ParseManifest): cohort rows join the score normalisation")
		fmt.Fprintln(stderr, "cohort; test rows are streamed to each --seconds of net speech and scored against every voiceprint of")
		fmt.Fprintln(stderr, "another speaker (impostor trials); enrol rows enrol their speaker beside the store's customers, so their")
		fmt.Fprintln(stderr, "test rows also give target trials for the report's miss rates. Manifest speakers must not be customers.")
		fs.PrintDefaults()
	}
	a := addAudioFlags(fs)
	configPath := fs.String("config", "", "switch configuration: customer.dsn, customer.key, voiceprint.calibration, cohort_size and cohort_share from it")
	db := fs.String("db", customer.DefaultDSN, "customer store (without --config); key from $"+customer.KeyEnv)
	speech := fs.String("speech", "", "speech manifest (CSV) of speakers who are not customers")
	root := fs.String("root", "", "folder the manifest's paths are relative to (default: its folder)")
	out := fs.String("out", "", "calibration file to write (default: voiceprint.calibration, or DB.calibration.json beside a SQLite store)")
	report := fs.String("report", "", "folder for the report (calibration-report.md and det.svg); empty: none")
	seconds := fs.String("seconds", "3,5,7", "durations of net speech to calibrate")
	quiet := fs.Bool("quiet", false, "no progress lines")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *speech == "" || fs.NArg() != 0 {
		return usagef("calibrate needs --speech and no arguments")
	}
	cuts, err := parseSeconds(*seconds)
	if err != nil {
		return err
	}
	if !slices.IsSorted(cuts) {
		return usagef("--seconds must ascend")
	}
	vc := service.VoiceprintConfig{}
	dsn := *db
	var key []byte
	if *configPath != "" {
		cfg, err := service.LoadConfig(*configPath)
		if err != nil {
			return err
		}
		vc, dsn = cfg.Voiceprint, cfg.Customer.DSN
		if cfg.Customer.Key != "" {
			if key, err = customer.ParseKey(cfg.Customer.Key); err != nil {
				return fmt.Errorf("customer.key: %w", err)
			}
		}
	}
	if key == nil {
		if key, err = customer.KeyFromEnv(); err != nil {
			return err
		}
	}
	if key == nil {
		return fmt.Errorf("no voiceprint key: set $%s or customer.key in --config", customer.KeyEnv)
	}
	dest := service.CalibrationPath(cmpOr(*out, vc.Calibration), dsn)
	if dest == "" {
		return usagef("--out is needed for a PostgreSQL store without voiceprint.calibration")
	}
	if *root == "" {
		*root = filepath.Dir(*speech)
	}
	f, err := os.Open(*speech)
	if err != nil {
		return err
	}
	items, err := voiceprint.ParseManifest(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", *speech, err)
	}
	m, err := a.open()
	if err != nil {
		return err
	}
	store, err := customer.Open(ctx, dsn, customer.Config{Key: key}, customer.WithLogger(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	if err != nil {
		return err
	}
	defer store.Close()
	progress := func(format string, args ...any) {
		if !*quiet {
			fmt.Fprintf(stderr, format+"\n", args...)
		}
	}

	// The manifest's speech: cohort embeddings, enrolment voiceprints and
	// test trials at each duration.
	x := m.NewExtractor()
	var cohort [][]float32
	enrolUtts := map[string][]voiceprint.Embedding{}
	var trials []identify.Trial
	for i, it := range items {
		if err := ctx.Err(); err != nil {
			return err
		}
		var pcm []int16
		for _, file := range it.Files {
			p, err := a.load(filepath.Join(*root, file))
			if err != nil {
				return fmt.Errorf("%s line %d: %w", *speech, it.Line, err)
			}
			pcm = append(pcm, p...)
		}
		spk := "speech:" + it.Speaker
		switch it.Role {
		case voiceprint.RoleCohort, voiceprint.RoleEnrol:
			e, err := x.Embed(pcm, voiceprint.SampleRate)
			if err != nil {
				progress("%s line %d: left out: %v", *speech, it.Line, err)
				continue
			}
			if it.Role == voiceprint.RoleCohort {
				cohort = append(cohort, e.Vector)
			} else {
				enrolUtts[spk] = append(enrolUtts[spk], e)
			}
		case voiceprint.RoleTest:
			for j, e := range identify.StreamCuts(m, pcm, cuts) {
				trials = append(trials, identify.Trial{Speaker: spk, Seconds: cuts[j], Vector: e.Vector})
			}
		}
		if (i+1)%20 == 0 {
			progress("embedded %d of %d manifest items", i+1, len(items))
		}
	}
	g, err := identify.NewGallery(identify.GalleryConfig{CohortSize: vc.CohortSize, CohortShare: vc.CohortShare, Extra: cohort})
	if err != nil {
		return err
	}
	customers := 0
	err = store.AllVoiceprints(ctx, "voxdesk:calibrate", func(vp customer.Voiceprint) error {
		if vp.ModelID != calibrationModel {
			return nil
		}
		customers++
		return g.Put(vp.CustomerID, vp.Embedding)
	})
	if err != nil {
		return fmt.Errorf("store voiceprints: %w", err)
	}
	for spk, utts := range enrolUtts {
		vp, err := voiceprint.Enrol(utts)
		if err != nil {
			return fmt.Errorf("enrol %s: %w", spk, err)
		}
		if err := g.Put(spk, vp.Vector); err != nil {
			return err
		}
	}
	progress("%d customer voiceprints, %d manifest speakers enrolled, %d cohort embeddings, %d test trials", customers, len(enrolUtts), len(cohort), len(trials))
	source := fmt.Sprintf("voxdesk voiceprint calibrate: %d customer voiceprints of %s, %d enrolled and %d cohort utterances of %s, %d test trials",
		customers, redactDSN(dsn), len(enrolUtts), len(cohort), filepath.Base(*speech), len(trials))
	cal, err := identify.Calibrate(g, trials, calibrationModel, source)
	if err != nil {
		return err
	}
	cal.Cohort = cohort
	if err := service.SaveCalibration(dest, cal); err != nil {
		return err
	}
	p, err := identify.New(cal, identify.Config{Target: vc.FalseIdentRate})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "calibration written to %s (the switch reads it at start-up)\n", dest)
	fmt.Fprint(stdout, thresholdTable(p, customers))
	if *report == "" {
		return nil
	}
	return writeCalibrationReport(*report, p, g, trials, customers)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// redactDSN keeps a DSN's kind and path or host, never a password.
func redactDSN(dsn string) string {
	if i := strings.Index(dsn, "@"); i >= 0 {
		if j := strings.Index(dsn, "://"); j >= 0 && j < i {
			return dsn[:j+3] + "…" + dsn[i:]
		}
	}
	return dsn
}

// thresholdNs are the search sizes the table shows.
var thresholdNs = []int{1, 10, 100, 1000, 10000, 100000, 1000000}

// thresholdTable prints the thresholds the switch will use, by duration
// and number of voiceprints searched.
func thresholdTable(p *identify.Policy, customers int) string {
	var b strings.Builder
	ns := slices.Clone(thresholdNs)
	if customers > 0 && !slices.Contains(ns, customers) {
		ns = append(ns, customers)
		slices.Sort(ns)
	}
	fmt.Fprintf(&b, "s-norm thresholds at %.2g false identifications per call (N: voiceprints searched; -: not sure, beyond the calibration)\n", p.Target())
	fmt.Fprintf(&b, "%8s", "speech")
	for _, n := range ns {
		fmt.Fprintf(&b, " %9s", fmt.Sprintf("N=%s", shortN(n)))
	}
	b.WriteString("\n")
	for _, t := range p.Calibration().Tails {
		fmt.Fprintf(&b, "%7gs", t.Seconds)
		for _, n := range ns {
			thr, ok, _ := p.Threshold(n, time.Duration(t.Seconds*float64(time.Second)), 0)
			if ok {
				fmt.Fprintf(&b, " %9.2f", thr)
			} else {
				fmt.Fprintf(&b, " %9s", "-")
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

func shortN(n int) string {
	switch {
	case n >= 1000000 && n%1000000 == 0:
		return fmt.Sprintf("%dM", n/1000000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}

// detCurve is one duration's scores for the report.
type detCurve struct {
	seconds          float64
	target, impostor []float64
}

// writeCalibrationReport writes calibration-report.md and det.svg.
func writeCalibrationReport(dir string, p *identify.Policy, g *identify.Gallery, trials []identify.Trial, customers int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	by := map[float64]*detCurve{}
	var curves []*detCurve
	for _, tr := range trials {
		c := by[tr.Seconds]
		if c == nil {
			c = &detCurve{seconds: tr.Seconds}
			by[tr.Seconds] = c
			curves = append(curves, c)
		}
		imp, err := g.ImpostorScores(tr)
		if err != nil {
			return err
		}
		c.impostor = append(c.impostor, imp...)
		if g.Has(tr.Speaker) {
			pr, err := g.NewProbe(tr.Vector)
			if err != nil {
				return err
			}
			if s, ok := g.Score(pr, tr.Speaker); ok {
				c.target = append(c.target, s.Score)
			}
		}
	}
	slices.SortFunc(curves, func(a, b *detCurve) int { return int(math.Copysign(1, a.seconds-b.seconds)) })
	var md strings.Builder
	fmt.Fprintf(&md, "# Voiceprint calibration\n\n%s\n\nMade %s. Target: %.2g false identifications per call.\n\n",
		p.Calibration().Source, p.Calibration().Made.Format(time.RFC3339), p.Target())
	md.WriteString("## Impostor tails (generalised Pareto above U)\n\n| speech | scores | mean | std | max | U | Q | sigma | xi |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, t := range p.Calibration().Tails {
		fmt.Fprintf(&md, "| %g s | %d | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f |\n", t.Seconds, t.Count, t.Mean, t.Std, t.Max, t.U, t.Q, t.Sigma, t.Xi)
	}
	md.WriteString("\n## Thresholds\n\n```\n" + thresholdTable(p, customers) + "```\n\n")
	md.WriteString("## Misses at the thresholds (manifest speakers' own test trials)\n\n| speech | target trials | impostor trials | N=1 | N=customers |\n| --- | --- | --- | --- | --- |\n")
	for _, c := range curves {
		d := time.Duration(c.seconds * float64(time.Second))
		cell := func(n int) string {
			thr, ok, _ := p.Threshold(n, d, 0)
			if !ok || len(c.target) == 0 {
				return "-"
			}
			return fmt.Sprintf("%.1f %% (threshold %.2f)", 100*identify.MissAt(c.target, thr), thr)
		}
		fmt.Fprintf(&md, "| %g s | %d | %d | %s | %s |\n", c.seconds, len(c.target), len(c.impostor), cell(1), cell(max(customers, 1)))
	}
	md.WriteString("\n![DET](det.svg)\n\nDET: misses against false accepts per comparison, normal-deviate axes; dots mark the thresholds for N=1 (verification) and N=customers (whole-base search).\n")
	svg, err := detSVG(p, curves, customers)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "det.svg"), []byte(svg), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "calibration-report.md"), []byte(md.String()), 0o644)
}
