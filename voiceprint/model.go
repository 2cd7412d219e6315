package voiceprint

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/voxdesk/voxdesk/voiceprint/mfcc"
	"github.com/voxdesk/voxdesk/voiceprint/nn"
)

// SampleRate is the only audio rate the model accepts.
const SampleRate = 8000

// Dim is the embedding dimension.
const Dim = 128

// Pooling selects how an utterance longer than the model's pooling window
// (400 frames, 4 s of voiced speech) is turned into one x-vector.
type Pooling int

const (
	// PoolChunked is what Kaldi does (nnet3-xvector-compute with the
	// recipe's chunk size): the voiced frames are cut into chunks of 400,
	// each chunk gives an x-vector with the network run on it alone, and
	// the x-vectors are averaged weighted by chunk length. Chunks shorter
	// than 25 frames are left out.
	PoolChunked Pooling = iota
	// PoolWhole pools the statistics of all voiced frames at once (what
	// the numpy reference does by default).
	PoolWhole
)

// Config selects the model and its use. The zero value works with a model
// in DefaultModelDir.
type Config struct {
	// Dir holds final.ext.raw, mean.vec, transform.mat and mfcc.conf.
	// Empty means DefaultModelDir().
	Dir string
	// MinSpeech is the net voiced speech below which no embedding is
	// given (ErrNotEnoughSpeech). Zero means 1 s: below that the x-vector
	// is too noisy for a decision.
	MinSpeech time.Duration
	// Pooling over long utterances; zero is PoolChunked (Kaldi's way).
	Pooling Pooling
	// VAD settings; zero means DefaultVAD.
	VAD VADConfig
	// Int8 runs tdnn2..tdnn5 on 8-bit weights and activations (see
	// nn.Network.QuantizeInt8): about twice as fast on AVX-512 VNNI, with
	// embeddings at cosine 0.9998 to the float32 ones and the same EER on
	// the shared speech. Off by default, so embeddings are Kaldi's exactly
	// (and on processors without VNNI the 8-bit product is a slow Go loop).
	Int8 bool
}

const (
	defaultMinSpeech = time.Second
	// minChunk is Kaldi's min_chunk_size of the x-vector recipes.
	minChunk = 25
	// cmnWindow is the sliding CMN window in frames (centred).
	cmnWindow = 300
	// frameSeconds is the frame shift.
	frameSeconds = 0.01
)

// Model is a loaded x-vector extractor. It is immutable and safe for
// concurrent use; each goroutine makes its own Extractor or Stream.
type Model struct {
	cfg       Config
	net       *nn.Network
	mean      []float32 // Dim
	transform []float32 // Dim x Dim, row-major
	minFrames int
	works     sync.Map // stream batch size -> *workPool
}

// workPool is the pool of network working sets for streams of batch
// frames: shared by all of the model's streams, so a stream holds only
// its state and the working set is as many as compute at once.
func (m *Model) workPool(batch int) *workPool {
	if p, ok := m.works.Load(batch); ok {
		return p.(*workPool)
	}
	p, _ := m.works.LoadOrStore(batch, newWorkPool(m.net, m.cfg.Pooling == PoolChunked, batch))
	return p.(*workPool)
}

// Load reads the model files in dir (see Config.Dir).
func Load(dir string) (*Model, error) { return Open(Config{Dir: dir}) }

// Open loads the model described by cfg. Missing or corrupt files are
// errors wrapping ErrModel.
func Open(cfg Config) (*Model, error) {
	if cfg.Dir == "" {
		cfg.Dir = DefaultModelDir()
	}
	if cfg.MinSpeech == 0 {
		cfg.MinSpeech = defaultMinSpeech
	}
	if cfg.VAD == (VADConfig{}) {
		cfg.VAD = DefaultVAD
	}
	if cfg.MinSpeech < 0 || cfg.Pooling < PoolChunked || cfg.Pooling > PoolWhole ||
		cfg.VAD.Context < 0 || !(cfg.VAD.Proportion > 0 && cfg.VAD.Proportion < 1) {
		return nil, fmt.Errorf("voiceprint: invalid config %+v", cfg)
	}
	bad := func(err error) error { return fmt.Errorf("%w: %w", ErrModel, err) }
	conf, err := os.ReadFile(filepath.Join(cfg.Dir, "mfcc.conf"))
	if err != nil {
		return nil, bad(err)
	}
	if err := checkMFCCConf(conf); err != nil {
		return nil, bad(err)
	}
	net, err := nn.LoadNetwork(filepath.Join(cfg.Dir, "final.ext.raw"))
	if err != nil {
		return nil, bad(err)
	}
	if net.InputDim != mfcc.Default.NumCeps || net.OutputDim != Dim {
		return nil, bad(fmt.Errorf("network maps %d -> %d, want %d -> %d", net.InputDim, net.OutputDim, mfcc.Default.NumCeps, Dim))
	}
	if cfg.Int8 {
		net = net.QuantizeInt8()
	}
	mean, err := nn.LoadTextVector(filepath.Join(cfg.Dir, "mean.vec"))
	if err != nil {
		return nil, bad(err)
	}
	tr, err := nn.LoadMatrix(filepath.Join(cfg.Dir, "transform.mat"))
	if err != nil {
		return nil, bad(err)
	}
	if len(mean) != Dim || tr.Rows != Dim || tr.Cols != Dim {
		return nil, bad(fmt.Errorf("mean.vec has %d values and transform.mat is %dx%d, want %d and %dx%d", len(mean), tr.Rows, tr.Cols, Dim, Dim, Dim))
	}
	for _, v := range append(append([]float32(nil), mean...), tr.Data...) {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, bad(fmt.Errorf("non-finite value in mean.vec or transform.mat"))
		}
	}
	m := &Model{cfg: cfg, net: net, mean: mean, transform: tr.Data}
	m.minFrames = int(math.Ceil(cfg.MinSpeech.Seconds() / frameSeconds))
	if ctx := net.Left + net.Right + 1; m.minFrames < ctx {
		m.minFrames = ctx
	}
	return m, nil
}

// MinSpeech is the net voiced speech an embedding needs.
func (m *Model) MinSpeech() time.Duration {
	return time.Duration(m.minFrames) * 10 * time.Millisecond
}

// postprocess turns a raw x-vector into the unit-length embedding:
// subtract mean.vec, multiply by transform.mat, length-normalise.
func (m *Model) postprocess(raw []float32, dst []float32, tmp []float32) {
	for i := range Dim {
		tmp[i] = raw[i] - m.mean[i]
	}
	var norm float64
	for i := range Dim {
		row := m.transform[i*Dim : i*Dim+Dim]
		var s float32
		for j, v := range row {
			s += v * tmp[j]
		}
		dst[i] = s
		norm += float64(s) * float64(s)
	}
	inv := float32(1 / math.Sqrt(norm))
	if norm == 0 {
		inv = 0
	}
	for i := range Dim {
		dst[i] *= inv
	}
}
