package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/customer"
	"github.com/voxdesk/voxdesk/service"
	"github.com/voxdesk/voxdesk/voiceprint"
)

// soxTo converts with sox, skipping without sox (failing under CI=true,
// where make test installed it).
func soxTo(t *testing.T, args ...string) {
	t.Helper()
	p, err := exec.LookPath("sox")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("sox missing: %v", err)
		}
		t.Skipf("sox missing: %v", err)
	}
	if out, err := exec.Command(p, args...).CombinedOutput(); err != nil {
		t.Fatalf("sox %q: %v\n%s", args, err, out)
	}
}

// TestCustomerEnrolManifest enrols customers from real speech converted
// by sox into several WAV encodings, next to every kind of bad row: each
// refused row is reported with its line and reason, the store is left
// unchanged for those customers, and the rest is enrolled.
func TestCustomerEnrolManifest(t *testing.T) {
	model, speech := speechAndModel(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	rec := filepath.Join(dir, "rec")
	os.Mkdir(rec, 0o700)
	libri := func(utt int) string { return filepath.Join(speech, libriFile("1688", utt)) }
	other := func(utt int) string { return filepath.Join(speech, libriFile("2414", utt)) }
	// The same utterance as 16-bit PCM, mu-law and 32-bit float WAVs.
	soxTo(t, libri(0), "-r", "8000", "-c", "1", "-e", "signed-integer", "-b", "16", filepath.Join(rec, "a0-pcm16.wav"))
	soxTo(t, libri(0), "-r", "8000", "-c", "1", "-e", "u-law", "-b", "8", filepath.Join(rec, "a0-ulaw.wav"))
	soxTo(t, libri(0), "-r", "8000", "-c", "1", "-e", "floating-point", "-b", "32", filepath.Join(rec, "a0-float.wav"))
	soxTo(t, libri(1), "-r", "8000", "-c", "1", "-b", "16", filepath.Join(rec, "a1.wav"))
	soxTo(t, other(2), "-r", "8000", "-c", "1", "-b", "16", filepath.Join(rec, "b0.wav"))
	soxTo(t, other(2), "-r", "8000", "-c", "1", "-e", "ima-adpcm", "-b", "4", filepath.Join(rec, "b0-adpcm.wav"))
	soxTo(t, other(2), "-r", "8000", "-c", "1", "-b", "16", filepath.Join(rec, "b0-short.wav"), "trim", "0", "3")
	soxTo(t, "-n", "-r", "8000", "-c", "1", "-b", "16", filepath.Join(rec, "silence.wav"), "trim", "0", "10")

	key := customer.NewKey()
	t.Setenv(customer.KeyEnv, key)
	k, _ := customer.ParseKey(key)
	dsn := "sqlite:" + filepath.Join(dir, "voxdesk.db")
	s, err := customer.Open(ctx, dsn, customer.Config{Key: k}, customer.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, id := range []string{"c-two", "c-noconsent", "c-missing", "c-silent", "c-adpcm", "c-erased", "c-pcm16", "c-ulaw", "c-float", "c-short"} {
		if err := s.PutCustomer(ctx, customer.Customer{ID: id, Name: id}); err != nil {
			t.Fatal(err)
		}
		if id == "c-noconsent" {
			continue
		}
		if _, err := s.GiveConsent(ctx, customer.Consent{CustomerID: id, Method: customer.ConsentAgent, GivenBy: "agent:alice"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.EraseBiometrics(ctx, "c-erased", "dpo"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GiveConsent(ctx, customer.Consent{CustomerID: "c-erased", Method: customer.ConsentIVR, GivenBy: "ivr"}); err != nil {
		t.Fatal(err)
	}

	manifest := filepath.Join(dir, "manifest.csv")
	lines := []string{
		"customer_id,file",                      // 1
		"c-two,rec/a0-pcm16.wav",                // 2: relative to the manifest
		"c-two," + filepath.Join(rec, "a1.wav"), // 3: absolute
		"c-noconsent,rec/b0.wav",                // 4
		"ghost,rec/b0.wav",                      // 5
		"c-missing,rec/nowhere.wav",             // 6
		"c-missing,rec/b0.wav",                  // 7: good, refused with line 6
		"c-silent,rec/silence.wav",              // 8
		"c-adpcm,rec/b0-adpcm.wav",              // 9
		"c-erased,rec/b0.wav",                   // 10
		"c-pcm16,rec/a0-pcm16.wav",              // 11
		"c-ulaw,rec/a0-ulaw.wav",                // 12
		"c-float,rec/a0-float.wav",              // 13
		"c-short,rec/b0-short.wav",              // 14: speech, but too little
		",rec/b0.wav",                           // 15
	}
	os.WriteFile(manifest, []byte(strings.Join(lines, "\n")+"\n"), 0o600)
	before, _ := s.LastChange(ctx)

	var stdout, stderr bytes.Buffer
	refused := filepath.Join(t.TempDir(), "refused.csv")
	err = customerEnrol(ctx, []string{"--db", dsn, "--model", model, "--min-speech", "5s", "--manifest", manifest, "--refused", refused}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "9 rows refused") || !strings.Contains(err.Error(), refused) {
		t.Fatalf("enrol = %v, want 9 rows refused, written to %s\n%s", err, refused, stdout.String())
	}
	// The refused rows, as a manifest that works from anywhere.
	rf, err := os.Open(refused)
	if err != nil {
		t.Fatal(err)
	}
	again, err := service.ParseManifest(rf)
	rf.Close()
	if err != nil || len(again) != 9 || again[0].CustomerID != "c-noconsent" || again[0].File != filepath.Join(rec, "b0.wav") {
		t.Errorf("refused manifest: %+v, %v; want 9 rows with absolute paths", again, err)
	}
	out := stdout.String()
	for line, reason := range map[int]string{
		4:  "no consent",
		5:  "unknown customer",
		6:  "missing file",
		7:  "line 6 of the same customer refused",
		8:  "too little net speech",
		9:  "unsupported audio",
		10: "biometrics erased",
		14: "the customer's recordings hold",
		15: "no customer_id",
	} {
		prefix := manifest + ":" + strconv.Itoa(line) + ":"
		found := false
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, prefix) && strings.Contains(l, reason) {
				found = true
			}
		}
		if !found {
			t.Errorf("no line %q ... %q in:\n%s", prefix, reason, out)
		}
	}
	for _, line := range []int{2, 3, 11, 12, 13} {
		if strings.Contains(out, manifest+":"+strconv.Itoa(line)+":") {
			t.Errorf("line %d refused:\n%s", line, out)
		}
	}
	if !strings.Contains(out, "enrolled 4 customers from 5 recordings") {
		t.Errorf("summary missing:\n%s", out)
	}

	// The store: enrolled customers have one voiceprint each, c-two from
	// both its recordings; refused ones have nothing, and no consent was
	// made up for c-noconsent.
	vps := map[string]customer.Voiceprint{}
	if err := s.AllVoiceprints(ctx, "test", func(vp customer.Voiceprint) error { vps[vp.CustomerID] = vp; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(vps) != 4 {
		t.Errorf("%d customers enrolled, want 4: %v", len(vps), vps)
	}
	if vp := vps["c-two"]; vp.Utterances != 2 || vp.SpeechSeconds < 10 {
		t.Errorf("c-two: %d utterances, %.1f s, want 2 and their speech", vp.Utterances, vp.SpeechSeconds)
	}
	if _, err := s.CurrentConsent(ctx, "c-noconsent"); !errors.Is(err, customer.ErrNoConsent) {
		t.Errorf("c-noconsent has a consent: %v", err)
	}
	chs, _ := s.Changes(ctx, before, 0)
	if len(chs) != 4 {
		t.Errorf("%d changes, want 4 (one per enrolled customer): %+v", len(chs), chs)
	}

	// With --consent, the customer without one is enrolled under an
	// import consent; the erased one still is not.
	os.WriteFile(manifest, []byte("file,customer_id\nrec/b0.wav,c-noconsent\nrec/b0.wav,c-erased\n"), 0o600)
	stdout.Reset()
	err = customerEnrol(ctx, []string{"--db", dsn, "--model", model, "--quiet", "--min-speech", "5s", "--consent", "batch-42", "--manifest", manifest}, &stdout, &stderr)
	if err == nil || !strings.Contains(stdout.String(), manifest+":3:") || !strings.Contains(stdout.String(), "biometrics erased") {
		t.Fatalf("second run = %v:\n%s", err, stdout.String())
	}
	c, err := s.CurrentConsent(ctx, "c-noconsent")
	if err != nil || c.Method != customer.ConsentImport || c.RecordingRef != "batch-42" {
		t.Errorf("c-noconsent's consent = %+v, %v; want import, batch-42", c, err)
	}
	if vp, _ := s.Voiceprints(ctx, "c-noconsent", "test"); len(vp) != 1 {
		t.Errorf("c-noconsent not enrolled with --consent")
	}
	if vp, _ := s.Voiceprints(ctx, "c-erased", "test"); len(vp) != 0 {
		t.Errorf("c-erased enrolled")
	}

	// The three encodings of one utterance decode to the same voice
	// (go-audio/wav alone reads mu-law and float WAVs as noise, without
	// an error): far closer to each other than to another speaker.
	vps = map[string]customer.Voiceprint{}
	s.AllVoiceprints(ctx, "test", func(vp customer.Voiceprint) error { vps[vp.CustomerID] = vp; return nil })
	otherSpeaker := voiceprint.Cosine(vps["c-noconsent"].Embedding, vps["c-pcm16"].Embedding)
	for _, id := range []string{"c-ulaw", "c-float"} {
		c := voiceprint.Cosine(vps[id].Embedding, vps["c-pcm16"].Embedding)
		t.Logf("%s vs 16-bit PCM: cosine %.3f (another speaker: %.3f)", id, c, otherSpeaker)
		if c < 0.8 || c < otherSpeaker+0.4 {
			t.Errorf("%s vs 16-bit PCM: cosine %.3f, another speaker %.3f: not decoded as the same voice", id, c, otherSpeaker)
		}
	}
}

func TestCustomerEnrolUsage(t *testing.T) {
	t.Setenv(customer.KeyEnv, "")
	dir := t.TempDir()
	m := filepath.Join(dir, "m.csv")
	os.WriteFile(m, []byte("id,path\nx,y\n"), 0o600)
	ok := filepath.Join(dir, "ok.csv")
	os.WriteFile(ok, []byte("customer_id,file\nx,y\n"), 0o600)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "needs --manifest"},
		{[]string{"--manifest", m, "--min-speech", "-1s"}, "--min-speech"},
		{[]string{"--manifest", filepath.Join(dir, "none.csv")}, "no such file"},
		{[]string{"--manifest", m}, "lacks customer_id or file"},
		{[]string{"--manifest", ok}, customer.KeyEnv},
	} {
		var out bytes.Buffer
		err := customerEnrol(context.Background(), tc.args, &out, &out)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.args, err, tc.want)
		}
	}
}
