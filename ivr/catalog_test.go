package ivr_test

import (
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/voxdesk/voxdesk/ivr"
)

// switchCatalog is a switch with three queues and agents holding billing
// (up to level 2) and french.
var switchCatalog = &ivr.Catalog{
	Queues: []string{"general", "billing", "support"},
	Skills: map[string]int{"billing": 2, "french": 1},
}

// TestFlowCheckedAgainstTheSwitch: queue names, call-back queues and
// skills a flow uses must exist in the switch's configuration.
func TestFlowCheckedAgainstTheSwitch(t *testing.T) {
	flow := func(steps string) string {
		return "flow: f\noperator: none\nsteps:\n" + steps
	}
	tests := []struct {
		name    string
		src     string
		catalog *ivr.Catalog
		want    string // error text; "" for a valid flow
	}{
		{"known queue", flow("  - queue: billing\n"), switchCatalog, ""},
		{"misspelt queue", flow("  - queue: biling\n"), switchCatalog,
			`f.yaml:4:12: queue "biling" is not a queue of the switch (did you mean billing?)`},
		{"unknown queue, nothing close", flow("  - queue: sales\n"), switchCatalog,
			`f.yaml:4:12: queue "sales" is not a queue of the switch (routing.queues has billing, general, support)`},
		{"the fail way's queue is checked too", flow("  - queue: billing\n    fail: other\n  - id: other\n    queue: genral\n"), switchCatalog,
			`f.yaml:7:12: queue "genral" is not a queue of the switch (did you mean general?)`},
		{"call-back to an unknown queue", flow("  - callback: billling\n    number: \"'+33140000000'\"\n"), switchCatalog,
			`queue "billling" is not a queue of the switch (did you mean billing?)`},
		{"skill no agent has", flow("  - queue: billing\n    skills: [billing, german]\n"), switchCatalog,
			`f.yaml:5:23: skill "german": no agent of the switch has it`},
		{"skill above every agent's level", flow("  - queue: billing\n    skills: [billing:3]\n"), switchCatalog,
			`skill "billing" at level 3: the switch's agents have it at level 2 at most`},
		{"skill at a level agents have", flow("  - queue: billing\n    skills: [billing:2, french]\n"), switchCatalog, ""},
		{"without the switch's configuration, names are not checked", flow("  - queue: biling\n    skills: [german]\n"), nil, ""},
		{"a switch without queues leaves queue names alone", flow("  - queue: biling\n"), &ivr.Catalog{}, ""},
		{"a bad skill level is refused even alone", flow("  - queue: billing\n    skills: [\"billing:x\"]\n"), nil,
			`skill "billing:x": the level after : must be a whole number`},
		{"an empty skill name is refused even alone", flow("  - queue: billing\n    skills: [\":2\"]\n"), nil, `skill ":2" has no name`},
		{"a record step on a switch that cannot record", flow("  - record: p1s\n  - queue: billing\n"), &ivr.Catalog{NoRecording: "no key"},
			`f.yaml:4:5: record: this switch cannot record calls (no key)`},
		{"a record step on a switch that records", flow("  - record: p1s\n  - queue: billing\n"), switchCatalog, ""},
		{"a queue's record-notice on a switch that cannot record", flow("  - queue: billing\n    record-notice: p1s\n"), &ivr.Catalog{NoRecording: "no key"},
			`f.yaml:4:5: record: this switch cannot record calls (no key)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := testOpts
			opts.Switch = tc.catalog
			_, err := ivr.Parse("f.yaml", []byte(tc.src), opts)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Parse: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Parse = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestLibraryRefusesUnknownQueue: a reload that names a queue the switch
// does not have keeps the last good version and logs why; so does the
// start-up load.
func TestLibraryRefusesUnknownQueue(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "line.yaml")
	writeFile(t, file, strings.Replace(libV1, "queue: one", "queue: billing", 1))
	opts := testOpts
	opts.Switch = switchCatalog
	var logs strings.Builder
	lib, err := ivr.NewLibrary(dir, opts, ivr.WithLibraryLogger(slog.New(slog.NewTextHandler(&logs, nil))), ivr.WithVersionsDir(""))
	if err != nil {
		t.Fatal(err)
	}
	good := lib.Flow("line")
	writeFile(t, file, strings.Replace(libV1, "queue: one", "queue: biling", 1))
	err = lib.Reload()
	if err == nil || !strings.Contains(err.Error(), `queue "biling" is not a queue of the switch`) {
		t.Fatalf("Reload = %v", err)
	}
	if lib.Flow("line") != good {
		t.Fatal("the flow naming an unknown queue replaced the good one")
	}
	if l := logs.String(); !strings.Contains(l, "flow change refused; keeping the last good version") || !strings.Contains(l, "biling") {
		t.Fatalf("log %q", l)
	}

	other := t.TempDir()
	writeFile(t, filepath.Join(other, "line.yaml"), strings.Replace(libV1, "queue: one", "queue: biling", 1))
	if _, err := ivr.NewLibrary(other, opts, ivr.WithLibraryLogger(slog.New(slog.DiscardHandler)), ivr.WithVersionsDir("")); err == nil ||
		!strings.Contains(err.Error(), `queue "biling"`) {
		t.Fatalf("NewLibrary = %v", err)
	}
}
