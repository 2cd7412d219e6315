package service

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/voxdesk/voxdesk/customer"
	"github.com/voxdesk/voxdesk/voiceprint"
)

// demoActor is who the demo enrolment is recorded as, in consent records
// and the audit log.
const demoActor = "voxdesk:demo-enrol"

// Demo enrolment takes the first recordings of each speaker, leaving the
// later ones for tests and demos to call with: FSDD takes below
// demoFSDDTakes (all ten digits, about 15 s of speech), and the first
// LibriSpeech utterances of a speaker up to demoLibriSeconds of audio.
const (
	demoFSDDTakes    = 5
	demoLibriSeconds = 25
)

// enrolDemo enrols every customer that names a demo_speaker of the
// speech folder and has no voiceprint yet, through a RecordingEnroller:
// the consent is recorded as an import consent naming the demo, so the
// audit trail says plainly where the voiceprint came from, and a customer
// whose biometrics were erased is never enrolled again. A customer whose
// recordings cannot be read or hold too little speech is skipped with a
// warning: it never stops the switch from starting.
func (v *voice) enrolDemo(ctx context.Context) error {
	files, err := demoSpeakers(v.cfg.DemoSpeech)
	if err != nil {
		return fmt.Errorf("service: demo speech: %w", err)
	}
	var todo []customer.Customer
	err = v.db.EachCustomer(ctx, func(c customer.Customer) error {
		if sp := c.Attributes["demo_speaker"]; sp != "" && len(files[sp]) > 0 && !v.Enrolled(c.ID) {
			todo = append(todo, c)
		}
		return nil
	})
	if err != nil {
		return err
	}
	en := &RecordingEnroller{DB: v.db, Model: v.model, Actor: demoActor,
		ConsentRef: "demo: " + v.cfg.DemoSpeech, MinSpeech: v.cfg.EnrolSpeech}
	enrolled := 0
	for _, c := range todo {
		speaker := c.Attributes["demo_speaker"]
		vp, err := v.enrolDemoCustomer(ctx, en, c.ID, files[speaker])
		switch {
		case errors.Is(err, customer.ErrErased):
			v.log.Info("demo enrolment skipped: biometrics erased", "customer", c.ID, "err", err)
			continue
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			v.log.Warn("demo enrolment skipped", "customer", c.ID, "speaker", speaker, "err", err)
			continue
		}
		v.put(c.ID, vp.Embedding)
		enrolled++
		v.log.Info("demo voiceprint enrolled", "customer", c.ID, "speaker", speaker, "speech_s", vp.SpeechSeconds)
	}
	if len(todo) > 0 {
		v.log.Info("demo enrolment done", "enrolled", enrolled, "skipped", len(todo)-enrolled)
	}
	return nil
}

// enrolDemoCustomer enrols one customer from a speaker's recordings,
// taken together as one utterance (FSDD's digits are too short alone).
func (v *voice) enrolDemoCustomer(ctx context.Context, en *RecordingEnroller, id string, files []string) (customer.Voiceprint, error) {
	if err := en.Check(ctx, id); err != nil {
		return customer.Voiceprint{}, err
	}
	var pcm []int16
	for _, f := range files {
		s, err := en.Load(f)
		if err != nil {
			return customer.Voiceprint{}, err
		}
		pcm = append(pcm, s...)
	}
	emb, err := en.Embed(pcm)
	if err != nil {
		return customer.Voiceprint{}, err
	}
	return en.Enrol(ctx, id, []voiceprint.Embedding{emb})
}

// demoSpeakers lists the enrolment recordings of each speaker of a speech
// folder laid out like ../shared/speech (fsdd/ and
// librispeech-test-other/, each with a manifest.csv).
func demoSpeakers(root string) (map[string][]string, error) {
	out := map[string][]string{}
	fsdd, err := readManifest(filepath.Join(root, "fsdd", "manifest.csv"))
	if err != nil {
		return nil, err
	}
	for _, r := range fsdd {
		if take, err := strconv.Atoi(r["take"]); err == nil && take < demoFSDDTakes {
			out[r["speaker_id"]] = append(out[r["speaker_id"]], filepath.Join(root, "fsdd", r["file"]))
		}
	}
	libri, err := readManifest(filepath.Join(root, "librispeech-test-other", "manifest.csv"))
	if err != nil {
		return nil, err
	}
	secs := map[string]float64{}
	for _, r := range libri {
		if sp := r["speaker_id"]; secs[sp] < demoLibriSeconds {
			d, _ := strconv.ParseFloat(r["duration_s"], 64)
			secs[sp] += d
			out[sp] = append(out[sp], filepath.Join(root, "librispeech-test-other", r["file"]))
		}
	}
	return out, nil
}

// readManifest reads a CSV with a header row into one map per row.
func readManifest(path string) ([]map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var rows []map[string]string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		row := make(map[string]string, len(head))
		for i, h := range head {
			if i < len(rec) {
				row[h] = rec[i]
			}
		}
		rows = append(rows, row)
	}
}
