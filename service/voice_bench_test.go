package service

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/media"
	"github.com/voxdesk/voxdesk/media/g711"
	"github.com/voxdesk/voxdesk/voiceprint"
)

// BenchmarkVoiceDecide measures what an identifying call costs at 100
// and 500 concurrent callers: each has heard 3 s of speech (LibriSpeech
// through mu-law) and holds its stream; one op is one decision of every
// caller (number's customer 1:1, the whole base of 10 000 voiceprints,
// the watchlist), spread over GOMAXPROCS workers. Reported: ms of CPU
// per decision and the heap each call's listener holds.
//
//	go test ./service -run '^$' -bench VoiceDecide -benchtime 3x
func BenchmarkVoiceDecide(b *testing.B) {
	model := modelDir(b)
	root := speechRoot(b)
	for _, network := range []string{"int8", "float32"} {
		v, err := newVoice(context.Background(), VoiceprintConfig{ModelDir: model, Network: network, MaxStreams: 1000}, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		r := rand.New(rand.NewPCG(1, 1))
		vec := make([]float32, voiceprint.Dim)
		for i := range 10000 {
			for j := range vec {
				vec[j] = float32(r.NormFloat64())
			}
			if err := v.gallery.Put(fmt.Sprintf("C-%05d", i), vec); err != nil {
				b.Fatal(err)
			}
			if i < 20 {
				_ = v.watch.Put(fmt.Sprintf("W-%d", i), vec)
			}
		}
		pcm, err := media.LoadPCM(filepath.Join(root, "librispeech-test-other", "test-other", "1688", "1688-142285-0000.flac"), voiceprint.SampleRate)
		if err != nil {
			b.Fatal(err)
		}
		pcm = ulawRound(pcm[:5*voiceprint.SampleRate])
		for _, callers := range []int{100, 500} {
			b.Run(fmt.Sprintf("network=%s/callers=%d", network, callers), func(b *testing.B) {
				runtime.GC()
				var m0, m1 runtime.MemStats
				runtime.ReadMemStats(&m0)
				ls := make([]*listener, callers)
				for i := range ls {
					l := v.Listen([]string{fmt.Sprintf("C-%05d", i)}).(*listener)
					for k := 0; k+call.FrameSamples <= len(pcm); k += call.FrameSamples {
						l.Write(pcm[k : k+call.FrameSamples])
					}
					l.Decide() // the first decision sizes the listener's buffers
					ls[i] = l
				}
				runtime.GC()
				runtime.ReadMemStats(&m1)
				b.ReportAllocs()
				b.ResetTimer()
				start := time.Now()
				for b.Loop() {
					var wg sync.WaitGroup
					next := make(chan *listener)
					for range runtime.GOMAXPROCS(0) {
						wg.Add(1)
						go func() {
							defer wg.Done()
							for l := range next {
								l.Decide()
							}
						}()
					}
					for _, l := range ls {
						next <- l
					}
					close(next)
					wg.Wait()
				}
				elapsed := time.Since(start)
				b.ReportMetric(float64(elapsed.Microseconds())/1000/float64(b.N*callers)*float64(runtime.GOMAXPROCS(0)), "cpu-ms/decision")
				b.ReportMetric(float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc))/float64(callers)/1024, "KiB/call")
				runtime.KeepAlive(ls)
				for _, l := range ls {
					l.Close()
				}
			})
		}
	}
}

func ulawRound(pcm []int16) []int16 {
	out := make([]int16, len(pcm))
	copy(out, pcm)
	for i, s := range out {
		out[i] = g711.UlawToLinear(g711.LinearToUlaw(s))
	}
	return out
}
