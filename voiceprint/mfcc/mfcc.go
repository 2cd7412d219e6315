// Package mfcc computes mel-frequency cepstral coefficients exactly as
// Kaldi's compute-mfcc-feats does for the voiceprint model (mfcc.conf:
// --sample-frequency=8000 --low-freq=20 --high-freq=3700 --num-ceps=23,
// Kaldi's defaults otherwise, except dither, which is off so features are
// deterministic), and Kaldi's sliding-window cepstral mean normalisation.
//
// Per frame (25 ms, 10 ms shift, snip-edges): remove the DC offset, take
// the raw log-energy, pre-emphasise (0.97), apply the povey window
// ((0.5-0.5cos(2πn/(N-1)))^0.85), zero-pad to 256, power spectrum, 23
// triangular mel filters (mel = 1127 ln(1+f/700)) on FFT bins 0..127, log
// with a floor of FLT_EPSILON, DCT-II (orthonormal scaling), cepstral
// lifter 1+11 sin(πi/22), then C0 replaced by the log-energy. Samples are
// on the int16 scale, not normalised to [-1, 1].
package mfcc

import (
	"fmt"
	"math"
)

// Config describes the features. The zero value is not usable; start from
// Default.
type Config struct {
	SampleRate  int     // Hz
	FrameLength int     // samples per frame
	FrameShift  int     // samples between frame starts
	NumBins     int     // mel filters
	NumCeps     int     // cepstra kept (C0..C[NumCeps-1])
	LowFreq     float64 // Hz, lower edge of the first filter
	HighFreq    float64 // Hz, upper edge of the last filter
	Lifter      float64 // cepstral lifter coefficient Q
	Preemph     float64 // pre-emphasis coefficient
}

// Default is the voiceprint model's configuration.
var Default = Config{
	SampleRate: 8000, FrameLength: 200, FrameShift: 80, NumBins: 23, NumCeps: 23,
	LowFreq: 20, HighFreq: 3700, Lifter: 22, Preemph: 0.97,
}

// fltEpsilon is C's FLT_EPSILON, Kaldi's floor before logs.
const fltEpsilon = 1.1920928955078125e-07

// Computer computes MFCCs frame by frame. It is not safe for concurrent
// use; it allocates nothing after New.
type Computer struct {
	cfg      Config
	nfft     int
	window   []float64
	binStart []int       // first FFT bin of each mel filter
	binW     [][]float64 // weights from binStart
	dct      []float64   // NumCeps x NumBins
	lifter   []float64
	fft      *powerFFT
	frame    []float64
	power    []float64
	mel      []float64
}

// New prepares a Computer for cfg.
func New(cfg Config) (*Computer, error) {
	if cfg.SampleRate <= 0 || cfg.FrameLength < 2 || cfg.FrameShift <= 0 || cfg.NumBins < 3 ||
		cfg.NumCeps < 1 || cfg.NumCeps > cfg.NumBins || !(cfg.LowFreq >= 0) ||
		!(cfg.HighFreq > cfg.LowFreq) || cfg.HighFreq > float64(cfg.SampleRate)/2 {
		return nil, fmt.Errorf("mfcc: invalid config %+v", cfg)
	}
	c := &Computer{cfg: cfg}
	c.nfft = 1
	for c.nfft < cfg.FrameLength {
		c.nfft <<= 1
	}
	n := cfg.FrameLength
	c.window = make([]float64, n)
	a := 2 * math.Pi / float64(n-1)
	for i := range c.window {
		c.window[i] = math.Pow(0.5-0.5*math.Cos(a*float64(i)), 0.85)
	}
	// Mel filters on bins 0..nfft/2-1 (Kaldi leaves out the Nyquist bin).
	half := c.nfft / 2
	binWidth := float64(cfg.SampleRate) / float64(c.nfft)
	mlo, mhi := melScale(cfg.LowFreq), melScale(cfg.HighFreq)
	delta := (mhi - mlo) / float64(cfg.NumBins+1)
	for b := 0; b < cfg.NumBins; b++ {
		left, center, right := mlo+float64(b)*delta, mlo+float64(b+1)*delta, mlo+float64(b+2)*delta
		start, w := -1, []float64(nil)
		for k := 0; k < half; k++ {
			m := melScale(binWidth * float64(k))
			if m > left && m < right {
				var v float64
				if m <= center {
					v = (m - left) / (center - left)
				} else {
					v = (right - m) / (right - center)
				}
				if start < 0 {
					start = k
				}
				w = append(w, v)
			}
		}
		if start < 0 {
			return nil, fmt.Errorf("mfcc: mel filter %d is empty; use fewer bins or a longer frame", b)
		}
		c.binStart = append(c.binStart, start)
		c.binW = append(c.binW, w)
	}
	nb := cfg.NumBins
	c.dct = make([]float64, cfg.NumCeps*nb)
	for k := 0; k < cfg.NumCeps; k++ {
		norm := math.Sqrt(2 / float64(nb))
		if k == 0 {
			norm = math.Sqrt(1 / float64(nb))
		}
		for j := 0; j < nb; j++ {
			c.dct[k*nb+j] = norm * math.Cos(math.Pi/float64(nb)*(float64(j)+0.5)*float64(k))
		}
	}
	c.lifter = make([]float64, cfg.NumCeps)
	for i := range c.lifter {
		c.lifter[i] = 1
		if cfg.Lifter != 0 {
			c.lifter[i] = 1 + 0.5*cfg.Lifter*math.Sin(math.Pi*float64(i)/cfg.Lifter)
		}
	}
	c.fft = newPowerFFT(c.nfft)
	c.frame = make([]float64, c.nfft)
	c.power = make([]float64, half)
	c.mel = make([]float64, nb)
	return c, nil
}

