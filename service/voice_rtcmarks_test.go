package service

import (
	"context"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/media"
	"github.com/voxdesk/voxdesk/rtc"
)

// A WebRTC caller's leg marks the frames it conceals (issue 12): the
// voice tap finds the marks on the leg itself, keeps none of them for
// enrolment and passes them on to the handler's listeners.
func TestTapSkipsWebRTCConcealment(t *testing.T) {
	e, err := rtc.New(rtc.Config{Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := e.NewSession("web-1", func(rtc.Signal) {}) // no browser: nothing arrives
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	leg, err := sess.Attach("web-1")
	if err != nil {
		t.Fatal(err)
	}
	v := &voice{cfg: VoiceprintConfig{TapSeconds: 10}, taps: map[string]*tapLeg{}, marks: newFrameMarks()}
	marked := 0
	h := v.Middleware(call.HandlerFunc(func(ctx context.Context, c *call.Call) error {
		buf := make([]int16, call.FrameSamples)
		for range 10 {
			if _, err := c.Leg.ReadAudio(ctx, buf); err != nil {
				return err
			}
			if c.Leg.(media.Marker).Synthetic() {
				marked++
			}
		}
		if got := len(v.taps["web-1"].audio()); got != 0 {
			t.Errorf("tap kept %d samples of concealment", got)
		}
		return nil
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.ServeCall(ctx, call.New("web-1", leg, nil)); err != nil {
		t.Fatal(err)
	}
	if marked != 10 {
		t.Errorf("handler saw %d of 10 concealed frames marked", marked)
	}
}
