package announce

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/call/calltest"
	"github.com/voxdesk/voxdesk/media"
	"github.com/voxdesk/voxdesk/res"
	"github.com/voxdesk/voxdesk/routing"
)

func prompts(t *testing.T) *media.Prompts {
	t.Helper()
	ps, err := media.LoadPrompts(res.Prompts, "prompts")
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func TestScript(t *testing.T) {
	a, err := New(prompts(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		m    routing.Announcement
		want string
	}{
		{"position without a known wait", routing.Announcement{Kind: routing.AnnouncePosition, Position: 3},
			"you_are_number digit_3 in_the_queue"},
		{"position and wait rounded up to minutes", routing.Announcement{Kind: routing.AnnouncePosition, Position: 12,
			EstimatedWait: 4*time.Minute + time.Second, WaitKnown: true},
			"you_are_number digit_1 digit_2 in_the_queue wait_is digit_5 minutes"},
		{"a short wait is one minute", routing.Announcement{Kind: routing.AnnouncePosition, Position: 1,
			EstimatedWait: 10 * time.Second, WaitKnown: true},
			"you_are_number digit_1 in_the_queue wait_is digit_1 minutes"},
		{"call-back offer", routing.Announcement{Kind: routing.AnnounceCallbackOffer}, "callback_offer"},
		{"re-queued after losing the agent", routing.Announcement{Kind: routing.AnnounceRequeued}, "hold"},
		{"call-back booked", routing.Announcement{Kind: routing.AnnounceCallbackBooked}, "goodbye"},
		{"unknown", routing.Announcement{Kind: "shout"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := strings.Join(a.Script(tc.m), " "); got != tc.want {
				t.Fatalf("script %q, want %q", got, tc.want)
			}
		})
	}
}

func TestAnnouncePlaysThePrompts(t *testing.T) {
	ps := prompts(t)
	a, err := New(ps)
	if err != nil {
		t.Fatal(err)
	}
	leg := calltest.NewLeg()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m := routing.Announcement{Kind: routing.AnnouncePosition, Position: 2}
	if err := a.Announce(ctx, leg, m); err != nil {
		t.Fatal(err)
	}
	var want []int16
	for _, n := range a.Script(m) {
		s := ps.Get(n).Samples
		want = append(want, s...)
		if pad := len(s) % 160; pad != 0 {
			want = append(want, make([]int16, 160-pad)...)
		}
	}
	if got := leg.Written(); !slices.Equal(got, want) {
		t.Fatalf("wrote %d samples, want the %d of the prompts in order", len(got), len(want))
	}
	if err := a.Announce(ctx, leg, routing.Announcement{Kind: "shout"}); err == nil {
		t.Fatalf("unknown announcement played")
	}
}

func TestHoldRepeatsUntilCancelled(t *testing.T) {
	ps := prompts(t)
	a, err := New(ps)
	if err != nil {
		t.Fatal(err)
	}
	a.HoldGap = 100 * time.Millisecond
	leg := calltest.NewLeg()
	hold := len(ps.Get("hold").Samples)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Announce(ctx, leg, routing.Announcement{Kind: routing.AnnounceHold}) }()
	deadline := time.Now().Add(5 * time.Second)
	for len(leg.Written()) < 2*hold+800 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("hold ended with %v", err)
	}
	if n := len(leg.Written()); n < 2*hold+800 {
		t.Fatalf("hold wrote %d samples, want the message twice with a gap", n)
	}
}

func TestNewNamesMissingPrompts(t *testing.T) {
	ps := &media.Prompts{}
	ps.Add(&media.Prompt{Name: "hold", Samples: make([]int16, 160)})
	if _, err := New(ps); err == nil || !strings.Contains(err.Error(), "you_are_number") {
		t.Fatalf("New = %v", err)
	}
	if _, err := New(nil); err == nil {
		t.Fatalf("New(nil) accepted")
	}
}
