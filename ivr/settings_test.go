package ivr_test

import (
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/voxdesk/voxdesk/ivr"
)

func TestSettingsYAML(t *testing.T) {
	src := `
dir: examples/flows
default: hotline
routes:
  "+33140000000": account
poll: 2s
decide_every: 250ms
hold_limit: 1m
`
	var s ivr.Settings
	if err := yaml.UnmarshalWithOptions([]byte(src), &s, yaml.DisallowUnknownField()); err != nil {
		t.Fatal(err)
	}
	if !s.Enabled() || s.Default != "hotline" || s.Routes["+33140000000"] != "account" || s.Poll != 2*time.Second {
		t.Fatalf("decoded %+v", s)
	}
	var cfg ivr.Config
	s.Apply(&cfg)
	if cfg.DecideEvery != 250*time.Millisecond || cfg.HoldLimit != time.Minute {
		t.Errorf("Apply gave %+v", cfg)
	}
	if err := yaml.UnmarshalWithOptions([]byte("dirr: x\n"), &s, yaml.DisallowUnknownField()); err == nil {
		t.Error("unknown key accepted")
	}
	if (ivr.Settings{}).Enabled() {
		t.Error("zero Settings enabled")
	}
}
