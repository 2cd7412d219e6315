package service_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/call/calltest"
	"github.com/voxdesk/voxdesk/media"
	"github.com/voxdesk/voxdesk/service"
)

func demoPrompts(t *testing.T) (*media.Prompt, *media.Prompt) {
	t.Helper()
	cfg := service.DefaultConfig()
	cfg.HTTP.Listen, cfg.SIP.UDP, cfg.SIP.TCP = "off", "off", "off"
	svc, err := service.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	return svc.Prompts().Get("welcome"), svc.Prompts().Get("goodbye")
}

func TestDemo(t *testing.T) {
	welcome, goodbye := demoPrompts(t)
	for _, tc := range []struct {
		name     string
		script   []calltest.Event
		idle     time.Duration
		digits   string
		goodbye  bool
		minReal  time.Duration // real time, for the wall-clock idle timer
		hungUpBy call.Cause
	}{
		{"hash ends with goodbye", []calltest.Event{{At: 100 * time.Millisecond, Digit: '4'}, {At: 200 * time.Millisecond, Digit: '#'}},
			time.Minute, "4#", true, 0, call.CauseNormal},
		{"silent caller is hung up on after the idle timeout", nil, 400 * time.Millisecond, "", true, 400 * time.Millisecond, call.CauseNormal},
		{"caller hangs up first", []calltest.Event{{At: 300 * time.Millisecond, Hangup: true}}, time.Minute, "", false, 0, call.CauseNormal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			leg := calltest.NewLeg(tc.script...)
			leg.Pace = true
			var keys string
			d := &service.Demo{Welcome: welcome, Goodbye: goodbye, IdleTimeout: tc.idle,
				OnDigit: func(c *call.Call, dg call.Digit) { keys += string(dg.Key) }}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			start := time.Now()
			if err := d.ServeCall(ctx, call.New("demo-1", leg, nil)); err != nil {
				t.Fatal(err)
			}
			if el := time.Since(start); el < tc.minReal {
				t.Errorf("returned after %v, before %v", el, tc.minReal)
			}
			if !leg.Answered() {
				t.Error("not answered")
			}
			if keys != tc.digits {
				t.Errorf("digits %q, want %q", keys, tc.digits)
			}
			if leg.Cause() != tc.hungUpBy {
				t.Errorf("cause %v, want %v", leg.Cause(), tc.hungUpBy)
			}
			w := leg.Written()
			endsWithGoodbye := containsSamples(w, goodbye.Samples)
			if endsWithGoodbye != tc.goodbye {
				t.Errorf("goodbye played: %v, want %v", endsWithGoodbye, tc.goodbye)
			}
		})
	}
}

// containsSamples reports whether prompt appears whole in w.
func containsSamples(w, prompt []int16) bool {
	for start := 0; start+len(prompt) <= len(w); start++ {
		if slices.Equal(w[start:start+len(prompt)], prompt) {
			return true
		}
	}
	return false
}
