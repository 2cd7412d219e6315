package service

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/call/calltest"
	"github.com/voxdesk/voxdesk/customer"
	"github.com/voxdesk/voxdesk/media"
	"github.com/voxdesk/voxdesk/media/g711"
	"github.com/voxdesk/voxdesk/voiceprint"
)

// speechRoot is the shared speech folder, or the test is skipped saying
// why.
func speechRoot(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("VOXDESK_SPEECH")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "speech")
	}
	if _, err := os.Stat(filepath.Join(dir, "fsdd", "manifest.csv")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("speech corpus absent in CI (VOXDESK_SPEECH): %v", err)
		}
		t.Skipf("speech corpus absent (set VOXDESK_SPEECH): %v", err)
	}
	return dir
}

func modelDir(t testing.TB) string {
	t.Helper()
	dir, err := voiceprint.FindModelDir()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("speaker model absent in CI: %v", err)
		}
		t.Skipf("speaker model absent (run voxdesk model fetch): %v", err)
	}
	return dir
}

// demoVoice returns the package's one demo store and voice: the example
// customers, with the demo speakers enrolled as make run does. Tests that
// erase or enrol take a fresh one from ownDemoVoice instead.
func demoVoice(t *testing.T) (*voice, *customer.DB) {
	t.Helper()
	speech, model := speechRoot(t), modelDir(t)
	demoOnce.Do(func() {
		// Shared by the package's tests, so not a t.TempDir of the first.
		dir, err := os.MkdirTemp("", "voxdesk-voice-test")
		if err != nil {
			demo.err = err
			return
		}
		demo.v, demo.db, demo.err = openDemo(dir, speech, model)
	})
	if demo.err != nil {
		t.Fatal(demo.err)
	}
	return demo.v, demo.db
}

