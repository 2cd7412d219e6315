package identify

import "github.com/voxdesk/voxdesk/voiceprint"

// StreamCuts streams pcm (8 kHz) into a fresh stream of m 20 ms at a
// time, as a call is heard, and embeds the speech so far each time its
// net speech first reaches one of cuts (seconds, ascending): the test
// utterances a calibration measures at each duration. Cuts the audio
// never reaches are left out; out[i] belongs to cuts[i] for i < len(out).
func StreamCuts(m *voiceprint.Model, pcm []int16, cuts []float64) []voiceprint.Embedding {
	var out []voiceprint.Embedding
	st := m.NewStream()
	const frame = voiceprint.SampleRate / 50
	for i := 0; i+frame <= len(pcm) && len(out) < len(cuts); i += frame {
		st.Write(pcm[i : i+frame])
		if st.Speech() < cuts[len(out)] {
			continue
		}
		e, err := st.Embed()
		if err != nil {
			// Not enough speech for the model yet at this cut: nothing
			// longer can be measured from this audio either.
			return out
		}
		out = append(out, e)
	}
	return out
}
