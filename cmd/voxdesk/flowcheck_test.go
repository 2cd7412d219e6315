package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFlowCheckAgainstConfig: with --config, flow check refuses what the
// switch would refuse at start-up or reload (issue 11: "queue: biling"
// passed the check, then fell to the general queue at run time).
func TestFlowCheckAgainstConfig(t *testing.T) {
	dir := t.TempDir()
	flows := filepath.Join(dir, "flows")
	if err := os.Mkdir(flows, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(path, text string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	flow := "flow: main\noperator: agent\nsteps:\n  - id: billing\n    queue: billing\n    skills: [billing]\n    fail: agent\n  - id: agent\n    queue: general\n"
	good := filepath.Join(flows, "main.yaml")
	write(good, flow)
	typo := filepath.Join(dir, "typo.yaml")
	write(typo, strings.Replace(flow, "queue: billing", "queue: biling", 1))
	skill := filepath.Join(dir, "skill.yaml")
	write(skill, strings.Replace(flow, "skills: [billing]", "skills: [german]", 1))
	config := "ivr:\n  dir: flows\n  default: main\nrouting:\n  queues:\n    - {name: general}\n    - {name: billing, skills: [billing]}\n" +
		"agents:\n  accounts:\n    - {id: alice, skills: {billing: 2}}\n"
	cfg := filepath.Join(dir, "voxdesk.yaml")
	write(cfg, config)
	noIVR := filepath.Join(dir, "noivr.yaml")
	write(noIVR, "routing:\n  queues:\n    - {name: general}\n")
	badRoute := filepath.Join(dir, "badroute.yaml")
	write(badRoute, strings.Replace(config, "default: main", "default: main\n  routes: {\"+33140000002\": acount}", 1))

	runCLICases(t, []cliCase{
		{"the switch's own flows pass", []string{"flow", "check", "--config", cfg}, 0, []string{"main.yaml: ok: flow main"}},
		{"a misspelt queue fails against the switch", []string{"flow", "check", "--config", cfg, typo}, 1,
			[]string{`typo.yaml:5:12: queue "biling" is not a queue of the switch (did you mean billing?)`, "1 of 1 flow files have errors"}},
		{"the same file alone knows no queues", []string{"flow", "check", typo}, 0, []string{"typo.yaml: ok"}},
		{"a skill no agent has", []string{"flow", "check", typo, "--config", cfg, skill}, 1,
			[]string{`skill.yaml:6:14: skill "german": no agent of the switch has it`, "2 of 2 flow files have errors"}},
		{"a route to a flow that is not there", []string{"flow", "check", "--config", badRoute}, 1, []string{`ivr routes name flow "acount"`}},
		{"a configuration without flows needs files", []string{"flow", "check", "--config", noIVR}, 1, []string{"sets no ivr.dir"}},
		{"the example configuration and its flows pass", []string{"flow", "check", "--config", "../../examples/voxdesk.yaml"}, 0,
			[]string{"hotline.yaml: ok: flow hotline", "account.yaml: ok: flow account"}},
	})
}
