package rtc

import (
	"context"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/call"
)

// TestLegMarksSyntheticFrames: a frame the browser sent is not
// synthetic; silence in place of a frame that did not come in time, hold
// audio and keypad tones are, so the voiceprint side skips them as it
// skips an RTP session's concealment.
func TestLegMarksSyntheticFrames(t *testing.T) {
	leg := idleLeg(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	speech := func() []int16 {
		f := make([]int16, call.FrameSamples)
		for i := range f {
			f[i] = 500
		}
		return f
	}
	frame := make([]int16, call.FrameSamples)
	for _, tc := range []struct {
		name      string
		before    func()
		synthetic bool
	}{
		{"the browser's frame", func() { leg.deliver(speech()) }, false},
		{"no frame in time: concealed", func() {}, true},
		{"the browser's frame again", func() { leg.deliver(speech()) }, false},
		{"held: hold audio", func() { leg.SetHold(true); leg.deliver(speech()) }, true},
		{"resumed", func() { leg.SetHold(false); leg.deliver(speech()) }, false},
		{"keypad tone in place of the microphone", func() { _ = leg.PlayToFar(dtmfLike()); leg.deliver(speech()) }, true},
		{"the microphone after the tone", func() { leg.deliver(speech()) }, false},
	} {
		tc.before()
		if _, err := leg.ReadAudio(ctx, frame); err != nil {
			t.Fatal(err)
		}
		if got := leg.Synthetic(); got != tc.synthetic {
			t.Errorf("%s: Synthetic() = %v, want %v", tc.name, got, tc.synthetic)
		}
	}
}

// dtmfLike is one frame of a loud tone.
func dtmfLike() []int16 {
	phase := 0
	return tone(call.FrameSamples, 770, 6000, &phase)
}
