package media

import (
	"encoding/binary"
	"sync"
	"time"
)

// Stereo records two mono streams, each written in frames from its own
// goroutine (the two directions of a call's bridge), as one 8 kHz 16-bit
// two-channel WAV: channel 0 on the left, channel 1 on the right.
//
// The two streams are kept in step by the clock: each frame is placed
// after the ones before it on its channel, unless that channel has
// fallen behind the time since the first frame (of either channel) by
// more than Slack, when silence is put in first. So a side that started
// late, lost packets or stalled stays aligned with the other to within
// Slack, and a side that delivers in bursts is not pushed around.
type Stereo struct {
	now   func() time.Time
	slack int // samples
	max   int // samples per channel

	mu   sync.Mutex
	t0   time.Time
	ch   [2][]int16
	full bool
}

// DefaultStereoSlack is how far behind the clock a channel may run
// before silence is inserted: a jitter buffer's depth and a little more.
const DefaultStereoSlack = 120 * time.Millisecond

// NewStereo returns a recorder that keeps at most max of audio (later
// frames are dropped) and reads the time from now (time.Now when nil).
func NewStereo(max time.Duration, now func() time.Time) *Stereo {
	if now == nil {
		now = time.Now
	}
	return &Stereo{now: now, slack: samplesIn(DefaultStereoSlack), max: samplesIn(max)}
}

func samplesIn(d time.Duration) int { return int(d * SampleRate / time.Second) }

// Write adds frame to channel ch (0 or 1; any other is ignored). It does
// not keep frame.
func (s *Stereo) Write(ch int, frame []int16) {
	if ch != 0 && ch != 1 || len(frame) == 0 {
		return
	}
	t := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.t0.IsZero() {
		s.t0 = t.Add(-time.Duration(len(frame)) * time.Second / SampleRate)
	}
	c := s.ch[ch]
	// Where the frame should end by the clock.
	due := samplesIn(t.Sub(s.t0))
	if gap := due - len(frame) - len(c); gap > s.slack {
		c = append(c, make([]int16, gap)...)
	}
	if len(c)+len(frame) > s.max {
		s.full = true
		c = c[:min(len(c), s.max)]
		s.ch[ch] = c
		return
	}
	s.ch[ch] = append(c, frame...)
}

// Duration is the length of the recording so far (its longer channel).
func (s *Stereo) Duration() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return time.Duration(max(len(s.ch[0]), len(s.ch[1]))) * time.Second / SampleRate
}

// Full reports whether frames were dropped because the recording reached
// its longest duration.
func (s *Stereo) Full() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.full
}

// WAV returns the recording as a WAV file; the shorter channel is padded
// with silence at the end.
func (s *Stereo) WAV() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := max(len(s.ch[0]), len(s.ch[1]))
	b := make([]byte, 0, 44+4*n)
	b = append(b, wavHeaderN(int64(4*n), 2)...)
	for i := range n {
		for _, c := range s.ch {
			var v int16
			if i < len(c) {
				v = c[i]
			}
			b = binary.LittleEndian.AppendUint16(b, uint16(v))
		}
	}
	return b
}

// wavHeaderN is the 44-byte header of an 8 kHz 16-bit PCM WAV file of
// channels channels and dataBytes of samples.
func wavHeaderN(dataBytes int64, channels int) []byte {
	h := make([]byte, 0, 44)
	h = append(h, "RIFF"...)
	h = binary.LittleEndian.AppendUint32(h, uint32(36+dataBytes))
	h = append(h, "WAVEfmt "...)
	h = binary.LittleEndian.AppendUint32(h, 16)
	h = binary.LittleEndian.AppendUint16(h, wavPCM)
	h = binary.LittleEndian.AppendUint16(h, uint16(channels))
	h = binary.LittleEndian.AppendUint32(h, SampleRate)
	h = binary.LittleEndian.AppendUint32(h, uint32(SampleRate*2*channels))
	h = binary.LittleEndian.AppendUint16(h, uint16(2*channels))
	h = binary.LittleEndian.AppendUint16(h, 16)
	h = append(h, "data"...)
	h = binary.LittleEndian.AppendUint32(h, uint32(dataBytes))
	return h
}
