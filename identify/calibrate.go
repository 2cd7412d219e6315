package identify

import (
	"fmt"
	"slices"
	"time"
)

// Trial is a test utterance for calibration: a speaker's embedding after
// Seconds of net speech (the duration bucket it calibrates).
type Trial struct {
	Speaker string // an id of the gallery when the speaker is enrolled, else anything else
	Seconds float64
	Vector  []float32
}

// ImpostorScores scores a trial against every voiceprint of the gallery
// but the speaker's own: each score is one impostor comparison. The
// speaker's own voiceprint is also left out of the trial's cohort
// statistics, so the trial is scored as an unknown caller would be (a
// caller's own voiceprint among the cohort raises its statistics and
// lowers every score: impostor scores measured so would be too low).
func (g *Gallery) ImpostorScores(tr Trial) ([]float64, error) {
	p, err := g.newProbe(tr.Vector, tr.Speaker)
	if err != nil {
		return nil, err
	}
	ids := g.index.IDs()
	out := make([]float64, 0, len(ids))
	for _, id := range ids {
		if id == tr.Speaker {
			continue
		}
		if s, ok := g.Score(p, id); ok {
			out = append(out, s.Score)
		}
	}
	return out, nil
}

// Calibrate measures the impostor tails at each trial duration: every
// trial against every voiceprint in g that is not its speaker's.
func Calibrate(g *Gallery, trials []Trial, model, source string) (Calibration, error) {
	by := map[float64][]float64{}
	for i, tr := range trials {
		s, err := g.ImpostorScores(tr)
		if err != nil {
			return Calibration{}, fmt.Errorf("identify: calibrate: trial %d: %w", i, err)
		}
		by[tr.Seconds] = append(by[tr.Seconds], s...)
	}
	secs := make([]float64, 0, len(by))
	for s := range by {
		secs = append(secs, s)
	}
	slices.Sort(secs)
	cal := Calibration{Model: model, Source: source, Made: time.Now().UTC()}
	for _, s := range secs {
		t, err := FitTail(s, by[s])
		if err != nil {
			return Calibration{}, fmt.Errorf("identify: calibrate: %w", err)
		}
		cal.Tails = append(cal.Tails, t)
	}
	if err := cal.Check(); err != nil {
		return Calibration{}, err
	}
	return cal, nil
}
