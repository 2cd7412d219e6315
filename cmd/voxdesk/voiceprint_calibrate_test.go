package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/voxdesk/voxdesk/customer"
	"github.com/voxdesk/voxdesk/media"
	"github.com/voxdesk/voxdesk/service"
	"github.com/voxdesk/voxdesk/voiceprint"
)

// hykeSpeakers lists the Hyke speakers' folders in manifest order
// (Reda, Panjwani, Cutrell, NSDR 2011).
func hykeSpeakers(t *testing.T, speech string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(speech, "hyke", "manifest.csv"))
	if err != nil && os.Getenv("CI") == "true" {
		t.Fatalf("Hyke speech absent in CI: %v", err)
	}
	if err != nil {
		t.Skipf("Hyke speech absent (set VOXDESK_SPEECH): %v", err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows[1:] {
		if dir := filepath.Dir(r[3]); r[2] == "1" {
			out = append(out, dir)
		}
	}
	return out
}

func hykeFile(dir string, line int) string {
	return fmt.Sprintf("hyke/%s/%s_%d.flac", dir, dir[2:], line)
}

// calibrationStore makes a SQLite store (key in $VOXDESK_VOICEPRINT_KEY)
// whose customers are the Hyke speakers given, enrolled from line 1.
func calibrationStore(t *testing.T, model, speech string, speakers []string) string {
	t.Helper()
	ctx := context.Background()
	keyText := customer.NewKey()
	t.Setenv(customer.KeyEnv, keyText)
	key, _ := customer.ParseKey(keyText)
	dbPath := filepath.Join(t.TempDir(), "vx.db")
	db, err := customer.Open(ctx, "sqlite:"+dbPath, customer.Config{Key: key}, customer.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var csvText strings.Builder
	csvText.WriteString("id,name,phones\n")
	for i := range speakers {
		fmt.Fprintf(&csvText, "C-%d,Customer %d,+3361000%04d\n", i, i, i)
	}
	if err := db.Import(ctx, strings.NewReader(csvText.String()), nil); err != nil {
		t.Fatal(err)
	}
	m, err := voiceprint.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	x := m.NewExtractor()
	for i, s := range speakers {
		pcm, err := media.LoadPCM(filepath.Join(speech, hykeFile(s, 1)), voiceprint.SampleRate)
		if err != nil {
			t.Fatal(err)
		}
		e, err := x.Embed(pcm, voiceprint.SampleRate)
		if err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprintf("C-%d", i)
		if _, err := db.GiveConsent(ctx, customer.Consent{CustomerID: id, Method: customer.ConsentAgent, GivenBy: "test"}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SaveVoiceprint(ctx, customer.Voiceprint{CustomerID: id, ModelID: calibrationModel, Embedding: e.Vector, Utterances: 1, SpeechSeconds: e.Speech}, "test"); err != nil {
			t.Fatal(err)
		}
	}
	return dbPath
}

// manifestRows writes Hyke speakers' rows: role cohort (line 1), or
// enrol (line 1) and test (lines 2-5), or test only.
func manifestRows(b *strings.Builder, speakers []string, role string) {
	for _, s := range speakers {
		switch role {
		case "cohort":
			fmt.Fprintf(b, "%s,%s,cohort\n", s, hykeFile(s, 1))
			continue
		case "enrol":
			fmt.Fprintf(b, "%s,%s,enrol\n", s, hykeFile(s, 1))
		}
		for line := 2; line <= 5; line++ {
			fmt.Fprintf(b, "%s,%s,test\n", s, hykeFile(s, line))
		}
	}
}

// TestVoiceprintCalibrate: a store of 45 customers (Hyke speakers) and a
// manifest of 38 other speakers (10 cohort, 14 enrolled with four test
// recordings each, 14 with test recordings only); calibrate writes the
// file the switch reads, prints the thresholds, and reports with a DET
// plot of 3, 5 and 7 s.
func TestVoiceprintCalibrate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the network on about 15 minutes of speech")
	}
	model, speech := speechAndModel(t)
	speakers := hykeSpeakers(t, speech)
	if len(speakers) < 83 {
		t.Fatalf("%d Hyke speakers", len(speakers))
	}
	ctx := context.Background()
	tmp := t.TempDir()
	dbPath := calibrationStore(t, model, speech, speakers[:45])
	var man strings.Builder
	man.WriteString("speaker_id,file,role\n")
	manifestRows(&man, speakers[45:55], "cohort")
	manifestRows(&man, speakers[55:69], "enrol")
	manifestRows(&man, speakers[69:], "test")
	manifest := filepath.Join(tmp, "speech.csv")
	if err := os.WriteFile(manifest, []byte(man.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(tmp, "report")
	var out bytes.Buffer
	args := []string{"--model", model, "--db", "sqlite:" + dbPath, "--speech", manifest, "--root", speech, "--report", report, "--quiet"}
	if err := voiceprintCalibrate(ctx, args, &out, &out); err != nil {
		t.Fatalf("calibrate: %v\n%s", err, out.String())
	}
	t.Log(out.String())
	calFile := dbPath + ".calibration.json"
	if !strings.Contains(out.String(), "calibration written to "+calFile) || !strings.Contains(out.String(), "N=45") {
		t.Errorf("output lacks the file or the N=45 column:\n%s", out.String())
	}
	// The switch reads it: the path it looks at for this store, a
	// loadable calibration with 3, 5 and 7 s tails and the cohort.
	if p := service.CalibrationPath("", "sqlite:"+dbPath); p != calFile {
		t.Errorf("switch looks at %s", p)
	}
	if _, err := service.ReadCalibration(calFile); err != nil {
		t.Errorf("the switch cannot read it: %v", err)
	}
	b, err := os.ReadFile(calFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"seconds": 3`, `"seconds": 5`, `"seconds": 7`, `"cohort"`, `"model": "vosk-model-spk-0.4"`} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("calibration file lacks %s", want)
		}
	}
	svg, err := os.ReadFile(filepath.Join(report, "det.svg"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(svg), "<path "); n != 3 || !strings.HasPrefix(string(svg), "<svg") {
		t.Errorf("det.svg: %d curves, want 3", n)
	}
	md, err := os.ReadFile(filepath.Join(report, "calibration-report.md"))
	if err != nil || !strings.Contains(string(md), "| 7 s |") {
		t.Errorf("report: %v\n%s", err, md)
	}
}

// TestCalibrateBenchReport makes bench/voiceprint/calibration: 40 Hyke
// customers in the store; the other 43 Hyke speakers enrolled and
// calling with four recordings each (target and impostor trials).
//
//	VOXDESK_BENCH=1 go test ./cmd/voxdesk -run TestCalibrateBenchReport
func TestCalibrateBenchReport(t *testing.T) {
	if os.Getenv("VOXDESK_BENCH") == "" {
		t.Skip("writes bench/voiceprint/calibration; set VOXDESK_BENCH=1")
	}
	model, speech := speechAndModel(t)
	speakers := hykeSpeakers(t, speech)
	dbPath := calibrationStore(t, model, speech, speakers[:40])
	var man strings.Builder
	man.WriteString("speaker_id,file,role\n")
	manifestRows(&man, speakers[40:], "enrol")
	manifest := filepath.Join(t.TempDir(), "speech.csv")
	if err := os.WriteFile(manifest, []byte(man.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	report, err := filepath.Abs(filepath.Join("..", "..", "bench", "voiceprint", "calibration"))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	args := []string{"--model", model, "--db", "sqlite:" + dbPath, "--speech", manifest, "--root", speech, "--report", report, "--quiet"}
	if err := voiceprintCalibrate(context.Background(), args, &out, &out); err != nil {
		t.Fatalf("calibrate: %v\n%s", err, out.String())
	}
	t.Log(out.String())
}

func TestVoiceprintCalibrateUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"voiceprint", "calibrate"}, "calibrate needs --speech"},
		{[]string{"voiceprint", "calibrate", "--speech", "m.csv", "--seconds", "7,3"}, "--seconds must ascend"},
		{[]string{"voiceprint", "calibrate", "--speech", "m.csv", "--seconds", "x"}, `"x" is not a length`},
	} {
		var out bytes.Buffer
		if code := run(context.Background(), c.args, &out); code != 2 || !strings.Contains(out.String(), c.want) {
			t.Errorf("%v: exit %d, output %q, want 2 and %q", c.args, code, out.String(), c.want)
		}
	}
}

// TestVoiceprintCalibrateBadInput: a manifest naming a missing file, a
// manifest without the role column, and no voiceprint key are refused
// with the reason, and no calibration file is written.
func TestVoiceprintCalibrateBadInput(t *testing.T) {
	model, _ := speechAndModel(t)
	tmp := t.TempDir()
	db := "sqlite:" + filepath.Join(tmp, "vx.db")
	write := func(name, text string) string {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	missing := write("missing.csv", "speaker_id,file,role\na,nowhere.flac,test\n")
	noRole := write("norole.csv", "speaker_id,file\na,x.flac\n")
	for _, c := range []struct {
		name, manifest, key, want string
	}{
		{"missing file", missing, customer.NewKey(), "line 2"},
		{"no role column", noRole, customer.NewKey(), `lacks column "role"`},
		{"no key", missing, "", "no voiceprint key"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(customer.KeyEnv, c.key)
			var out bytes.Buffer
			err := voiceprintCalibrate(context.Background(), []string{"--model", model, "--db", db, "--speech", c.manifest, "--quiet"}, &out, &out)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			if _, err := os.Stat(filepath.Join(tmp, "vx.db.calibration.json")); err == nil {
				t.Fatal("a calibration file was written")
			}
		})
	}
}
