package sip

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

// sipgo's log lines are cut to logHead bytes per value and its warnings
// and errors rate-limited, with the count of those suppressed.
func TestBoundedHandler(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(newBoundedHandler(slog.NewTextHandler(&buf, nil))).With("component", "sipgo")
	big := strings.Repeat("é", 40000) // 80 KB, cut on a rune boundary
	for range 100 {
		log.Error("failed to parse", "data", big, "error", errors.New(big))
	}
	log.Info("not limited", "data", "short")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 11 {
		t.Fatalf("%d lines, want 10 errors and the info line", len(lines))
	}
	for _, l := range lines {
		if len(l) > 2*logHead+300 {
			t.Fatalf("line of %d bytes: %.300s", len(l), l)
		}
		if strings.ContainsRune(l, '\uFFFD') {
			t.Fatalf("a rune was cut in half: %.300s", l)
		}
	}
	if !strings.Contains(lines[0], "(80000 bytes)") || !strings.Contains(lines[10], "not limited") {
		t.Errorf("lines:\n%s", strings.Join(lines, "\n"))
	}
	// After the period, the next error says how many were dropped.
	bh := log.Handler().(*boundedHandler)
	bh.limit.start = bh.limit.start.Add(-2 * bh.limit.period)
	log.Error("again")
	if !strings.Contains(buf.String(), "suppressed=90") {
		t.Errorf("no suppressed count: %s", buf.String()[len(buf.String())-200:])
	}
}
