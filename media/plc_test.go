package media

import (
	"math"
	"testing"
	"time"
)

// A lost frame of a steady voiced sound is filled with its continuation:
// the concealed 20 ms (10 ms at full level, then fading by 20% per
// 10 ms) stays close to the true signal, and its level follows the fade.
func TestConcealPitch(t *testing.T) {
	tests := []struct {
		name   string
		freq   float64
		minSNR float64 // dB, over the first 10 ms (full level)
	}{
		{"200 Hz, a whole-sample period", 200, 70},
		{"150 Hz, between samples", 150, 22},
		{"110 Hz, low voice", 110, 28},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sig := func(i int) float64 { return 8000 * math.Sin(2*math.Pi*tc.freq*float64(i)/SampleRate) }
			var c concealer
			hist := make([]int16, plcHist)
			for i := range hist {
				hist[i] = int16(sig(i))
			}
			c.remember(hist)
			out := make([]int16, FrameSamples)
			c.conceal(out)
			var s, e float64
			for i := range plcHold {
				want := sig(plcHist + i)
				s += want * want
				d := float64(out[i]) - want
				e += d * d
			}
			snr := 10 * math.Log10(s/e)
			if snr < tc.minSNR {
				t.Errorf("first 10 ms: %.1f dB from the true continuation, want >= %v", snr, tc.minSNR)
			}
			t.Logf("first 10 ms within %.1f dB of the true continuation", snr)
			// The last 5 ms are faded to 90-80%: their peak is below the first 10 ms'.
			peak := func(x []int16) (p int16) {
				for _, v := range x {
					p = max(p, v, -v)
				}
				return p
			}
			if p1, p2 := peak(out[:80]), peak(out[120:]); float64(p2) > 0.91*float64(p1) || float64(p2) < 0.75*float64(p1) {
				t.Errorf("peaks %d then %d: want a gentle fade", p1, p2)
			}
		})
	}
}

// After 60 ms of loss the concealment is silent; when audio returns it
// fades in over 5 ms instead of jumping.
func TestConcealFadeAndRecover(t *testing.T) {
	var c concealer
	hist := make([]int16, plcHist)
	for i := range hist {
		hist[i] = int16(8000 * math.Sin(2*math.Pi*200*float64(i)/SampleRate))
	}
	c.remember(hist)
	out := make([]int16, FrameSamples)
	for range 4 { // 80 ms
		c.conceal(out)
	}
	for i, v := range out {
		if v != 0 {
			t.Fatalf("sample %d of the 4th lost frame is %d, want silence", i, v)
		}
	}
	real := make([]int16, FrameSamples)
	for i := range real {
		real[i] = 10000
	}
	c.recover(real)
	if real[0] > 1000 || real[plcXfade] != 10000 {
		t.Errorf("recovery: first sample %d, after the fade %d", real[0], real[plcXfade])
	}
}

// Every frame ReadAudio returns says whether it was received: the
// silence before the first packet, a lost frame's concealment and the
// fill after the stream stops are marked synthetic, received audio is
// not (the voiceprint tap skips what is marked).
func TestSyntheticFramesMarked(t *testing.T) {
	s, addr := newTestSession(t, RTPConfig{JitterDelay: 60 * time.Millisecond})
	p := newPeer(t)
	for _, k := range []int{0, 1, 2, 4, 5} { // frame 3 lost
		p.audio(addr, k, k, int16((k+1)*1000))
	}
	ctx := testCtx(t, 5*time.Second)
	buf := make([]int16, FrameSamples)
	var marks []bool
	var levels []int16
	for range 16 {
		if _, err := s.ReadAudio(ctx, buf); err != nil {
			t.Fatal(err)
		}
		marks = append(marks, s.Synthetic())
		levels = append(levels, buf[FrameSamples/2])
	}
	start := firstAudio(t, levels, 6)
	for i, m := range marks {
		k := i - start
		want := k < 0 || k == 3 || k > 5
		if m != want {
			t.Errorf("frame %d (stream frame %d, level %d): synthetic %v, want %v", i, k, levels[i], m, want)
		}
	}
}
