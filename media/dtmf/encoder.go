package dtmf

import (
	"fmt"
	"time"
)

// DefaultVolume is the power level senders use, -10 dBm0.
const DefaultVolume = 10

// EndRepeats is how many times the end packet is sent
// (RFC 4733 section 2.5.1.4 recommends three).
const EndRepeats = 3

// Sequence returns the payloads a sender emits for one key press of the
// given duration, one every interval (20 ms for G.711 calls), all with
// the same RTP timestamp (the event's start). The first packet must carry
// the RTP marker bit (section 2.5.1.2); each following update carries the
// duration so far (section 2.5.1.3); the last EndRepeats packets carry the
// E bit and the final duration (section 2.5.1.4).
//
// The duration is rounded up to a whole number of intervals and capped at
// the 16-bit limit of one event (about 8.2 s at 8 kHz).
func Sequence(key rune, duration, interval time.Duration) ([]Event, error) {
	code, err := KeyToCode(key)
	if err != nil {
		return nil, err
	}
	if interval <= 0 || duration <= 0 {
		return nil, fmt.Errorf("dtmf: duration %v and interval %v must be positive", duration, interval)
	}
	step := uint32(interval * ClockRate / time.Second)
	if step == 0 {
		return nil, fmt.Errorf("dtmf: interval %v shorter than one sample", interval)
	}
	n := uint32((duration + interval - 1) / interval)
	if max := uint32(0xFFFF) / step; n > max {
		n = max
	}
	evs := make([]Event, 0, n+EndRepeats-1)
	for i := uint32(1); i < n; i++ {
		evs = append(evs, Event{Code: code, Volume: DefaultVolume, Duration: uint16(i * step)})
	}
	for range EndRepeats {
		evs = append(evs, Event{Code: code, End: true, Volume: DefaultVolume, Duration: uint16(n * step)})
	}
	return evs, nil
}
