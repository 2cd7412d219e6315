package voiceprint

import (
	"path/filepath"
	"slices"
	"testing"
)

// TestBlocksSameResult: a layer computed in blocks of yieldRows frames
// (with a yield between them) gives exactly the embedding of one product
// per push, for the Extractor (400-frame chunks, so 7 blocks each) and a
// stream, in float32 and int8.
func TestBlocksSameResult(t *testing.T) {
	pcm, _ := readWAV16(t, filepath.Join("testdata", "golden", "m1688_8s.wav"))
	embed := func(m *Model) (batch, stream []float32) {
		x := m.NewExtractor()
		batch = make([]float32, Dim)
		if _, err := x.EmbedTo(batch, pcm, SampleRate); err != nil {
			t.Fatal(err)
		}
		s := m.NewStream()
		s.Write(pcm)
		stream = make([]float32, Dim)
		if _, err := s.EmbedTo(stream); err != nil {
			t.Fatal(err)
		}
		return batch, stream
	}
	for _, tc := range []struct {
		name string
		cfg  Config
	}{{"float32", Config{}}, {"int8", Config{Int8: true}}} {
		t.Run(tc.name, func(t *testing.T) {
			m := testModel(t, tc.cfg)
			blocked, blockedStream := embed(m)
			rows := yieldRows
			defer func() { yieldRows = rows }()
			yieldRows = 1 << 20 // one product per push
			whole, wholeStream := embed(m)
			if !slices.Equal(blocked, whole) {
				t.Errorf("Extractor: blocks of %d frames changed the embedding: %v... want %v...", rows, blocked[:4], whole[:4])
			}
			if !slices.Equal(blockedStream, wholeStream) {
				t.Errorf("Stream: blocks changed the embedding: %v... want %v...", blockedStream[:4], wholeStream[:4])
			}
		})
	}
}
