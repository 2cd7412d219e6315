package mfcc

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/dsp/fourier"
)

// TestPowerFFT compares the power spectrum with gonum's real FFT.
func TestPowerFFT(t *testing.T) {
	for _, n := range []int{8, 64, 256, 512} {
		f := newPowerFFT(n)
		g := fourier.NewFFT(n)
		rng := rand.New(rand.NewPCG(uint64(n), 1))
		x := make([]float64, n)
		for i := range x {
			x[i] = rng.NormFloat64() * 1000
		}
		got := make([]float64, n/2)
		f.power(x, got)
		c := g.Coefficients(nil, x)
		for k := 0; k < n/2; k++ {
			want := real(c[k])*real(c[k]) + imag(c[k])*imag(c[k])
			if math.Abs(got[k]-want) > 1e-9*math.Max(1, want) {
				t.Fatalf("n=%d bin %d: got %g, want %g", n, k, got[k], want)
			}
		}
	}
}

func BenchmarkPowerFFT(b *testing.B) {
	f := newPowerFFT(256)
	x := make([]float64, 256)
	for i := range x {
		x[i] = float64(i % 7)
	}
	out := make([]float64, 128)
	for b.Loop() {
		f.power(x, out)
	}
}

func BenchmarkGonumFFT(b *testing.B) {
	g := fourier.NewFFT(256)
	x := make([]float64, 256)
	c := make([]complex128, 129)
	for b.Loop() {
		g.Coefficients(c, x)
	}
}
