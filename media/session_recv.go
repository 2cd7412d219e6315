package media

import (
	"errors"
	"math"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/pion/rtp"

	"github.com/voxdesk/voxdesk/media/dtmf"
	"github.com/voxdesk/voxdesk/media/g711"
)

// digitFlushAfter: a telephone-event without end packets for this long
// is reported as ended (its end packets were lost).
const digitFlushAfter = time.Second

// receiver holds the receive path's buffers; only recvLoop touches it.
type receiver struct {
	s       *RTPSession
	pkt     rtp.Packet
	pcm     [1500]int16
	digits  []Digit
	pending bool // a telephone-event is in progress: flush deadline armed
	inband  *dtmf.Detector
}

func (s *RTPSession) recvLoop() {
	defer s.wg.Done()
	r := &receiver{s: s}
	if s.cfg.InbandDTMF && s.cfg.EventPayloadType == 0 {
		r.inband = new(dtmf.Detector)
	}
	buf := make([]byte, 1500)
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if s.closing(err) {
				return
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				r.flushDigits()
				continue
			}
			s.log.Debug("rtp read", "err", err)
			continue
		}
		r.handle(buf[:n], from, time.Since(s.start))
	}
}

// closing reports whether a socket read error means the session is
// closing (the socket was closed); other errors are transient.
func (s *RTPSession) closing(err error) bool {
	if errors.Is(err, net.ErrClosed) {
		return true
	}
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// flushDigits reports an event whose end packets never came.
func (r *receiver) flushDigits() {
	s := r.s
	if r.pending {
		s.mu.Lock()
		r.digits = s.dec.Flush(r.digits[:0])
		s.mu.Unlock()
		s.deliver(r.digits)
		r.pending = false
	}
	_ = s.conn.SetReadDeadline(time.Time{})
}

// handle processes one datagram from addr, arrived at arrival since the
// session start.
func (r *receiver) handle(b []byte, from netip.AddrPort, arrival time.Duration) {
	s := r.s
	from = unmap(from)
	pkt := &r.pkt
	if err := pkt.Unmarshal(b); err != nil || pkt.Version != 2 {
		s.mu.Lock()
		s.stats.Ignored++
		s.mu.Unlock()
		return
	}
	pt := pkt.PayloadType
	isEvent := s.cfg.EventPayloadType != 0 && pt == s.cfg.EventPayloadType
	s.mu.Lock()
	if !isEvent && pt != 0 && pt != 8 {
		// Unknown payload types neither count nor latch, so a stray
		// packet cannot capture the stream.
		s.stats.Ignored++
		s.mu.Unlock()
		return
	}
	if !s.isLatched {
		s.isLatched, s.latched = true, from
		s.log.Debug("rtp latched", "from", from)
	} else if from != s.latched && !s.switchSource(pkt, from, isEvent) {
		s.stranger(from, pkt)
		s.mu.Unlock()
		return
	}
	s.lastRecv.Store(int64(arrival))
	switch {
	case isEvent:
		s.stats.PacketsIn++
		s.stats.BytesIn += uint64(len(pkt.Payload))
		var derr error
		r.digits, derr = s.dec.Decode(r.digits[:0], pkt.SSRC, pkt.Timestamp, pkt.Payload)
		active := s.dec.Active()
		s.mu.Unlock()
		if derr != nil {
			s.log.Debug("telephone-event", "err", derr)
		}
		s.deliver(r.digits)
		if active {
			r.pending = true
			_ = s.conn.SetReadDeadline(time.Now().Add(digitFlushAfter))
		} else if r.pending {
			r.pending = false
			_ = s.conn.SetReadDeadline(time.Time{})
		}
	default: // PCMU or PCMA
		s.stats.PacketsIn++
		s.stats.BytesIn += uint64(len(pkt.Payload))
		n := s.audioPacket(pkt, arrival, r.pcm[:])
		s.mu.Unlock()
		if r.inband != nil {
			r.digits = r.inband.Process(r.digits[:0], r.pcm[:n])
			s.deliver(r.digits)
		}
	}
}

// SwitchSourceAfter is how many consecutive in-sequence audio packets
// with the caller's SSRC a new address must send before RTP is accepted
// from it (and sent to it) instead of the latched address.
const SwitchSourceAfter = 5

// strangerLogEvery rate-limits the warning about packets from strangers.
const strangerLogEvery = 10 * time.Second

// candidate is a source other than the latched one whose packets could
// be the peer's after a move.
type candidate struct {
	addr netip.AddrPort
	ssrc uint32
	seq  uint16
	n    int
}

// switchSource reports whether pkt, from an address other than the
// latched one, completes a proven move of the peer there; it then moves
// the latch. s.mu is held.
func (s *RTPSession) switchSource(pkt *rtp.Packet, from netip.AddrPort, isEvent bool) bool {
	if isEvent {
		return false
	}
	switch {
	case s.haveSSRC:
		if pkt.SSRC != s.audioSSRC {
			return false
		}
	case !s.cfg.LearnSource:
		return false // nothing heard from the SDP address: no SSRC to prove
	}
	c := &s.cand
	if c.n > 0 && c.addr == from && c.ssrc == pkt.SSRC && pkt.SequenceNumber == c.seq+1 {
		c.n++
	} else {
		*c = candidate{addr: from, ssrc: pkt.SSRC, n: 1}
	}
	c.seq = pkt.SequenceNumber
	if c.n < SwitchSourceAfter {
		return false
	}
	s.log.Info("rtp source switched", "from", s.latched, "to", from, "ssrc", pkt.SSRC)
	s.latched = from
	s.cand = candidate{}
	s.stats.SourceSwitches++
	if s.rtcp.latched {
		s.rtcp.latched, s.rtcp.remote = false, netip.AddrPort{}
	}
	return true
}

// stranger counts a packet dropped for its source and warns, at most
// once per strangerLogEvery. s.mu is held.
func (s *RTPSession) stranger(from netip.AddrPort, pkt *rtp.Packet) {
	s.stats.Ignored++
	s.stats.Strangers++
	s.strangerN++
	if now := time.Now(); now.Sub(s.strangerLog) >= strangerLogEvery {
		s.log.Warn("rtp from an unexpected source dropped", "from", from, "latched", s.latched,
			"ssrc", pkt.SSRC, "payload_type", pkt.PayloadType, "dropped", s.strangerN)
		s.strangerLog, s.strangerN = now, 0
	}
}

// audioPacket updates loss and jitter statistics and buffers the audio.
// It returns the number of samples decoded into pcm. s.mu is held.
func (s *RTPSession) audioPacket(pkt *rtp.Packet, arrival time.Duration, pcm []int16) int {
	if !s.haveSSRC || pkt.SSRC != s.audioSSRC {
		if s.haveSSRC {
			// A new source (re-INVITE, SBC switch, peer restart): keep
			// the loss so far, restart sequence tracking and playout.
			s.lostPrev += max(0, (s.seqMax-s.seqBase+1)-s.received)
			s.stats.SSRCChanges++
			s.jb.reset()
			s.log.Info("rtp audio ssrc changed", "old", s.audioSSRC, "new", pkt.SSRC)
		}
		s.haveSSRC, s.audioSSRC = true, pkt.SSRC
		s.seqBase = int64(pkt.SequenceNumber)
		s.seqMax = s.seqBase
		s.received = 0
		s.haveTransit = false
	}
	// RFC 3550 A.1/A.3: extend the 16-bit sequence number.
	delta := int64(int16(pkt.SequenceNumber - uint16(s.seqMax)))
	if delta > 0 {
		s.seqMax += delta
	}
	s.received++
	// RFC 3550 A.8: interarrival jitter in timestamp units.
	r := int32(uint32(arrival * SampleRate / time.Second))
	transit := r - int32(pkt.Timestamp)
	if s.haveTransit {
		d := float64(transit - s.lastTransit)
		s.jitter += (math.Abs(d) - s.jitter) / 16
	}
	s.lastTransit, s.haveTransit = transit, true

	n := len(pkt.Payload)
	if n > len(pcm) {
		n = len(pcm)
	}
	if pkt.PayloadType == 8 {
		g711.DecodeAlaw(pcm, pkt.Payload[:n])
	} else {
		g711.DecodeUlaw(pcm, pkt.Payload[:n])
	}
	s.jb.push(pkt.Timestamp, pkt.Marker, pcm[:n])
	s.audioAt = arrival
	return n
}

func (s *RTPSession) deliver(digits []Digit) {
	for _, d := range digits {
		select {
		case s.digits <- d:
			s.log.Info("dtmf digit", "key", string(d.Key), "duration", d.Duration)
		default:
			s.log.Warn("dtmf digit dropped, nobody reading Digits", "key", string(d.Key))
		}
	}
}