func melScale(f float64) float64 { return 1127 * math.Log(1+f/700) }

// Config returns the configuration.
func (c *Computer) Config() Config { return c.cfg }

// Dim is the number of values per frame.
func (c *Computer) Dim() int { return c.cfg.NumCeps }

// NumFrames is the number of frames in n samples (snip-edges).
func (c *Computer) NumFrames(n int) int {
	if n < c.cfg.FrameLength {
		return 0
	}
	return 1 + (n-c.cfg.FrameLength)/c.cfg.FrameShift
}

// Frame computes the features of one frame of FrameLength samples (int16
// scale) into out (Dim values).
func (c *Computer) Frame(samples []float32, out []float32) {
	n := c.cfg.FrameLength
	fr := c.frame
	var mean float64
	for i, s := range samples[:n] {
		fr[i] = float64(s)
		mean += float64(s)
	}
	mean /= float64(n)
	var energy float64
	for i := range fr[:n] {
		fr[i] -= mean
		energy += fr[i] * fr[i]
	}
	logE := math.Log(math.Max(energy, fltEpsilon))
	p := c.cfg.Preemph
	for i := n - 1; i > 0; i-- {
		fr[i] -= p * fr[i-1]
	}
	fr[0] -= p * fr[0]
	for i, w := range c.window {
		fr[i] *= w
	}
	clear(fr[n:])
	c.fft.power(fr, c.power)
	for b, start := range c.binStart {
		var e float64
		for j, w := range c.binW[b] {
			e += w * c.power[start+j]
		}
		c.mel[b] = math.Log(math.Max(e, fltEpsilon))
	}
	nb := c.cfg.NumBins
	for k := 0; k < c.cfg.NumCeps; k++ {
		row := c.dct[k*nb : k*nb+nb]
		var v float64
		for j, m := range c.mel {
			v += row[j] * m
		}
		out[k] = float32(v * c.lifter[k])
	}
	out[0] = float32(logE)
}

// Compute appends the features of all whole frames of samples to dst
// (row-major, Dim per frame) and returns it with the frame count.
func (c *Computer) Compute(dst []float32, samples []float32) ([]float32, int) {
	nf := c.NumFrames(len(samples))
	d := c.Dim()
	base := len(dst)
	dst = grow(dst, nf*d)
	for t := 0; t < nf; t++ {
		s := t * c.cfg.FrameShift
		c.Frame(samples[s:s+c.cfg.FrameLength], dst[base+t*d:base+(t+1)*d])
	}
	return dst, nf
}

// grow extends s by n elements, reusing its capacity when it can.
func grow(s []float32, n int) []float32 {
	if cap(s)-len(s) >= n {
		return s[:len(s)+n]
	}
	t := make([]float32, len(s)+n, 2*(len(s)+n))
	copy(t, s)
	return t
}

// SlidingCMN subtracts from each frame the mean of a window of win frames
// centred on it, as Kaldi's apply-cmvn-sliding --center=true
// --norm-vars=false: the window is [t-win/2, t-win/2+win), shifted right
// at the start and left at the end to stay inside the utterance, and cut
// to the utterance when it is shorter. feats holds rows frames of dim
// values and is modified in place; sums is scratch of (rows+1)*dim float64
// (grown as needed and returned).
func SlidingCMN(feats []float32, rows, dim, win int, sums []float64) []float64 {
	need := (rows + 1) * dim
	if cap(sums) < need {
		sums = make([]float64, need)
	}
	sums = sums[:need]
	clear(sums[:dim])
	for t := 0; t < rows; t++ {
		for j := 0; j < dim; j++ {
			sums[(t+1)*dim+j] = sums[t*dim+j] + float64(feats[t*dim+j])
		}
	}
	for t := 0; t < rows; t++ {
		s, e := CMNWindow(t, rows, win)
		inv := 1 / float64(e-s)
		for j := 0; j < dim; j++ {
			m := (sums[e*dim+j] - sums[s*dim+j]) * inv
			feats[t*dim+j] = float32(float64(feats[t*dim+j]) - m)
		}
	}
	return sums
}

// CMNWindow is the [start, end) frame window Kaldi's centred sliding CMN
// uses for frame t of an utterance of rows frames.
func CMNWindow(t, rows, win int) (int, int) {
	s := t - win/2
	e := s + win
	if s < 0 {
		e -= s
		s = 0
	}
	if e > rows {
		s -= e - rows
		e = rows
		if s < 0 {
			s = 0
		}
	}
	return s, e
}
