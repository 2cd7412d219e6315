package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/voxdesk/voxdesk/voiceprint"
)

func TestVoiceprintCommandUsage(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{"no verb", []string{"voiceprint"}, 2, "usage: voxdesk voiceprint calibrate|enrol|eval|identify"},
		{"unknown verb", []string{"voiceprint", "train"}, 2, `unknown verb "train"`},
		{"eval without manifest", []string{"voiceprint", "eval"}, 2, "eval needs --manifest"},
		{"eval bad length", []string{"voiceprint", "eval", "--manifest", "m.csv", "--test-seconds", "3,x"}, 2, `"x" is not a length`},
		{"eval negative length", []string{"voiceprint", "eval", "--manifest", "m.csv", "--test-seconds", "-3"}, 2, `"-3" is not a length`},
		{"eval missing manifest", []string{"voiceprint", "eval", "--manifest", "/nonexistent/m.csv"}, 1, "no such file"},
		{"enrol without id", []string{"voiceprint", "enrol", "a.wav"}, 2, "enrol needs --id"},
		{"identify without audio", []string{"voiceprint", "identify"}, 2, "exactly one audio file"},
		{"identify empty db", []string{"voiceprint", "identify", "--db", "/nonexistent/v.json", "a.wav"}, 1, "no voiceprints"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if code := run(context.Background(), tt.args, &out); code != tt.wantCode {
				t.Fatalf("exit %d, want %d (%s)", code, tt.wantCode, out.String())
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Fatalf("output %q lacks %q", out.String(), tt.wantOut)
			}
		})
	}
}

func TestEvalBadManifest(t *testing.T) {
	m := filepath.Join(t.TempDir(), "m.csv")
	if err := os.WriteFile(m, []byte("speaker,file\na,b.wav\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err := voiceprintEval(context.Background(), []string{"--manifest", m}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), `lacks column "speaker_id"`) {
		t.Fatalf("err = %v", err)
	}
}

// speechAndModel skips unless the model and the shared speech are here;
// in CI (CI=true, where make test provides both) their absence fails.
func speechAndModel(t *testing.T) (model, speech string) {
	t.Helper()
	missing := t.Skipf
	if os.Getenv("CI") == "true" {
		missing = t.Fatalf
	}
	dir, err := voiceprint.FindModelDir()
	if err != nil {
		missing("speaker model not installed (voxdesk model fetch): %v", err)
	}
	speech = os.Getenv("VOXDESK_SPEECH")
	if speech == "" {
		speech = filepath.Join("..", "..", "..", "shared", "speech")
	}
	if _, err := os.Stat(filepath.Join(speech, "librispeech-test-other", "manifest.csv")); err != nil {
		missing("shared speech not found (set VOXDESK_SPEECH): %v", err)
	}
	return dir, speech
}

func libriFile(speaker string, utt int) string {
	chapters := map[string]string{"1688": "142285", "2414": "128291", "3005": "163389"}
	return fmt.Sprintf("librispeech-test-other/test-other/%s/%s-%s-%04d.flac", speaker, speaker, chapters[speaker], utt)
}

// TestVoiceprintEnrolIdentifyEval runs the three verbs on real speech:
// three LibriSpeech speakers enrolled from two utterances each.
func TestVoiceprintEnrolIdentifyEval(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the network on about a minute of speech")
	}
	model, speech := speechAndModel(t)
	tmp := t.TempDir()
	db := filepath.Join(tmp, "v.json")
	speakers := []string{"1688", "2414", "3005"}
	for _, s := range speakers {
		var out bytes.Buffer
		args := []string{"--model", model, "--ulaw", "--db", db, "--id", s, filepath.Join(speech, libriFile(s, 0)), filepath.Join(speech, libriFile(s, 1))}
		if err := voiceprintEnrol(context.Background(), args, &out, &out); err != nil {
			t.Fatalf("enrol %s: %v\n%s", s, err, out.String())
		}
		if !strings.Contains(out.String(), "enrolled "+s+": 2 utterances") {
			t.Fatalf("enrol output: %s", out.String())
		}
	}
	var out bytes.Buffer
	args := []string{"--model", model, "--ulaw", "--db", db, filepath.Join(speech, libriFile("2414", 5))}
	if err := voiceprintIdentify(context.Background(), args, &out, &out); err != nil {
		t.Fatalf("identify: %v\n%s", err, out.String())
	}
	lines := strings.Split(out.String(), "\n")
	if len(lines) < 2 || !strings.Contains(lines[1], " 1. 2414 ") {
		t.Fatalf("identify did not rank 2414 first:\n%s", out.String())
	}

	// eval: the same speakers, two test files each, cut to 3 s.
	var m strings.Builder
	m.WriteString("speaker_id,file,role\n")
	for _, s := range speakers {
		fmt.Fprintf(&m, "%s,%s,enrol\n%s,%s,enrol\n", s, libriFile(s, 0), s, libriFile(s, 1))
		fmt.Fprintf(&m, "%s,%s,test\n%s,%s,test\n", s, libriFile(s, 2), s, libriFile(s, 3))
	}
	manifest := filepath.Join(tmp, "m.csv")
	if err := os.WriteFile(manifest, []byte(m.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	jsonOut := filepath.Join(tmp, "r.json")
	out.Reset()
	args = []string{"--model", model, "--manifest", manifest, "--root", speech, "--test-seconds", "3", "--ulaw", "--json", jsonOut}
	if err := voiceprintEval(context.Background(), args, &out, &out); err != nil {
		t.Fatalf("eval: %v\n%s", err, out.String())
	}
	b, err := os.ReadFile(jsonOut)
	if err != nil {
		t.Fatal(err)
	}
	var res []map[string]any
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 {
		t.Fatalf("results: %s", b)
	}
	for _, key := range []string{"test_seconds", "eer_percent", "min_dcf", "top1_accuracy", "open_set_false_accept", "n_speakers", "n_trials"} {
		if _, ok := res[0][key]; !ok {
			t.Fatalf("JSON lacks %q: %s", key, b)
		}
	}
	if res[0]["n_speakers"] != 3.0 || res[0]["n_trials"] != 18.0 || res[0]["test_seconds"] != 3.0 {
		t.Fatalf("counts: %s", b)
	}
	if top1 := res[0]["top1_accuracy"].(float64); top1 < 5.0/6 {
		t.Fatalf("top-1 %.2f on three speakers at 3 s", top1)
	}
	t.Logf("%s", out.String())
}
