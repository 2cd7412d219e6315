package ivr_test

import (
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/ivr"
	"github.com/voxdesk/voxdesk/media"
)

// needTool returns the path of a tool the test drives, skipping without
// it (failing under CI=true, where make test installed it).
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s missing: %v", name, err)
		}
		t.Skipf("%s missing: %v", name, err)
	}
	return p
}

// TestVoicemailSIPp calls a closed line's voicemail with SIPp: a caller
// who says nothing leaves no message (every silent call used to store
// one, up to the step's two minutes), a caller who speaks leaves one.
func TestVoicemailSIPp(t *testing.T) {
	if testing.Short() {
		t.Skip("two SIPp calls of 9 s")
	}
	needTool(t, "sipp")
	sox := needTool(t, "sox")
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) }) // after the switch's cleanup

	tmp := t.TempDir()
	speech := filepath.Join(tmp, "speech.wav") // 16 s of the built-in prompts' speech, mu-law
	var parts []string
	for _, p := range []string{"welcome", "hold", "goodbye", "reason", "not_understood", "connecting"} {
		parts = append(parts, filepath.Join("..", "res", "prompts", p+".wav"))
	}
	if out, err := exec.Command(sox, append(parts, "-r", "8000", "-c", "1", "-e", "u-law", "-b", "8", speech)...).CombinedOutput(); err != nil {
		t.Fatalf("sox: %v\n%s", err, out)
	}
	flows := filepath.Join(tmp, "flows")
	os.Mkdir(flows, 0o700)
	os.WriteFile(filepath.Join(flows, "closed.yaml"), []byte(`flow: closed
operator: none
steps:
  - id: message
    voicemail: general
    prompt: [leave_message, beep]
    listen: 2m
    next: bye
    fail: bye
  - id: bye
    hangup: goodbye
`), 0o600)
	logw := &lockedBuffer{}
	logger := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelInfo}))
	lib, err := ivr.NewLibrary(flows, ivr.Options{Builtin: builtin(t)}, ivr.WithLibraryLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	boxes := filepath.Join(tmp, "voicemail")
	runner := lib.Runner("closed", ivr.Config{Voicemail: &ivr.VoicemailDir{Dir: boxes}}, ivr.WithLogger(logger))

	svc, port := serveIVR(t, runner, logger, logw, 46000)

	messages := func() []string {
		files, _ := filepath.Glob(filepath.Join(boxes, "general", "*.wav"))
		return files
	}
	// Silent: the prompts take 2.7 s, then 6 s of nothing.
	voicemailCall(t, port, "", 9*time.Second)
	waitIdle(t, svc)
	if files := messages(); len(files) != 0 {
		t.Fatalf("a silent caller left %v", files)
	}
	if !strings.Contains(logw.String(), "voicemail dropped: no speech") {
		t.Errorf("no log line for the dropped message")
	}
	voicemailCall(t, port, `<nop><action><exec rtp_stream="`+speech+`,1,0"/></action></nop>`, 9*time.Second)
	waitIdle(t, svc)
	files := messages()
	if len(files) != 1 {
		t.Fatalf("a caller who spoke left %v", files)
	}
	pcm, err := media.LoadPCM(files[0], call.SampleRate)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Duration(len(pcm)) * time.Second / call.SampleRate; d < 4*time.Second || !ivr.HasSpeech(pcm) {
		t.Errorf("message of %v, speech %v: want the caller's 5 to 6 s of speech", d, ivr.HasSpeech(pcm))
	}
}

// voicemailCall places one SIPp call with testdata/sipp/voicemail.xml.
func voicemailCall(t *testing.T, port int, media string, stay time.Duration) {
	t.Helper()
	src, err := os.ReadFile("testdata/sipp/voicemail.xml")
	if err != nil {
		t.Fatal(err)
	}
	runScenario(t, port, strings.NewReplacer("{{MEDIA}}", media, "{{STAY_MS}}", strconv.Itoa(int(stay/time.Millisecond))).Replace(string(src)))
}
