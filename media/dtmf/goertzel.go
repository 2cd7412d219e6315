package dtmf

import (
	"math"
	"time"
)

// In-band DTMF detection (ITU-T Q.23/Q.24 tones) with the Goertzel
// algorithm, for callers whose digits arrive as audio rather than as
// RFC 4733 events.
//
// Audio at 8 kHz is cut into blocks of 205 samples (25.6 ms; the classic
// size whose bins fall near all eight DTMF frequencies). In each block
// the power at the four row and four column frequencies is measured and
// a digit is declared present when:
//   - the strongest row and column tones are each above an absolute
//     level (about -30 dBFS),
//   - each is at least 6 dB above the other tones of its group,
//   - the twist is within 8 dB (column higher) or 4 dB (row higher),
//   - the two tones carry at least 70% of the block's energy (speech and
//     music spread their energy and fail this).
// A key press is two or more consecutive blocks with the same digit; it
// is reported once, when it ends, with its duration (in whole blocks).
// Tones and pauses need about 50 ms to be seen (two blocks), a little
// more than the 40 ms minimum of ITU-T Q.24, so the fastest diallers'
// digits may be missed.

var (
	rowFreqs = [4]float64{697, 770, 852, 941}
	colFreqs = [4]float64{1209, 1336, 1477, 1633}
	keypad   = [4][4]rune{
		{'1', '2', '3', 'A'},
		{'4', '5', '6', 'B'},
		{'7', '8', '9', 'C'},
		{'*', '0', '#', 'D'},
	}
	rowCoef, colCoef [4]float64
)

const (
	blockSize = 205
	// minAmp is the smallest tone amplitude detected (per tone, in
	// 16-bit units): about -30 dBFS.
	minAmp       = 1000
	minTonePower = (minAmp * blockSize / 2) * (minAmp * blockSize / 2)
	relPeak      = 4.0  // 6 dB in power
	normalTwist  = 6.3  // 8 dB: column may be this much stronger
	reverseTwist = 2.5  // 4 dB: row may be this much stronger
	toneFraction = 0.70 // of the block energy in the two tones
)

func init() {
	for i := range 4 {
		rowCoef[i] = 2 * math.Cos(2*math.Pi*rowFreqs[i]/ClockRate)
		colCoef[i] = 2 * math.Cos(2*math.Pi*colFreqs[i]/ClockRate)
	}
}

// Detector finds DTMF key presses in 8 kHz audio. The zero value is
// ready; it is not safe for concurrent use.
type Detector struct {
	block  [blockSize]float64
	n      int
	cur    rune // digit seen in the previous block, 0 for none
	run    int  // consecutive blocks of cur
	down   rune // key reported as pressed, 0 for none
	blocks int  // blocks the pressed key has lasted
	gap    int  // blocks without the pressed key
}

// Process consumes 8 kHz samples and appends key presses that ended.
func (d *Detector) Process(dst []Digit, samples []int16) []Digit {
	for _, s := range samples {
		d.block[d.n] = float64(s)
		d.n++
		if d.n == blockSize {
			d.n = 0
			dst = d.step(dst, d.classify())
		}
	}
	return dst
}

// Flush reports a key still pressed (the audio ended).
func (d *Detector) Flush(dst []Digit) []Digit {
	if d.down != 0 {
		dst = append(dst, Digit{Key: d.down, Duration: blocksToDuration(d.blocks)})
	}
	*d = Detector{}
	return dst
}

func blocksToDuration(n int) time.Duration {
	return time.Duration(n*blockSize) * time.Second / ClockRate
}

// step runs the key state machine on one block's verdict.
func (d *Detector) step(dst []Digit, key rune) []Digit {
	if key == d.cur {
		d.run++
	} else {
		d.cur, d.run = key, 1
	}
	switch {
	case d.down == 0 && key != 0 && d.run == 2:
		d.down, d.blocks, d.gap = key, 2, 0
	case d.down != 0 && key == d.down:
		d.blocks += 1 + d.gap // a one-block dropout inside a press is bridged
		d.gap = 0
	case d.down != 0:
		d.gap++
		if d.gap >= 2 || (key != 0 && d.run >= 2) {
			dst = append(dst, Digit{Key: d.down, Duration: blocksToDuration(d.blocks)})
			d.down = 0
			if key != 0 && d.run >= 2 {
				d.down, d.blocks, d.gap = key, d.run, 0
			}
		}
	}
	return dst
}

// classify returns the digit present in the current block, or 0.
func (d *Detector) classify() rune {
	var rows, cols [4]float64
	energy := 0.0
	for _, x := range d.block {
		energy += x * x
	}
	if energy == 0 {
		return 0
	}
	for i := range 4 {
		rows[i] = goertzel(&d.block, rowCoef[i])
		cols[i] = goertzel(&d.block, colCoef[i])
	}
	r, c := argmax(rows), argmax(cols)
	pr, pc := rows[r], cols[c]
	if pr < minTonePower || pc < minTonePower {
		return 0
	}
	if pc > pr*normalTwist || pr > pc*reverseTwist {
		return 0
	}
	for i := range 4 {
		if (i != r && rows[i]*relPeak > pr) || (i != c && cols[i]*relPeak > pc) {
			return 0
		}
	}
	// A tone of amplitude A gives power (A*N/2)^2 and energy N*A^2/2.
	if (pr+pc)/(energy*blockSize/2) < toneFraction {
		return 0
	}
	return keypad[r][c]
}

// goertzel returns the squared magnitude of the block's DFT at the
// frequency whose coefficient is 2*cos(2*pi*f/fs). Reference loop:
// s[n] = x[n] + coef*s[n-1] - s[n-2]; power = s1^2 + s2^2 - coef*s1*s2.
func goertzel(x *[blockSize]float64, coef float64) float64 {
	var s1, s2 float64
	for _, v := range x {
		s1, s2 = v+coef*s1-s2, s1
	}
	return s1*s1 + s2*s2 - coef*s1*s2
}

func argmax(p [4]float64) int {
	best := 0
	for i := 1; i < 4; i++ {
		if p[i] > p[best] {
			best = i
		}
	}
	return best
}
