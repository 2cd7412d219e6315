package voiceprint

import (
	"fmt"

	"github.com/voxdesk/voxdesk/voiceprint/mfcc"
)

// Embedding is a speaker voiceprint: a unit-length x-vector compared by
// cosine (the dot product), and how much speech went into it.
type Embedding struct {
	Vector []float32 // Dim values, unit length
	Speech float64   // net voiced seconds
}

// Extractor computes embeddings of whole utterances. It is not safe for
// concurrent use; it keeps its buffers between calls, so once warmed up on
// utterances of a given length it allocates nothing (EmbedTo).
type Extractor struct {
	m       *Model
	feat    *mfcc.Computer
	pipe    *pipeline
	work    *work
	samples []float32
	feats   []float32
	voiced  []bool
	logE    []float32
	sums    []float64
	sel     []float32
	raw     []float32
	tmp     []float32
}

// NewExtractor returns an Extractor with its own buffers.
func (m *Model) NewExtractor() *Extractor {
	c, err := mfcc.New(mfcc.Default)
	if err != nil {
		panic(err) // mfcc.Default is valid
	}
	n := m.net
	// One product per chunk (400 frames here), capped so that a model
	// file with a huge pooling context cannot make us allocate gigabytes.
	batch := min(n.MaxChunk, 1024) + n.Left + n.Right
	return &Extractor{
		m: m, feat: c,
		pipe: newPipeline(n, m.cfg.Pooling == PoolChunked, batch),
		work: newWork(n, m.cfg.Pooling == PoolChunked, batch),
		raw:  make([]float32, Dim),
		tmp:  make([]float32, Dim),
	}
}

// Embed computes the embedding of an utterance of 16-bit PCM at
// sampleRate (which must be 8000).
func (x *Extractor) Embed(pcm []int16, sampleRate int) (Embedding, error) {
	v := make([]float32, Dim)
	speech, err := x.EmbedTo(v, pcm, sampleRate)
	if err != nil {
		return Embedding{Speech: speech}, err
	}
	return Embedding{Vector: v, Speech: speech}, nil
}

// EmbedTo writes the embedding of pcm into dst (Dim values) and returns
// the net voiced seconds. Errors: ErrSampleRate, *NotEnoughSpeechError.
func (x *Extractor) EmbedTo(dst []float32, pcm []int16, sampleRate int) (float64, error) {
	if len(dst) < Dim {
		return 0, errShortDst(len(dst))
	}
	if sampleRate != SampleRate {
		return 0, ErrSampleRate
	}
	x.samples = resize(x.samples, len(pcm))
	for i, s := range pcm {
		x.samples[i] = float32(s)
	}
	return x.embed(dst)
}

// EmbedFloatTo is EmbedTo for float samples on the int16 scale
// (-32768..32767, not normalised to [-1, 1]). Non-finite samples or
// samples beyond ±65536 are ErrCorruptAudio.
func (x *Extractor) EmbedFloatTo(dst []float32, pcm []float32, sampleRate int) (float64, error) {
	if len(dst) < Dim {
		return 0, errShortDst(len(dst))
	}
	if sampleRate != SampleRate {
		return 0, ErrSampleRate
	}
	if err := checkSamples(pcm); err != nil {
		return 0, err
	}
	x.samples = append(x.samples[:0], pcm...)
	return x.embed(dst)
}

func checkSamples(pcm []float32) error {
	for _, s := range pcm {
		if !(s >= -65536 && s <= 65536) { // also catches NaN
			return ErrCorruptAudio
		}
	}
	return nil
}

func (x *Extractor) embed(dst []float32) (float64, error) {
	m := x.m
	x.feats, _ = x.feat.Compute(x.feats[:0], x.samples)
	const d = 23
	rows := len(x.feats) / d
	x.logE = resize(x.logE, rows)
	for t := range rows {
		x.logE[t] = x.feats[t*d]
	}
	if cap(x.voiced) < rows {
		x.voiced = make([]bool, rows)
	}
	x.voiced = x.voiced[:rows]
	nv := m.cfg.VAD.VAD(x.logE, x.voiced)
	speech := float64(nv) * frameSeconds
	if nv < m.minFrames {
		return speech, &NotEnoughSpeechError{Speech: speech, Need: m.MinSpeech().Seconds()}
	}
	var sp spread
	for t := range rows {
		if x.voiced[t] {
			sp.add(x.logE[t])
		}
	}
	if sp.steady() {
		return 0, &NotEnoughSpeechError{Need: m.MinSpeech().Seconds(), Steady: true}
	}
	x.sums = mfcc.SlidingCMN(x.feats, rows, d, cmnWindow, x.sums)
	x.sel = resize(x.sel, nv*d)
	k := 0
	for t := range rows {
		if x.voiced[t] {
			copy(x.sel[k*d:k*d+d], x.feats[t*d:t*d+d])
			k++
		}
	}
	if !x.rawXVector(x.sel, nv) {
		return speech, &NotEnoughSpeechError{Speech: speech, Need: m.MinSpeech().Seconds()}
	}
	m.postprocess(x.raw, dst, x.tmp)
	return speech, nil
}

// rawXVector runs the network on rows voiced, normalised frames and leaves
// the x-vector (before mean.vec and transform.mat) in x.raw.
func (x *Extractor) rawXVector(feats []float32, rows int) bool {
	x.pipe.reset()
	x.pipe.push(x.work, feats, rows)
	return x.pipe.xvector(x.work.ws, x.raw)
}

func errShortDst(n int) error {
	return fmt.Errorf("voiceprint: destination has %d values, an embedding needs %d", n, Dim)
}

func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
