package ivr_test

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/call/calltest"
	"github.com/voxdesk/voxdesk/ivr"
)

// BenchmarkParseHotline loads the example hotline (prompts decoded from
// WAV included): the cost of a reload.
func BenchmarkParseHotline(b *testing.B) {
	src, err := os.ReadFile("../examples/flows/hotline.yaml")
	if err != nil {
		b.Fatal(err)
	}
	opts := ivr.Options{Prompts: os.DirFS("../examples/flows"), Builtin: builtin(b)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ivr.Parse("hotline.yaml", src, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRunnerFrame is the runner's cost per 20 ms of call (prompt
// playing, keys polled, caller audio read) on a scripted leg: one core
// serves about 20 ms / (ns/frame) calls' worth of IVR.
func BenchmarkRunnerFrame(b *testing.B) {
	f, err := ivr.Parse("b.yaml", []byte("operator: none\nsteps:\n  - play: [p3s, p3s, p3s, p3s]\n  - hangup\n"), testOpts)
	if err != nil {
		b.Fatal(err)
	}
	r := ivr.NewRunner(f, ivr.Config{}, ivr.WithLogger(slog.New(slog.DiscardHandler)))
	const frames = 12 * 50 // 12 s of prompts
	b.ReportAllocs()
	for b.Loop() {
		leg := calltest.NewLeg()
		if err := r.ServeCall(context.Background(), call.New("b", leg, nil)); err != nil {
			b.Fatal(err)
		}
		if leg.Now() < 12*time.Second {
			b.Fatalf("call lasted %v", leg.Now())
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*frames), "ns/frame")
}
