package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/voxdesk/voxdesk/ivr"
	"github.com/voxdesk/voxdesk/voiceprint"
)

func TestFlowCommands(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.yaml")
	b := filepath.Join(dir, "b.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	src := "flow: t\noperator: agent\nsteps:\n  - id: menu\n    menu: welcome\n    choices:\n      1: billing\n    fail: agent\n  - id: billing\n    queue: billing\n  - id: agent\n    queue: general\n"
	for file, text := range map[string]string{
		a:   src,
		b:   strings.Replace(src, "queue: billing", "queue: accounts", 1),
		bad: "operator: agent\nsteps:\n  - plya: welcome\n",
	} {
		if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	vipFlow := filepath.Join(dir, "vip.yaml")
	vip := "operator: none\nsteps:\n  - identify:\n  - branch:\n      - when: \"customer.vip\"\n        goto: vip\n  - hangup\n  - id: vip\n    queue: vip\n    preferred: customer.advisor\n"
	if err := os.WriteFile(vipFlow, []byte(vip), 0o644); err != nil {
		t.Fatal(err)
	}
	// A kept version, as a Library writes it.
	kept, err := ivr.Load(a, flowOptions())
	if err != nil {
		t.Fatal(err)
	}
	keptHash := kept.Hash()
	if err := os.MkdirAll(filepath.Join(dir, ".versions"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".versions", "t-"+kept.Version()+".yaml"), kept.Source(), 0o644); err != nil {
		t.Fatal(err)
	}
	runCLICases(t, []cliCase{
		{"check passes a good flow", []string{"flow", "check", a}, 0, []string{"a.yaml: ok: flow t version"}},
		{"check lists every error with its position", []string{"flow", "check", a, bad}, 1,
			[]string{"bad.yaml:3:5: unknown step type \"plya\"", "bad.yaml:1:11: operator step \"agent\" does not exist", "1 of 2 flow files have errors"}},
		{"check refuses two flows of one name", []string{"flow", "check", a, b}, 1, []string{`b.yaml:1:1: flow name "t" is already used by`}},
		{"check needs a file", []string{"flow", "check"}, 2, []string{"needs one or more flow files"}},
		{"simulate walks the menu", []string{"flow", "simulate", a, "--digits", "1", "--at", "2026-11-23T09:00"}, 0,
			[]string{"menu ", "billing        queue billing", `queue              "billing"`}},
		{"simulate: 0 in the menu reaches a person", []string{"flow", "simulate", "--digits", "0", a}, 0,
			[]string{"agent          queue general"}},
		{"simulate looks the caller up in a customer CSV", []string{"flow", "simulate", vipFlow, "--customers", "../../examples/customers.csv", "--caller", "+33639980102"}, 0,
			[]string{"vip            queue vip", `ident.method       "number"`, `customer           "C-1002"`, `queue.preferred    "bruno"`}},
		{"simulate refuses a bad key", []string{"flow", "simulate", a, "--digits", "x"}, 2, []string{"not a telephone key"}},
		{"graph draws SVG", []string{"flow", "graph", a}, 0, []string{"<svg", `id="step-billing"`, "</svg>"}},
		{"diff shows the changed step", []string{"flow", "diff", a, b}, 0,
			[]string{"~ step billing: queue accounts", "was: queue billing", "-  10      queue: billing", "+  10      queue: accounts"}},
		{"diff of an unknown version", []string{"flow", "diff", "--versions", filepath.Join(dir, ".versions"), a, "abcdef123"}, 1, []string{"version abcdef123 not found"}},
		{"diff of a kept version by hash", []string{"flow", "diff", "--versions", filepath.Join(dir, ".versions"), keptHash[:8], b}, 0,
			[]string{"flow t: " + keptHash[:12] + " -> ", "~ step billing: queue accounts"}},
	})
}

// cliCase is one command line, its exit code and what its output holds.
type cliCase struct {
	name     string
	args     []string
	wantCode int
	wantOut  []string
}

func runCLICases(t *testing.T, cases []cliCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := captureStdout(t, func(stderr *bytes.Buffer) int {
				return run(context.Background(), tc.args, stderr)
			}, tc.wantCode)
			for _, w := range tc.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// captureStdout runs fn with os.Stdout and os.Stderr redirected and
// returns all it wrote, checking the exit code.
func captureStdout(t *testing.T, fn func(stderr *bytes.Buffer) int, wantCode int) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	oldOut, oldErr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = w, w
	done := make(chan []byte)
	go func() {
		var b bytes.Buffer
		b.ReadFrom(r)
		done <- b.Bytes()
	}()
	var stderr bytes.Buffer
	code := fn(&stderr)
	os.Stdout, os.Stderr = oldOut, oldErr
	w.Close()
	out := string(<-done) + stderr.String()
	if code != wantCode {
		t.Fatalf("exit %d, want %d:\n%s", code, wantCode, out)
	}
	return out
}

// TestFlowSimulateSpeech runs the example hotline with the real
// voiceprint core: speech the enrolment and calibration did not use
// identifies its customer by voice.
func TestFlowSimulateSpeech(t *testing.T) {
	if testing.Short() {
		t.Skip("enrols and calibrates the demo speakers: about 15 s")
	}
	if _, err := voiceprint.FindModelDir(); err != nil {
		t.Skipf("speaker model not installed (make model): %v", err)
	}
	fsdd := filepath.Join(speechDir(), "fsdd", "recordings")
	if _, err := os.Stat(filepath.Join(fsdd, "0_george_30.wav")); err != nil {
		t.Skipf("speech corpus missing (set VOXDESK_SPEECH): %v", err)
	}
	var george []string
	for d := range 10 {
		george = append(george, filepath.Join(fsdd, fmt.Sprintf("%d_george_30.wav", d)), filepath.Join(fsdd, fmt.Sprintf("%d_george_31.wav", d)))
	}
	args := []string{"flow", "simulate", "../../examples/flows/hotline.yaml", "--customers", "../../examples/customers.csv",
		"--digits", "1", "--caller", "+33199999999", "--at", "2026-11-23T09:00", "--tz", "Europe/Paris",
		"--speech", strings.Join(george, ",")}
	out := captureStdout(t, func(stderr *bytes.Buffer) int { return run(context.Background(), args, stderr) }, 0)
	for _, want := range []string{`customer           "C-1001"`, `ident.method       "voice"`, `queue              "billing"`} {
		if !strings.Contains(out, want) {
			t.Errorf("george: output lacks %q:\n%s", want, out)
		}
	}
}
