package ivr_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/voxdesk/voxdesk/ivr"
	"github.com/voxdesk/voxdesk/res"
)

// builtin returns the embedded prompts as the loader's built-in set.
func builtin(t testing.TB) fs.FS {
	t.Helper()
	sub, err := fs.Sub(res.Prompts, "prompts")
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

var wantRE = regexp.MustCompile(`(?m)^# want: (\d+:\d+) (.*)$`)

// TestConformance walks testdata/flows: every valid flow loads, every
// invalid flow fails with exactly the errors its "# want:" lines state
// (position and the start of the message).
func TestConformance(t *testing.T) {
	opts := ivr.Options{Builtin: builtin(t)}
	valid, _ := filepath.Glob("testdata/flows/valid/*.yaml")
	invalid, _ := filepath.Glob("testdata/flows/invalid/*.yaml")
	if len(valid) == 0 || len(invalid) == 0 {
		t.Fatal("conformance corpus missing")
	}
	for _, file := range valid {
		t.Run("valid/"+filepath.Base(file), func(t *testing.T) {
			if _, err := ivr.Load(file, opts); err != nil {
				t.Fatalf("Load:\n%v", err)
			}
		})
	}
	for _, file := range invalid {
		t.Run("invalid/"+filepath.Base(file), func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			wants := wantRE.FindAllStringSubmatch(string(src), -1)
			if len(wants) == 0 {
				t.Fatal("no # want: line")
			}
			_, err = ivr.Load(file, opts)
			var list ivr.ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("Load = %v, want an ErrorList", err)
			}
			if len(list) != len(wants) {
				t.Errorf("got %d errors, want %d:\n%v", len(list), len(wants), err)
			}
			for _, w := range wants {
				found := false
				for _, e := range list {
					if e.Pos.String() == w[1] && strings.HasPrefix(e.Msg, w[2]) && e.File == file {
						found = true
					}
				}
				if !found {
					t.Errorf("missing error %s %s; got:\n%v", w[1], w[2], err)
				}
			}
		})
	}
}
