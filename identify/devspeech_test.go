package identify

import (
	"encoding/csv"
	"encoding/gob"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/voxdesk/voxdesk/media"
	"github.com/voxdesk/voxdesk/media/g711"
	"github.com/voxdesk/voxdesk/voiceprint"
)

// devUtt is one embedded utterance of the development speech.
type devUtt struct {
	Corpus  string
	Speaker string  // corpus-qualified
	Enrol   bool    // an enrolment utterance (whole), else a test one
	Cut     float64 // test: the net speech streamed, one of devCuts
	Speech  float64 // net speech the model heard
	Vec     []float32
}

// devCuts are the test lengths: 3, 5 and 7 s of net speech.
var devCuts = []float64{3, 5, 7}

var devOnce = map[bool]*sync.Once{false: {}, true: {}}
var devData = map[bool][]devUtt{}
var devErr = map[bool]error{}

// speechDir is the development speech, or the test is skipped outside CI
// (and fails in CI, where make test provides it).
func speechDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("VOXDESK_SPEECH")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "speech")
	}
	if _, err := os.Stat(filepath.Join(dir, "hyke", "manifest.csv")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("development speech absent in CI (VOXDESK_SPEECH): %v", err)
		}
		t.Skipf("development speech absent (set VOXDESK_SPEECH): %v", err)
	}
	return dir
}

func devModel(t testing.TB, int8 bool) *voiceprint.Model {
	t.Helper()
	dir, err := voiceprint.FindModelDir()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("speaker model absent in CI: %v", err)
		}
		t.Skipf("speaker model absent (voxdesk model fetch): %v", err)
	}
	m, err := voiceprint.Open(voiceprint.Config{Dir: dir, Int8: int8})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// devSpeech embeds the development speech (Hyke, LibriSpeech test-other,
// FSDD) through a mu-law round trip: each speaker's enrolment utterances
// whole, their test utterances streamed to each of devCuts of speech. Hyke: line 1
// enrols, lines 2-5 test (Reda, Panjwani, Cutrell, "Hyke: A Low-cost
// Remote Attendance Tracking System for Developing Regions", NSDR 2011).
// LibriSpeech: a speaker's first two files enrol, the rest test. FSDD:
// takes 0-3 of every digit enrol (joined), takes 4-49 joined ten digits
// at a time make the tests. VOXDESK_IDENT_CACHE names a file to keep the
// embeddings in between runs while developing.
func devSpeech(t testing.TB, int8 bool) []devUtt {
	t.Helper()
	root := speechDir(t)
	m := devModel(t, int8)
	devOnce[int8].Do(func() { devData[int8], devErr[int8] = loadDevSpeech(root, m, int8) })
	if devErr[int8] != nil {
		t.Fatal(devErr[int8])
	}
	return devData[int8]
}

func loadDevSpeech(root string, m *voiceprint.Model, int8 bool) ([]devUtt, error) {
	cache := os.Getenv("VOXDESK_IDENT_CACHE")
	if cache != "" {
		cache += fmt.Sprintf(".int8=%v", int8)
		if f, err := os.Open(cache); err == nil {
			defer f.Close()
			var out []devUtt
			if err := gob.NewDecoder(f).Decode(&out); err == nil {
				return out, nil
			}
		}
	}
	type job struct {
		u     devUtt
		files []string
	}
	var jobs []job
	add := func(corpus, spk string, enrol bool, files []string) {
		if enrol {
			jobs = append(jobs, job{devUtt{Corpus: corpus, Speaker: corpus + ":" + spk, Enrol: true}, files})
			return
		}
		jobs = append(jobs, job{devUtt{Corpus: corpus, Speaker: corpus + ":" + spk}, files})
	}
	hyke, err := readCSV(filepath.Join(root, "hyke", "manifest.csv"))
	if err != nil {
		return nil, err
	}
	for _, r := range hyke {
		add("hyke", r["speaker_id"], r["line"] == "1", []string{filepath.Join(root, "hyke", r["file"])})
	}
	libri, err := readCSV(filepath.Join(root, "librispeech-test-other", "manifest.csv"))
	if err != nil {
		return nil, err
	}
	seen := map[string]int{}
	for _, r := range libri {
		spk := r["speaker_id"]
		seen[spk]++
		add("libri", spk, seen[spk] <= 2, []string{filepath.Join(root, "librispeech-test-other", r["file"])})
	}
	fsdd, err := readCSV(filepath.Join(root, "fsdd", "manifest.csv"))
	if err != nil {
		return nil, err
	}
	enrolFiles := map[string][]string{}
	testFiles := map[string][]string{}
	var fsddSpk []string
	for _, r := range fsdd {
		spk := r["speaker_id"]
		take, _ := strconv.Atoi(r["take"])
		if _, ok := enrolFiles[spk]; !ok {
			fsddSpk = append(fsddSpk, spk)
		}
		path := filepath.Join(root, "fsdd", r["file"])
		if take < 4 {
			enrolFiles[spk] = append(enrolFiles[spk], path)
		} else if take < 24 {
			testFiles[spk] = append(testFiles[spk], path)
		}
	}
	for _, spk := range fsddSpk {
		add("fsdd", spk, true, enrolFiles[spk])
		fs := testFiles[spk]
		for i := 0; i+20 <= len(fs); i += 20 {
			add("fsdd", spk, false, fs[i:i+20])
		}
	}
	outs := make([][]devUtt, len(jobs))
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	work := make(chan int)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := m.NewExtractor()
			for i := range work {
				outs[i], errs[i] = embedJob(m, x, jobs[i].u, jobs[i].files)
			}
		}()
	}
	for i := range jobs {
		work <- i
	}
	close(work)
	wg.Wait()
	var out []devUtt
	for i, err := range errs {
		if err != nil {
			return nil, err
		}
		out = append(out, outs[i]...)
	}
	if cache != "" {
		if f, err := os.Create(cache); err == nil {
			_ = gob.NewEncoder(f).Encode(out)
			f.Close()
		}
	}
	return out, nil
}

// embedJob loads files through a mu-law round trip; an enrolment is
// embedded whole, a test is streamed 20 ms at a time, as a call is, and
// embedded when its net speech first reaches each of devCuts. Cuts the
// audio does not reach are left out, as is an enrolment with too little
// speech.
func embedJob(m *voiceprint.Model, x *voiceprint.Extractor, u devUtt, files []string) ([]devUtt, error) {
	var pcm []int16
	for _, f := range files {
		p, err := media.LoadPCM(f, voiceprint.SampleRate)
		if err != nil {
			return nil, err
		}
		pcm = append(pcm, p...)
	}
	for k, s := range pcm {
		pcm[k] = g711.UlawToLinear(g711.LinearToUlaw(s))
	}
	if u.Enrol {
		e, err := x.Embed(pcm, voiceprint.SampleRate)
		if err != nil {
			return nil, nil
		}
		u.Vec, u.Speech = e.Vector, e.Speech
		return []devUtt{u}, nil
	}
	var out []devUtt
	for i, e := range StreamCuts(m, pcm, devCuts) {
		v := u
		v.Cut, v.Vec, v.Speech = devCuts[i], e.Vector, e.Speech
		out = append(out, v)
	}
	return out, nil
}

func readCSV(path string) ([]map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var out []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out, nil
}
