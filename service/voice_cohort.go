package service

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/voxdesk/voxdesk/media"
	"github.com/voxdesk/voxdesk/voiceprint"
)

// The demo's cohort: score normalisation needs impostor speakers, and a
// demo store of twenty customers has too few. The speech folder's Hyke
// speakers (83 telephone speakers, never demo customers) fill it, from
// their enrolment line (line 1). Embedding them takes a few seconds, so
// a process does it once per folder and model.
//
// Hyke: A. Reda, S. Panjwani, E. Cutrell, "Hyke: A Low-cost Remote
// Attendance Tracking System for Developing Regions", NSDR 2011.
var demoCohorts sync.Map // demoCohortKey -> *demoCohortEntry

type demoCohortKey struct {
	dir, modelDir, network string
}

type demoCohortEntry struct {
	once sync.Once
	vecs [][]float32
	err  error
}

// demoCohort returns the cohort embeddings of the speech folder dir;
// none when it has no hyke/ folder.
func demoCohort(dir string, m *voiceprint.Model, cfg VoiceprintConfig) ([][]float32, error) {
	e, _ := demoCohorts.LoadOrStore(demoCohortKey{dir, cfg.ModelDir, cfg.Network}, &demoCohortEntry{})
	entry := e.(*demoCohortEntry)
	entry.once.Do(func() { entry.vecs, entry.err = embedDemoCohort(dir, m) })
	return entry.vecs, entry.err
}

func embedDemoCohort(dir string, m *voiceprint.Model) ([][]float32, error) {
	rows, err := readManifest(filepath.Join(dir, "hyke", "manifest.csv"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var files []string
	for _, r := range rows {
		if r["line"] == "1" {
			files = append(files, filepath.Join(dir, "hyke", r["file"]))
		}
	}
	vecs := make([][]float32, len(files))
	var wg sync.WaitGroup
	next := make(chan int)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := m.NewExtractor()
			for i := range next {
				pcm, err := media.LoadPCM(files[i], voiceprint.SampleRate)
				if err != nil {
					continue // a bad file leaves the cohort one smaller
				}
				if e, err := x.Embed(pcm, voiceprint.SampleRate); err == nil {
					vecs[i] = e.Vector
				}
			}
		}()
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	var out [][]float32
	for _, v := range vecs {
		if v != nil {
			out = append(out, v)
		}
	}
	if len(files) > 0 && len(out) == 0 {
		return nil, fmt.Errorf("service: demo cohort: none of %d Hyke recordings could be embedded", len(files))
	}
	return out, nil
}
