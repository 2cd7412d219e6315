package media

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// fitSine returns the amplitude of the best-fitting sinusoid at freq and
// the ratio in dB of its power to the residual's, over x without its
// first and last 10 ms (filter edges).
func fitSine(x []int16, rate int, freq float64) (amp, snrDB float64) {
	edge := rate / 100
	x = x[edge : len(x)-edge]
	var ss, cc, sc, xs, xc float64
	for i, v := range x {
		ph := 2 * math.Pi * freq * float64(i+edge) / float64(rate)
		s, c := math.Sin(ph), math.Cos(ph)
		f := float64(v) / 32768
		ss += s * s
		cc += c * c
		sc += s * c
		xs += f * s
		xc += f * c
	}
	// Solve the 2x2 least-squares system for a*sin + b*cos.
	det := ss*cc - sc*sc
	a := (xs*cc - xc*sc) / det
	b := (xc*ss - xs*sc) / det
	var sig, res float64
	for i, v := range x {
		ph := 2 * math.Pi * freq * float64(i+edge) / float64(rate)
		m := a*math.Sin(ph) + b*math.Cos(ph)
		e := float64(v)/32768 - m
		sig += m * m
		res += e * e
	}
	return math.Hypot(a, b), 10 * math.Log10(sig/max(res, 1e-30))
}

func TestLoadPCMFormats(t *testing.T) {
	tests := []struct {
		file   string
		minSNR float64 // dB; 8-bit and G.711 sources are coarse
	}{
		{"pcm16-16k-mono.wav", 60},
		{"pcm24-44k1-stereo.wav", 60},
		{"pcm32-48k-mono.wav", 60},
		{"pcm8-11k-mono.wav", 35},
		{"float32-22k-mono.wav", 60},
		{"float64-8k-mono.wav", 60},
		{"ulaw-8k-mono.wav", 30},
		{"alaw-8k-mono.wav", 30},
		{"ext-pcm16-32k-3ch.wav", 60},
		{"ext-float32-16k-3ch.wav", 60},
		{"flac16-16k-mono.flac", 60},
		{"flac24-32k-stereo.flac", 60},
	}
	for _, tc := range tests {
		for _, rate := range []int{8000, 16000} {
			t.Run(tc.file+"@"+itoa(rate), func(t *testing.T) {
				pcm, err := LoadPCM(filepath.Join("testdata", tc.file), rate)
				if err != nil {
					t.Fatal(err)
				}
				if want := rate / 10; len(pcm) < want-1 || len(pcm) > want+1 {
					t.Errorf("%d samples, want %d", len(pcm), want)
				}
				amp, snr := fitSine(pcm, rate, 440)
				if math.Abs(amp-0.5) > 0.01 || snr < tc.minSNR {
					t.Errorf("440 Hz amplitude %.4f (want 0.5), SNR %.1f dB (want >= %.0f)", amp, snr, tc.minSNR)
				}
			})
		}
	}
}

func itoa(n int) string {
	b := []byte{}
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// wavBytes builds a WAV file with the given fmt fields and data.
func wavBytes(code, channels uint16, rate uint32, bits uint16, data []byte) []byte {
	var b bytes.Buffer
	b.WriteString("RIFF")
	_ = binary.Write(&b, binary.LittleEndian, uint32(36+len(data)))
	b.WriteString("WAVEfmt ")
	align := channels * bits / 8
	for _, v := range []any{uint32(16), code, channels, rate, rate * uint32(align), align, bits} {
		_ = binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString("data")
	_ = binary.Write(&b, binary.LittleEndian, uint32(len(data)))
	b.Write(data)
	return b.Bytes()
}

func TestDecodePCMErrors(t *testing.T) {
	adpcm, err := os.ReadFile("testdata/adpcm-8k.wav")
	if err != nil {
		t.Fatal(err)
	}
	good := wavBytes(1, 1, 8000, 16, make([]byte, 320))
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"text", []byte("hello, this is not audio")},
		{"IMA ADPCM", adpcm},
		{"truncated header", good[:30]},
		{"no data chunk", good[:36]},
		{"zero channels", wavBytes(1, 0, 8000, 16, make([]byte, 4))},
		{"12-bit", wavBytes(1, 1, 8000, 12, make([]byte, 4))},
		{"absurd rate", wavBytes(1, 1, 7, 16, make([]byte, 4))},
		{"mu-law of 16 bits", wavBytes(7, 1, 8000, 16, make([]byte, 4))},
		{"float of 16 bits", wavBytes(3, 1, 8000, 16, make([]byte, 4))},
		{"short extensible fmt", wavBytes(0xFFFE, 1, 8000, 16, make([]byte, 4))},
		{"truncated FLAC", []byte("fLaC\x00\x00")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodePCM(tc.data, 8000)
			if !errors.Is(err, ErrAudioFormat) {
				t.Fatalf("err = %v, want ErrAudioFormat", err)
			}
		})
	}
	if _, err := LoadPCM("testdata/does-not-exist.wav", 8000); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := DecodePCM(good, 0); err == nil {
		t.Error("rate 0 accepted")
	}
}

