package voiceprint

import (
	"path/filepath"
	"testing"
)

// benchSpeech returns n seconds of the golden speech (repeated as needed),
// all voiced, so the network sees about 100*n frames.
func benchSpeech(b *testing.B, seconds int) []int16 {
	pcm, _ := readWAV16(b, filepath.Join("testdata", "golden", "m1688_8s.wav"))
	// 100*seconds whole frames (25 ms window, 10 ms shift).
	n := seconds*SampleRate + 120
	out := make([]int16, 0, n)
	for len(out) < n {
		out = append(out, pcm[:min(len(pcm), n-len(out))]...)
	}
	return out
}

// BenchmarkEmbed: features to embedding for 1, 3 and 7 s of speech.
func BenchmarkEmbed(b *testing.B) {
	m := testModel(b, Config{})
	m8 := testModel(b, Config{Int8: true})
	for _, tc := range []struct {
		sec  int
		name string
		m    *Model
	}{{1, "1s", m}, {3, "3s", m}, {7, "7s", m}, {7, "7s-int8", m8}} {
		sec, m := tc.sec, tc.m
		b.Run(tc.name, func(b *testing.B) {
			pcm := benchSpeech(b, sec)
			x := m.NewExtractor()
			dst := make([]float32, Dim)
			if _, err := x.EmbedTo(dst, pcm, SampleRate); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := x.EmbedTo(dst, pcm, SampleRate); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
		})
	}
}

// BenchmarkStream: "frame" is the cost of one 20 ms frame written to a
// stream (each op writes 7 s of speech in 350 frames; the metric is per
// frame), "decision" the cost of Embed after 7 s: the time from the last
// frame to the embedding.
func BenchmarkStream(b *testing.B) {
	for _, tc := range []struct {
		suffix string
		cfg    Config
	}{{"", Config{}}, {"-int8", Config{Int8: true}}} {
		m := testModel(b, tc.cfg)
		pcm := benchSpeech(b, 7)
		b.Run("frame"+tc.suffix, func(b *testing.B) {
			s := m.NewStream()
			writeFrames(s, pcm)
			b.ReportAllocs()
			frames := 0
			for b.Loop() {
				s.Reset()
				for i := 0; i+160 <= len(pcm); i += 160 {
					s.Write(pcm[i : i+160])
					frames++
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(frames), "us/frame")
		})
		b.Run("decision"+tc.suffix, func(b *testing.B) {
			s := m.NewStream()
			writeFrames(s, pcm)
			dst := make([]float32, Dim)
			if _, err := s.EmbedTo(dst); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.EmbedTo(dst); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/decision")
		})
	}
}
