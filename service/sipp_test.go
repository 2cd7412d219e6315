package service_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/media"
	"github.com/voxdesk/voxdesk/res"
	"github.com/voxdesk/voxdesk/service"
)

// callerSpeech is the caller's audio in the tests: a spoken sentence.
func callerSpeech(t *testing.T) []int16 {
	t.Helper()
	p, err := media.LoadPromptFS(res.Prompts, "prompts/reason.wav")
	if err != nil {
		t.Fatal(err)
	}
	return p.Samples
}

// TestCallAudioAndDigits: SIPp streams a mu-law WAV as RTP and presses
// 1, 2, 3 with RFC 2833 events, then hangs up. The switch must report the
// digits in order and its recording of the caller must match the WAV.
func TestCallAudioAndDigits(t *testing.T) {
	speech := callerSpeech(t)
	wav := filepath.Join(t.TempDir(), "caller.wav")
	writeUlawWAV(t, wav, speech)
	talk := time.Duration(len(speech)) * time.Second / 8000
	// The digits take 1.4 s from the start of the stream; hang up 1 s
	// after the stream ends.
	tail := talk - 1400*time.Millisecond + time.Second
	ref := ulawRoundTrip(speech)
	timed(t, func(t *testing.T) (problems []string) {
		recDir := filepath.Join(t.TempDir(), "rec") // made by the switch
		sw := startSwitch(t, func(c *service.Config) { c.Demo.RecordDir = recDir })
		defer sw.Close()
		sipp{scenario: "caller.xml", vars: map[string]string{"WAV": wav, "TAIL_MS": ms(tail)}}.mustPass(t, sw)
		waitIdle(t, sw, 5*time.Second)
		if got := sw.keys(); got != "123" {
			t.Errorf("digits seen %q, want %q", got, "123")
		}
		wantMetric(t, metricsText(t, sw), "voxdesk_dtmf_digits_total 3")
		// Recordings are personal data: the switch's user only.
		files, _ := filepath.Glob(filepath.Join(recDir, "*.wav"))
		for _, path := range append([]string{recDir}, files...) {
			want := os.FileMode(0o600)
			if path == recDir {
				want = 0o700
			}
			if st, err := os.Stat(path); err != nil || st.Mode().Perm() != want {
				t.Errorf("%s: mode %v (%v), want %v", path, st.Mode().Perm(), err, want)
			}
		}
		if c := recordingMatch(t, recDir, ref); c < 0.9 {
			problems = append(problems, fmt.Sprintf("recorded caller audio correlates %.3f with the WAV sent, want > 0.9", c))
		}
		return problems
	})
}

func ms(d time.Duration) string { return strconv.Itoa(int(max(d, 0) / time.Millisecond)) }

// recordingMatch is the best correlation of the one recording in dir
// (the demo's record of the caller) with ref, as bestCorrelation.
func recordingMatch(t *testing.T, dir string, ref []int16) float64 {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.wav"))
	if len(files) != 1 {
		t.Fatalf("recordings: %v", files)
	}
	rec, err := media.LoadPCM(files[0], 8000)
	if err != nil {
		t.Fatal(err)
	}
	c, lag := bestCorrelation(rec, ref, 3*8000)
	t.Logf("recording %d samples, best correlation %.4f at lag %v", len(rec), c, time.Duration(lag)*time.Second/8000)
	return c
}

// TestPromptReachesCaller: the caller's SDP points at a socket of the test,
// which checks our RTP as a receiver: 50 packets/s, consecutive sequence
// numbers, timestamps advancing 160 per packet, one SSRC, and the audio
// is the welcome prompt.
func TestPromptReachesCaller(t *testing.T) {
	timed(t, func(t *testing.T) (problems []string) {
		sw := startSwitch(t, nil)
		defer sw.Close()
		sink := newRTPSink(t)
		welcome := sw.Prompts().Get("welcome")
		listen := welcome.Duration() + 1500*time.Millisecond
		sipp{scenario: "listener.xml", vars: map[string]string{"PAUSE_MS": ms(listen)}, keys: map[string]string{"sink_port": sink.port()}}.mustPass(t, sw)
		waitIdle(t, sw, 5*time.Second)
		pkts := sink.packets()
		if len(pkts) < 2 {
			t.Fatalf("received %d RTP packets", len(pkts))
		}
		fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
		span := pkts[len(pkts)-1].at.Sub(pkts[0].at)
		rate := float64(len(pkts)-1) / span.Seconds()
		t.Logf("%d packets over %v: %.2f packets/s", len(pkts), span, rate)
		if math.Abs(rate-50) > 1 {
			fail("packet rate %.2f/s, want 50", rate)
		}
		var gaps []time.Duration
		for i := 1; i < len(pkts); i++ {
			p, q := pkts[i-1].hdr, pkts[i].hdr
			if q.SSRC != p.SSRC {
				t.Fatalf("packet %d: SSRC changed %x -> %x", i, p.SSRC, q.SSRC)
			}
			if q.SequenceNumber != p.SequenceNumber+1 {
				fail("packet %d: sequence %d after %d", i, q.SequenceNumber, p.SequenceNumber)
			}
			if d := q.Timestamp - p.Timestamp; d != 160 {
				fail("packet %d: timestamp advanced %d, want 160", i, d)
			}
			gaps = append(gaps, pkts[i].at.Sub(pkts[i-1].at))
		}
		if !pkts[0].hdr.Marker {
			t.Errorf("first packet has no marker bit")
		}
		frames, fill := promptFrames(pkts, welcome.Samples)
		want := (len(welcome.Samples) + 159) / 160
		t.Logf("welcome prompt: %d of %d frames received bit-exact in order, %d other frames in between; inter-arrival p50 %v p99 %v",
			frames, want, fill, quantile(gaps, 0.5), quantile(gaps, 0.99))
		if frames != want {
			fail("only %d of the welcome prompt's %d frames reached the caller", frames, want)
		}
		return problems
	})
}

// promptFrames counts how many of prompt's 20 ms frames, as a PCMU
// receiver decodes them, appear in order in the packets received, and how
// many other packets (silence sent while no frame was queued) lie
// between the first and the last.
func promptFrames(pkts []sinkPacket, prompt []int16) (matched, other int) {
	ref := ulawRoundTrip(prompt)
	n := (len(ref) + 159) / 160
	frame := func(j int) []int16 {
		f := make([]int16, 160)
		copy(f, ref[j*160:min(len(ref), (j+1)*160)])
		return f
	}
	started := false
	for _, p := range pkts {
		if matched == n {
			break
		}
		if slices.Equal(p.pcm, frame(matched)) {
			matched++
			started = true
		} else if started {
			other++
		}
	}
	return matched, other
}

func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1))]
}

// A timing check that fails on every attempt fails, even when the
// machine was starved each time (it used to be skipped).
func TestTimedVerdict(t *testing.T) {
	starved, calm := 2*starvedAfter, starvedAfter/2
	for _, tc := range []struct {
		name     string
		i        int
		problems []string
		worst    time.Duration
		want     timedOutcome
	}{
		{"no problem passes", 1, nil, starved, timedPass},
		{"problems on a calm machine fail at once", 1, []string{"late"}, calm, timedFail},
		{"problems on a starved machine are retried", 1, []string{"late"}, starved, timedRetry},
		{"problems on the last starved attempt fail", timedAttempts, []string{"late"}, starved, timedFail},
	} {
		if got := timedVerdict(tc.i, tc.problems, tc.worst); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
