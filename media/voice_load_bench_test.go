package media

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/voiceprint"
)

// BenchmarkPacerUnderVoice measures how late the RTP pacer's ticks run
// while identifying streams compute embeddings on the same processor,
// as on the one-core switch of the load bench: 50 pairs of loopback RTP
// sessions send to each other (each with a reader, as a call's handler)
// while `streams` goroutines feed real speech (LibriSpeech, 0.5 s per
// decision; none in the control streams=0) to voiceprint streams as fast as the processor lets them and
// take an embedding after each half second. Reported: the pacer's
// lateness per packet (how long after its tick's due time each session's
// send ran) p50/p99/max, and the embeddings computed per second. One op
// is 5 s. Run pinned to one core:
//
//	GOMAXPROCS=1 taskset -c 1 go test ./media -run '^$' -bench PacerUnderVoice -benchtime 1x
func BenchmarkPacerUnderVoice(b *testing.B) {
	dir, err := voiceprint.FindModelDir()
	if err != nil {
		benchAbsent(b, "speaker model", err)
	}
	m, err := voiceprint.Open(voiceprint.Config{Dir: dir, Int8: true})
	if err != nil {
		b.Fatal(err)
	}
	root := os.Getenv("VOXDESK_SPEECH")
	if root == "" {
		root = filepath.Join("..", "..", "shared", "speech")
	}
	pcm, err := LoadPCM(filepath.Join(root, "librispeech-test-other", "test-other", "1688", "1688-142285-0000.flac"), voiceprint.SampleRate)
	if err != nil {
		benchAbsent(b, "speech corpus", err)
	}
	for _, streams := range []int{0, 1, 8} {
		b.Run(fmt.Sprintf("streams=%d", streams), func(b *testing.B) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
			var lates []time.Duration
			var embeds int64
			var elapsed time.Duration
			for b.Loop() {
				l, e, d := pacerUnderVoice(b, m, pcm, streams, 50, 5*time.Second)
				lates, embeds, elapsed = append(lates, l...), embeds+e, elapsed+d
			}
			if len(lates) == 0 || (streams > 0 && embeds == 0) {
				b.Fatalf("%d ticks, %d embeddings: nothing measured", len(lates), embeds)
			}
			slices.Sort(lates)
			n := len(lates)
			ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
			b.ReportMetric(ms(lates[n/2]), "late-p50-ms")
			b.ReportMetric(ms(lates[n*99/100]), "late-p99-ms")
			b.ReportMetric(ms(lates[n-1]), "late-max-ms")
			b.ReportMetric(float64(embeds)/elapsed.Seconds(), "embeddings/s")
		})
	}
}

// pacerUnderVoice runs pairs of RTP sessions and streams computing
// goroutines for dur and returns every send's lateness, the embeddings
// computed and the time they were computed in.
func pacerUnderVoice(b *testing.B, m *voiceprint.Model, pcm []int16, streams, pairs int, dur time.Duration) ([]time.Duration, int64, time.Duration) {
	lates := recordLateness(b)
	var sessions []*RTPSession
	defer func() {
		for _, s := range sessions {
			s.Close()
		}
	}()
	for range pairs {
		a, z := loopbackPair(b)
		sessions = append(sessions, a, z)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, s := range sessions {
		wg.Go(func() {
			buf := make([]int16, FrameSamples)
			for {
				if _, err := s.ReadAudio(b.Context(), buf); err != nil {
					return
				}
				select {
				case <-stop:
					return
				default:
				}
			}
		})
	}
	var embeds atomic.Int64
	start := time.Now()
	for range streams {
		wg.Go(func() {
			s := m.NewStream()
			emb := make([]float32, voiceprint.Dim)
			half := voiceprint.SampleRate / 2
			for i := 0; ; i = (i + half) % (len(pcm) - half) {
				select {
				case <-stop:
					return
				default:
				}
				for k := i; k < i+half; k += FrameSamples {
					s.Write(pcm[k : k+FrameSamples])
				}
				if _, err := s.EmbedTo(emb); err == nil {
					embeds.Add(1)
				}
				if s.Speech() > 10 { // a caller is listened to for seconds, not minutes
					s.Reset()
				}
			}
		})
	}
	time.Sleep(dur) // the measurement window
	elapsed := time.Since(start)
	close(stop)
	for _, s := range sessions {
		s.Close() // ends the readers
	}
	sessions = nil
	wg.Wait()
	return lates(), embeds.Load(), elapsed
}

// recordLateness records every send's lateness (sendLateHook) until the
// test ends; the returned func gives those so far.
func recordLateness(tb testing.TB) func() []time.Duration {
	var mu sync.Mutex
	var lates []time.Duration
	sendLateHook = func(d time.Duration) {
		mu.Lock()
		lates = append(lates, d)
		mu.Unlock()
	}
	tb.Cleanup(func() { sendLateHook = nil })
	return func() []time.Duration {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(lates)
	}
}

// loopbackPair is two RTP sessions on 127.0.0.1 sending to each other.
func loopbackPair(tb testing.TB) (*RTPSession, *RTPSession) {
	ca, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	cb, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	x, err := NewRTPSession(ca, RTPConfig{Remote: cb.LocalAddr().(*net.UDPAddr).AddrPort()})
	if err != nil {
		tb.Fatal(err)
	}
	y, err := NewRTPSession(cb, RTPConfig{Remote: ca.LocalAddr().(*net.UDPAddr).AddrPort()})
	if err != nil {
		tb.Fatal(err)
	}
	return x, y
}

// benchAbsent fails in CI and skips elsewhere when test data is missing.
func benchAbsent(b *testing.B, what string, err error) {
	b.Helper()
	if os.Getenv("CI") == "true" {
		b.Fatalf("%s absent in CI: %v", what, err)
	}
	b.Skipf("%s absent: %v", what, err)
}
