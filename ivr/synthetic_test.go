package ivr_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/call/calltest"
	"github.com/voxdesk/voxdesk/ivr"
)

// concealed is the sample value the gappy leg synthesises in its gaps.
const concealed int16 = 7777

// gappyLeg is a caller whose media loses every third frame and fills it
// with synthetic audio, marking it as an RTP session does
// (media.Marker).
type gappyLeg struct {
	*calltest.Leg
	n     int
	synth bool
}

func (l *gappyLeg) ReadAudio(ctx context.Context, dst []int16) (int, error) {
	n, err := l.Leg.ReadAudio(ctx, dst)
	l.n++
	l.synth = l.n%3 == 0
	if l.synth {
		for i := range dst[:n] {
			dst[i] = concealed
		}
	}
	return n, err
}

func (l *gappyLeg) Synthetic() bool { return l.synth }

// identifyFlow identifies the caller, listening up to listen, and hangs up.
func identifyFlow(listen string) string {
	return "operator: none\nsteps:\n  - id: who\n    identify: p500\n    listen: " + listen +
		"\n  - id: bye\n    hangup: p500\n"
}

// serveOne runs one call on leg through flow.
func serveOne(t *testing.T, flow string, cfg ivr.Config, leg call.Leg) *call.Call {
	t.Helper()
	f, err := ivr.Parse("test.yaml", []byte(flow), testOpts)
	if err != nil {
		t.Fatal(err)
	}
	r := ivr.NewRunner(f, cfg, ivr.WithLogger(slog.New(slog.DiscardHandler)))
	c := call.New("test-call", leg, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.ServeCall(ctx, c); err != nil {
		t.Fatalf("ServeCall: %v", err)
	}
	return c
}

// sampleListener records the samples it was given.
type sampleListener struct{ heard map[int16]int }

func (l *sampleListener) Write(frame []int16) error {
	for _, v := range frame {
		l.heard[v]++
	}
	return nil
}
func (l *sampleListener) Decide() (string, float64, bool, time.Duration) { return "", 0, false, 0 }
func (l *sampleListener) Close()                                         {}

type sampleIdentifier struct{ l *sampleListener }

func (f *sampleIdentifier) Listen([]string) ivr.Listener { return f.l }

// Frames the leg marks as synthesised (loss concealment, silence fill)
// never reach a listener: it hears the caller's received speech only.
func TestListenersSkipSyntheticFrames(t *testing.T) {
	flow := identifyFlow("3s")
	l := &sampleListener{heard: map[int16]int{}}
	leg := &gappyLeg{Leg: calltest.NewLeg(calltest.Event{Speech: voice(alice, 10*time.Second)})}
	serveOne(t, flow, ivr.Config{Identifier: &sampleIdentifier{l}}, leg)
	if l.heard[concealed] != 0 {
		t.Errorf("listener was given %d synthesised samples", l.heard[concealed])
	}
	// 3.5 s listened, a third of it lost: about 2.33 s of speech.
	got := time.Duration(l.heard[alice]) * time.Second / call.SampleRate
	if got < 2*time.Second || got > 2500*time.Millisecond {
		t.Errorf("listener heard %v of speech, want the received ~2.33 s", got)
	}
}

// refusingIdentifier's listeners were not started: the voice side is at
// capacity.
type refusingIdentifier struct{}

type refused struct{ sampleListener }

func (refused) Unavailable() bool { return true }
func (refused) Verdict() ivr.Verdict {
	return ivr.Verdict{Voice: call.VoiceNotSure, Warning: "voice identification unavailable"}
}

func (refusingIdentifier) Listen([]string) ivr.Listener {
	return &refused{sampleListener{heard: map[int16]int{}}}
}

// A caller the voice side could not admit is not kept listening: the
// prompt plays, then the flow goes on at once as with a caller not
// identified, and the reason is the call's warning.
func TestIdentifyDoesNotWaitForUnavailableVoice(t *testing.T) {
	flow := identifyFlow("8s")
	leg := calltest.NewLeg(calltest.Event{Speech: voice(alice, 20*time.Second)})
	c := serveOne(t, flow, ivr.Config{Identifier: refusingIdentifier{}}, leg)
	if got := leg.Now(); got > 2*time.Second {
		t.Errorf("call lasted %v: the flow waited for a listener that was not listening", got)
	}
	if m, _ := c.Var(call.VarIdentMethod); m != string(call.MethodNone) {
		t.Errorf("ident method %q, want %q", m, call.MethodNone)
	}
	if w, _ := c.Var(call.VarIdentWarning); w != "voice identification unavailable" {
		t.Errorf("warning %q, want the listener's reason", w)
	}
}

// sampleEnroller takes every consent and records what its enrolment hears.
type sampleEnroller struct{ l *sampleListener }

func (e *sampleEnroller) RecordConsent(context.Context, string, string, bool, string, time.Time) error {
	return nil
}
func (e *sampleEnroller) Enrol(string) ivr.Enrolment { return &sampleEnrolment{e.l} }

type sampleEnrolment struct{ *sampleListener }

func (e *sampleEnrolment) Speech() time.Duration {
	return time.Duration(e.heard[eve]) * time.Second / call.SampleRate
}
func (e *sampleEnrolment) Commit(context.Context) error { return nil }

// An enrolment, like a listener, is made of received speech only.
func TestEnrolmentSkipsSyntheticFrames(t *testing.T) {
	const flow = `
operator: none
steps:
  - enrol: p500
    customer: "'1009'"
    prompt: p500
    speech: 2s
  - hangup
`
	l := &sampleListener{heard: map[int16]int{}}
	leg := &gappyLeg{Leg: calltest.NewLeg(calltest.Event{At: 600 * time.Millisecond, Digit: '1'},
		calltest.Event{At: time.Second, Speech: voice(eve, 10*time.Second)})}
	c := serveOne(t, flow, ivr.Config{Enroller: &sampleEnroller{l}}, leg)
	if st, _ := c.Var(ivr.VarEnrolStatus); st != "done" {
		t.Fatalf("enrolment %q", st)
	}
	if l.heard[concealed] != 0 || l.heard[eve] == 0 {
		t.Errorf("enrolment heard %d synthesised and %d received samples", l.heard[concealed], l.heard[eve])
	}
}
