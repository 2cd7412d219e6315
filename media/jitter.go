package media

// jitterBuffer reorders decoded audio by RTP timestamp and plays it out
// with a fixed delay. It is a ring of samples indexed by timestamp, so
// packets of any ptime fit; a frame nobody filled is concealed (see
// concealer: the last pitch period repeated, fading out over 60 ms).
//
// It is not safe for concurrent use; RTPSession guards it.
type jitterBuffer struct {
	ring   [jbSize]int16
	have   [jbSize]bool
	synced bool
	play   uint32 // timestamp of the next sample to play out
	delay  uint32 // playout delay in samples
	plc    concealer
	// lateRun counts consecutive packets too late to play.
	lateRun int

	// Drift control: the lowest buffer level over a window of frames.
	newest   uint32 // end timestamp of the newest audio
	minLevel int32
	window   int

	late, concealed, skipped uint64
}

const (
	jbSize = 4096 // samples, 512 ms; a power of two
	jbMask = jbSize - 1
	// jbSlack is how far above the playout delay the buffer level may
	// stay for a whole window before the playout point jumps forward
	// (the sender's clock runs faster than ours).
	jbSlack = 3 * FrameSamples
	// jbWindow is the drift window in frames (1 s).
	jbWindow = 50
)

func (j *jitterBuffer) reset() {
	j.synced = false
	j.have = [jbSize]bool{}
	j.plc = concealer{}
}

// push stores decoded samples starting at RTP timestamp ts; marker is
// the packet's RTP marker bit. It reports false when the packet was too
// late to play.
func (j *jitterBuffer) push(ts uint32, marker bool, samples []int16) bool {
	if len(samples) == 0 {
		return true
	}
	if len(samples) > jbSize/2 {
		samples = samples[:jbSize/2]
	}
	if !j.synced {
		j.resync(ts)
	}
	d := int32(ts - j.play) // serial-number arithmetic
	end := d + int32(len(samples))
	switch {
	case end <= 0:
		// Too late. Three in a row, a talkspurt start, or far behind
		// means the peer's timestamps left our timeline (some stop the
		// clock during silence, or restart it): follow them.
		j.lateRun++
		if !marker && j.lateRun < 3 && -d < jbSize {
			j.late++
			return false
		}
		j.resync(ts)
	case end > 4*jbSize:
		// Far ahead: a new timeline (peer restart, long pause).
		j.resync(ts)
	case end > jbSize:
		// Beyond the ring: drop the oldest audio to make room.
		j.advance(uint32(end) - jbSize)
	}
	if end > 0 {
		j.lateRun = 0
	}
	d = int32(ts - j.play)
	if e := ts + uint32(len(samples)); int32(e-j.newest) > 0 {
		j.newest = e
	}
	if d < 0 {
		samples = samples[-d:]
		d = 0
	}
	at := j.play + uint32(d)
	for i, s := range samples {
		k := (at + uint32(i)) & jbMask
		j.ring[k] = s
		j.have[k] = true
	}
	return true
}

// resync starts a new timeline at ts, played out after the delay.
func (j *jitterBuffer) resync(ts uint32) {
	j.reset()
	j.synced = true
	j.play = ts - j.delay
	j.newest = ts
	j.lateRun = 0
	j.window, j.minLevel = 0, 1<<31-1
}

// advance drops n samples from the playout point.
func (j *jitterBuffer) advance(n uint32) {
	if n > jbSize {
		n = jbSize
	}
	for i := range n {
		j.have[(j.play+i)&jbMask] = false
	}
	j.play += n
	j.skipped += uint64(n)
}

// skip moves the playout point on by n samples for a reader that
// stopped reading for a while and resumes at the present. When audio
// kept arriving meanwhile (live), the present is the newest audio less
// the playout delay, as after a resync: counting n from the old playout
// point would land too close to the newest audio (or past it) whenever
// the ring overflowed during the pause (push then drops the oldest
// audio, moving the playout point on already), and the frames played
// next would be cut by packets that have not arrived yet (or dropped as
// late). The playout point never moves back.
func (j *jitterBuffer) skip(n uint32, live bool) {
	if !j.synced {
		return
	}
	if !live {
		j.advance(n)
		return
	}
	if ahead := int32(j.newest - j.delay - j.play); ahead > 0 {
		j.advance(uint32(ahead))
	}
	j.window, j.minLevel = 0, 1<<31-1
}

// pop fills dst (FrameSamples long) with the next frame of playout. It
// reports whether the frame is synthetic: concealment or silence fill
// standing in for audio that was not received (less than half the
// frame's samples were).
func (j *jitterBuffer) pop(dst []int16) (synthetic bool) {
	if !j.synced {
		clear(dst)
		return true
	}
	got := 0
	for i := range dst {
		k := (j.play + uint32(i)) & jbMask
		if j.have[k] {
			dst[i] = j.ring[k]
			j.have[k] = false
			got++
		} else {
			dst[i] = 0
		}
	}
	j.play += uint32(len(dst))
	j.drift()
	if got == 0 {
		j.concealed++
		j.plc.conceal(dst)
	} else {
		j.plc.recover(dst)
	}
	j.plc.remember(dst)
	return 2*got < len(dst)
}

// drift tracks the buffer level (audio held beyond the playout point)
// and, when it stayed above the delay plus slack for a whole window,
// drops the excess so latency does not creep up.
func (j *jitterBuffer) drift() {
	level := int32(j.newest - j.play)
	j.minLevel = min(j.minLevel, level)
	j.window++
	if j.window < jbWindow {
		return
	}
	if excess := j.minLevel - int32(j.delay); excess > jbSlack {
		j.advance(uint32(excess))
	}
	j.window, j.minLevel = 0, 1<<31-1
}
