package ivr_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/ivr"
)

// FuzzParse feeds arbitrary flow files to the loader: it must never
// panic, a refused file must say where and why, and an accepted flow must
// draw, diff and run (simulated, briefly) without panicking. Checked
// against a switch's catalog as well, the file may only gain errors.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"testdata/flows/*/*.yaml", "../examples/flows/*.yaml"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			src, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(src)
		}
	}
	f.Add([]byte("operator: none\nsteps:\n  - branch:\n      - when: \"((((score\"\n        goto: x\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte("operator: none\nsteps: [{set: {a: \"b\", b: \"a\"}}, hangup]\n"))
	f.Add([]byte("operator: none\nsteps:\n  - queue: biling\n    skills: [billing:9, \"\", german]\n  - callback: x\n"))
	opts := ivr.Options{Builtin: builtin(f)}
	withSwitch := opts
	withSwitch.Switch = switchCatalog
	wellRefused := func(t *testing.T, err error) {
		list, ok := err.(ivr.ErrorList)
		if !ok || len(list) == 0 {
			t.Fatalf("error is not a non-empty ErrorList: %T %v", err, err)
		}
		for _, e := range list {
			if e.Pos.Line < 1 || e.Pos.Col < 1 || e.Msg == "" {
				t.Fatalf("error without position or message: %+v", e)
			}
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		fl, err := ivr.Parse("fuzz.yaml", src, opts)
		_, serr := ivr.Parse("fuzz.yaml", src, withSwitch)
		if serr != nil {
			wellRefused(t, serr)
		}
		if err != nil {
			wellRefused(t, err)
			if serr == nil {
				t.Fatalf("accepted against the switch, refused alone: %v", err)
			}
			return
		}
		if err := fl.WriteSVG(&bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
		if err := ivr.WriteDiff(&bytes.Buffer{}, fl, fl); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err = ivr.Simulate(ctx, fl, ivr.Simulation{Digits: []rune("1#0"), Max: 30 * time.Second}, ivr.Config{HoldLimit: time.Second}, nil)
		if err != nil && strings.Contains(err.Error(), "panicked") {
			t.Fatal(err)
		}
	})
}
