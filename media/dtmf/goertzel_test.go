package dtmf

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/media/g711"
)

// tone returns dur of the DTMF tone for key (each component at amp), or
// silence for key 0, at 8 kHz, with Gaussian noise of rms noise.
func tone(key rune, dur time.Duration, amp, twistDB, noise float64, rng *rand.Rand) []int16 {
	n := int(dur * ClockRate / time.Second)
	out := make([]int16, n)
	var fr, fc float64
	for r := range 4 {
		for c := range 4 {
			if keypad[r][c] == key {
				fr, fc = rowFreqs[r], colFreqs[c]
			}
		}
	}
	colAmp := amp * math.Pow(10, twistDB/20)
	for i := range out {
		t := float64(i) / ClockRate
		v := 0.0
		if fr != 0 {
			v = amp*math.Sin(2*math.Pi*fr*t) + colAmp*math.Sin(2*math.Pi*fc*t+1)
		}
		if noise > 0 {
			v += rng.NormFloat64() * noise
		}
		out[i] = int16(max(-32768, min(32767, math.Round(v))))
	}
	return out
}

func detect(samples []int16) []Digit {
	var d Detector
	var got []Digit
	for off := 0; off < len(samples); off += 160 { // 20 ms frames, as a call delivers them
		got = d.Process(got, samples[off:min(off+160, len(samples))])
	}
	return d.Flush(got)
}

func TestDetectorDigits(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name     string
		keys     string
		on, off  time.Duration
		amp      float64
		twistDB  float64
		noiseRMS float64
	}{
		{"all sixteen keys, 100 ms on, 100 ms off", "123A456B789C*0#D", 100 * time.Millisecond, 100 * time.Millisecond, 8000, 0, 0},
		{"quiet (-30 dBFS per tone)", "159#", 100 * time.Millisecond, 80 * time.Millisecond, 1100, 0, 0},
		{"minimum 60 ms tones", "2468", 60 * time.Millisecond, 60 * time.Millisecond, 6000, 0, 0},
		{"column 6 dB up (normal twist)", "3690", 100 * time.Millisecond, 100 * time.Millisecond, 4000, 6, 0},
		{"row 3 dB up (reverse twist)", "7*", 100 * time.Millisecond, 100 * time.Millisecond, 6000, -3, 0},
		{"20 dB SNR noise", "0123456789", 100 * time.Millisecond, 100 * time.Millisecond, 6000, 0, 6000 * math.Sqrt2 / 10},
		{"same key repeated", "555", 100 * time.Millisecond, 100 * time.Millisecond, 6000, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var audio []int16
			for _, k := range tc.keys {
				audio = append(audio, tone(k, tc.on, tc.amp, tc.twistDB, tc.noiseRMS, rng)...)
				audio = append(audio, tone(0, tc.off, 0, 0, tc.noiseRMS, rng)...)
			}
			got := detect(audio)
			keys := ""
			for _, d := range got {
				keys += string(d.Key)
				if d.Duration < tc.on-2*26*time.Millisecond || d.Duration > tc.on+2*26*time.Millisecond {
					t.Errorf("%q lasted %v, tone was %v", d.Key, d.Duration, tc.on)
				}
			}
			if keys != tc.keys {
				t.Errorf("detected %q, want %q", keys, tc.keys)
			}
		})
	}
}

func TestDetectorRejects(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	tests := []struct {
		name  string
		audio []int16
	}{
		{"silence", tone(0, time.Second, 0, 0, 0, rng)},
		{"white noise", tone(0, time.Second, 0, 0, 3000, rng)},
		{"too short (30 ms)", tone('5', 30*time.Millisecond, 8000, 0, 0, rng)},
		{"too quiet (-46 dBFS)", tone('5', 200*time.Millisecond, 160, 0, 0, rng)},
		{"twist 12 dB", tone('5', 200*time.Millisecond, 2000, 12, 0, rng)},
		{"single 1 kHz tone", func() []int16 {
			out := make([]int16, 8000)
			for i := range out {
				out[i] = int16(8000 * math.Sin(2*math.Pi*1000*float64(i)/ClockRate))
			}
			return out
		}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := detect(tc.audio); len(got) != 0 {
				t.Errorf("false detections: %v", got)
			}
		})
	}
}

// Talk-off: the switch's own speech prompts (espeak-ng, res/prompts)
// contain no DTMF.
func TestDetectorSpeechTalkOff(t *testing.T) {
	files, _ := filepath.Glob("../../res/prompts/*.wav")
	if len(files) == 0 {
		t.Skip("no prompts in ../../res/prompts")
	}
	for _, f := range files {
		if filepath.Base(f) == "beep.wav" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		pcm := wavData16(t, b)
		if got := detect(pcm); len(got) != 0 {
			t.Errorf("%s: false digits %v", filepath.Base(f), got)
		}
	}
}

// wavData16 returns the samples of a 16-bit mono WAV's data chunk.
func wavData16(t *testing.T, b []byte) []int16 {
	t.Helper()
	for p := 12; p+8 <= len(b); {
		size := int(binary.LittleEndian.Uint32(b[p+4:]))
		if string(b[p:p+4]) == "data" {
			d := b[p+8 : min(len(b), p+8+size)]
			out := make([]int16, len(d)/2)
			for i := range out {
				out[i] = int16(binary.LittleEndian.Uint16(d[2*i:]))
			}
			return out
		}
		p += 8 + size + size&1
	}
	t.Fatal("no data chunk")
	return nil
}

func BenchmarkDetector20ms(b *testing.B) {
	frame := tone('5', 20*time.Millisecond, 6000, 0, 0, nil)
	var d Detector
	var out []Digit
	b.ReportAllocs()
	b.SetBytes(2 * int64(len(frame)))
	for b.Loop() {
		out = d.Process(out[:0], frame)
	}
}

func FuzzDetector(f *testing.F) {
	f.Add([]byte{0, 0, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		pcm := make([]int16, len(b)/2)
		for i := range pcm {
			pcm[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
		}
		var d Detector
		got := d.Flush(d.Process(nil, pcm))
		if len(got) > len(pcm)/(2*blockSize)+1 {
			t.Fatalf("%d digits from %d samples", len(got), len(pcm))
		}
	})
}

// Tones from an independent generator (sox), 80 ms each with 70 ms
// gaps, through mu-law as on a call.
func TestDetectorSoxTones(t *testing.T) {
	b, err := os.ReadFile("testdata/dtmf-159hash0star.ul")
	if err != nil {
		t.Fatal(err)
	}
	pcm := make([]int16, len(b))
	g711.DecodeUlaw(pcm, b)
	keys := ""
	for _, d := range detect(pcm) {
		keys += string(d.Key)
		if d.Duration < 50*time.Millisecond || d.Duration > 110*time.Millisecond {
			t.Errorf("%q lasted %v, tone was 80 ms", d.Key, d.Duration)
		}
	}
	if keys != "159#0*" {
		t.Errorf("detected %q, want 159#0*", keys)
	}
}
