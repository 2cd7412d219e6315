package service

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/customer"
	"github.com/voxdesk/voxdesk/ivr"
)

// With voiceprint.max_streams at 2, a third identifying caller at once is
// not listened to: the flow gets "not sure" with the reason, the refusal
// is counted and logged, and the two admitted callers are still
// identified. A slot freed by a listening that ended admits the next.
func TestVoiceAdmission(t *testing.T) {
	v, db := demoVoice(t)
	ctx := context.Background()
	// Two demo customers the voice identifies from 8 s on its own.
	type caller struct {
		id  string
		pcm []int16
	}
	var callers []caller
	err := db.EachCustomer(ctx, func(c customer.Customer) error {
		if sp := c.Attributes["demo_speaker"]; sp != "" && len(callers) < 2 {
			pcm := heldOut(t, sp, 8)
			if got, _, sure, _ := listenTo(v.Listen(nil), pcm); sure && got == c.ID {
				callers = append(callers, caller{c.ID, pcm})
			}
		}
		return nil
	})
	if err != nil || len(callers) < 2 {
		t.Fatalf("demo callers identified alone: %d, %v", len(callers), err)
	}

	var logs strings.Builder
	saved := v.admit
	v.admit = newAdmission(2, slog.New(slog.NewTextHandler(&logs, nil)))
	defer func() { v.admit = saved }()

	first, second := v.Listen(nil), v.Listen(nil)
	third := v.Verify(callers[0].id)
	r, ok := third.(ivr.Reporter)
	if !ok {
		t.Fatalf("refused listener %T gives no verdict", third)
	}
	third.Write(callers[0].pcm[:call.FrameSamples])
	if who, _, sure, _ := third.Decide(); sure || who != "" {
		t.Errorf("refused listener decided %q sure=%v", who, sure)
	}
	if vd := r.Verdict(); vd.Voice != call.VoiceNotSure || vd.Warning != VoiceUnavailable {
		t.Errorf("refused verdict %+v, want not sure with %q", vd, VoiceUnavailable)
	}
	if n := testutil.ToFloat64(v.admit.refused.WithLabelValues("verify")); n != 1 {
		t.Errorf("voxdesk_voice_not_admitted_total{mode=verify} = %v, want 1", n)
	}
	if !strings.Contains(logs.String(), "at capacity") || !strings.Contains(logs.String(), "max_streams=2") {
		t.Errorf("capacity not logged: %q", logs.String())
	}
	third.Close()

	// The admitted two, fed frame by frame side by side as calls are.
	ls := []ivr.Listener{first, second}
	for i := 0; i+call.FrameSamples <= min(len(callers[0].pcm), len(callers[1].pcm)); i += call.FrameSamples {
		for k, l := range ls {
			if err := l.Write(callers[k].pcm[i : i+call.FrameSamples]); err != nil {
				t.Fatal(err)
			}
		}
	}
	for k, l := range ls {
		if got, score, sure, _ := l.Decide(); !sure || got != callers[k].id {
			t.Errorf("admitted caller %s: got %q sure=%v score %.2f", callers[k].id, got, sure, score)
		}
	}
	first.Close()
	fourth := v.Listen(nil)
	if _, refused := fourth.(refusedListener); refused {
		t.Error("a slot freed by a closed listening was not given to the next caller")
	}
	fourth.Close()
	second.Close()
	if n := v.admit.active.Load(); n != 0 {
		t.Errorf("%d streams still counted after every listening closed", n)
	}
	if !slices.ContainsFunc(v.Collectors(), func(c prometheus.Collector) bool { return c == v.admit.refused }) {
		t.Error("voxdesk_voice_not_admitted_total is not registered")
	}
}

func TestDeriveMaxStreams(t *testing.T) {
	v, _ := demoVoice(t)
	cost := streamCost(v.model)
	if !(cost > 0 && cost < 1) {
		t.Fatalf("one stream costs %.3f CPU-s per audio second: not real time", cost)
	}
	n := deriveMaxStreams(cost)
	t.Logf("stream cost %.4f CPU-s per audio second -> max_streams %d", cost, n)
	if n < 1 || float64(n)*cost > voiceCPUShare*float64(maxProcs()) {
		t.Errorf("max_streams %d at cost %.4f exceeds the CPU share", n, cost)
	}
}

func TestMaxStreamsChecked(t *testing.T) {
	for _, n := range []int{0, 1, 500} {
		c := VoiceprintConfig{MaxStreams: n}
		c.setDefaults()
		if err := c.check(); err != nil {
			t.Errorf("max_streams %d: %v", n, err)
		}
	}
	c := VoiceprintConfig{MaxStreams: -1}
	c.setDefaults()
	if err := c.check(); err == nil || !strings.Contains(err.Error(), "voiceprint.max_streams -1") {
		t.Errorf("max_streams -1: %v, want an error naming the key", err)
	}
}
