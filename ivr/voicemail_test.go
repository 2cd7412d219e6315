package ivr_test

import (
	"context"
	"errors"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/call/calltest"
	"github.com/voxdesk/voxdesk/ivr"
	"github.com/voxdesk/voxdesk/media"
	"github.com/voxdesk/voxdesk/media/g711"
	"github.com/voxdesk/voxdesk/res"
)

// speechPrompt is real speech: an embedded prompt (espeak-ng, see
// res/README.md), at 8 kHz.
func speechPrompt(t *testing.T, name string) []int16 {
	t.Helper()
	b, err := fs.ReadFile(res.Prompts, "prompts/"+name)
	if err != nil {
		t.Fatal(err)
	}
	pcm, err := media.DecodePCM(b, call.SampleRate)
	if err != nil {
		t.Fatal(err)
	}
	return pcm
}

func TestVoicemailDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vm")
	at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	vm := &ivr.VoicemailDir{Dir: dir, Now: func() time.Time { return at }}
	msg := append(speechPrompt(t, "leave_message.wav"), make([]int16, 77)...) // not a whole number of frames
	if err := vm.Store(context.Background(), "sales/../x", "abc@host", "+331", "", msg); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*.wav"))
	if len(files) != 1 || filepath.Base(files[0]) != "20261123T090000Z-abc_host.wav" || filepath.Base(filepath.Dir(files[0])) != "sales_.._x" {
		t.Fatalf("files %v", files)
	}
	// Messages are personal data: the switch's user only.
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Dir(files[0]): 0o700, files[0]: 0o600} {
		if st, err := os.Stat(path); err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: mode %v (%v), want %v", path, st.Mode().Perm(), err, want)
		}
	}
	got, err := media.LoadPCM(files[0], call.SampleRate)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(msg) {
		t.Fatalf("%d samples, want %d", len(got), len(msg))
	}
	for i := range msg {
		if got[i] != msg[i] {
			t.Fatalf("sample %d = %d, want %d", i, got[i], msg[i])
		}
	}
}

// TestVoicemailWithoutSpeech: silence, line noise and tones are not
// stored (out of hours, every silent call used to leave a two-minute
// empty message).
func TestVoicemailWithoutSpeech(t *testing.T) {
	dir := t.TempDir()
	vm := &ivr.VoicemailDir{Dir: dir}
	for _, tc := range []struct {
		name string
		pcm  []int16
	}{
		{"nothing", nil},
		{"digital silence", make([]int16, 10*call.SampleRate)},
		{"line noise at -60 dBFS", noise(10*call.SampleRate, 33)},
		{"425 Hz tone at -10 dBFS", tone(425, 10*call.SampleRate, 10000, 0)},
		{"busy tone, 0.5 s on and off", tone(425, 10*call.SampleRate, 10000, call.SampleRate/2)},
		{"loud steady noise", noise(10*call.SampleRate, 8000)},
		{"a click", append(make([]int16, 5*call.SampleRate), speechPrompt(t, "welcome.wav")[:call.SampleRate/10]...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if ivr.HasSpeech(tc.pcm) {
				t.Error("HasSpeech = true")
			}
			if err := vm.Store(context.Background(), "sales", "c1", "+331", "", tc.pcm); !errors.Is(err, ivr.ErrNoSpeech) {
				t.Errorf("Store = %v, want ErrNoSpeech", err)
			}
		})
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*", "*")); len(files) != 0 {
		t.Errorf("stored %v", files)
	}
	for _, name := range []string{"welcome.wav", "goodbye.wav", "hold.wav", "press_0.wav"} {
		// Speech amid noise, through G.711 as a call carries it.
		pcm := append(append(noise(3*call.SampleRate, 33), speechPrompt(t, name)...), noise(20*call.SampleRate, 33)...)
		for i, s := range pcm {
			pcm[i] = g711.UlawToLinear(g711.LinearToUlaw(s))
		}
		if !ivr.HasSpeech(pcm) {
			t.Errorf("%s: HasSpeech = false", name)
		}
	}
}

// TestVoicemailStepDropsSilence runs the voicemail step with a caller who
// says nothing: no message, a log line, and the flow goes on (not to its
// fail: way).
func TestVoicemailStepDropsSilence(t *testing.T) {
	flow := `
operator: none
steps:
  - voicemail: sales
    prompt: p1s
    fail: oops
  - hangup
  - id: oops
    hangup:
`
	for _, tc := range []struct {
		name   string
		speech []int16
		files  int
	}{
		{"silent caller", nil, 0},
		{"caller speaks", speechPrompt(t, "leave_message.wav"), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var script []calltest.Event // in time order
			if tc.speech != nil {
				script = append(script, calltest.Event{At: 2 * time.Second, Speech: tc.speech})
			}
			script = append(script, calltest.Event{At: 8 * time.Second, Digit: '#'})
			path, _, _, _ := runFlow(t, runCase{name: "vm", flow: flow, script: script,
				cfg: func(c *ivr.Config) { c.Voicemail = &ivr.VoicemailDir{Dir: dir} }})
			if path != "main:1 main:2" {
				t.Errorf("path %q, want main:1 main:2", path)
			}
			if files, _ := filepath.Glob(filepath.Join(dir, "sales", "*.wav")); len(files) != tc.files {
				t.Errorf("%d messages stored, want %d", len(files), tc.files)
			}
		})
	}
}

// noise is white noise of the given peak amplitude.
func noise(n int, peak int16) []int16 {
	r := rand.New(rand.NewPCG(1, 2))
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(r.IntN(2*int(peak)+1) - int(peak))
	}
	return out
}

// tone is a sine of amplitude amp, switched on and off every cadence
// samples (0: always on).
func tone(hz float64, n int, amp float64, cadence int) []int16 {
	out := make([]int16, n)
	for i := range out {
		if cadence > 0 && (i/cadence)%2 == 1 {
			continue
		}
		out[i] = int16(amp * math.Sin(2*math.Pi*hz*float64(i)/call.SampleRate))
	}
	return out
}
