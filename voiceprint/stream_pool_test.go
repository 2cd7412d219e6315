package voiceprint

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

var updateStream = flag.Bool("update-stream", false, "rewrite testdata/stream/decisions.json from the current Stream")

// streamSpeakers are FSDD speakers whose recordings (in $VOXDESK_SPEECH)
// are concatenated into ~8 s calls.
var streamSpeakers = []string{"george", "jackson", "nicolas"}

// speakerCall is ~seconds of one FSDD speaker's real speech.
func speakerCall(t testing.TB, speaker string, seconds float64) []int16 {
	t.Helper()
	root := os.Getenv("VOXDESK_SPEECH")
	if root == "" {
		t.Skip("VOXDESK_SPEECH not set: the shared speech folder holds the recordings")
	}
	b, err := os.ReadFile(filepath.Join(root, "fsdd", "manifest.csv"))
	if err != nil {
		t.Fatal(err)
	}
	var pcm []int16
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Split(line, ",")
		if len(f) < 5 || f[0] != speaker || f[3] < "10" || len(pcm) >= int(seconds*SampleRate) {
			continue
		}
		s, _ := readWAV16(t, filepath.Join(root, "fsdd", f[4]))
		pcm = append(pcm, s...)
	}
	if len(pcm) == 0 {
		t.Fatalf("no FSDD recordings of %s", speaker)
	}
	return pcm
}

// streamDecisions feeds a call frame by frame, as the switch does, and
// takes the embedding every 2 s (after the first second).
func streamDecisions(s *Stream, pcm []int16) [][]float32 {
	var out [][]float32
	for i, k := 0, 0; i+160 <= len(pcm); i, k = i+160, k+1 {
		s.Write(pcm[i : i+160])
		if k%100 == 99 {
			v := make([]float32, Dim)
			if _, err := s.EmbedTo(v); err == nil {
				out = append(out, v)
			}
		}
	}
	return out
}

// TestStreamDecisionsUnchanged pins the stream's embeddings on real
// speech to those of the stream before its network working set was
// pooled across streams (testdata/stream/decisions.json, written by
// commit fe9099e's Stream with -update-stream): cosine 1.
func TestStreamDecisionsUnchanged(t *testing.T) {
	path := filepath.Join("testdata", "stream", "decisions.json")
	got := map[string][][]float32{}
	for _, int8 := range []bool{false, true} {
		m := testModel(t, Config{Int8: int8})
		for _, sp := range streamSpeakers {
			got[fmt.Sprintf("%s/int8=%v", sp, int8)] = streamDecisions(m.NewStream(), speakerCall(t, sp, 8))
		}
	}
	if *updateStream {
		b, err := json.Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][][]float32{}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	for key, ws := range want {
		gs := got[key]
		if len(gs) != len(ws) || len(ws) == 0 {
			t.Errorf("%s: %d decisions, want %d", key, len(gs), len(ws))
			continue
		}
		for i := range ws {
			if c := dot32(gs[i], ws[i]) / (norm32(gs[i]) * norm32(ws[i])); c < 1-1e-6 {
				t.Errorf("%s decision %d: cosine %.9f to the unpooled stream", key, i, c)
			}
		}
	}
}

func norm32(a []float32) float64 { return math.Sqrt(dot32(a, a)) }

// TestStreamMemory: a stream holds its state only (the network's working
// set is lent from the model's pool while it computes), so the heap per
// identifying stream stays under 1 MiB (it was 4.1 MiB with a workspace
// of its own), and the pool keeps no more works than compute at once.
func TestStreamMemory(t *testing.T) {
	m := testModel(t, Config{Int8: true})
	pcm := speakerCall(t, "george", 3)
	const streams = 50
	ss := make([]*Stream, streams)
	emb := make([]float32, Dim)
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for i := range ss {
		ss[i] = m.NewStream()
		writeFrames(ss[i], pcm)
		if _, err := ss[i].EmbedTo(emb); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&m1)
	per := float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc)) / streams
	t.Logf("%.0f KiB per stream", per/1024)
	if per > 1<<20 {
		t.Errorf("%.0f KiB per stream, want at most 1 MiB", per/1024)
	}
	p := ss[0].works
	p.mu.Lock()
	idle := len(p.free)
	p.mu.Unlock()
	if idle != 1 {
		t.Errorf("pool holds %d idle works after one goroutine computed, want 1", idle)
	}
	runtime.KeepAlive(ss)
}
