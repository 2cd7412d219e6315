package service

import (
	"context"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/call/calltest"
)

// everyOther marks every second frame of leg as synthesised, as an RTP
// session losing every other packet would.
type everyOther struct{ leg *calltest.Leg }

func (m *everyOther) Synthetic() bool { return (m.leg.Now()/call.FrameDuration)%2 == 0 }

// The voice tap finds the call's media by call id, keeps only received
// frames for an agent's enrolment and passes the marks on to the
// handler's listeners.
func TestTapSkipsSyntheticFrames(t *testing.T) {
	v := &voice{cfg: VoiceprintConfig{TapSeconds: 10}, taps: map[string]*tapLeg{}, marks: newFrameMarks()}
	leg := calltest.NewLeg(calltest.Event{Speech: make([]int16, 8000)}, calltest.Event{At: 2 * time.Second, Hangup: true})
	m := &everyOther{leg}
	v.marks.add("call-gaps", m)
	var marked int
	h := v.Middleware(call.HandlerFunc(func(ctx context.Context, c *call.Call) error {
		buf := make([]int16, call.FrameSamples)
		for range 20 {
			if _, err := c.Leg.ReadAudio(ctx, buf); err != nil {
				return err
			}
			if c.Leg.(interface{ Synthetic() bool }).Synthetic() {
				marked++
			}
		}
		if got := len(v.taps["call-gaps"].audio()); got != 10*call.FrameSamples {
			t.Errorf("tap kept %d samples, want the 10 received frames", got)
		}
		return nil
	}))
	if err := h.ServeCall(context.Background(), call.New("call-gaps", leg, nil)); err != nil {
		t.Fatal(err)
	}
	if marked != 10 {
		t.Errorf("handler saw %d frames marked, want 10", marked)
	}
	v.marks.remove("call-gaps", m)
	if v.marks.get("call-gaps") != nil {
		t.Error("marks kept a closed call's media")
	}
}
