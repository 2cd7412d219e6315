package dtmf

// Decoder turns a stream of telephone-event packets into digits, each
// reported exactly once.
//
// An event is identified by its SSRC and RTP timestamp (RFC 4733 section
// 2.5.1.1: all packets of one event carry the event's start timestamp), so
// a new timestamp is a new event even when the key is the same, and the
// decoder never relies on the marker bit (which may be lost). Packets of
// one event may start with duration 0 (SIPp's bundled pcaps do); the
// reported duration is the largest duration seen. The end packet is sent
// three times (section 2.5.1.4); the retransmissions, and any packet of an
// event already reported, are ignored. If an event's end packets are all
// lost, the event is reported when the next event starts or when Flush is
// called.
//
// A Decoder is not safe for concurrent use.
type Decoder struct {
	cur    state
	active bool // cur holds an unreported event
	// done remembers recently reported events so late retransmissions
	// of their end packets are not reported again.
	done [8]key
	next int
	any  bool
}

type key struct {
	ssrc, ts uint32
}

type state struct {
	key
	code uint8
	dur  uint16
}

// Decode processes one telephone-event packet: its RTP SSRC, RTP timestamp
// and payload. Digits completed by this packet are appended to dst.
func (d *Decoder) Decode(dst []Digit, ssrc, timestamp uint32, payload []byte) ([]Digit, error) {
	ev, err := ParseEvent(payload)
	if err != nil {
		return dst, err
	}
	k := key{ssrc, timestamp}
	if d.reported(k) {
		return dst, nil // retransmitted end, or a straggler after the end
	}
	if d.active && d.cur.key != k {
		// A new event began before the previous one ended: its end
		// packets were lost. Report it with the longest duration seen.
		dst = d.finish(dst)
	}
	if !d.active {
		d.cur = state{key: k, code: ev.Code}
		d.active = true
	}
	if ev.Duration > d.cur.dur {
		d.cur.dur = ev.Duration
	}
	if ev.End {
		dst = d.finish(dst)
	}
	return dst, nil
}

// Flush reports the event in progress, if any, as ended. Call it when no
// telephone-event packet has arrived for a while (the session uses one
// second) so a digit whose end packets were all lost is still reported.
func (d *Decoder) Flush(dst []Digit) []Digit {
	if d.active {
		dst = d.finish(dst)
	}
	return dst
}

// Active reports whether an event is in progress (started, not reported).
func (d *Decoder) Active() bool { return d.active }

// Reset forgets all state.
func (d *Decoder) Reset() { *d = Decoder{} }

func (d *Decoder) finish(dst []Digit) []Digit {
	d.active = false
	d.done[d.next] = d.cur.key
	d.next = (d.next + 1) % len(d.done)
	d.any = true
	if key, ok := CodeToKey(d.cur.code); ok {
		dst = append(dst, Digit{Key: key, Duration: samplesToDuration(uint32(d.cur.dur))})
	}
	return dst
}

func (d *Decoder) reported(k key) bool {
	if !d.any {
		return false
	}
	for _, x := range d.done {
		if x == k {
			return true
		}
	}
	return false
}
