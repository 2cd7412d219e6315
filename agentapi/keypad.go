package agentapi

import (
	"math"
	"strings"

	"github.com/voxdesk/voxdesk/call"
)

// Keypad tones (ITU-T Q.23): each key is the sum of a row and a column
// frequency, played for toneOn then silent for toneOff, loud enough for
// any DTMF receiver (about -10 dBm0 per frequency).
const (
	toneOnSamples  = call.SampleRate / 10      // 100 ms
	toneOffSamples = call.SampleRate * 6 / 100 // 60 ms
	toneAmplitude  = 6000
)

var (
	rowHz = [4]float64{697, 770, 852, 941}
	colHz = [4]float64{1209, 1336, 1477, 1633}
	// keypadRows lays the keys out as on a telephone: row i, column j.
	keypadRows = [4]string{"123A", "456B", "789C", "*0#D"}
)

// dtmfTones returns the in-band tones of digits, which must be keypad
// keys (ParseClientMessage checked them).
func dtmfTones(digits string) []int16 {
	out := make([]int16, 0, len(digits)*(toneOnSamples+toneOffSamples))
	for _, k := range digits {
		row, col := -1, -1
		for i, r := range keypadRows {
			if j := strings.IndexRune(r, k); j >= 0 {
				row, col = i, j
			}
		}
		if row < 0 {
			continue
		}
		for n := range toneOnSamples {
			t := float64(n) / call.SampleRate
			v := math.Sin(2*math.Pi*rowHz[row]*t) + math.Sin(2*math.Pi*colHz[col]*t)
			out = append(out, int16(toneAmplitude*v))
		}
		out = append(out, make([]int16, toneOffSamples)...)
	}
	return out
}
