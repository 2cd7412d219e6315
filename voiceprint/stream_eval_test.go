package voiceprint

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// eerPercent is the equal error rate of target and non-target scores.
func eerPercent(tar, non []float64) float64 {
	type s struct {
		v   float64
		tar bool
	}
	all := make([]s, 0, len(tar)+len(non))
	for _, v := range tar {
		all = append(all, s{v, true})
	}
	for _, v := range non {
		all = append(all, s{v, false})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v < all[j].v })
	// Threshold after position i: targets at or below are missed, non-targets above accepted.
	miss, fa := 0, len(non)
	best, eer := 2.0, 0.0
	for _, x := range all {
		if x.tar {
			miss++
		} else {
			fa--
		}
		frr, far := float64(miss)/float64(len(tar)), float64(fa)/float64(len(non))
		if d := frr - far; d*d < best {
			best, eer = d*d, (frr+far)/2
		}
	}
	return 100 * eer
}

// TestStreamingCost measures what the streaming CMN/VAD (and 8-bit
// products, and whole-utterance pooling) cost against the Kaldi batch path: EER over all pairs of test clips and the cosine
// between the stream's and the batch embedding of the same clip. Needs a
// folder of 8 kHz 16-bit WAVs named SPEAKER-*.wav in VOXDESK_STREAM_EVAL
// (e.g. LibriSpeech test-other through a mu-law round trip, see the
// README); long, so gated.
func TestStreamingCost(t *testing.T) {
	dir := os.Getenv("VOXDESK_STREAM_EVAL")
	if dir == "" {
		t.Skip("set VOXDESK_STREAM_EVAL to a folder of 8 kHz WAVs named SPEAKER-*.wav")
	}
	m := testModel(t, Config{})
	files, _ := filepath.Glob(filepath.Join(dir, "*.wav"))
	x := m.NewExtractor()
	type method struct {
		name string
		emb  func(pcm []int16) ([]float32, error)
	}
	methods := []method{{"batch (Kaldi)", func(pcm []int16) ([]float32, error) {
		e, err := x.Embed(pcm, SampleRate)
		return e.Vector, err
	}}}
	xq := testModel(t, Config{Int8: true}).NewExtractor()
	xw := testModel(t, Config{Pooling: PoolWhole}).NewExtractor()
	methods = append(methods, method{"batch, int8", func(pcm []int16) ([]float32, error) {
		e, err := xq.Embed(pcm, SampleRate)
		return e.Vector, err
	}}, method{"batch, whole pooling", func(pcm []int16) ([]float32, error) {
		e, err := xw.Embed(pcm, SampleRate)
		return e.Vector, err
	}})
	for _, la := range []time.Duration{20 * time.Millisecond, 300 * time.Millisecond, time.Second} {
		methods = append(methods, method{fmt.Sprintf("stream lookahead %v", la), func(pcm []int16) ([]float32, error) {
			s := m.NewStreamLookahead(la)
			writeFrames(s, pcm)
			e, err := s.Embed()
			return e.Vector, err
		}})
	}
	for _, secs := range []int{3, 7} {
		var spk []string
		embs := make([][][]float32, len(methods))
		for _, f := range files {
			pcm, _ := readWAV16(t, f)
			if len(pcm) < secs*SampleRate {
				continue
			}
			pcm = pcm[:secs*SampleRate]
			vs := make([][]float32, len(methods))
			ok := true
			for i, me := range methods {
				v, err := me.emb(pcm)
				if err != nil {
					ok = false
					break
				}
				vs[i] = v
			}
			if !ok {
				continue
			}
			spk = append(spk, strings.SplitN(filepath.Base(f), "-", 2)[0])
			for i := range methods {
				embs[i] = append(embs[i], vs[i])
			}
		}
		for i, me := range methods {
			var tar, non []float64
			var cosSum, cosMin float64 = 0, 1
			for a := range spk {
				c := dot32(embs[i][a], embs[0][a])
				cosSum += c
				cosMin = min(cosMin, c)
				for b := a + 1; b < len(spk); b++ {
					sc := dot32(embs[i][a], embs[i][b])
					if spk[a] == spk[b] {
						tar = append(tar, sc)
					} else {
						non = append(non, sc)
					}
				}
			}
			t.Logf("%d s, %d clips, %d/%d trials: %-26s EER %5.2f %%  cosine to batch mean %.4f min %.4f",
				secs, len(spk), len(tar), len(non), me.name, eerPercent(tar, non), cosSum/float64(len(spk)), cosMin)
		}
	}
}
