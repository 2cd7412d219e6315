package service

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/voxdesk/voxdesk/customer"
	"github.com/voxdesk/voxdesk/media"
	"github.com/voxdesk/voxdesk/media/g711"
	"github.com/voxdesk/voxdesk/voiceprint"
)

// The development speech as customers, for the voice tests here and in
// service_test (exported from a test file, so only tests see them).

// DevSpeaker is one development speaker: the files enrolment uses and
// the held-out ones calls stream.
type DevSpeaker struct {
	ID           string
	Enrol, Calls []string
}

// DevSpeakers lists Hyke's speakers (line 1 enrols, lines 2-5 call),
// LibriSpeech test-other's (first two files enrol, the last two call)
// and FSDD's (takes 0-3 enrol, takes 40-49 call). Hyke: A. Reda,
// S. Panjwani, E. Cutrell, "Hyke: A Low-cost Remote Attendance Tracking
// System for Developing Regions", NSDR 2011.
func DevSpeakers(t testing.TB, root string) (hyke, libri, fsdd []DevSpeaker) {
	t.Helper()
	read := func(path string) []map[string]string {
		rows, err := readManifest(path)
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	group := func(out *[]DevSpeaker, idx map[string]int, id, file string, enrol bool) {
		i, ok := idx[id]
		if !ok {
			i = len(*out)
			idx[id] = i
			*out = append(*out, DevSpeaker{ID: id})
		}
		if enrol {
			(*out)[i].Enrol = append((*out)[i].Enrol, file)
		} else {
			(*out)[i].Calls = append((*out)[i].Calls, file)
		}
	}
	idx := map[string]int{}
	for _, r := range read(filepath.Join(root, "hyke", "manifest.csv")) {
		group(&hyke, idx, "hyke:"+r["speaker_id"], filepath.Join(root, "hyke", r["file"]), r["line"] == "1")
	}
	files := map[string][]string{}
	var order []string
	for _, r := range read(filepath.Join(root, "librispeech-test-other", "manifest.csv")) {
		if _, ok := files[r["speaker_id"]]; !ok {
			order = append(order, r["speaker_id"])
		}
		files[r["speaker_id"]] = append(files[r["speaker_id"]], filepath.Join(root, "librispeech-test-other", r["file"]))
	}
	for _, s := range order {
		fs := files[s]
		libri = append(libri, DevSpeaker{ID: "libri:" + s, Enrol: fs[:2], Calls: fs[len(fs)-2:]})
	}
	idx = map[string]int{}
	for _, r := range read(filepath.Join(root, "fsdd", "manifest.csv")) {
		take := r["take"]
		if len(take) == 1 && take < "4" || len(take) == 2 && take >= "40" {
			group(&fsdd, idx, "fsdd:"+r["speaker_id"], filepath.Join(root, "fsdd", r["file"]), len(take) == 1)
		}
	}
	return hyke, libri, fsdd
}

// LoadUlaw loads files joined, through a mu-law round trip, cut to secs
// of audio (0: all).
func LoadUlaw(t testing.TB, files []string, secs float64) []int16 {
	t.Helper()
	var pcm []int16
	for _, f := range files {
		p, err := media.LoadPCM(f, voiceprint.SampleRate)
		if err != nil {
			t.Fatal(err)
		}
		pcm = append(pcm, p...)
		if secs > 0 && len(pcm) >= int(secs*voiceprint.SampleRate) {
			pcm = pcm[:int(secs*voiceprint.SampleRate)]
			break
		}
	}
	for i, s := range pcm {
		pcm[i] = g711.UlawToLinear(g711.LinearToUlaw(s))
	}
	return pcm
}

// DevCustomer is the id of the i-th enrolled speaker and DevPhone its
// phone number.
func DevCustomer(i int) string { return fmt.Sprintf("C-%02d", i) }
func DevPhone(i int) string    { return fmt.Sprintf("+4420700%05d", i) }

// EnrolDevStore makes a store at dsn (key keyText) of one customer per
// speaker, each with a phone number, a consent and a voiceprint from
// the speaker's enrolment files; it returns the voiceprints.
func EnrolDevStore(t testing.TB, dsn, keyText, model string, speakers []DevSpeaker) map[string][]float32 {
	t.Helper()
	ctx := context.Background()
	key, err := customer.ParseKey(keyText)
	if err != nil {
		t.Fatal(err)
	}
	db, err := customer.Open(ctx, dsn, customer.Config{Key: key}, customer.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rows strings.Builder
	rows.WriteString("id,name,phones\n")
	for i, s := range speakers {
		fmt.Fprintf(&rows, "%s,%s,%s\n", DevCustomer(i), s.ID, DevPhone(i))
	}
	if err := db.Import(ctx, strings.NewReader(rows.String()), nil); err != nil {
		t.Fatal(err)
	}
	m, err := voiceprint.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	x := m.NewExtractor()
	out := map[string][]float32{}
	for i, s := range speakers {
		var utts []voiceprint.Embedding
		for _, f := range s.Enrol {
			e, err := x.Embed(LoadUlaw(t, []string{f}, 0), voiceprint.SampleRate)
			if err != nil {
				t.Fatal(err)
			}
			utts = append(utts, e)
		}
		vp, err := voiceprint.Enrol(utts)
		if err != nil {
			t.Fatal(err)
		}
		id := DevCustomer(i)
		if _, err := db.GiveConsent(ctx, customer.Consent{CustomerID: id, Method: customer.ConsentAgent, GivenBy: "test"}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SaveVoiceprint(ctx, customer.Voiceprint{CustomerID: id, ModelID: modelID, Embedding: vp.Vector, Utterances: len(utts), SpeechSeconds: vp.SpeechSeconds}, "test"); err != nil {
			t.Fatal(err)
		}
		out[id] = vp.Vector
	}
	return out
}

// IdentSpeech is the development speech folder and the model; outside
// CI their absence skips the test, in CI (where make test provides
// them) it fails it.
func IdentSpeech(t testing.TB) (speech, model string) {
	t.Helper()
	missing := func(format string, args ...any) {
		if os.Getenv("CI") == "true" {
			t.Fatalf(format, args...)
		}
		t.Skipf(format, args...)
	}
	speech = os.Getenv("VOXDESK_SPEECH")
	if speech == "" {
		speech = filepath.Join("..", "..", "shared", "speech")
	}
	if _, err := os.Stat(filepath.Join(speech, "hyke", "manifest.csv")); err != nil {
		missing("development speech absent (set VOXDESK_SPEECH): %v", err)
	}
	model, err := voiceprint.FindModelDir()
	if err != nil {
		missing("speaker model absent (voxdesk model fetch): %v", err)
	}
	return speech, model
}
