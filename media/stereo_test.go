package media

import (
	"encoding/binary"
	"testing"
	"time"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func constFrame(v int16) []int16 {
	f := make([]int16, FrameSamples)
	for i := range f {
		f[i] = v
	}
	return f
}

// channels parses what Stereo.WAV wrote: the header, then the samples.
func channels(t *testing.T, wav []byte) (left, right []int16) {
	t.Helper()
	f, data, err := parseWAV(wav)
	if err != nil {
		t.Fatal(err)
	}
	if f.channels != 2 || f.rate != SampleRate || f.bits != 16 || f.blockAlign != 4 {
		t.Fatalf("format %+v, want 2 channels of 16-bit at 8 kHz", f)
	}
	for i := 0; i+4 <= len(data); i += 4 {
		left = append(left, int16(binary.LittleEndian.Uint16(data[i:])))
		right = append(right, int16(binary.LittleEndian.Uint16(data[i+2:])))
	}
	return left, right
}

func TestStereo(t *testing.T) {
	start := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		// script writes frames: at frame tick i, whether each channel
		// delivers one.
		ticks     int
		left      func(i int) int // frames the left channel delivers at tick i
		right     func(i int) int
		wantLeft  []int16 // expected value per 20 ms of the left channel
		wantRight []int16
	}{
		{
			name: "both sides in step", ticks: 3,
			left: func(int) int { return 1 }, right: func(int) int { return 1 },
			wantLeft: []int16{1, 1, 1}, wantRight: []int16{2, 2, 2},
		},
		{
			name: "a side starting 200 ms late is padded at its start", ticks: 15,
			left:  func(int) int { return 1 },
			right: func(i int) int { return map[bool]int{true: 1}[i >= 10] },
			// 10 frames of silence on the right, then its audio.
			wantLeft:  []int16{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
			wantRight: []int16{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2},
		},
		{
			name: "a burst within the slack is not pushed back", ticks: 4,
			left: func(int) int { return 1 },
			// Nothing at ticks 0-2, then all four frames at once (60 ms late).
			right:     func(i int) int { return map[bool]int{true: 4}[i == 3] },
			wantLeft:  []int16{1, 1, 1, 1},
			wantRight: []int16{2, 2, 2, 2},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := &fakeClock{t: start}
			s := NewStereo(time.Minute, clk.now)
			for i := range tc.ticks {
				clk.t = start.Add(time.Duration(i+1) * 20 * time.Millisecond)
				for range tc.left(i) {
					s.Write(0, constFrame(1))
				}
				for range tc.right(i) {
					s.Write(1, constFrame(2))
				}
			}
			left, right := channels(t, s.WAV())
			for name, got := range map[string]struct {
				pcm  []int16
				want []int16
			}{"left": {left, tc.wantLeft}, "right": {right, tc.wantRight}} {
				if len(got.pcm) != len(got.want)*FrameSamples {
					t.Fatalf("%s: %d samples, want %d", name, len(got.pcm), len(got.want)*FrameSamples)
				}
				for f, v := range got.want {
					for _, x := range got.pcm[f*FrameSamples : (f+1)*FrameSamples] {
						if x != v {
							t.Fatalf("%s frame %d holds %d, want %d", name, f, x, v)
						}
					}
				}
			}
			if d := s.Duration(); d != time.Duration(len(tc.wantLeft))*20*time.Millisecond {
				t.Errorf("Duration = %v", d)
			}
		})
	}
}

func TestStereoLimit(t *testing.T) {
	clk := &fakeClock{t: time.Now()}
	s := NewStereo(100*time.Millisecond, clk.now)
	for range 10 {
		clk.t = clk.t.Add(20 * time.Millisecond)
		s.Write(0, constFrame(1))
		s.Write(1, constFrame(2))
		s.Write(2, constFrame(3)) // no such channel: ignored
	}
	if !s.Full() || s.Duration() != 100*time.Millisecond {
		t.Errorf("Full %v, Duration %v; want true, 100ms", s.Full(), s.Duration())
	}
	left, right := channels(t, s.WAV())
	if len(left) != 800 || len(right) != 800 {
		t.Errorf("%d and %d samples, want 800 each", len(left), len(right))
	}
}

func BenchmarkStereoWrite(b *testing.B) {
	s := NewStereo(time.Hour, nil)
	f := constFrame(1)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s.Write(i&1, f)
	}
}
