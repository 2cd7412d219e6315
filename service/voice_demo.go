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
	"github.com/voxdesk/voxdesk/media"
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
// speech folder and has no voiceprint yet. The demo's consent is recorded
// as an agent-given consent by demoActor, so the audit trail says plainly
// where the voiceprint came from.
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
	x := v.model.NewExtractor()
	for i, c := range todo {
		var pcm []int16
		for _, f := range files[c.Attributes["demo_speaker"]] {
			s, err := media.LoadPCM(f, voiceprint.SampleRate)
			if err != nil {
				return fmt.Errorf("service: demo speech: %w", err)
			}
			pcm = append(pcm, s...)
		}
		emb, err := x.Embed(pcm, voiceprint.SampleRate)
		if err != nil {
			return fmt.Errorf("service: demo enrol %s: %w", c.ID, err)
		}
		if _, err := v.db.CurrentConsent(ctx, c.ID); errors.Is(err, customer.ErrNoConsent) {
			if _, err := v.db.GiveConsent(ctx, customer.Consent{CustomerID: c.ID, Method: customer.ConsentAgent, GivenBy: demoActor, RecordingRef: "demo: " + v.cfg.DemoSpeech}); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		if err := v.save(ctx, c.ID, []voiceprint.Embedding{emb}, demoActor); err != nil {
			return err
		}
		v.log.Info("demo voiceprint enrolled", "customer", c.ID, "speaker", c.Attributes["demo_speaker"], "progress", fmt.Sprintf("%d/%d", i+1, len(todo)))
	}
	return nil
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
