package ivr_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing/fstest"
	"time"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/ivr"
)

// Fakes at the ivr boundary. Speech is synthetic: every sample of a
// caller's voice equals that caller's "voice" value, so a fake listener
// can tell who speaks and how much.

// voice returns d of a speaker's synthetic voice.
func voice(v int16, d time.Duration) []int16 {
	pcm := make([]int16, int(d/time.Millisecond)*call.SampleRate/1000)
	for i := range pcm {
		pcm[i] = v
	}
	return pcm
}

// testPrompts are prompt files whose content is their duration; decode
// turns them into a tone of that length.
var testPrompts = fstest.MapFS{
	"p1s.wav":  {Data: []byte("1s")},
	"p2s.wav":  {Data: []byte("2s")},
	"p3s.wav":  {Data: []byte("3s")},
	"p500.wav": {Data: []byte("500ms")},
}

func decodeTone(name string, data []byte) ([]int16, error) {
	d, err := time.ParseDuration(string(data))
	if err != nil {
		return nil, fmt.Errorf("not a test prompt: %w", err)
	}
	pcm := make([]int16, int(d/time.Millisecond)*call.SampleRate/1000)
	for i := range pcm {
		pcm[i] = int16(1000 * (i%16 - 8))
	}
	return pcm, nil
}

var testOpts = ivr.Options{Prompts: testPrompts, Decode: decodeTone}

// fakeIdentifier knows speakers by voice value; a listener is confident
// once it heard need of one enrolled speaker among its candidates.
type fakeIdentifier struct {
	voices    map[int16]string // voice value -> customer
	need      time.Duration
	threshold float64
	mu        sync.Mutex
	listens   [][]string
	decides   int
}

func (f *fakeIdentifier) Listen(cands []string) ivr.Listener {
	f.mu.Lock()
	f.listens = append(f.listens, cands)
	f.mu.Unlock()
	return &fakeListener{id: f, cands: cands, heard: map[string]int{}}
}

func (f *fakeIdentifier) Verify(customer string) ivr.Listener {
	return &fakeListener{id: f, cands: []string{customer}, heard: map[string]int{}}
}

type fakeListener struct {
	id     *fakeIdentifier
	cands  []string
	heard  map[string]int // samples of each customer's voice
	speech int
	closed bool
}

func (l *fakeListener) Write(frame []int16) error {
	if l.closed {
		return errors.New("write after close")
	}
	for _, v := range frame {
		if v == 0 {
			continue
		}
		l.speech++
		if who, ok := l.id.voices[v]; ok {
			l.heard[who]++
		}
	}
	return nil
}

func (l *fakeListener) Decide() (string, float64, bool, time.Duration) {
	l.id.mu.Lock()
	l.id.decides++
	l.id.mu.Unlock()
	best, n := "", 0
	for who, k := range l.heard {
		if (len(l.cands) == 0 || slices.Contains(l.cands, who)) && k > n {
			best, n = who, k
		}
	}
	speech := time.Duration(l.speech) * time.Second / call.SampleRate
	heard := time.Duration(n) * time.Second / call.SampleRate
	score := min(1, float64(heard)/float64(l.id.need))
	return best, score, best != "" && heard >= l.id.need, speech
}

func (l *fakeListener) Close() { l.closed = true }

// fakeDirectory holds customers by number, fields and PINs.
type fakeDirectory struct {
	numbers map[string][]string
	fields  map[string]map[string]string
	pins    map[string]string
}

func (d *fakeDirectory) ByNumber(ctx context.Context, number string) ([]string, error) {
	return d.numbers[number], nil
}

func (d *fakeDirectory) Fields(ctx context.Context, id string) (map[string]string, error) {
	return d.fields[id], nil
}

func (d *fakeDirectory) CheckPIN(ctx context.Context, id, pin string) (bool, error) {
	p, ok := d.pins[id]
	return ok && p == pin, nil
}

// fakeRouter records queue requests and returns at once.
type fakeRouter struct {
	mu    sync.Mutex
	calls []string
	err   error
}

func (r *fakeRouter) Queue(ctx context.Context, c *call.Call, queue string, skills []string, prio int, pref string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, fmt.Sprintf("%s skills=%v prio=%d pref=%s", queue, skills, prio, pref))
	return r.err
}

type fakeCallbacks struct{ got []string }

func (f *fakeCallbacks) Request(ctx context.Context, callID, number, customer, queue string, at time.Time) error {
	f.got = append(f.got, fmt.Sprintf("%s %s %s %s", number, customer, queue, at.Format("15:04")))
	return nil
}

type fakeVoicemail struct {
	box    string
	length time.Duration
	voice  int16
}

func (f *fakeVoicemail) Store(ctx context.Context, box, callID, caller, customer string, pcm []int16) error {
	f.box = box
	f.length = time.Duration(len(pcm)) * time.Second / call.SampleRate
	for _, v := range pcm {
		if v != 0 {
			f.voice = v
		}
	}
	return nil
}

type fakeEnroller struct {
	consents []string
	stored   map[string]time.Duration
}

func (f *fakeEnroller) RecordConsent(ctx context.Context, customer, callID string, given bool, prompt string, at time.Time) error {
	f.consents = append(f.consents, fmt.Sprintf("%s %v", customer, given))
	return nil
}

func (f *fakeEnroller) Enrol(customer string) ivr.Enrolment {
	return &fakeEnrolment{f: f, who: customer}
}

type fakeEnrolment struct {
	f      *fakeEnroller
	who    string
	speech int
}

func (e *fakeEnrolment) Write(frame []int16) error {
	for _, v := range frame {
		if v != 0 {
			e.speech++
		}
	}
	return nil
}

func (e *fakeEnrolment) Speech() time.Duration {
	return time.Duration(e.speech) * time.Second / call.SampleRate
}

func (e *fakeEnrolment) Commit(ctx context.Context) error {
	if e.f.stored == nil {
		e.f.stored = map[string]time.Duration{}
	}
	e.f.stored[e.who] = e.Speech()
	return nil
}

func (e *fakeEnrolment) Close() {}

// fakeDialer answers every dial with a scripted leg.
type fakeDialer struct {
	leg    call.Leg
	target string
	err    error
}

func (d *fakeDialer) Dial(ctx context.Context, target, from string) (call.Leg, error) {
	d.target = target
	if d.err != nil {
		return nil, d.err
	}
	return d.leg, nil
}