// A WAV whose data size field overstates the file (streamed WAVs write
// 0xFFFFFFFF) decodes what is there.
func TestDecodePCMOverstatedSize(t *testing.T) {
	data := make([]byte, 320)
	for i := range 160 {
		binary.LittleEndian.PutUint16(data[2*i:], uint16(int16(1000)))
	}
	b := wavBytes(1, 1, 8000, 16, data)
	binary.LittleEndian.PutUint32(b[40:], 0xFFFFFFFF)
	pcm, err := DecodePCM(b, 8000)
	if err != nil {
		t.Fatal(err)
	}
	if len(pcm) != 160 || pcm[80] != 1000 {
		t.Fatalf("%d samples, pcm[80] = %d", len(pcm), pcm[80])
	}
}

// Downsampling must filter: a 6 kHz tone (above the 4 kHz Nyquist of 8
// kHz) is removed rather than folded to 2 kHz, as nearest-sample or
// linear interpolation would.
func TestResampleRejectsAliases(t *testing.T) {
	const from = 48000
	src := make([]float32, from/2)
	for i := range src {
		src[i] = 0.5 * float32(math.Sin(2*math.Pi*6000*float64(i)/from))
	}
	out, err := Resample(src, from, 8000)
	if err != nil {
		t.Fatal(err)
	}
	pcm := make([]int16, len(out))
	floatToPCM(pcm, out)
	amp, _ := fitSine(pcm, 8000, 2000)
	if db := 20 * math.Log10(max(amp, 1e-9)/0.5); db > -60 {
		t.Errorf("6 kHz alias at 2 kHz only %.1f dB down", db)
	}
	if _, err := Resample(src, 0, 8000); err == nil {
		t.Error("rate 0 accepted")
	}
}

// Rates with a large least common multiple use rounded phases.
func TestResampleOddRatio(t *testing.T) {
	const from, to = 44101, 8000
	src := make([]float32, from/5)
	for i := range src {
		src[i] = 0.5 * float32(math.Sin(2*math.Pi*440*float64(i)/from))
	}
	out, err := Resample(src, from, to)
	if err != nil {
		t.Fatal(err)
	}
	pcm := make([]int16, len(out))
	floatToPCM(pcm, out)
	if amp, snr := fitSine(pcm, to, 440); math.Abs(amp-0.5) > 0.01 || snr < 50 {
		t.Errorf("amplitude %.4f SNR %.1f dB", amp, snr)
	}
}

func FuzzDecodePCM(f *testing.F) {
	for _, name := range []string{"ulaw-8k-mono.wav", "alaw-8k-mono.wav", "pcm8-11k-mono.wav", "adpcm-8k.wav", "flac16-16k-mono.flac"} {
		if b, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(b)
		}
	}
	f.Add(wavBytes(3, 2, 8000, 32, make([]byte, 64)))
	f.Add(wavBytes(0xFFFE, 1, 8000, 16, make([]byte, 64)))
	f.Fuzz(func(t *testing.T, data []byte) {
		pcm, err := decodePCM(data, 8000, 10*time.Second)
		if err != nil {
			if !errors.Is(err, ErrAudioFormat) {
				t.Fatalf("error not ErrAudioFormat: %v", err)
			}
			return
		}
		if len(pcm) > 10*8000+8 {
			t.Fatalf("%d samples: over the 10 s limit", len(pcm))
		}
		// A WAV holds at least one byte per sample; from >= 1 kHz to 8
		// kHz is at most 8 times as many samples.
		if bytes.HasPrefix(data, []byte("RIFF")) && len(pcm) > 8*len(data)+8 {
			t.Fatalf("%d samples from %d bytes", len(pcm), len(data))
		}
	})
}

