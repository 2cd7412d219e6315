package media

import (
	"fmt"
	"sync"
)

// AddTo adds src to dst sample by sample, clipping each sum to the int16
// range (saturation) rather than letting it wrap round: two loud voices
// mixed sound loud, not like a crackle. Samples of src beyond len(dst)
// are ignored.
func AddTo(dst, src []int16) {
	n := min(len(dst), len(src))
	for i := range n {
		dst[i] = saturate(int32(dst[i]) + int32(src[i]))
	}
}

func saturate(v int32) int16 {
	switch {
	case v > 32767:
		return 32767
	case v < -32768:
		return -32768
	}
	return int16(v)
}

// PCMBuffer is a small FIFO of samples between a goroutine that produces
// audio at its own pace and one that consumes it at another (a bridge's
// pump and a supervisor's leg). Neither side ever blocks: a writer that
// is ahead drops the oldest samples, and a reader that finds less than a
// whole frame gets nothing. After it ran dry the buffer waits for Prime
// samples before it gives frames again, so a writer whose frames arrive
// with some jitter is read smoothly rather than one frame on, one off.
// It is safe for concurrent use.
type PCMBuffer struct {
	mu      sync.Mutex
	ring    []int16
	start   int // index of the oldest sample
	n       int // samples held
	prime   int
	primed  bool
	dropped int
}

// NewPCMBuffer returns a buffer holding up to capacity samples that
// starts giving frames once prime samples are held (0: at once).
// It panics if capacity < 1 or prime is outside [0, capacity].
func NewPCMBuffer(capacity, prime int) *PCMBuffer {
	if capacity < 1 || prime < 0 || prime > capacity {
		panic(fmt.Sprintf("media: NewPCMBuffer(%d, %d): need 0 <= prime <= capacity, capacity >= 1", capacity, prime))
	}
	return &PCMBuffer{ring: make([]int16, capacity), prime: prime, primed: prime == 0}
}

// Write appends pcm, dropping the oldest samples when the buffer would
// overflow; it returns how many samples were dropped.
func (b *PCMBuffer) Write(pcm []int16) (dropped int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(pcm) > len(b.ring) { // only the newest capacity samples can stay
		dropped = len(pcm) - len(b.ring)
		pcm = pcm[dropped:]
	}
	if over := b.n + len(pcm) - len(b.ring); over > 0 {
		b.start = (b.start + over) % len(b.ring)
		b.n -= over
		dropped += over
	}
	end := (b.start + b.n) % len(b.ring)
	k := copy(b.ring[end:], pcm)
	copy(b.ring, pcm[k:])
	b.n += len(pcm)
	if b.n >= b.prime {
		b.primed = true
	}
	b.dropped += dropped
	return dropped
}

// ReadTo fills dst with the oldest len(dst) samples and reports true, or
// leaves dst alone and reports false when fewer are held (or the buffer
// is refilling up to its prime after running dry).
func (b *PCMBuffer) ReadTo(dst []int16) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.primed || b.n < len(dst) || len(dst) > len(b.ring) {
		if b.n < len(dst) {
			b.primed = b.prime == 0
		}
		return false
	}
	k := copy(dst, b.ring[b.start:min(b.start+len(dst), len(b.ring))])
	copy(dst[k:], b.ring)
	b.start = (b.start + len(dst)) % len(b.ring)
	b.n -= len(dst)
	return true
}

// Len reports how many samples are held.
func (b *PCMBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n
}

// Dropped reports how many samples Write has dropped so far.
func (b *PCMBuffer) Dropped() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dropped
}

// Reset empties the buffer; it waits for its prime again.
func (b *PCMBuffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.start, b.n, b.primed = 0, 0, b.prime == 0
}

// Mixer sums several inputs into one output, such as the two sides of a
// call for a supervisor who listens to it. Each input has a PCMBuffer of
// its own, so the goroutines writing the inputs never wait for the one
// reading the mix nor for each other, and frames written at different
// moments of the 20 ms period are aligned by the buffers. It is safe for
// concurrent use: one writer per input plus one reader.
type Mixer struct {
	in  []*PCMBuffer
	tmp []int16 // reader only
}

// MixerConfig sizes a Mixer. Zero fields take the defaults.
type MixerConfig struct {
	Inputs int // number of inputs (default 2)
	// Capacity is each input's buffer in samples (default 5 frames, 100 ms
	// at 8 kHz): how far a writer may run ahead before its oldest audio is
	// dropped.
	Capacity int
	// Prime is how much an input holds before it is mixed again after
	// running dry (default 2 frames, 40 ms).
	Prime int
}

// mixFrame is the frame size the defaults are counted in: 20 ms at 8 kHz.
const mixFrame = 160

// NewMixer returns a Mixer; it panics on a Prime above Capacity.
func NewMixer(cfg MixerConfig) *Mixer {
	if cfg.Inputs <= 0 {
		cfg.Inputs = 2
	}
	if cfg.Capacity <= 0 {
		cfg.Capacity = 5 * mixFrame
	}
	if cfg.Prime <= 0 {
		cfg.Prime = min(2*mixFrame, cfg.Capacity)
	}
	m := &Mixer{in: make([]*PCMBuffer, cfg.Inputs)}
	for i := range m.in {
		m.in[i] = NewPCMBuffer(cfg.Capacity, cfg.Prime)
	}
	return m
}

// Input returns input i's buffer (to Write to, or to inspect).
func (m *Mixer) Input(i int) *PCMBuffer { return m.in[i] }

// Write appends pcm to input i without blocking; see PCMBuffer.Write.
func (m *Mixer) Write(i int, pcm []int16) (dropped int) { return m.in[i].Write(pcm) }

// MixTo sets dst to the saturating sum of the next len(dst) samples of
// every input that holds that many, and returns how many inputs took
// part: 0 leaves dst silent. Inputs short of a frame keep what they hold
// for the next call.
func (m *Mixer) MixTo(dst []int16) (inputs int) {
	clear(dst)
	if cap(m.tmp) < len(dst) {
		m.tmp = make([]int16, len(dst))
	}
	tmp := m.tmp[:len(dst)]
	for _, b := range m.in {
		if b.ReadTo(tmp) {
			AddTo(dst, tmp)
			inputs++
		}
	}
	return inputs
}

// Reset empties every input.
func (m *Mixer) Reset() {
	for _, b := range m.in {
		b.Reset()
	}
}
