// Command switchd runs the voxdesk switch for the load bench in a process
// of its own, so its CPU time and memory can be read from /proc. It is
// `voxdesk serve` with a choice of call handler: "echo" (answer, then send
// every frame of caller audio back: RTP both ways through the jitter
// buffer and the paced sender) or "demo" (the built-in demo). On exit
// it prints one JSON line on stdout: the DTMF digits the demo handler
// received, by key (the peer bench reads it to say what voxdesk saw).
// With -cpuprofile it writes a CPU profile from the end of start-up to
// exit (the set-up rate bench reports its top functions).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"sync"
	"syscall"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/service"
)

func main() {
	config := flag.String("config", "", "YAML configuration")
	handler := flag.String("handler", "echo", "echo or demo")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile to this file, from the end of start-up to exit")
	flag.Parse()
	if err := run(*config, *handler, *cpuProfile); err != nil {
		fmt.Fprintln(os.Stderr, "switchd:", err)
		os.Exit(1)
	}
}

func run(config, handler, cpuProfile string) error {
	cfg, err := service.LoadConfig(config)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	digits := map[string]int{}
	opts := []service.Option{service.WithDigitObserver(func(_ *call.Call, d call.Digit) {
		mu.Lock()
		defer mu.Unlock()
		digits[string(d.Key)]++
	})}
	switch handler {
	case "echo":
		opts = append(opts, service.WithHandler(call.HandlerFunc(echo)))
	case "demo":
	default:
		return fmt.Errorf("unknown handler %q", handler)
	}
	svc, err := service.New(cfg, opts...)
	if err != nil {
		return err
	}
	if cpuProfile != "" {
		// Started after New, so start-up work (password hashing, prompt
		// decoding) stays out of the per-call figures.
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := svc.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	return json.NewEncoder(os.Stdout).Encode(map[string]any{"digits": digits})
}

// echo answers and plays the caller's audio back until the caller leaves.
func echo(ctx context.Context, c *call.Call) error {
	if err := c.Leg.Answer(ctx); err != nil {
		return err
	}
	frame := make([]int16, call.FrameSamples)
	for {
		n, err := c.Leg.ReadAudio(ctx, frame)
		if err != nil {
			return nil
		}
		if err := c.Leg.WriteAudio(ctx, frame[:n]); err != nil {
			return nil
		}
	}
}
