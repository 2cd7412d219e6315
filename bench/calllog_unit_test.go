package bench

import (
	"log/slog"
	"testing"
	"time"
)

func TestCallLogKeepsTheIVREventsOfEachCall(t *testing.T) {
	h := newCallLog()
	log := slog.New(h)
	a := log.With("component", "ivr").With("call_id", "k00-1-9@127.0.0.1")
	a.Info("ivr: flow started")
	a.Info("ivr: identify", "customer", "C-1001", "method", "voice", "score", 0.81)
	a.Info("ivr: queue", "queue", "vip")
	log.With("call_id", "u00-2-9@127.0.0.1").Info("ivr: flow started")
	log.Info("ivr: flow started") // no call_id: not a call's
	log.Info("demo voiceprint enrolled", "customer", "C-1001")
	a.Warn("rtp sender fell behind, packets skipped")
	a.Warn("rtp sender fell behind, packets skipped")
	log.Error("sip: bad request")
	log.Debug("ivr: identify", "customer", "C-9") // below info: dropped

	calls, warns, enrolled := h.snapshot()
	c := calls["k00-1-9@127.0.0.1"]
	if len(calls) != 2 || c.started.IsZero() || c.identified.Before(c.started) || c.customer != "C-1001" ||
		c.method != "voice" || c.score != 0.81 || c.queue != "vip" {
		t.Errorf("%d calls, k00: %+v", len(calls), c)
	}
	if len(warns) != 2 || warns[0] != "2 x WARN rtp sender fell behind, packets skipped" || enrolled != 1 {
		t.Errorf("warnings %q, %d enrolled", warns, enrolled)
	}
}

func TestIdentOutcome(t *testing.T) {
	r := &e2eResult{callers: []e2eCaller{{tag: "k00", customer: "C-1"}, {tag: "u00"}}}
	now := time.Now()
	up := func(customer string) callEvents {
		return callEvents{started: now, identified: now.Add(9 * time.Second), customer: customer}
	}
	for _, tc := range []struct {
		id   string
		ev   callEvents
		want string
	}{
		{"k00-1-7@h", up("C-1"), "enrolled caller identified as themself"},
		{"k00-2-7@h", up("C-2"), "enrolled caller identified as ANOTHER customer"},
		{"k00-3-7@h", up(""), "enrolled caller not identified"},
		{"u00-1-7@h", up("C-1"), "unknown caller identified as a customer"},
		{"u00-2-7@h", up(""), "unknown caller not identified"},
		{"k00-4-7@h", callEvents{started: now}, "hung up before the identify step decided"},
		{"k00-5-7@h", callEvents{}, "not answered by the IVR"},
		{"x-1", up("C-1"), "not a bench call"},
	} {
		if got := r.identOutcome(tc.id, tc.ev); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.id, got, tc.want)
		}
	}
}

func TestCallLogKeepsTheRouterEventsOfEachCall(t *testing.T) {
	h := newCallLog()
	log := slog.New(h)
	a := log.With("call_id", "k00-1-9@127.0.0.1")
	a.Info("ivr: queue", "queue", "general")
	a.Info("answered", "agent", "bench-a03", "queue", "general", "wait", 4200*time.Millisecond)
	a.Info("queue call ended", "result", "answered", "queue", "general", "wait", 4200*time.Millisecond)
	b := log.With("call_id", "u00-2-9@127.0.0.1")
	b.Info("queue call ended", "result", "abandoned", "queue", "vip", "wait", 31*time.Second)

	calls, _, _ := h.snapshot()
	if c := calls["k00-1-9@127.0.0.1"]; c.answered.IsZero() || c.agent != "bench-a03" || !c.ended ||
		c.result != "answered" || c.wait != 4200*time.Millisecond {
		t.Errorf("k00: %+v", c)
	}
	if c := calls["u00-2-9@127.0.0.1"]; !c.answered.IsZero() || !c.ended || c.result != "abandoned" || c.wait != 31*time.Second {
		t.Errorf("u00: %+v", c)
	}
}
