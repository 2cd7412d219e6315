package voiceprint

import (
	"time"

	"github.com/voxdesk/voxdesk/voiceprint/mfcc"
)

// defaultLookahead is the stream's CMN and VAD lookahead in frames.
const defaultLookahead = 30

// streamBatch is how many voiced frames the stream gathers before running
// the frame-level layers on them in one product (320 ms of speech: each
// product reads every weight matrix once, so batching amortises that).
const streamBatch = 32

// Stream computes a caller's embedding while they speak. Write 20 ms
// frames (160 samples at 8 kHz, or any other length) as they arrive; Embed
// gives the embedding of everything so far at any moment, with work that
// does not grow with the speech already heard. Not safe for concurrent use.
//
// Kaldi's features look into the future: the centred CMN window reaches
// 150 frames ahead and the VAD threshold uses the mean log-energy of the
// whole utterance. The stream instead finalises frame t once frame
// t+Lookahead has arrived: its CMN mean is over the last 300 frames up to
// t+Lookahead (fewer at the start) and its VAD threshold uses the mean
// log-energy of all frames so far. Finalised voiced frames go through the
// frame-level layers incrementally (each frame once), and the running
// pooling statistics are kept in float64. Embed also runs the pending
// Lookahead frames provisionally (with the newest CMN window and VAD
// context cut at the last frame, as at the end of an utterance) on a copy
// of the state. Pooling follows Config.Pooling, chunk by chunk as Kaldi.
type Stream struct {
	m         *Model
	feat      *mfcc.Computer
	lookahead int
	ring      int       // frames held in raw/logE
	raw       []float32 // ring of raw MFCC frames
	logE      []float32
	samples   []float32 // samples not yet in a whole frame
	frames    int       // frames computed
	next      int       // next frame to finalise
	winSum    []float64 // sum of raw frames in the CMN window ending at frames-1
	sumLogE   float64
	voiced    int // finalised voiced frames
	spread    spread
	pend      []float32
	npend     int
	pipe      *pipeline // the stream's network state
	works     *workPool // the network's working set, lent per push
	prov      []float32
	rawX      []float32
	tmp       []float32
	frame     []float32
}

// NewStream returns a Stream with Lookahead 300 ms.
func (m *Model) NewStream() *Stream {
	return m.NewStreamLookahead(defaultLookahead * 10 * time.Millisecond)
}

// NewStreamLookahead returns a Stream whose CMN and VAD look ahead d
// (rounded down to 10 ms frames, at least the VAD context of 20 ms).
func (m *Model) NewStreamLookahead(d time.Duration) *Stream {
	c, err := mfcc.New(mfcc.Default)
	if err != nil {
		panic(err)
	}
	la := max(int(d/(10*time.Millisecond)), m.cfg.VAD.Context)
	n := m.net
	s := &Stream{m: m, feat: c, lookahead: la}
	s.ring = cmnWindow + la + m.cfg.VAD.Context + 2
	s.raw = make([]float32, s.ring*23)
	s.logE = make([]float32, s.ring)
	s.winSum = make([]float64, 23)
	s.pend = make([]float32, streamBatch*23)
	batch := streamBatch + la + 1
	s.pipe = newPipeline(n, m.cfg.Pooling == PoolChunked, batch)
	s.works = m.workPool(batch)
	s.prov = make([]float32, (streamBatch+la+1)*23)
	s.rawX = make([]float32, Dim)
	s.tmp = make([]float32, Dim)
	s.frame = make([]float32, 23)
	s.samples = make([]float32, 0, 2*mfcc.Default.FrameLength+4096)
	return s
}

// Lookahead is the stream's CMN/VAD lookahead.
func (s *Stream) Lookahead() time.Duration { return time.Duration(s.lookahead) * 10 * time.Millisecond }

// Reset starts a new utterance.
func (s *Stream) Reset() {
	s.samples = s.samples[:0]
	s.frames, s.next, s.voiced, s.npend = 0, 0, 0, 0
	s.sumLogE = 0
	s.spread = spread{}
	clear(s.winSum)
	s.pipe.reset()
}

// Write adds 16-bit PCM samples at 8 kHz.
func (s *Stream) Write(pcm []int16) {
	for len(pcm) > 0 {
		n := min(len(pcm), 4096)
		for _, v := range pcm[:n] {
			s.samples = append(s.samples, float32(v))
		}
		pcm = pcm[n:]
		s.drain()
	}
}

// WriteFloat adds samples on the int16 scale; ErrCorruptAudio if any is
// not finite or far out of range (the stream is unchanged then).
func (s *Stream) WriteFloat(pcm []float32) error {
	if err := checkSamples(pcm); err != nil {
		return err
	}
	for len(pcm) > 0 {
		n := min(len(pcm), 4096)
		s.samples = append(s.samples, pcm[:n]...)
		pcm = pcm[n:]
		s.drain()
	}
	return nil
}

