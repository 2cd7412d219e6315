package voiceprint

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/voxdesk/voxdesk/voiceprint/mfcc"
)

// golden is one record of testdata/golden/golden.json (see the README there).
type golden struct {
	File             string      `json:"file"`
	NumFrames        int         `json:"num_frames"`
	Voiced           int         `json:"voiced"`
	MFCCFrames       []int       `json:"mfcc_frames"`
	MFCC             [][]float64 `json:"mfcc"`
	EmbeddingWhole   []float64   `json:"embedding_whole"`
	EmbeddingChunked []float64   `json:"embedding_chunked"`
}

func loadGolden(t testing.TB) []golden {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "golden", "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g []golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

// readWAV16 reads a mono 16-bit PCM WAV file (the golden inputs).
func readWAV16(t testing.TB, path string) ([]int16, int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pcm, rate, err := parseWAV16(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return pcm, rate
}

func parseWAV16(b []byte) ([]int16, int, error) {
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, 0, errors.New("not a RIFF WAVE file")
	}
	rate := 0
	for p := 12; p+8 <= len(b); {
		id, size := string(b[p:p+4]), int(binary.LittleEndian.Uint32(b[p+4:]))
		p += 8
		if size < 0 || p+size > len(b) {
			return nil, 0, errors.New("truncated chunk")
		}
		switch id {
		case "fmt ":
			if size < 16 || binary.LittleEndian.Uint16(b[p:]) != 1 || binary.LittleEndian.Uint16(b[p+2:]) != 1 || binary.LittleEndian.Uint16(b[p+14:]) != 16 {
				return nil, 0, errors.New("want mono 16-bit PCM")
			}
			rate = int(binary.LittleEndian.Uint32(b[p+4:]))
		case "data":
			if rate == 0 {
				return nil, 0, errors.New("data before fmt")
			}
			pcm := make([]int16, size/2)
			for i := range pcm {
				pcm[i] = int16(binary.LittleEndian.Uint16(b[p+2*i:]))
			}
			return pcm, rate, nil
		}
		p += size + size&1
	}
	return nil, 0, errors.New("no data chunk")
}

func testModel(t testing.TB, cfg Config) *Model {
	t.Helper()
	dir, err := FindModelDir()
	if err != nil {
		t.Skip(err)
	}
	cfg.Dir = dir
	m, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func cosine64(a []float32, b []float64) float64 {
	var d, na, nb float64
	for i := range a {
		d += float64(a[i]) * b[i]
		na += float64(a[i]) * float64(a[i])
		nb += b[i] * b[i]
	}
	return d / math.Sqrt(na*nb)
}

// TestGoldenMFCC: raw MFCCs match the reference within 1e-3 relative to
// the magnitude of each value (absolute 1e-3 for values below 1).
func TestGoldenMFCC(t *testing.T) {
	c, err := mfcc.New(mfcc.Default)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range loadGolden(t) {
		t.Run(g.File, func(t *testing.T) {
			pcm, _ := readWAV16(t, filepath.Join("testdata", "golden", g.File))
			s := make([]float32, len(pcm))
			for i, v := range pcm {
				s[i] = float32(v)
			}
			feats, n := c.Compute(nil, s)
			if n != g.NumFrames {
				t.Fatalf("got %d frames, want %d", n, g.NumFrames)
			}
			for i, want := range g.MFCC {
				fr := g.MFCCFrames[i]
				for j, w := range want {
					got := float64(feats[fr*23+j])
					if math.Abs(got-w) > 1e-3*math.Max(1, math.Abs(w)) {
						t.Errorf("frame %d ceps %d: got %.6f want %.6f", fr, j, got, w)
					}
				}
			}
			voiced := make([]bool, n)
			logE := make([]float32, n)
			for t := range n {
				logE[t] = feats[t*23]
			}
			if got := DefaultVAD.VAD(logE, voiced); got != g.Voiced {
				t.Errorf("VAD: %d voiced frames, want %d", got, g.Voiced)
			}
		})
	}
}

// TestGoldenEmbedding: embeddings match the reference with cosine >= 0.9999,
// for both pooling modes.
func TestGoldenEmbedding(t *testing.T) {
	cases := []struct {
		name    string
		pooling Pooling
		want    func(g golden) []float64
	}{
		{"chunked", PoolChunked, func(g golden) []float64 { return g.EmbeddingChunked }},
		{"whole", PoolWhole, func(g golden) []float64 { return g.EmbeddingWhole }},
	}
	gs := loadGolden(t)
	for _, tc := range cases {
		m := testModel(t, Config{Pooling: tc.pooling})
		x := m.NewExtractor()
		for _, g := range gs {
			t.Run(fmt.Sprintf("%s/%s", tc.name, g.File), func(t *testing.T) {
				pcm, rate := readWAV16(t, filepath.Join("testdata", "golden", g.File))
				e, err := x.Embed(pcm, rate)
				if err != nil {
					t.Fatal(err)
				}
				if math.Abs(e.Speech-float64(g.Voiced)*0.01) > 1e-9 {
					t.Errorf("speech %.2f s, want %.2f", e.Speech, float64(g.Voiced)*0.01)
				}
				if c := cosine64(e.Vector, tc.want(g)); c < 0.9999 {
					t.Errorf("cosine with reference %.6f < 0.9999", c)
				} else {
					t.Logf("cosine %.7f", c)
				}
			})
		}
	}
}

// TestInt8Accuracy: 8-bit weights and activations (simulated) stay close
// to the float32 embedding on the golden files.
func TestInt8Accuracy(t *testing.T) {
	f := testModel(t, Config{}).NewExtractor()
	q := testModel(t, Config{Int8: true}).NewExtractor()
	for _, g := range loadGolden(t) {
		pcm, rate := readWAV16(t, filepath.Join("testdata", "golden", g.File))
		a, err := f.Embed(pcm, rate)
		if err != nil {
			t.Fatal(err)
		}
		b, err := q.Embed(pcm, rate)
		if err != nil {
			t.Fatal(err)
		}
		c := cosine64(b.Vector, toF64(a.Vector))
		t.Logf("%s: int8 vs float32 cosine %.5f", g.File, c)
		if c < 0.9995 {
			t.Errorf("%s: cosine %.5f < 0.9995", g.File, c)
		}
	}
}

func toF64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}
