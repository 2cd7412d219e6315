package bench

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// A rate passes with fewer than 0.1 % of its calls failed; the figure is
// the highest rate reached among those that passed.
func TestSetupSteps(t *testing.T) {
	step := func(rate, ok, failed int, reached float64) *setupStep {
		return &setupStep{setupParams: setupParams{rate: rate}, ok: ok, failed: failed, reached: reached}
	}
	for _, tc := range []struct {
		name   string
		step   *setupStep
		passed bool
	}{
		{"none failed", step(100, 1000, 0, 100), true},
		{"1 of 2000 failed (0.05 %)", step(200, 1999, 1, 199), true},
		{"1 of 1000 failed (0.1 %)", step(300, 999, 1, 280), false},
		{"no call placed", step(400, 0, 0, 0), false},
	} {
		if got := tc.step.passed(); got != tc.passed {
			t.Errorf("%s: passed %v, want %v", tc.name, got, tc.passed)
		}
	}
	steps := []*setupStep{step(100, 1000, 0, 99), step(200, 2000, 0, 196), step(300, 2990, 10, 290)}
	if best := bestSetupStep(steps); best == nil || best.rate != 200 {
		t.Errorf("best step %+v, want the 200 calls/s one", best)
	}
	if best := bestSetupStep(steps[2:]); best != nil {
		t.Errorf("best step %+v of a ladder where none passed", best)
	}
}

// SIPp's -trace_rtt file: a header, then Date_ms;response_time_ms;rtd_no.
func TestReadSIPpRTT(t *testing.T) {
	path := filepath.Join(t.TempDir(), "setup_123_rtt.csv")
	data := "Date_ms;response_time_ms;rtd_no\n1764680000200.500;12.000000;1\n1764680000100.000;3.500000;1\n"
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	at, rtt := readSIPpRTT(t, path)
	if len(at) != 2 || at[1]-at[0] != 100500*time.Microsecond {
		t.Errorf("arrival times %v, want two 100.5 ms apart, in order", at)
	}
	if len(rtt) != 2 || rtt[0] != 12*time.Millisecond || rtt[1] != 3500*time.Microsecond {
		t.Errorf("response times %v, want 12 ms and 3.5 ms", rtt)
	}
}

// SIPp's error log: events (date, time, epoch: what happened, then the
// message quoted over several lines; one may follow another on its
// line), counted by kind.
func TestSIPpErrorKinds(t *testing.T) {
	log := "The following events occurred:\n" +
		"2026-12-02\t13:10:56.808982\t1796217056.808982: Dead call 250-27717@127.0.0.1 (successful), received 'SIP/2.0 200 OK\nVia: SIP/2.0/UDP 127.0.0.1:39377\n'.\n" +
		"2026-12-02\t13:10:57.000001\t1796217057.000001: Dead call 251-27717@127.0.0.1 (successful), received 'SIP/2.0 200 OK\n'.\n" +
		"2026-12-02\t13:10:57.500000\t1796217057.500000: Overload warning: the minor watchdog timer 500ms has been tripped (548), 119 trips remaining." +
		"2026-12-02\t13:10:58.100000\t1796217058.100000: Aborting call on unexpected message for Call-Id '9-27717@127.0.0.1': while expecting '200' (index 3), received 'SIP/2.0 503 Service Unavailable\n'.\n"
	got := sippErrorKinds(log)
	want := []string{
		"2 x Dead call … (successful), received",
		"1 x Aborting call on unexpected message for Call-Id",
		"1 x SIPp overload warning: its watchdog timer tripped (the load generator itself ran late)",
	}
	if !slices.Equal(got, want) {
		t.Errorf("kinds %q, want %q", got, want)
	}
}
