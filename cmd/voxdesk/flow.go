package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/customer"
	"github.com/voxdesk/voxdesk/ivr"
	"github.com/voxdesk/voxdesk/media"
	"github.com/voxdesk/voxdesk/res"
	"github.com/voxdesk/voxdesk/service"
	"github.com/voxdesk/voxdesk/voiceprint"
)

func init() {
	register(command{Name: "flow", Summary: "work on IVR flows (flow check|simulate|graph|diff)", Run: func(ctx context.Context, args []string) error {
		return subcommands(ctx, "flow", args, map[string]func(context.Context, []string) error{
			"check":    func(ctx context.Context, args []string) error { return flowCheck(args, os.Stdout, os.Stderr) },
			"simulate": func(ctx context.Context, args []string) error { return flowSimulate(ctx, args, os.Stdout, os.Stderr) },
			"graph":    func(ctx context.Context, args []string) error { return flowGraph(args, os.Stdout, os.Stderr) },
			"diff":     func(ctx context.Context, args []string) error { return flowDiff(args, os.Stdout, os.Stderr) },
		})
	}})
}

// flowOptions resolves prompts in the flow's folder, then the built-in set.
func flowOptions() ivr.Options {
	builtin, err := fs.Sub(res.Prompts, "prompts")
	if err != nil {
		panic(err) // the embedded tree always has prompts/
	}
	return ivr.Options{Builtin: builtin}
}

// flowCheck runs "voxdesk flow check [--config voxdesk.yaml] [FILE...]".
// With --config the flows are checked as the switch would load them:
// their queues and skills must be the switch's, and with no FILE the
// flows of its ivr.dir are checked, with the flows its routes name.
func flowCheck(args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("flow check", flag.ContinueOnError)
	fset.SetOutput(stderr)
	config := fset.String("config", "", "the switch's configuration file: check queue names and skills against it (and, with no FILE, check its ivr.dir)")
	fset.Usage = func() {
		fmt.Fprintln(stderr, "usage: voxdesk flow check [--config voxdesk.yaml] [FILE...]")
		fset.PrintDefaults()
	}
	if err := parseInterspersed(fset, args); err != nil {
		return err
	}
	opts := flowOptions()
	files := fset.Args()
	var cfg *service.Config
	if *config != "" {
		var err error
		if cfg, err = service.LoadConfig(*config); err != nil {
			return err
		}
		if opts, err = cfg.FlowOptions(); err != nil {
			return err
		}
		if len(files) == 0 {
			if !cfg.IVR.Enabled() {
				return fmt.Errorf("%s sets no ivr.dir: name the flow files to check", *config)
			}
			if files, err = ivr.FlowFiles(cfg.IVR.Dir); err != nil {
				return err
			}
		}
	}
	if len(files) == 0 {
		return usagef("flow check needs one or more flow files, or --config with an ivr.dir")
	}
	bad := 0
	names := map[string]string{} // flow name -> file, as a Library would refuse duplicates
	for _, file := range files {
		f, err := ivr.Load(file, opts)
		if err != nil {
			bad++
			fmt.Fprintln(stderr, err)
			continue
		}
		if other, dup := names[f.Name()]; dup {
			bad++
			fmt.Fprintf(stderr, "%s:1:1: flow name %q is already used by %s\n", file, f.Name(), other)
			continue
		}
		names[f.Name()] = file
		fmt.Fprintf(stdout, "%s: ok: flow %s version %s, %d steps\n", file, f.Name(), f.Version(), len(f.StepIDs()))
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d flow files have errors", bad, len(files))
	}
	if cfg != nil && fset.NArg() == 0 {
		// The switch refuses to start when a route names no flow.
		for _, name := range append([]string{cfg.IVR.Default}, slices.Sorted(maps.Values(cfg.IVR.Routes))...) {
			if _, ok := names[name]; name != "" && !ok {
				return fmt.Errorf("%s: ivr routes name flow %q, which is not in %s", *config, name, cfg.IVR.Dir)
			}
		}
	}
	return nil
}

