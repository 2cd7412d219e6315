package media

import (
	"github.com/pion/rtp"

	"github.com/voxdesk/voxdesk/media/dtmf"
	"github.com/voxdesk/voxdesk/media/g711"
)

// sender holds the send path's state; only the pacer touches it.
type sender struct {
	s        *RTPSession
	n        int64 // ticks since the session joined the pacer
	started  bool
	rtcpNext int64 // tick of the next RTCP report
	hdr      rtp.Header
	ts0      uint32
	buf      [12 + FrameSamples]byte
	silence  [FrameSamples]int16
	marker   bool // next packet starts a talkspurt

	digit    []dtmf.Event
	digitTS  uint32
	digitN   int
	digitEnd chan struct{}
}

// pace is called by the pacer each tick; advance is the number of 20 ms
// ticks since the previous call (more than 1 after a stall was skipped).
func (p *sender) pace(advance int64) {
	if p.started {
		p.n += advance
		if advance > 1 {
			// A stall of the pacer hits every session of its shard at
			// once: warn once per call (the close line has the total), so
			// an overloaded process does not write hundreds of lines
			// from inside the late tick.
			if p.s.sendSkipped.Add(uint64(advance-1)) == uint64(advance-1) {
				p.s.log.Warn("rtp sender fell behind, packets skipped", "skipped", advance-1)
			}
		}
	}
	p.started = true
	p.tick(uint32(p.n) * FrameSamples)
	if p.s.cfg.RTCP != nil && p.n >= p.rtcpNext {
		p.rtcpNext = p.n + nextReportTicks()
		p.s.sendReport(p.ts0+uint32(p.n)*FrameSamples, false)
	}
}

func newSender(s *RTPSession) *sender {
	snd := &sender{s: s, ts0: randUint32(), marker: true, rtcpNext: nextReportTicks() / 2}
	snd.hdr = rtp.Header{Version: 2, SSRC: s.cfg.SSRC, SequenceNumber: uint16(randUint32())}
	return snd
}

func (p *sender) finishDigit() {
	if p.digitEnd != nil {
		close(p.digitEnd)
		p.digitEnd = nil
	}
}

// tick sends what is due at media time off (samples since start).
func (p *sender) tick(off uint32) {
	s := p.s
	ts := p.ts0 + off
	// Take one queued frame, if any, to keep the writer's pace.
	var frame *[FrameSamples]int16
	select {
	case frame = <-s.queue:
		defer func() { s.free <- frame }()
	default:
	}
	if p.digit == nil {
		select {
		case req := <-s.digitReq:
			p.digit, p.digitN, p.digitTS, p.digitEnd = req.events, 0, ts, req.done
		default:
		}
	}
	held := s.hold.Load()
	if p.digit != nil {
		// RFC 4733 section 2.5.1: events replace audio, same SSRC,
		// timestamp of the event start, marker on the first packet.
		ev := p.digit[p.digitN]
		if !held {
			payload := ev.AppendTo(p.buf[12:12])
			p.send(s.cfg.EventPayloadType, p.digitTS, p.digitN == 0, payload)
		}
		p.digitN++
		if p.digitN == len(p.digit) {
			p.digit = nil
			p.finishDigit()
		}
		return
	}
	if held {
		p.marker = true
		return
	}
	src := &p.silence
	if frame != nil {
		src = frame
	} else if s.cfg.SuppressSilence {
		p.marker = true
		return
	}
	payload := p.buf[12 : 12+FrameSamples]
	pt := uint8(s.pt.Load())
	if pt == 8 {
		g711.EncodeAlaw(payload, src[:])
	} else {
		g711.EncodeUlaw(payload, src[:])
	}
	if p.send(pt, ts, p.marker, payload) {
		p.marker = false
	}
}

// send writes one packet and reports whether it went out.
func (p *sender) send(pt uint8, ts uint32, marker bool, payload []byte) bool {
	s := p.s
	s.mu.Lock()
	to := s.remote
	if s.isLatched {
		to = s.latched
	}
	s.mu.Unlock()
	if !to.IsValid() || to.Port() == 0 || to.Addr().IsUnspecified() {
		return false // nowhere to send yet (or an RFC 2543 hold address)
	}
	p.hdr.PayloadType = pt
	p.hdr.Timestamp = ts
	p.hdr.Marker = marker
	p.hdr.SequenceNumber++ // one per packet sent (RFC 3550 section 5.1)
	n, err := p.hdr.MarshalTo(p.buf[:12])
	if err != nil || n != 12 {
		s.log.Error("rtp header", "err", err)
		return false
	}
	pkt := p.buf[:12+len(payload)]
	if _, err := s.conn.WriteToUDPAddrPort(pkt, to); err != nil {
		s.log.Debug("rtp send", "to", to, "err", err)
		return false
	}
	s.sent.packets.Add(1)
	s.sent.bytes.Add(uint64(len(payload)))
	return true
}
