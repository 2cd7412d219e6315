package service

import (
	"log/slog"
	"math"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/ivr"
	"github.com/voxdesk/voxdesk/voiceprint"
)

// VoiceUnavailable is the warning of a listening that was not admitted:
// the machine already computes as many identifying streams as it can in
// real time, so the caller is identified by number or PIN instead.
const VoiceUnavailable = "voice identification unavailable: the voice side is at capacity (voiceprint.max_streams)"

// voiceCPUShare is the share of the process's CPUs (GOMAXPROCS) the
// derived max_streams lets identifying streams use at their worst
// (every frame voiced); the rest is left to RTP, SIP and the runtime.
const voiceCPUShare = 0.5

// admission bounds the identifying streams computed at once. A stream
// beyond the bound would not be computed in real time: its frames, and
// every other call's, would queue behind the CPU and come out late or
// concealed. So it is refused and the caller falls back to number/PIN.
type admission struct {
	max     int
	active  atomic.Int64
	full    atomic.Bool // at the bound: logged once per episode
	refused *prometheus.CounterVec
	log     *slog.Logger
}

func newAdmission(max int, log *slog.Logger) *admission {
	return &admission{max: max, log: log, refused: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "voxdesk_voice_not_admitted_total",
		Help: "Identifying listenings refused because voiceprint.max_streams were already being computed (the caller falls back to number/PIN).",
	}, []string{"mode"})}
}

// acquire admits one more stream, or counts the refusal.
func (a *admission) acquire(mode string) bool {
	if n := a.active.Add(1); n > int64(a.max) {
		a.active.Add(-1)
		a.refused.WithLabelValues(mode).Inc()
		if a.full.CompareAndSwap(false, true) {
			a.log.Warn("voiceprint streams at capacity: further callers are identified by number or PIN", "max_streams", a.max)
		}
		return false
	}
	return true
}

func (a *admission) release() {
	if a.active.Add(-1) < int64(a.max) && a.full.CompareAndSwap(true, false) {
		a.log.Info("voiceprint streams below capacity again", "max_streams", a.max)
	}
}

// deriveMaxStreams is how many identifying streams the CPUs compute in
// real time: voiceCPUShare of GOMAXPROCS over the measured cost of one.
func deriveMaxStreams(cost float64) int {
	return max(1, int(math.Floor(float64(maxProcs())*voiceCPUShare/cost)))
}

// streamCost measures one identifying stream's compute per second of
// audio at its worst: loud noise whose level rises and falls like
// syllables, so every frame is voiced and goes through the network,
// with a decision every 500 ms as the ivr asks. The least of three runs
// is kept (the others waited for a CPU busy elsewhere).
func streamCost(m *voiceprint.Model) float64 {
	const seconds = 3
	pcm := make([]int16, seconds*call.SampleRate)
	x := uint32(1)
	for i := range pcm {
		x = x*1664525 + 1013904223
		gain := 1.0
		if (i/(call.SampleRate/8))%2 == 1 { // 4 Hz syllables
			gain = 0.15
		}
		pcm[i] = int16(gain * float64(int32(x>>16)-32768) / 11)
	}
	emb := make([]float32, voiceprint.Dim)
	best := math.Inf(1)
	for range 3 {
		s := m.NewStream()
		start := time.Now()
		for i := 0; i+call.FrameSamples <= len(pcm); i += call.FrameSamples {
			s.Write(pcm[i : i+call.FrameSamples])
			if (i/call.FrameSamples)%25 == 24 {
				_, _ = s.EmbedTo(emb)
			}
		}
		best = min(best, time.Since(start).Seconds())
	}
	return best / seconds
}

// refusedListener stands for a listening that was not admitted: it hears
// nothing and says so.
type refusedListener struct {
	verdict ivr.Verdict
}

func (refusedListener) Write([]int16) error                            { return nil }
func (refusedListener) Decide() (string, float64, bool, time.Duration) { return "", 0, false, 0 }
func (refusedListener) Close()                                         {}

// Unavailable tells the ivr not to wait for this listener.
func (refusedListener) Unavailable() bool { return true }

var _ ivr.Unavailable = refusedListener{}

// Verdict is not sure, with the reason for the agent and the call's log.
func (r refusedListener) Verdict() ivr.Verdict { return r.verdict }

var _ ivr.Reporter = refusedListener{}

func maxProcs() int { return runtime.GOMAXPROCS(0) }
