package media

import "math"

// concealer fills frames lost to the network with a pitch-synchronous
// repetition of the last audio played, in the manner of ITU-T G.711
// Appendix I: the pitch period of the recent past is estimated by
// normalised autocorrelation, the last period is repeated (continuous
// for voiced speech, unlike repeating a whole frame), held at full level
// for 10 ms, then faded by 20% per 10 ms to silence at 60 ms. When audio
// returns, the first 5 ms cross-fade from the synthetic signal into it.
type concealer struct {
	hist   [plcHist]int16 // last output samples, oldest first
	lost   int            // samples concealed in the current loss
	period int            // pitch period in samples during a loss
	pos    int            // next index into the repeated period
	pb     [plcMaxPitch]int16
}

const (
	plcHist     = 390 // 48.75 ms of history
	plcMinPitch = 40  // 200 Hz
	plcMaxPitch = 120 // 66.7 Hz
	plcCorrLen  = 160 // samples correlated to find the period
	plcHold     = 80  // 10 ms at full level
	plcFadeStep = 80  // then -20% per 10 ms
	plcSilence  = plcHold + 5*plcFadeStep
	plcXfade    = 40 // 5 ms cross-fade back into real audio
)

// remember appends played samples to the history.
func (c *concealer) remember(x []int16) {
	if len(x) >= plcHist {
		copy(c.hist[:], x[len(x)-plcHist:])
		return
	}
	copy(c.hist[:], c.hist[len(x):])
	copy(c.hist[plcHist-len(x):], x)
}

// pitch estimates the period of the history's recent past.
func (c *concealer) pitch() int {
	h := c.hist[:]
	end := len(h)
	best, bestScore := plcMaxPitch, -1.0
	for p := plcMinPitch; p <= plcMaxPitch; p++ {
		var xy, yy float64
		for i := end - plcCorrLen; i < end; i++ {
			x, y := float64(h[i]), float64(h[i-p])
			xy += x * y
			yy += y * y
		}
		if yy == 0 {
			continue
		}
		if score := xy / math.Sqrt(yy); score > bestScore {
			best, bestScore = p, score
		}
	}
	return best
}

// conceal fills dst with synthetic audio for a lost frame.
func (c *concealer) conceal(dst []int16) {
	if c.lost == 0 {
		c.period = c.pitch()
		copy(c.pb[:c.period], c.hist[plcHist-c.period:])
		c.pos = 0
	}
	for i := range dst {
		dst[i] = c.next()
	}
}

// next returns the next synthetic sample at the current fade level.
func (c *concealer) next() int16 {
	g := 1.0
	if c.lost >= plcSilence {
		g = 0
	} else if c.lost > plcHold {
		g = 1 - 0.2*float64(c.lost-plcHold)/plcFadeStep
	}
	v := float64(c.pb[c.pos]) * g
	c.pos++
	if c.pos == c.period {
		c.pos = 0
	}
	c.lost++
	return int16(v)
}

// recover cross-fades the start of the first real frame after a loss
// from the synthetic continuation.
func (c *concealer) recover(dst []int16) {
	if c.lost == 0 {
		return
	}
	n := min(plcXfade, len(dst))
	for i := range n {
		w := float64(i+1) / float64(n+1)
		dst[i] = int16(w*float64(dst[i]) + (1-w)*float64(c.next()))
	}
	c.lost = 0
}

// Marker is implemented by readers that synthesise audio the far end did
// not send (an RTPSession conceals lost packets and fills silence before
// the first one) and by stages passing such readers on. Synthetic reports
// whether the frame the last ReadAudio returned was synthesised; a
// consumer that must not take it for speech (the voiceprint tap) skips
// it. It is called from the reading goroutine, after ReadAudio.
type Marker interface {
	Synthetic() bool
}

var _ Marker = (*RTPSession)(nil)
