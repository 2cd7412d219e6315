package identify_test

import (
	"fmt"
	"time"

	"github.com/voxdesk/voxdesk/identify"
)

// The threshold grows with the number of voiceprints searched, so that
// an unknown caller passes as any of them at most 0.5 % of the time; a
// million is beyond what 26 000 calibration scores can promise.
func Example() {
	p, err := identify.New(identify.DefaultCalibration(), identify.Config{})
	if err != nil {
		panic(err)
	}
	for _, n := range []int{1, 80, 10000, 1000000} {
		thr, ok, why := p.Threshold(n, 7*time.Second, 0)
		if !ok {
			fmt.Printf("N=%d: not sure (%s)\n", n, why)
			continue
		}
		fmt.Printf("N=%d: per comparison %.1e, s-norm threshold %.2f\n", n, identify.PerComparison(0.005, n), thr)
	}
	d := p.Decide([]identify.Scored{{ID: "C-1001", Score: 6.1, Ceiling: 9}, {ID: "C-1002", Score: 2.0, Ceiling: 9}}, 80, 7*time.Second, 0)
	fmt.Println(d.Outcome, d.ID)
	// Output:
	// N=1: per comparison 5.0e-03, s-norm threshold 2.59
	// N=80: per comparison 6.3e-05, s-norm threshold 5.44
	// N=10000: per comparison 5.0e-07, s-norm threshold 8.58
	// N=1000000: not sure (1000000 voiceprints need a per-comparison rate of 5.0e-09, below the calibration's reach (3.9e-08))
	// verified C-1001
}