// The streaming resampler, fed 20 ms frames, produces what the batch
// one does on the whole signal (apart from the stream's tail).
func TestResamplerStreamMatchesBatch(t *testing.T) {
	for _, rates := range [][2]int{{8000, 16000}, {16000, 8000}, {8000, 44100}, {44100, 8000}} {
		t.Run(itoa(rates[0])+"-"+itoa(rates[1]), func(t *testing.T) {
			from, to := rates[0], rates[1]
			src := make([]int16, from/2)
			f := make([]float32, len(src))
			for i := range src {
				src[i] = int16(12000 * math.Sin(2*math.Pi*300*float64(i)/float64(from)))
				f[i] = float32(src[i]) / 32768
			}
			batchF, _ := Resample(f, from, to)
			batch := make([]int16, len(batchF))
			floatToPCM(batch, batchF)
			rs, err := NewResampler(from, to)
			if err != nil {
				t.Fatal(err)
			}
			var got []int16
			step := from / 50
			for off := 0; off < len(src); off += step {
				got = rs.Process(got, src[off:min(off+step, len(src))])
			}
			// The stream holds back outputs that need input past its end:
			// half the filter, in output samples.
			tail := (rs.p.taps/2+1)*to/from + 1
			if len(got) < len(batch)-tail || len(got) > len(batch) {
				t.Fatalf("stream gave %d samples, batch %d", len(got), len(batch))
			}
			for i := range got {
				if d := int(got[i]) - int(batch[i]); d < -1 || d > 1 {
					t.Fatalf("sample %d: stream %d batch %d", i, got[i], batch[i])
				}
			}
		})
	}
}

func TestResampleReader(t *testing.T) {
	k := 0
	src := ReaderFunc(func(ctx context.Context, dst []int16) (int, error) {
		if k == 50 {
			return 0, io.EOF
		}
		for i := range FrameSamples {
			dst[i] = int16(8000 * math.Sin(2*math.Pi*440*float64(k*FrameSamples+i)/SampleRate))
		}
		k++
		return FrameSamples, nil
	})
	r, err := ResampleReader(src, SampleRate, 16000)
	if err != nil {
		t.Fatal(err)
	}
	var all []int16
	buf := make([]int16, 320)
	for {
		n, err := r.ReadAudio(context.Background(), buf)
		all = append(all, buf[:n]...)
		if err != nil {
			if err != io.EOF {
				t.Fatal(err)
			}
			break
		}
	}
	if len(all) < 15900 || len(all) > 16000 {
		t.Fatalf("%d samples at 16 kHz from 1 s at 8 kHz", len(all))
	}
	if amp, snr := fitSine(all, 16000, 440); math.Abs(amp-8000.0/32768) > 0.005 || snr < 50 {
		t.Errorf("amplitude %.4f SNR %.1f dB", amp, snr)
	}
}

// On speech, LoadPCM's 22.05 -> 8 kHz conversion agrees with sox's (an
// independent, high quality resampler) across the telephone band: below
// 3.4 kHz the difference is more than 55 dB down. The filters differ
// only in the last few hundred hertz before 4 kHz.
func TestResampleMatchesSox(t *testing.T) {
	got, err := LoadPCM("testdata/speech-22k.wav", 8000)
	if err != nil {
		t.Fatal(err)
	}
	raw := mustRead(t, "testdata/speech-sox-8k.s16")
	want := make([]float64, len(raw)/2)
	for i := range want {
		want[i] = float64(int16(binary.LittleEndian.Uint16(raw[2*i:])))
	}
	if d := len(got) - len(want); d < -1 || d > 1 {
		t.Fatalf("%d samples, sox %d", len(got), len(want))
	}
	n := min(len(got), len(want))
	diff := make([]float64, n)
	for i := range diff {
		diff[i] = float64(got[i]) - want[i]
	}
	tests := []struct {
		lo, hi float64
		minDB  float64
	}{
		{0, 3400, 55},
		{3400, 3600, 30},
	}
	for _, tc := range tests {
		s, e := bandEnergy(want[:n], 8000, tc.lo, tc.hi), bandEnergy(diff, 8000, tc.lo, tc.hi)
		if snr := 10 * math.Log10(s/e); snr < tc.minDB {
			t.Errorf("%v-%v Hz: ours vs sox %.1f dB, want >= %v", tc.lo, tc.hi, snr, tc.minDB)
		}
	}
}

// bandEnergy sums the DFT power of x over [lo, hi) Hz (plain DFT, for
// short test signals).
func bandEnergy(x []float64, rate, lo, hi float64) float64 {
	n := len(x)
	e := 0.0
	for k := 0; k <= n/2; k++ {
		if f := float64(k) * rate / float64(n); f < lo || f >= hi {
			continue
		}
		var re, im float64
		for i, v := range x {
			ph := 2 * math.Pi * float64(k*i%n) / float64(n)
			re += v * math.Cos(ph)
			im -= v * math.Sin(ph)
		}
		e += re*re + im*im
	}
	return e
}
