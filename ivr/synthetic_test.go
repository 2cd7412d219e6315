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
	const flow = `
operator: none
steps:
  - id: who
    identify: p500
    listen: 3s
  - id: bye
    hangup: p500
`
	f, err := ivr.Parse("gaps.yaml", []byte(flow), testOpts)
	if err != nil {
		t.Fatal(err)
	}
	l := &sampleListener{heard: map[int16]int{}}
	r := ivr.NewRunner(f, ivr.Config{Identifier: &sampleIdentifier{l}}, ivr.WithLogger(slog.New(slog.DiscardHandler)))
	leg := &gappyLeg{Leg: calltest.NewLeg(calltest.Event{Speech: voice(alice, 10*time.Second)})}
	c := call.New("gaps", leg, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.ServeCall(ctx, c); err != nil {
		t.Fatalf("ServeCall: %v", err)
	}
	if l.heard[concealed] != 0 {
		t.Errorf("listener was given %d synthesised samples", l.heard[concealed])
	}
	// 3.5 s listened, a third of it lost: about 2.33 s of speech.
	got := time.Duration(l.heard[alice]) * time.Second / call.SampleRate
	if got < 2*time.Second || got > 2500*time.Millisecond {
		t.Errorf("listener heard %v of speech, want the received ~2.33 s", got)
	}
}
