package identify

import (
	"fmt"
	"os"
	"testing"
)

// TestWriteDefaults prints the default calibration (defaults.go) from
// the impostor trials of all development speakers:
//
//	VOXDESK_IDENT_WRITE_DEFAULTS=1 go test ./identify -run TestWriteDefaults -v
func TestWriteDefaults(t *testing.T) {
	if os.Getenv("VOXDESK_IDENT_WRITE_DEFAULTS") == "" {
		t.Skip("prints defaults.go's tails; set VOXDESK_IDENT_WRITE_DEFAULTS=1")
	}
	d := groupDev(devSpeech(t, false))
	cal := d.calibrate(t, d.speakers)
	for _, tl := range cal.Tails {
		fmt.Printf("\t{Seconds: %g, Count: %d, Mean: %.4f, Std: %.4f, Max: %.4f, U: %.4f, Q: %.5f, Sigma: %.4f, Xi: %.4f},\n",
			tl.Seconds, tl.Count, tl.Mean, tl.Std, tl.Max, tl.U, tl.Q, tl.Sigma, tl.Xi)
	}
}

// TestDefaultsCheck: the shipped default calibration is usable.
func TestDefaultsCheck(t *testing.T) {
	cal := DefaultCalibration()
	if err := cal.Check(); err != nil {
		t.Fatal(err)
	}
	if _, err := New(cal, Config{}); err != nil {
		t.Fatal(err)
	}
}