// ownDemoVoice is a demo store and voice of the test's own, for tests
// that change voiceprints.
func ownDemoVoice(t *testing.T) (*voice, *customer.DB) {
	t.Helper()
	v, db, err := openDemo(t.TempDir(), speechRoot(t), modelDir(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return v, db
}

var (
	demoOnce sync.Once
	demo     struct {
		v   *voice
		db  *customer.DB
		err error
	}
)

func openDemo(dir, speech, model string) (*voice, *customer.DB, error) {
	ctx := context.Background()
	key, err := customer.ParseKey(customer.NewKey())
	if err != nil {
		return nil, nil, err
	}
	db, err := customer.Open(ctx, "sqlite:"+filepath.Join(dir, "vx.db"), customer.Config{Key: key}, customer.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return nil, nil, err
	}
	f, err := os.Open(filepath.Join("..", "examples", "customers.csv"))
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	if err := db.Import(ctx, f, nil); err != nil {
		return nil, nil, err
	}
	v, err := newVoice(ctx, VoiceprintConfig{ModelDir: model, DemoSpeech: speech}, db, nil)
	return v, db, err
}

// heldOut returns test speech of a demo speaker that enrolment did not
// use: FSDD takes 40 and later, concatenated, or a speaker's last
// LibriSpeech utterances; cut to seconds.
func heldOut(t *testing.T, speaker string, seconds float64) []int16 {
	t.Helper()
	root := speechRoot(t)
	var pcm []int16
	add := func(path string) {
		s, err := media.LoadPCM(path, 8000)
		if err != nil {
			t.Fatal(err)
		}
		pcm = append(pcm, s...)
	}
	fsdd, _ := readManifest(filepath.Join(root, "fsdd", "manifest.csv"))
	for _, r := range fsdd {
		if r["speaker_id"] == speaker && r["take"] >= "40" && len(pcm) < int(seconds*8000) {
			add(filepath.Join(root, "fsdd", r["file"]))
		}
	}
	// LibriSpeech: enrolment takes a speaker's first utterances, tests
	// take the last ones.
	libri, _ := readManifest(filepath.Join(root, "librispeech-test-other", "manifest.csv"))
	for i := len(libri) - 1; i >= 0; i-- {
		if r := libri[i]; r["speaker_id"] == speaker && len(pcm) < int(seconds*8000) {
			add(filepath.Join(root, "librispeech-test-other", r["file"]))
		}
	}
	if len(pcm) == 0 {
		t.Fatalf("no held-out speech for %s", speaker)
	}
	// Through G.711 mu-law, as a phone call would carry it.
	for i, s := range pcm {
		pcm[i] = g711.UlawToLinear(g711.LinearToUlaw(s))
	}
	return pcm[:min(len(pcm), int(seconds*8000))]
}

// listenTo feeds speech frame by frame and decides at the end.
func listenTo(l interface {
	Write([]int16) error
	Decide() (string, float64, bool, time.Duration)
}, pcm []int16) (string, float64, bool, time.Duration) {
	for i := 0; i+call.FrameSamples <= len(pcm); i += call.FrameSamples {
		l.Write(pcm[i : i+call.FrameSamples])
	}
	return l.Decide()
}

func TestVoiceIdentifiesDemoCustomers(t *testing.T) {
	v, db := demoVoice(t)
	ctx := context.Background()
	speakers := map[string]string{} // customer -> speaker
	err := db.EachCustomer(ctx, func(c customer.Customer) error {
		if sp := c.Attributes["demo_speaker"]; sp != "" {
			speakers[c.ID] = sp
			if !v.Enrolled(c.ID) {
				t.Errorf("%s (%s) was not enrolled", c.ID, sp)
			}
		}
		return nil
	})
	if err != nil || len(speakers) < 10 {
		t.Fatalf("demo speakers: %d, %v", len(speakers), err)
	}
	// Seconds of audio: 4 s carries about 3 s of net speech, the
	// shortest the policy decides on.
	for _, secs := range []float64{4, 8} {
		right, wrong, unsure := 0, 0, 0
		for id, sp := range speakers {
			got, score, sure, speech := listenTo(v.Listen(nil), heldOut(t, sp, secs))
			switch {
			case sure && got == id:
				right++
			case sure:
				wrong++
				t.Errorf("%gs: %s (%s) identified as %s (score %.2f, %v speech)", secs, id, sp, got, score, speech)
			default:
				unsure++
				t.Logf("%gs: %s (%s) not confidently identified: score %.2f, %v speech", secs, id, sp, score, speech)
			}
		}
		t.Logf("%gs of audio: %d right, %d wrong, %d unsure of %d callers", secs, right, wrong, unsure, len(speakers))
		// The policy keeps unknown callers out at 0.5 % per call and pays
		// for it in misses (bench/RESULTS-voiceprint.md): at 8 s a third
		// of the enrolled callers must still be recognised.
		if secs == 8 && right < len(speakers)/3 {
			t.Errorf("8 s: only %d of %d recognised", right, len(speakers))
		}
	}
}

func TestVoiceNarrowedByNumber(t *testing.T) {
	v, db := demoVoice(t)
	ctx := context.Background()
	c, err := db.Customer(ctx, "C-1001")
	if err != nil {
		t.Fatal(err)
	}
	identified := testutil.ToFloat64(v.outcomes.WithLabelValues("narrowed", "identified"))
	l := v.Listen([]string{"C-1001", "C-1002"})
	got, score, sure, _ := listenTo(l, heldOut(t, c.Attributes["demo_speaker"], 5))
	if !sure || got != "C-1001" {
		t.Fatalf("narrowed 5 s: got %q sure=%v score %.2f", got, sure, score)
	}
	l.Close()
	if d := testutil.ToFloat64(v.outcomes.WithLabelValues("narrowed", "identified")) - identified; d != 1 {
		t.Errorf("voxdesk_voice_outcomes_total{narrowed,identified} rose by %v, want 1", d)
	}
	if n := testutil.CollectAndCount(v.decideTime); n == 0 {
		t.Error("no decision time observed")
	}
	// The right speaker's speech is refused against someone else's
	// voiceprint (1:1 verification).
	got, score, sure, _ = listenTo(v.Verify("C-1002"), heldOut(t, c.Attributes["demo_speaker"], 5))
	if sure {
		t.Fatalf("verify as the wrong customer accepted: %q score %.2f", got, score)
	}
}

func TestVoiceEraseForgetsTheCaller(t *testing.T) {
	v, db := ownDemoVoice(t)
	ctx := context.Background()
	const id = "C-1013"
	c, err := db.Customer(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	pcm := heldOut(t, c.Attributes["demo_speaker"], 7)
	if got, _, sure, _ := listenTo(v.Listen(nil), pcm); !sure || got != id {
		t.Fatalf("before erase: got %q sure=%v", got, sure)
	}
	if err := v.Erase(ctx, id, "test"); err != nil {
		t.Fatal(err)
	}
	if v.Enrolled(id) {
		t.Fatal("voiceprint still in the index after erase")
	}
	if vps, err := db.Voiceprints(ctx, id, "test"); err != nil || len(vps) != 0 {
		t.Fatalf("store still has %d voiceprints (%v)", len(vps), err)
	}
	got, score, sure, _ := listenTo(v.Listen(nil), pcm)
	if got == id {
		t.Fatalf("erased caller still identified (score %.2f)", score)
	}
	if sure {
		t.Fatalf("erased caller confidently identified as %s (score %.2f)", got, score)
	}
	// Re-enrolment needs a new consent: the erase withdrew it.
	if err := v.Enrol(id).Commit(ctx); err == nil {
		t.Fatal("enrolment without speech or consent succeeded")
	}
}

func TestVoiceSilenceIsNotEnoughSpeech(t *testing.T) {
	v, _ := demoVoice(t)
	got, _, sure, speech := listenTo(v.Listen(nil), make([]int16, 8000*5))
	if sure || got != "" || speech > 0 {
		t.Fatalf("silence: got %q sure=%v speech %v", got, sure, speech)
	}
}

func TestVoiceAgentEnrolsFromCallAudio(t *testing.T) {
	v, db := ownDemoVoice(t)
	ctx := context.Background()
	const id = "C-1004" // a customer without demo speech
	if v.Enrolled(id) {
		t.Fatal("C-1004 unexpectedly enrolled")
	}
	pcm := heldOut(t, "1998", 20)
	leg := calltest.NewLeg(calltest.Event{Speech: pcm}, calltest.Event{At: 25 * time.Second, Hangup: true})
	h := v.Middleware(call.HandlerFunc(func(ctx context.Context, c *call.Call) error {
		buf := make([]int16, call.FrameSamples)
		for range 20 * 50 {
			if _, err := c.Leg.ReadAudio(ctx, buf); err != nil {
				return err
			}
		}
		// Without consent the agent's enrolment is refused.
		if err := v.EnrolCall(ctx, id, c.ID, "agent:alice"); !errors.Is(err, customer.ErrNoConsent) {
			t.Errorf("enrol without consent: %v", err)
		}
		if _, err := db.GiveConsent(ctx, customer.Consent{CustomerID: id, Method: customer.ConsentAgent, GivenBy: "alice"}); err != nil {
			return err
		}
		return v.EnrolCall(ctx, id, c.ID, "agent:alice")
	}))
	if err := h.ServeCall(ctx, call.New("call-1", leg, nil)); err != nil {
		t.Fatal(err)
	}
	if !v.Enrolled(id) {
		t.Fatal("not enrolled after the agent's enrolment")
	}
}

// TestVoiceNodesFollowEachOther runs two switch nodes' voice sides on one
// store: an erasure made elsewhere (voxdesk customer erase-biometrics, or
// another node's admin page) reaches this node's index through the change
// feed, and so does a new enrolment.
func TestVoiceNodesFollowEachOther(t *testing.T) {
	speech, model := speechRoot(t), modelDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	key, err := customer.ParseKey(customer.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "shared.db")
	quiet := customer.WithLogger(slog.New(slog.DiscardHandler))
	dbA, err := customer.Open(ctx, dsn, customer.Config{Key: key}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer dbA.Close()
	f, err := os.Open(filepath.Join("..", "examples", "customers.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := dbA.Import(ctx, f, nil); err != nil {
		t.Fatal(err)
	}
	nodeA, err := newVoice(ctx, VoiceprintConfig{ModelDir: model, DemoSpeech: speech}, dbA, nil)
	if err != nil {
		t.Fatal(err)
	}
	dbB, err := customer.Open(ctx, dsn, customer.Config{Key: key}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer dbB.Close()
	// Node B's demo speech only fills its cohort: node A enrolled the
	// customers already.
	nodeB, err := newVoice(ctx, VoiceprintConfig{ModelDir: model, DemoSpeech: speech}, dbB, nil)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- nodeB.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("node B Run: %v", err)
		}
	}()

	const id = "C-1012" // LibriSpeech speaker 2609
	pcm := heldOut(t, "2609", 7)
	if got, _, sure, _ := listenTo(nodeB.Listen(nil), pcm); !sure || got != id {
		t.Fatalf("node B before erase: got %q sure=%v (index loaded at start-up)", got, sure)
	}
	if err := nodeA.Erase(ctx, id, "dpo:test"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, ctx, "node B drops the erased voiceprint", func() bool { return !nodeB.Enrolled(id) })
	if got, score, sure, _ := listenTo(nodeB.Listen(nil), pcm); got == id || sure {
		t.Fatalf("node B still identifies the erased caller: %q sure=%v score %.2f", got, sure, score)
	}

	// A new enrolment on node A (with a new consent) reaches node B.
	if _, err := dbA.GiveConsent(ctx, customer.Consent{CustomerID: id, Method: customer.ConsentAgent, GivenBy: "alice"}); err != nil {
		t.Fatal(err)
	}
	enrol := nodeA.Enrol(id)
	for i := 0; i+call.FrameSamples <= len(pcm); i += call.FrameSamples {
		enrol.Write(pcm[i : i+call.FrameSamples])
	}
	// 7 s of audio is below the 8 s of net speech an enrolment needs.
	if err := enrol.Commit(ctx); !errors.Is(err, voiceprint.ErrNotEnoughSpeech) {
		t.Fatalf("short enrolment: %v", err)
	}
	longer := heldOut(t, "2609", 20)
	enrol = nodeA.Enrol(id)
	for i := 0; i+call.FrameSamples <= len(longer); i += call.FrameSamples {
		enrol.Write(longer[i : i+call.FrameSamples])
	}
	if err := enrol.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, ctx, "node B sees the new enrolment", func() bool { return nodeB.Enrolled(id) })
}

func waitUntil(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting until %s", what)
		case <-tick.C:
		}
	}
}
