package service

import (
	"context"
	"fmt"
	"strconv"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/media"
	"github.com/voxdesk/voxdesk/routing"
)

// announcer tells queued callers where they stand with the embedded
// prompts: "you are number 3 in the queue. Your estimated wait is 4
// minutes." Numbers are read digit by digit.
type announcer struct {
	prompts *media.Prompts
}

var _ routing.Announcer = announcer{}

// Announce plays a's message on leg; hold plays the hold prompt then
// silence, over and over, until ctx is done.
func (a announcer) Announce(ctx context.Context, leg call.Leg, an routing.Announcement) error {
	var names []string
	switch an.Kind {
	case routing.AnnouncePosition:
		names = append(names, "you_are_number")
		names = append(names, digits(an.Position)...)
		names = append(names, "in_the_queue")
		if an.WaitKnown {
			minutes := int((an.EstimatedWait.Minutes()) + 0.999)
			names = append(names, "wait_is")
			names = append(names, digits(max(minutes, 1))...)
			names = append(names, "minutes")
		}
	case routing.AnnounceCallbackOffer:
		names = []string{"callback_offer"}
	case routing.AnnounceCallbackBooked:
		names = []string{"goodbye"}
	case routing.AnnounceCallbackAnswered, routing.AnnounceRequeued, routing.AnnounceTransferred:
		names = []string{"connecting"}
	case routing.AnnounceHold:
		return a.hold(ctx, leg)
	default:
		return fmt.Errorf("service: unknown announcement %q", an.Kind)
	}
	return a.play(ctx, leg, names)
}

func (a announcer) play(ctx context.Context, leg call.Leg, names []string) error {
	for _, n := range names {
		p, ok := a.prompts.Lookup(n)
		if !ok {
			return fmt.Errorf("service: announcement prompt %q missing", n)
		}
		if err := media.Play(ctx, leg, p); err != nil {
			return err
		}
	}
	return nil
}

// holdPause is the silence between two hold prompts.
const holdPause = 15 // seconds

func (a announcer) hold(ctx context.Context, leg call.Leg) error {
	silence := make([]int16, media.FrameSamples)
	for {
		if err := a.play(ctx, leg, []string{"hold"}); err != nil {
			return err
		}
		for range holdPause * 50 {
			if err := leg.WriteAudio(ctx, silence); err != nil {
				return err
			}
		}
	}
}

func digits(n int) []string {
	s := strconv.Itoa(max(n, 0))
	out := make([]string, len(s))
	for i, r := range s {
		out[i] = "digit_" + string(r)
	}
	return out
}
