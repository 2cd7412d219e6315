package media

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// frameSink collects frames written to it.
type frameSink struct {
	frames [][]int16
	after  int // cancel the context after this many frames
	cancel context.CancelFunc
}

func (s *frameSink) WriteAudio(ctx context.Context, frame []int16) error {
	s.frames = append(s.frames, append([]int16(nil), frame...))
	if s.cancel != nil && len(s.frames) == s.after {
		s.cancel()
	}
	return nil
}

func TestPlay(t *testing.T) {
	p := &Prompt{Name: "ramp", Samples: make([]int16, 2*FrameSamples+10)}
	for i := range p.Samples {
		p.Samples[i] = int16(i + 1)
	}
	var sink frameSink
	if err := Play(context.Background(), &sink, p); err != nil {
		t.Fatal(err)
	}
	if len(sink.frames) != 3 {
		t.Fatalf("%d frames", len(sink.frames))
	}
	last := sink.frames[2]
	if len(last) != FrameSamples || last[9] != int16(2*FrameSamples+10) || last[10] != 0 {
		t.Errorf("last frame not padded with silence: %v", last[:12])
	}
	if p.Duration() != 2*FrameDuration+10*time.Second/SampleRate {
		t.Errorf("duration %v", p.Duration())
	}
}

// Cancelling the context (a caller pressing a key) stops playback.
func TestPlayBargeIn(t *testing.T) {
	p := &Prompt{Name: "long", Samples: make([]int16, 100*FrameSamples)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sink := frameSink{after: 3, cancel: cancel}
	if err := Play(ctx, &sink, p); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if len(sink.frames) != 3 {
		t.Errorf("%d frames played after barge-in", len(sink.frames))
	}
}

// Played into an RTPSession, a prompt takes its real duration.
func TestPlayPacedBySession(t *testing.T) {
	s, _ := newTestSession(t, RTPConfig{})
	p := &Prompt{Name: "half", Samples: make([]int16, 25*FrameSamples)}
	start := time.Now()
	if err := Play(testCtx(t, 5*time.Second), s, p); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 400*time.Millisecond {
		t.Errorf("500 ms prompt played in %v", el)
	}
}

func TestLoadPrompts(t *testing.T) {
	wav, err := os.ReadFile("testdata/pcm16-16k-mono.wav")
	if err != nil {
		t.Fatal(err)
	}
	ps, err := LoadPrompts(fstest.MapFS{
		"p/hello.wav":  {Data: wav},
		"p/README.md":  {Data: []byte("not audio")},
		"p/sub/x.wav":  {Data: []byte("ignored: in a subfolder")},
		"p/world.flac": {Data: mustRead(t, "testdata/flac16-16k-mono.flac")},
	}, "p")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ps.Names(), ","); got != "hello,world" {
		t.Fatalf("names %q", got)
	}
	if p := ps.Get("hello"); p == nil || len(p.Samples) != 800 {
		t.Errorf("hello: %+v", p)
	}
	if _, ok := ps.Lookup("nope"); ok {
		t.Error("lookup of a missing prompt")
	}
	// One bad file fails the load, naming it.
	_, err = LoadPrompts(fstest.MapFS{"p/ok.wav": {Data: wav}, "p/broken.wav": {Data: []byte("RIFF....WAVE")}}, "p")
	if err == nil || !strings.Contains(err.Error(), "broken.wav") {
		t.Errorf("broken prompt: %v", err)
	}
	if _, err := LoadPrompt(filepath.Join("testdata", "missing.wav")); err == nil || !strings.Contains(err.Error(), "missing.wav") {
		t.Errorf("missing prompt: %v", err)
	}
	if _, err := LoadPrompts(fstest.MapFS{}, "nodir"); err == nil {
		t.Error("missing folder accepted")
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The recorder passes frames through untouched and writes a WAV file
// that LoadPCM reads back sample for sample.
func TestRecorder(t *testing.T) {
	n := 0
	src := ReaderFunc(func(ctx context.Context, dst []int16) (int, error) {
		if n == 5 {
			return 0, errors.New("end of stream")
		}
		for i := range FrameSamples {
			dst[i] = int16(n*1000 + i)
		}
		n++
		return FrameSamples, nil
	})
	path := filepath.Join(t.TempDir(), "rec.wav")
	rec, err := CreateRecorder(src, path)
	if err != nil {
		t.Fatal(err)
	}
	var seen []int16
	tapped := Tap(rec, func(f []int16) { seen = append(seen, f...) })
	buf := make([]int16, FrameSamples)
	for {
		k, err := tapped.ReadAudio(context.Background(), buf)
		if err != nil {
			break
		}
		if buf[0] != int16((len(seen)/FrameSamples-1)*1000) || k != FrameSamples {
			t.Fatalf("frame altered: %d %d", k, buf[0])
		}
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	if rec.Samples() != 5*FrameSamples {
		t.Errorf("recorded %d samples", rec.Samples())
	}
	back, err := LoadPCM(path, SampleRate)
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != len(seen) {
		t.Fatalf("read back %d samples, recorded %d", len(back), len(seen))
	}
	for i := range back {
		if back[i] != seen[i] {
			t.Fatalf("sample %d: %d != %d", i, back[i], seen[i])
		}
	}
	if rec.Close() != nil {
		t.Error("second Close failed")
	}
}
