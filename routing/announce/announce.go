// Package announce plays routing's queue announcements with recorded
// prompts (res/prompts by default): "you are number 3 in the queue, your
// estimated wait is 4 minutes", the call-back offer, and hold messages. It
// implements routing.Announcer.
package announce

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/media"
	"github.com/voxdesk/voxdesk/routing"
)

// Prompt names the Announcer needs in its set.
var required = []string{"you_are_number", "in_the_queue", "wait_is", "minutes", "callback_offer", "hold", "connecting",
	"digit_0", "digit_1", "digit_2", "digit_3", "digit_4", "digit_5", "digit_6", "digit_7", "digit_8", "digit_9"}

// Optional prompts and what plays when a set lacks them.
var fallback = map[string]string{
	"callback_booked":   "goodbye",
	"callback_answered": "connecting",
	"requeued":          "hold",
	"transferred":       "connecting",
}

// Announcer speaks announcements to a leg.
type Announcer struct {
	ps *media.Prompts
	// HoldGap is the silence between two hold messages (default 15 s).
	HoldGap time.Duration
}

var _ routing.Announcer = (*Announcer)(nil)

// New returns an Announcer over ps, or an error naming the missing prompts.
func New(ps *media.Prompts) (*Announcer, error) {
	if ps == nil {
		return nil, errors.New("announce: no prompts")
	}
	var missing []string
	for _, n := range required {
		if _, ok := ps.Lookup(n); !ok {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("announce: prompts missing: %v", missing)
	}
	return &Announcer{ps: ps, HoldGap: 15 * time.Second}, nil
}

// Script returns the prompt names an announcement is spoken with. Numbers
// are read digit by digit; the wait is rounded up to whole minutes.
func (a *Announcer) Script(m routing.Announcement) []string {
	switch m.Kind {
	case routing.AnnouncePosition:
		s := []string{"you_are_number"}
		s = append(s, digits(max(m.Position, 1))...)
		s = append(s, "in_the_queue")
		if m.WaitKnown {
			mins := int((m.EstimatedWait + time.Minute - 1) / time.Minute)
			s = append(s, "wait_is")
			s = append(s, digits(max(mins, 1))...)
			s = append(s, "minutes")
		}
		return s
	case routing.AnnounceCallbackOffer:
		return []string{"callback_offer"}
	case routing.AnnounceCallbackBooked:
		return []string{a.named("callback_booked")}
	case routing.AnnounceCallbackAnswered:
		return []string{a.named("callback_answered")}
	case routing.AnnounceRequeued:
		return []string{a.named("requeued")}
	case routing.AnnounceTransferred:
		return []string{a.named("transferred")}
	case routing.AnnounceHold:
		return []string{"hold"}
	}
	return nil
}

func (a *Announcer) named(n string) string {
	if _, ok := a.ps.Lookup(n); ok {
		return n
	}
	return fallback[n]
}

func digits(n int) []string {
	var out []string
	for _, d := range strconv.Itoa(n) {
		out = append(out, "digit_"+string(d))
	}
	return out
}

// Announce plays m to leg. For AnnounceHold it repeats the hold message,
// HoldGap of silence apart, until ctx is done.
func (a *Announcer) Announce(ctx context.Context, leg call.Leg, m routing.Announcement) error {
	script := a.Script(m)
	if script == nil {
		return fmt.Errorf("announce: unknown announcement %q", m.Kind)
	}
	for {
		for _, n := range script {
			if err := media.Play(ctx, leg, a.ps.Get(n)); err != nil {
				return err
			}
		}
		if m.Kind != routing.AnnounceHold {
			return nil
		}
		silence := make([]int16, call.FrameSamples)
		for range int(a.HoldGap / call.FrameDuration) {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := leg.WriteAudio(ctx, silence); err != nil {
				return err
			}
		}
	}
}
