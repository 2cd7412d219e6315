package service

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/voxdesk/voxdesk/customer"
)

// soxPath returns sox, skipping the test when it is missing (failing it
// under CI=true: make test installs it).
func soxPath(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("sox")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("sox missing: %v (scripts/install-deps.sh installs it)", err)
		}
		t.Skipf("sox missing: %v", err)
	}
	return p
}

// sox runs sox with args.
func sox(t testing.TB, args ...string) {
	t.Helper()
	if out, err := exec.Command(soxPath(t), args...).CombinedOutput(); err != nil {
		t.Fatalf("sox %q: %v\n%s", args, err, out)
	}
}

// TestDemoNeverReenrolsErased restarts the voice side on a store where a
// demo customer's biometrics were erased: the demo enrolment at start-up
// must leave them erased (it used to enrol them again, with a fresh
// consent of its own).
func TestDemoNeverReenrolsErased(t *testing.T) {
	v, db := ownDemoVoice(t)
	ctx := context.Background()
	const id = "C-1013"
	if !v.Enrolled(id) {
		t.Fatalf("%s not enrolled by the demo", id)
	}
	if err := v.Erase(ctx, id, "dpo:test"); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer // newVoice logs from this goroutine only
	again, err := newVoice(ctx, VoiceprintConfig{ModelDir: modelDir(t), DemoSpeech: speechRoot(t)}, db,
		slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if again.Enrolled(id) {
		t.Fatalf("%s enrolled again at the next start after erasure", id)
	}
	if vps, err := db.Voiceprints(ctx, id, "test"); err != nil || len(vps) != 0 {
		t.Fatalf("store holds %d voiceprints of %s after restart (%v)", len(vps), id, err)
	}
	if _, err := db.CurrentConsent(ctx, id); err == nil {
		t.Errorf("the demo recorded a new consent for erased %s", id)
	}
	if !again.Enrolled("C-1001") {
		t.Error("the other demo customers lost their voiceprints")
	}
	if !strings.Contains(logs.String(), "demo enrolment skipped: biometrics erased") || !strings.Contains(logs.String(), id) {
		t.Errorf("no log line says why %s was skipped:\n%s", id, logs.String())
	}
}

// TestDemoSkipsBadRecordings starts the voice side on a speech folder
// where one speaker's recording is not audio and another's is silence:
// those two customers are skipped with a warning each, the switch starts,
// and the good speaker is enrolled.
func TestDemoSkipsBadRecordings(t *testing.T) {
	speech, model := speechRoot(t), modelDir(t)
	ctx := context.Background()
	root := t.TempDir()
	for _, d := range []string{"fsdd", "librispeech-test-other"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	abs, err := filepath.Abs(filepath.Join(speech, "fsdd", "recordings"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(abs, filepath.Join(root, "fsdd", "recordings")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "fsdd", "broken.wav"), []byte("RIFF\x10\x00\x00\x00WAVEjunkjunk"), 0o600); err != nil {
		t.Fatal(err)
	}
	sox(t, "-n", "-r", "8000", "-c", "1", "-b", "16", filepath.Join(root, "fsdd", "hush.wav"), "trim", "0", "12")
	manifest := "speaker_id,gender,digit,take,file,duration_s,sample_rate\n"
	for digit := range 10 {
		for take := range demoFSDDTakes {
			manifest += "george,male," + string(rune('0'+digit)) + "," + string(rune('0'+take)) +
				",recordings/" + string(rune('0'+digit)) + "_george_" + string(rune('0'+take)) + ".wav,0.5,8000\n"
		}
	}
	manifest += "broken,male,0,0,broken.wav,1,8000\nhush,male,0,0,hush.wav,12,8000\n"
	if err := os.WriteFile(filepath.Join(root, "fsdd", "manifest.csv"), []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "librispeech-test-other", "manifest.csv"),
		[]byte("speaker_id,gender,subset,chapter_id,file,duration_s,sample_rate\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	key, _ := customer.ParseKey(customer.NewKey())
	db, err := customer.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "vx.db"), customer.Config{Key: key},
		customer.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, c := range []customer.Customer{
		{ID: "C-good", Name: "George", Attributes: map[string]string{"demo_speaker": "george"}},
		{ID: "C-broken", Name: "Broken", Attributes: map[string]string{"demo_speaker": "broken"}},
		{ID: "C-hush", Name: "Hush", Attributes: map[string]string{"demo_speaker": "hush"}},
	} {
		if err := db.PutCustomer(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	var logs bytes.Buffer // newVoice logs from this goroutine only
	v, err := newVoice(ctx, VoiceprintConfig{ModelDir: model, DemoSpeech: root}, db, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatalf("one customer's bad recording stopped the start: %v", err)
	}
	if !v.Enrolled("C-good") {
		t.Errorf("the good speaker was not enrolled; log:\n%s", logs.String())
	}
	for _, id := range []string{"C-broken", "C-hush"} {
		if v.Enrolled(id) {
			t.Errorf("%s enrolled from a bad recording", id)
		}
		if _, err := db.CurrentConsent(ctx, id); err == nil {
			t.Errorf("%s: a consent was recorded though nothing was enrolled", id)
		}
		found := false
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, "level=WARN") && strings.Contains(line, "demo enrolment skipped") && strings.Contains(line, "customer="+id) {
				found = true
			}
		}
		if !found {
			t.Errorf("no warning for %s:\n%s", id, logs.String())
		}
	}
}
