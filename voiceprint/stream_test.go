package voiceprint

import (
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"
)

func dot32(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// writeFrames feeds pcm to the stream in 20 ms frames.
func writeFrames(s *Stream, pcm []int16) {
	for len(pcm) > 0 {
		n := min(160, len(pcm))
		s.Write(pcm[:n])
		pcm = pcm[n:]
	}
}

// TestStreamExactWhenLookaheadCoversUtterance: with a lookahead longer than
// the utterance nothing is finalised early, so for an utterance within one
// CMN window (<= 300 frames) the stream computes exactly what Kaldi does.
func TestStreamExactWhenLookaheadCoversUtterance(t *testing.T) {
	for _, p := range []Pooling{PoolChunked, PoolWhole} {
		m := testModel(t, Config{Pooling: p})
		pcm, rate := readWAV16(t, filepath.Join("testdata", "golden", "f1998_3s.wav"))
		want, err := m.NewExtractor().Embed(pcm, rate)
		if err != nil {
			t.Fatal(err)
		}
		s := m.NewStreamLookahead(10 * time.Second)
		writeFrames(s, pcm)
		got, err := s.Embed()
		if err != nil {
			t.Fatal(err)
		}
		if c := dot32(got.Vector, want.Vector); c < 0.99999 || got.Speech != want.Speech {
			t.Errorf("pooling %d: cosine %.6f speech %.2f/%.2f", p, c, got.Speech, want.Speech)
		}
	}
}

// TestStreamCloseToBatch: with the default 300 ms lookahead the stream's
// embedding stays close to the whole-utterance one (the measured cost of
// streaming CMN/VAD; see the package README for the EER figures).
func TestStreamCloseToBatch(t *testing.T) {
	m := testModel(t, Config{})
	x := m.NewExtractor()
	for _, g := range loadGolden(t) {
		t.Run(g.File, func(t *testing.T) {
			pcm, rate := readWAV16(t, filepath.Join("testdata", "golden", g.File))
			want, err := x.Embed(pcm, rate)
			if err != nil {
				t.Fatal(err)
			}
			s := m.NewStream()
			writeFrames(s, pcm)
			got, err := s.Embed()
			if err != nil {
				t.Fatal(err)
			}
			c := dot32(got.Vector, want.Vector)
			t.Logf("stream vs batch cosine %.4f, speech %.2f vs %.2f s", c, got.Speech, want.Speech)
			if c < 0.9 {
				t.Errorf("cosine %.4f < 0.9", c)
			}
			// Embedding does not change the stream: a second call agrees.
			again, _ := s.Embed()
			if dot32(again.Vector, got.Vector) < 0.999999 {
				t.Error("Embed changed the stream state")
			}
		})
	}
}

// TestPipelineBatching: pushing frames in any batch sizes, across chunk
// boundaries, gives the same x-vector as pushing them at once.
func TestPipelineBatching(t *testing.T) {
	m := testModel(t, Config{})
	n := m.net
	rng := rand.New(rand.NewPCG(1, 2))
	const rows = 950 // two full chunks and a partial one
	feats := make([]float32, rows*23)
	for i := range feats {
		feats[i] = float32(rng.NormFloat64() * 3)
	}
	for _, chunked := range []bool{true, false} {
		big, bw := newPipeline(n, chunked, 420), newWork(n, chunked, 420)
		big.push(bw, feats, rows)
		want := make([]float32, Dim)
		if !big.xvector(bw.ws, want) {
			t.Fatal("no x-vector")
		}
		small, sw := newPipeline(n, chunked, 16), newWork(n, chunked, 16)
		for p := 0; p < rows; {
			k := min(1+rng.IntN(40), rows-p)
			small.push(sw, feats[p*23:], k)
			p += k
		}
		got := make([]float32, Dim)
		small.xvector(sw.ws, got)
		for i := range got {
			if math.Abs(float64(got[i]-want[i])) > 1e-3*math.Max(1, math.Abs(float64(want[i]))) {
				t.Fatalf("chunked=%v: value %d got %v want %v", chunked, i, got[i], want[i])
			}
		}
	}
}

func TestStreamNotEnoughSpeech(t *testing.T) {
	m := testModel(t, Config{})
	s := m.NewStream()
	writeFrames(s, make([]int16, 8000*3))
	_, err := s.Embed()
	var ne *NotEnoughSpeechError
	if !errors.As(err, &ne) || ne.Speech != 0 {
		t.Fatalf("silence: got %v", err)
	}
	if err := s.WriteFloat([]float32{1, float32(math.NaN())}); !errors.Is(err, ErrCorruptAudio) {
		t.Fatalf("NaN: got %v", err)
	}
}