// drain computes the MFCCs of all whole frames in s.samples.
func (s *Stream) drain() {
	cfg := mfcc.Default
	p := 0
	for p+cfg.FrameLength <= len(s.samples) {
		f := s.frames
		slot := (f % s.ring) * 23
		s.feat.Frame(s.samples[p:p+cfg.FrameLength], s.raw[slot:slot+23])
		s.logE[f%s.ring] = s.raw[slot]
		s.sumLogE += float64(s.raw[slot])
		for j := range 23 {
			s.winSum[j] += float64(s.raw[slot+j])
		}
		if f >= cmnWindow {
			old := ((f - cmnWindow) % s.ring) * 23
			for j := range 23 {
				s.winSum[j] -= float64(s.raw[old+j])
			}
		}
		s.frames++
		p += cfg.FrameShift
		if t := s.frames - 1 - s.lookahead; t >= 0 {
			s.finalise(t)
		}
	}
	n := copy(s.samples, s.samples[p:])
	s.samples = s.samples[:n]
}

// isVoiced is the energy VAD for frame t given the frames so far (the
// context is cut at the newest frame).
func (s *Stream) isVoiced(t int) bool {
	v := s.m.cfg.VAD
	th := v.energyThreshold(s.sumLogE / float64(s.frames))
	num, den := 0, 0
	for u := t - v.Context; u <= t+v.Context; u++ {
		if u >= 0 && u < s.frames {
			den++
			if float64(s.logE[u%s.ring]) > th {
				num++
			}
		}
	}
	return float64(num) >= float64(den)*v.Proportion
}

// normalise writes frame t minus the current CMN window mean into dst.
func (s *Stream) normalise(t int, dst []float32) {
	cnt := float64(min(s.frames, cmnWindow))
	slot := (t % s.ring) * 23
	for j := range 23 {
		dst[j] = float32(float64(s.raw[slot+j]) - s.winSum[j]/cnt)
	}
}

func (s *Stream) finalise(t int) {
	s.next = t + 1
	if !s.isVoiced(t) {
		return
	}
	s.voiced++
	s.spread.add(s.logE[t%s.ring])
	s.normalise(t, s.pend[s.npend*23:])
	s.npend++
	if s.npend == streamBatch {
		w := s.works.get()
		s.pipe.push(w, s.pend, s.npend)
		s.works.put(w)
		s.npend = 0
	}
}

// Speech is the net voiced speech heard so far, in seconds (the last
// Lookahead frames counted provisionally).
func (s *Stream) Speech() float64 {
	n := s.voiced
	for t := s.next; t < s.frames; t++ {
		if s.isVoiced(t) {
			n++
		}
	}
	return float64(n) * frameSeconds
}

// Embed returns the embedding of the speech so far.
func (s *Stream) Embed() (Embedding, error) {
	v := make([]float32, Dim)
	speech, err := s.EmbedTo(v)
	if err != nil {
		return Embedding{Speech: speech}, err
	}
	return Embedding{Vector: v, Speech: speech}, nil
}

// EmbedTo writes the embedding of the speech so far into dst (Dim values)
// and returns the net voiced seconds; *NotEnoughSpeechError below the
// model's MinSpeech. It does not change what the stream has heard.
func (s *Stream) EmbedTo(dst []float32) (float64, error) {
	if len(dst) < Dim {
		return 0, errShortDst(len(dst))
	}
	// The batched frames and the provisional ones go through the layers in
	// one push: each push costs a pass over every weight matrix.
	copy(s.prov, s.pend[:s.npend*23])
	n := 0
	sp := s.spread
	for t := s.next; t < s.frames; t++ {
		if s.isVoiced(t) {
			s.normalise(t, s.prov[(s.npend+n)*23:])
			sp.add(s.logE[t%s.ring])
			n++
		}
	}
	total := s.voiced + n
	speech := float64(total) * frameSeconds
	if total >= s.m.minFrames && sp.steady() {
		return 0, &NotEnoughSpeechError{Need: s.m.MinSpeech().Seconds(), Steady: true}
	}
	if total < s.m.minFrames {
		return speech, &NotEnoughSpeechError{Speech: speech, Need: s.m.MinSpeech().Seconds()}
	}
	w := s.works.get()
	w.scratch.copyFrom(s.pipe)
	w.scratch.push(w, s.prov, s.npend+n)
	ok := w.scratch.xvector(w.ws, s.rawX)
	s.works.put(w)
	if !ok {
		return speech, &NotEnoughSpeechError{Speech: speech, Need: s.m.MinSpeech().Seconds()}
	}
	s.m.postprocess(s.rawX, dst, s.tmp)
	return speech, nil
}
