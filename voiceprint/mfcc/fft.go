package mfcc

import "math"

// powerFFT computes the power spectrum |X[k]|², k = 0..n/2-1, of a real
// sequence of n (a power of two) samples: a complex FFT of n/2 points on
// the even and odd samples packed as real and imaginary parts, then one
// pass that separates the two halves. It allocates nothing after
// newPowerFFT and is about twice as fast here as a general real FFT.
type powerFFT struct {
	n      int
	rev    []int     // bit reversal of n/2 indexes
	wr, wi []float64 // e^{-2πij/(n/2)}, j < n/4
	tr, ti []float64 // e^{-2πik/n}, k < n/2
	re, im []float64
}

func newPowerFFT(n int) *powerFFT {
	m := n / 2
	f := &powerFFT{n: n, rev: make([]int, m), re: make([]float64, m), im: make([]float64, m)}
	bits := 0
	for 1<<bits < m {
		bits++
	}
	for i := range m {
		r := 0
		for b := 0; b < bits; b++ {
			if i&(1<<b) != 0 {
				r |= 1 << (bits - 1 - b)
			}
		}
		f.rev[i] = r
	}
	for j := 0; j < m/2; j++ {
		a := -2 * math.Pi * float64(j) / float64(m)
		f.wr, f.wi = append(f.wr, math.Cos(a)), append(f.wi, math.Sin(a))
	}
	for k := 0; k < m; k++ {
		a := -2 * math.Pi * float64(k) / float64(n)
		f.tr, f.ti = append(f.tr, math.Cos(a)), append(f.ti, math.Sin(a))
	}
	return f
}

// power writes |X[k]|² for k = 0..n/2-1 of x (n values) into out.
func (f *powerFFT) power(x []float64, out []float64) {
	m := f.n / 2
	re, im := f.re[:m], f.im[:m]
	for i, r := range f.rev[:m] {
		re[r], im[r] = x[2*i], x[2*i+1]
	}
	// Iterative radix-2 decimation in time.
	for size := 2; size <= m; size <<= 1 {
		half, step := size/2, m/size
		for start := 0; start < m; start += size {
			for j := 0; j < half; j++ {
				wr, wi := f.wr[j*step], f.wi[j*step]
				a, b := start+j, start+j+half
				xr := re[b]*wr - im[b]*wi
				xi := re[b]*wi + im[b]*wr
				re[b], im[b] = re[a]-xr, im[a]-xi
				re[a], im[a] = re[a]+xr, im[a]+xi
			}
		}
	}
	// X[k] = E[k] + e^{-2πik/n} O[k], with E[k] = (Z[k] + conj Z[m-k])/2
	// and O[k] = (Z[k] - conj Z[m-k])/(2i).
	for k := 0; k < m; k++ {
		j := (m - k) % m
		zr, zi := re[k], im[k]
		cr, ci := re[j], -im[j]
		er, ei := (zr+cr)/2, (zi+ci)/2
		// (z - c)/(2i) = (zi-ci)/2 - i(zr-cr)/2
		or, oi := (zi-ci)/2, -(zr-cr)/2
		tr, ti := f.tr[k], f.ti[k]
		xr := er + or*tr - oi*ti
		xi := ei + or*ti + oi*tr
		out[k] = xr*xr + xi*xi
	}
}
