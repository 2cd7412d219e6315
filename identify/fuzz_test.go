package identify

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

// FuzzCalibration: a calibration file of any content either fails Check
// or gives a policy whose decisions are one of the three outcomes, with
// finite thresholds, never a panic.
func FuzzCalibration(f *testing.F) {
	good, _ := json.Marshal(DefaultCalibration())
	f.Add(good)
	f.Add([]byte(`{"tails":[{"seconds":3,"count":1000,"mean":0,"std":1,"u":1,"q":0.05,"sigma":0,"xi":0}]}`))
	f.Add([]byte(`{"tails":[{"seconds":3,"count":1000,"mean":0,"std":1,"u":1e308,"q":0.05,"sigma":1e308,"xi":0.4}]}`))
	f.Add([]byte(`{"tails":[{"seconds":7},{"seconds":3}]}`))
	f.Add([]byte(`{"cohort":[[1,2,3]]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var cal Calibration
		if json.Unmarshal(data, &cal) != nil {
			return
		}
		p, err := New(cal, Config{})
		if err != nil {
			return
		}
		for _, n := range []int{0, 1, 80, 1000000} {
			for _, speech := range []time.Duration{0, 3 * time.Second, 10 * time.Second} {
				d := p.Decide([]Scored{{ID: "a", Score: 5, Ceiling: math.Inf(1)}, {ID: "b", Score: math.NaN(), Ceiling: 1}}, n, speech, 0)
				switch d.Outcome {
				case Verified, Unknown:
					if math.IsNaN(d.Threshold) {
						t.Fatalf("%s with threshold NaN: %+v", d.Outcome, d)
					}
				case NotSure:
				default:
					t.Fatalf("outcome %q", d.Outcome)
				}
			}
		}
	})
}