// flowGraph runs "voxdesk flow graph FILE [-o out.svg]".
func flowGraph(args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("flow graph", flag.ContinueOnError)
	fset.SetOutput(stderr)
	out := fset.String("o", "", "write the SVG to this file (default: standard output)")
	if err := parseInterspersed(fset, args); err != nil {
		return err
	}
	if fset.NArg() != 1 {
		return usagef("usage: voxdesk flow graph FILE [-o out.svg]")
	}
	f, err := ivr.Load(fset.Arg(0), flowOptions())
	if err != nil {
		return err
	}
	if *out == "" {
		return f.WriteSVG(stdout)
	}
	w, err := os.Create(*out)
	if err != nil {
		return err
	}
	if err := f.WriteSVG(w); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// flowDiff runs "voxdesk flow diff A B": each side is a flow file or a
// version hash (prefix) kept in the versions folder.
func flowDiff(args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("flow diff", flag.ContinueOnError)
	fset.SetOutput(stderr)
	versions := fset.String("versions", "examples/flows/.versions", "folder of the versions a running switch kept (FLOWS/.versions), for hashes")
	if err := parseInterspersed(fset, args); err != nil {
		return err
	}
	if fset.NArg() != 2 {
		return usagef("usage: voxdesk flow diff A B   (A, B: flow files or version hashes)")
	}
	var flows [2]*ivr.Flow
	for i, arg := range fset.Args() {
		f, err := loadVersion(arg, *versions)
		if err != nil {
			return err
		}
		flows[i] = f
	}
	return ivr.WriteDiff(stdout, flows[0], flows[1])
}

// loadVersion loads a flow file, or the kept version whose hash starts
// with arg (files are named NAME-HASH12.yaml; longer prefixes are checked
// against the loaded content).
func loadVersion(arg, versions string) (*ivr.Flow, error) {
	if _, err := os.Stat(arg); err == nil {
		return ivr.Load(arg, flowOptions())
	}
	if len(arg) < 6 || strings.Trim(arg, "0123456789abcdef") != "" {
		return nil, fmt.Errorf("%s: no such file, and not a version hash", arg)
	}
	short := arg[:min(len(arg), 12)]
	matches, _ := filepath.Glob(filepath.Join(versions, "*-"+short+"*.yaml"))
	var found []*ivr.Flow
	for _, m := range matches {
		opts := flowOptions()
		opts.Prompts = os.DirFS(filepath.Dir(versions)) // prompts live beside the flows
		f, err := ivr.Load(m, opts)
		if err == nil && strings.HasPrefix(f.Hash(), arg) {
			found = append(found, f)
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("version %s not found in %s", arg, versions)
	case 1:
		return found[0], nil
	}
	return nil, fmt.Errorf("version %s is ambiguous in %s: give more digits", arg, versions)
}

// flowSimulate runs "voxdesk flow simulate FILE --digits 1,0 ...".
func flowSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("flow simulate", flag.ContinueOnError)
	fset.SetOutput(stderr)
	digits := fset.String("digits", "", "keys the caller presses, one each time the flow waits for a key (e.g. 1,0 or 1234#)")
	speech := fset.String("speech", "", "WAV or FLAC file(s), comma-separated, the caller says when the flow first listens (needs --customers: their demo_speaker recordings are enrolled)")
	caller := fset.String("caller", "", "calling number, E.164")
	at := fset.String("at", "", "wall clock at the start of the call, 2026-11-23T09:00 (default: now)")
	tz := fset.String("tz", "Local", "time zone of --at")
	customers := fset.String("customers", "", "customer CSV (like examples/customers.csv) to look callers up in")
	verbose := fset.Bool("v", false, "log every step")
	if err := parseInterspersed(fset, args); err != nil {
		return err
	}
	if fset.NArg() != 1 {
		return usagef("usage: voxdesk flow simulate FILE [--digits 1,0] [--speech caller.wav] [--caller +33...] [--at 2026-11-23T09:00]")
	}
	f, err := ivr.Load(fset.Arg(0), flowOptions())
	if err != nil {
		return err
	}
	sim := ivr.Simulation{Caller: *caller, Digits: []rune(strings.ReplaceAll(*digits, ",", ""))}
	for _, k := range sim.Digits {
		if !strings.ContainsRune("0123456789*#ABCD", k) {
			return usagef("--digits: %q is not a telephone key", k)
		}
	}
	if *at != "" {
		loc, err := time.LoadLocation(*tz)
		if err != nil {
			return usagef("--tz: %v", err)
		}
		if sim.At, err = time.ParseInLocation("2006-01-02T15:04", *at, loc); err != nil {
			return usagef("--at: want 2026-11-23T09:00: %v", err)
		}
	}
	var cfg ivr.Config
	var dir *csvDirectory
	if *customers != "" {
		if dir, err = loadCSVDirectory(*customers); err != nil {
			return err
		}
		cfg.Directory = dir
	}
	if *speech != "" {
		if dir == nil {
			return usagef("--speech needs --customers (whose demo_speaker recordings are enrolled)")
		}
		for _, file := range strings.Split(*speech, ",") {
			pcm, err := media.LoadPCM(file, call.SampleRate)
			if err != nil {
				return fmt.Errorf("--speech: %w", err)
			}
			sim.Speech = append(sim.Speech, pcm...)
		}
		base, err := newVoiceBase(dir)
		if err != nil {
			return fmt.Errorf("voiceprint core: %w", err)
		}
		cfg.Identifier, cfg.Verifier = base, base
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	res, err := ivr.Simulate(ctx, f, sim, cfg, log)
	if err != nil {
		return err
	}
	printSimulation(stdout, res)
	return nil
}

func printSimulation(w io.Writer, res *ivr.SimResult) {
	fmt.Fprintf(w, "flow %s\n\npath:\n", res.Flow)
	for _, s := range res.Path {
		fmt.Fprintf(w, "  %7.1fs  %-14s %s\n", s.At.Seconds(), s.ID, s.What)
	}
	fmt.Fprintf(w, "  %7.1fs  (call ended: %s)\n\nvariables:\n", res.Duration.Seconds(), res.Cause)
	keys := make([]string, 0, len(res.Vars))
	for k := range res.Vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  %-18s %q\n", k, res.Vars[k])
	}
}

// parseInterspersed parses flags given before or after the positional
// arguments ("flow graph FILE -o x.svg").
func parseInterspersed(fset *flag.FlagSet, args []string) error {
	var pos []string
	for {
		if err := fset.Parse(args); err != nil {
			return err
		}
		if fset.NArg() == 0 {
			break
		}
		pos = append(pos, fset.Arg(0))
		args = fset.Args()[1:]
	}
	return fset.Parse(append([]string{"--"}, pos...))
}

// csvDirectory is an ivr.Directory over a customer CSV file, for the
// simulator. A customer's PIN is its "pin" attribute, if any.
type csvDirectory struct {
	byID    map[string]customer.Customer
	byPhone map[string][]string
}

var _ ivr.Directory = (*csvDirectory)(nil)

func loadCSVDirectory(file string) (*csvDirectory, error) {
	r, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cs, err := customer.ParseCSV(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	d := &csvDirectory{byID: map[string]customer.Customer{}, byPhone: map[string][]string{}}
	for _, c := range cs {
		d.byID[c.ID] = c
		for _, p := range c.Phones {
			d.byPhone[p] = append(d.byPhone[p], c.ID)
		}
	}
	return d, nil
}

func (d *csvDirectory) ByNumber(ctx context.Context, number string) ([]string, error) {
	return d.byPhone[number], nil
}

func (d *csvDirectory) Fields(ctx context.Context, id string) (map[string]string, error) {
	c, ok := d.byID[id]
	if !ok {
		return nil, nil
	}
	f := map[string]string{}
	for k, v := range c.Attributes {
		f[k] = v
	}
	f["name"], f["segment"], f["advisor"] = c.Name, c.Segment, c.PreferredAdvisor
	f["vip"] = fmt.Sprint(c.VIP)
	return f, nil
}

func (d *csvDirectory) CheckPIN(ctx context.Context, id, pin string) (bool, error) {
	c, ok := d.byID[id]
	return ok && c.Attributes["pin"] != "" && c.Attributes["pin"] == pin, nil
}

// voiceBase is the simulator's enrolled base and the real voiceprint core
// behind ivr.Identifier and ivr.Verifier. Each customer of the CSV with a
// demo_speaker attribute is enrolled from that speaker's recordings in the
// shared speech folder: FSDD speakers (names) from takes 0-2 of each
// digit, LibriSpeech speakers (numbers) from their first 3 utterances.
// The speakers' next recordings (FSDD takes 3-17, one segment of ten
// digits per take; LibriSpeech utterances 4-7) are scored
// against every other customer's voiceprint, and the decision threshold
// is calibrated on those impostor cosines for a 1 % false-accept rate
// (voiceprint.CalibrateThreshold): test speech for the simulator should
// come from FSDD takes 18 and above or LibriSpeech utterances 8 and above.
type voiceBase struct {
	model  *voiceprint.Model
	scorer *voiceprint.Scorer
	op     voiceprint.OperatingPoint
	byID   map[string]voiceprint.Candidate
	all    []voiceprint.Candidate
}

var (
	_ ivr.Identifier = (*voiceBase)(nil)
	_ ivr.Verifier   = (*voiceBase)(nil)
)

func speechDir() string {
	if d := os.Getenv("VOXDESK_SPEECH"); d != "" {
		return d
	}
	return "/work/shared/speech"
}

// speakerFiles returns a demo speaker's enrolment recordings and held-out
// segments.
func speakerFiles(spk string) (enrol []string, heldOut [][]string, err error) {
	root := speechDir()
	if _, err := strconv.Atoi(spk); err == nil { // LibriSpeech speaker id
		files, _ := filepath.Glob(filepath.Join(root, "librispeech-test-other", "test-other", spk, "*.flac"))
		sort.Strings(files)
		if len(files) < 4 {
			return nil, nil, fmt.Errorf("speaker %s: %d LibriSpeech utterances under %s, want at least 4", spk, len(files), root)
		}
		for _, f := range files[3:min(len(files), 7)] {
			heldOut = append(heldOut, []string{f})
		}
		return files[:3], heldOut, nil
	}
	rec := func(digit, take int) string {
		return filepath.Join(root, "fsdd", "recordings", fmt.Sprintf("%d_%s_%d.wav", digit, spk, take))
	}
	for take := range 18 {
		var seg []string
		for digit := range 10 {
			seg = append(seg, rec(digit, take))
		}
		if take < 3 {
			enrol = append(enrol, seg...)
		} else {
			heldOut = append(heldOut, seg)
		}
	}
	return enrol, heldOut, nil
}

func newVoiceBase(dir *csvDirectory) (*voiceBase, error) {
	modelDir, err := voiceprint.FindModelDir()
	if err != nil {
		return nil, err
	}
	model, err := voiceprint.Load(modelDir)
	if err != nil {
		return nil, err
	}
	x := model.NewExtractor()
	embed := func(files []string) (voiceprint.Embedding, error) {
		var pcm []int16
		for _, f := range files {
			p, err := media.LoadPCM(f, call.SampleRate)
			if err != nil {
				return voiceprint.Embedding{}, err
			}
			pcm = append(pcm, p...)
		}
		return x.Embed(pcm, call.SampleRate)
	}
	b := &voiceBase{model: model, scorer: &voiceprint.Scorer{}, byID: map[string]voiceprint.Candidate{}}
	ids := make([]string, 0, len(dir.byID))
	for id := range dir.byID {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	tests := map[string][][]float32{} // customer -> held-out embeddings
	for _, id := range ids {
		spk := dir.byID[id].Attributes["demo_speaker"]
		if spk == "" {
			continue
		}
		enrol, heldOut, err := speakerFiles(spk)
		if err != nil {
			return nil, err
		}
		e, err := embed(enrol)
		if err != nil {
			return nil, fmt.Errorf("enrol %s (speaker %s): %w", id, spk, err)
		}
		vp, err := voiceprint.Enrol([]voiceprint.Embedding{e})
		if err != nil {
			return nil, fmt.Errorf("enrol %s: %w", id, err)
		}
		c := voiceprint.Candidate{ID: id, Vector: vp.Vector}
		b.byID[id] = c
		b.all = append(b.all, c)
		for _, seg := range heldOut {
			if t, err := embed(seg); err == nil {
				tests[id] = append(tests[id], t.Vector)
			}
		}
	}
	if len(b.all) < 2 {
		return nil, fmt.Errorf("%d customers with a demo_speaker: need at least 2 to calibrate", len(b.all))
	}
	var impostor []float64
	for id, vecs := range tests {
		for _, v := range vecs {
			for _, c := range b.all {
				if c.ID != id {
					raw, _, err := b.scorer.Score(v, c.Vector)
					if err != nil {
						return nil, err
					}
					impostor = append(impostor, raw)
				}
			}
		}
	}
	const far = 0.01
	th, err := voiceprint.CalibrateThreshold(impostor, far)
	if err != nil {
		return nil, fmt.Errorf("calibrate on %d impostor trials: %w", len(impostor), err)
	}
	b.op = voiceprint.OperatingPoint{Name: "FA1% (calibrated on the demo speakers)", FalseAccept: far, Threshold: th}
	return b, nil
}

// Listen identifies among candidates (all enrolled customers when empty).
func (b *voiceBase) Listen(candidates []string) ivr.Listener {
	cands := b.all
	if len(candidates) > 0 {
		cands = nil
		for _, id := range candidates {
			if c, ok := b.byID[id]; ok {
				cands = append(cands, c)
			}
		}
	}
	return &voiceListener{b: b, cands: cands, stream: b.model.NewStream()}
}

// Verify checks the caller against one claimed customer.
func (b *voiceBase) Verify(customer string) ivr.Listener {
	var cands []voiceprint.Candidate
	if c, ok := b.byID[customer]; ok {
		cands = []voiceprint.Candidate{c}
	}
	return &voiceListener{b: b, cands: cands, stream: b.model.NewStream()}
}

type voiceListener struct {
	b      *voiceBase
	cands  []voiceprint.Candidate
	stream *voiceprint.Stream
}

func (l *voiceListener) Write(frame []int16) error {
	l.stream.Write(frame)
	return nil
}

func (l *voiceListener) Decide() (string, float64, bool, time.Duration) {
	speech := time.Duration(l.stream.Speech() * float64(time.Second))
	if len(l.cands) == 0 {
		return "", 0, false, speech
	}
	e, err := l.stream.Embed()
	if err != nil {
		return "", 0, false, speech // not enough speech yet
	}
	best, _, err := l.b.scorer.Identify(e.Vector, l.cands, l.b.op)
	if err != nil {
		return "", 0, false, speech
	}
	return best.ID, best.Score, best.Accept, speech
}

func (l *voiceListener) Close() {}
