package media

import (
	"os"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestManySessions runs VOXDESK_MEDIA_LOAD pairs of sessions (default:
// skipped) sending to each other for 5 s and reports CPU per session
// and the receive-side inter-arrival spread. Run:
//
//	VOXDESK_MEDIA_LOAD=250 go test -run TestManySessions -v ./media/
func TestManySessions(t *testing.T) {
	pairs, _ := strconv.Atoi(os.Getenv("VOXDESK_MEDIA_LOAD"))
	if pairs <= 0 {
		t.Skip("set VOXDESK_MEDIA_LOAD=<pairs> to run")
	}
	const dur = 5 * time.Second
	lateness := recordLateness(t)
	var sessions []*RTPSession
	for range pairs {
		a, b := loopbackPair(t)
		sessions = append(sessions, a, b)
	}
	var ru0, ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	// Every session has a reader, as a call's handler would.
	var wg sync.WaitGroup
	deadline := time.Now().Add(dur)
	for _, s := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]int16, FrameSamples)
			for time.Now().Before(deadline) {
				if _, err := s.ReadAudio(t.Context(), buf); err != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(ru1.Utime.Nano()-ru0.Utime.Nano()) + time.Duration(ru1.Stime.Nano()-ru0.Stime.Nano())
	var in, lost uint64
	var jit []time.Duration
	for _, s := range sessions {
		st := s.Stats()
		in += st.PacketsIn
		lost += uint64(st.Lost)
		jit = append(jit, st.Jitter)
		s.Close()
	}
	// Every session must have heard its peer the whole time, losing
	// nothing (loopback), at about 50 packets per second.
	if lost != 0 || float64(in) < 0.9*50*dur.Seconds()*float64(len(sessions)) {
		t.Errorf("lost %d, received %d packets", lost, in)
	}
	slices.Sort(jit)
	lates := lateness()
	slices.Sort(lates)
	m := len(lates)
	t.Logf("sender wake-up lateness over %d ticks: p50 %v p99 %v p99.9 %v max %v", m, lates[m/2], lates[m*99/100], lates[m*999/1000], lates[m-1])
	n := len(sessions)
	t.Logf("%d sessions for %v: CPU %v (%.2f%% of one core per session), packets in %d (%.1f/s/session), lost %d, RFC 3550 jitter p50 %v p99 %v max %v",
		n, dur, cpu, 100*cpu.Seconds()/dur.Seconds()/float64(n), in, float64(in)/dur.Seconds()/float64(n), lost,
		jit[n/2], jit[n*99/100], jit[n-1])
}
