package mfcc

import (
	"fmt"
	"math"
	"testing"
)

func TestCMNWindow(t *testing.T) {
	cases := []struct {
		name         string
		t, rows, win int
		wantS, wantE int
	}{
		{"centred", 400, 1000, 300, 250, 550},
		{"shifted right at the start", 10, 1000, 300, 0, 300},
		{"shifted left at the end", 990, 1000, 300, 700, 1000},
		{"utterance shorter than the window", 5, 120, 300, 0, 120},
		{"first frame of a long utterance", 0, 301, 300, 0, 300},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, e := CMNWindow(tc.t, tc.rows, tc.win)
			if s != tc.wantS || e != tc.wantE {
				t.Errorf("got [%d,%d), want [%d,%d)", s, e, tc.wantS, tc.wantE)
			}
		})
	}
}

func TestSlidingCMNShortUtteranceHasZeroMean(t *testing.T) {
	const rows, dim = 50, 3
	f := make([]float32, rows*dim)
	for i := range f {
		f[i] = float32(i%7) + float32(i/dim)
	}
	SlidingCMN(f, rows, dim, 300, nil)
	for j := 0; j < dim; j++ {
		var s float64
		for r := 0; r < rows; r++ {
			s += float64(f[r*dim+j])
		}
		if math.Abs(s/rows) > 1e-4 {
			t.Errorf("dim %d mean %g after CMN", j, s/rows)
		}
	}
}

func TestFrames(t *testing.T) {
	c, err := New(Default)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		samples int
		want    int
	}{
		{"shorter than a frame", 199, 0},
		{"one frame", 200, 1},
		{"one second", 8000, 98},
		{"snip edges", 8000 + 39, 98},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := c.NumFrames(tc.samples); got != tc.want {
				t.Errorf("got %d frames, want %d", got, tc.want)
			}
		})
	}
	// A silent frame: energy floored at FLT_EPSILON, no NaN.
	out := make([]float32, c.Dim())
	c.Frame(make([]float32, 200), out)
	if math.Abs(float64(out[0])-math.Log(fltEpsilon)) > 1e-4 {
		t.Errorf("silent frame log-energy %v", out[0])
	}
	for _, v := range out {
		if math.IsNaN(float64(v)) {
			t.Fatal("NaN in features of silence")
		}
	}
	if _, err := New(Config{SampleRate: 8000}); err == nil {
		t.Error("invalid config accepted")
	}
}

// A 1 kHz tone: its energy is in the mel filter around 1 kHz.
func ExampleComputer_Frame() {
	c, _ := New(Default)
	s := make([]float32, 200)
	for i := range s {
		s[i] = float32(10000 * math.Sin(2*math.Pi*1000*float64(i)/8000))
	}
	out := make([]float32, c.Dim())
	c.Frame(s, out)
	fmt.Printf("log-energy %.2f\n", out[0])
	// Output: log-energy 23.03
}
