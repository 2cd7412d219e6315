package voiceprint

// VADConfig is Kaldi's energy voice-activity detector (compute-vad), with
// the settings of the model's recipe as the default.
type VADConfig struct {
	// Threshold is added to MeanScale times the mean log-energy.
	Threshold float64
	MeanScale float64
	// Context frames on each side are counted.
	Context int
	// Proportion of the counted frames that must be above the threshold.
	Proportion float64
}

// DefaultVAD is the recipe's vad.conf: --vad-energy-threshold=5.5
// --vad-energy-mean-scale=0.5 --vad-frames-context=2
// --vad-proportion-threshold=0.12.
var DefaultVAD = VADConfig{Threshold: 5.5, MeanScale: 0.5, Context: 2, Proportion: 0.12}

// energyThreshold is the log-energy a frame must exceed, given the mean
// log-energy of the utterance.
func (c VADConfig) energyThreshold(meanLogE float64) float64 {
	return c.Threshold + c.MeanScale*meanLogE
}

// VAD marks voiced frames of an utterance from their log-energies (the
// MFCC C0), as Kaldi's ComputeVadEnergy: frame t is voiced when at least
// Proportion of the frames in [t-Context, t+Context] (cut to the
// utterance) have log-energy above Threshold + MeanScale*mean(logE).
// voiced must have len(logE) elements; it returns the voiced count.
func (c VADConfig) VAD(logE []float32, voiced []bool) int {
	n := len(logE)
	if n == 0 {
		return 0
	}
	var sum float64
	for _, e := range logE {
		sum += float64(e)
	}
	th := c.energyThreshold(sum / float64(n))
	count := 0
	for t := 0; t < n; t++ {
		num, den := 0, 0
		for u := t - c.Context; u <= t+c.Context; u++ {
			if u >= 0 && u < n {
				den++
				if float64(logE[u]) > th {
					num++
				}
			}
		}
		voiced[t] = float64(num) >= float64(den)*c.Proportion
		if voiced[t] {
			count++
		}
	}
	return count
}

// minSpread is the standard deviation of log-energy (in nats) over the
// voiced frames below which audio is taken for steady noise or a tone
// rather than speech. The energy VAD is relative to the mean, so it passes
// any loud steady signal; speech rises and falls with its syllables. On
// the shared speech the spread of telephone speech is 2.1 to 3.1, of
// white noise and hum 0.1 or less.
const minSpread = 1.0

// spread accumulates log-energies relative to the first value, so the
// variance does not cancel catastrophically.
type spread struct {
	n          int
	ref, s, s2 float64
}

func (a *spread) add(e float32) {
	if a.n == 0 {
		a.ref = float64(e)
	}
	d := float64(e) - a.ref
	a.n++
	a.s += d
	a.s2 += d * d
}

// steady reports whether the accumulated frames vary less than speech.
func (a spread) steady() bool {
	if a.n == 0 {
		return false
	}
	m := a.s / float64(a.n)
	return a.s2/float64(a.n)-m*m < minSpread*minSpread
}
