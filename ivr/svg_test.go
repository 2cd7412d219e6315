package ivr_test

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"

	"github.com/voxdesk/voxdesk/ivr"
)

func TestWriteSVG(t *testing.T) {
	f, err := ivr.Load("testdata/flows/valid/everything.yaml", ivr.Options{Builtin: builtin(t)})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := f.WriteSVG(&buf); err != nil {
		t.Fatal(err)
	}
	// Well-formed XML, one box per step, one path per jump.
	dec := xml.NewDecoder(bytes.NewReader(buf.Bytes()))
	groups, paths := map[string]bool{}, 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			switch se.Name.Local {
			case "g":
				for _, a := range se.Attr {
					if a.Name.Local == "id" {
						groups[strings.TrimPrefix(a.Value, "step-")] = true
					}
				}
			case "path":
				paths++
			}
		}
	}
	for _, id := range f.StepIDs() {
		if !groups[id] {
			t.Errorf("step %s has no box", id)
		}
	}
	if len(groups) != len(f.StepIDs()) {
		t.Errorf("%d boxes for %d steps", len(groups), len(f.StepIDs()))
	}
	// Jumps in everything.yaml, counted by hand: the branch's 3 cases and
	// else; the menu's 4 choices and fail; next: bye of cb, vm and enrol;
	// enrol's fail; vip's next; agent's and out's fail (16; check -> menu
	// and closed -> bye are adjacent), and the sub-flow's 3 fails: 19. The
	// arrow marker is a path too.
	if want := 19 + 1; paths != want {
		t.Errorf("%d paths, want %d", paths, want)
	}
	for _, want := range []string{"everything (version " + f.Version() + ")", "sub-flow pin-check", "not open(&#39;office&#39;) → closed", "1 → cb"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
}
