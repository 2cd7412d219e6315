package media

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
)

// RTCP (RFC 3550 section 6, https://www.rfc-editor.org/rfc/rfc3550#section-6)
// is optional: with RTPConfig.RTCP set, the session sends a compound
// report (SR or RR, with a reception report block about the peer's
// audio, and SDES CNAME) about every 5 s, a BYE when it closes, and reads
// the peer's reports to fill the Remote* fields of Stats.

// rtcpInterval is the mean report interval (RFC 3550 section 6.2: 5 s
// minimum), randomised over [0.5, 1.5] times it (section 6.3.1). Tests
// shorten it.
var rtcpInterval atomic.Int64

func init() { rtcpInterval.Store(int64(5 * time.Second)) }

// ntpEpochOffset is the number of seconds from 1900 (NTP) to 1970.
const ntpEpochOffset = 2208988800

func ntpTime(t time.Time) uint64 {
	sec := uint64(t.Unix()) + ntpEpochOffset
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second)
	return sec<<32 | frac
}

// rtcpState is the RTCP bookkeeping, guarded by RTPSession.mu.
type rtcpState struct {
	remote     netip.AddrPort // where to send: latched, else RTP remote port+1
	latched    bool
	lastSR     uint32    // middle 32 bits of the peer's last SR NTP time
	lastSRAt   time.Time // when it arrived
	expPrior   int64     // expected packets at the last report (A.3)
	recvPrior  int64
	in, out    uint64
	remoteLost int64
	remoteFrac float64
	remoteJit  time.Duration
	rtt        time.Duration
}

func nextReportTicks() int64 {
	d := time.Duration(float64(rtcpInterval.Load()) * (0.5 + rand.Float64()))
	return int64(d / FrameDuration)
}

// rtcpRemote is where reports go. s.mu is held.
func (s *RTPSession) rtcpRemote() netip.AddrPort {
	if s.rtcp.latched || s.rtcp.remote.IsValid() {
		return s.rtcp.remote
	}
	r := s.remote
	if s.isLatched {
		r = s.latched
	}
	if !r.IsValid() || r.Port() == 0 || r.Port() == 65535 {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(r.Addr(), r.Port()+1)
}

// buildReport makes the compound packet we send: SR when we have sent
// RTP, else RR; one reception report block when we receive audio; SDES
// CNAME; and BYE when bye is set. s.mu is held.
func (s *RTPSession) buildReport(now time.Time, rtpTime uint32, bye bool) ([]byte, error) {
	var blocks []rtcp.ReceptionReport
	if s.haveSSRC {
		expected := s.seqMax - s.seqBase + 1
		lost := max(0, expected-s.received)
		expInt := expected - s.rtcp.expPrior
		recvInt := s.received - s.rtcp.recvPrior
		s.rtcp.expPrior, s.rtcp.recvPrior = expected, s.received
		var frac uint8
		if lostInt := expInt - recvInt; expInt > 0 && lostInt > 0 {
			frac = uint8(min(255, lostInt<<8/expInt))
		}
		b := rtcp.ReceptionReport{
			SSRC:               s.audioSSRC,
			FractionLost:       frac,
			TotalLost:          uint32(min(lost, 0x7FFFFF)),
			LastSequenceNumber: uint32(s.seqMax),
			Jitter:             uint32(s.jitter),
		}
		if !s.rtcp.lastSRAt.IsZero() {
			b.LastSenderReport = s.rtcp.lastSR
			b.Delay = uint32(now.Sub(s.rtcp.lastSRAt) * 65536 / time.Second)
		}
		blocks = append(blocks, b)
	}
	var pkts []rtcp.Packet
	if sent := s.sent.packets.Load(); sent > 0 {
		pkts = append(pkts, &rtcp.SenderReport{
			SSRC: s.cfg.SSRC, NTPTime: ntpTime(now), RTPTime: rtpTime,
			PacketCount: uint32(sent), OctetCount: uint32(s.sent.bytes.Load()), Reports: blocks,
		})
	} else {
		pkts = append(pkts, &rtcp.ReceiverReport{SSRC: s.cfg.SSRC, Reports: blocks})
	}
	pkts = append(pkts, &rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{
		Source: s.cfg.SSRC,
		Items:  []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: fmt.Sprintf("%08x@voxdesk", s.cfg.SSRC)}},
	}}})
	if bye {
		pkts = append(pkts, &rtcp.Goodbye{Sources: []uint32{s.cfg.SSRC}})
	}
	return rtcp.Marshal(pkts)
}

// sendReport sends a compound RTCP packet if RTCP is configured.
func (s *RTPSession) sendReport(rtpTime uint32, bye bool) {
	if s.cfg.RTCP == nil {
		return
	}
	now := time.Now()
	s.mu.Lock()
	to := s.rtcpRemote()
	b, err := s.buildReport(now, rtpTime, bye)
	s.mu.Unlock()
	if err != nil || !to.IsValid() || to.Addr().IsUnspecified() {
		return
	}
	if _, err := s.cfg.RTCP.WriteToUDPAddrPort(b, to); err != nil {
		s.log.Debug("rtcp send", "to", to, "err", err)
		return
	}
	s.mu.Lock()
	s.rtcp.out++
	s.mu.Unlock()
}

// rtcpLoop reads the peer's RTCP.
func (s *RTPSession) rtcpLoop() {
	defer s.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, from, err := s.cfg.RTCP.ReadFromUDPAddrPort(buf)
		if err != nil {
			if s.closing(err) {
				return
			}
			continue
		}
		s.handleRTCP(buf[:n], unmap(from), time.Now())
	}
}

// handleRTCP processes one compound RTCP packet.
func (s *RTPSession) handleRTCP(b []byte, from netip.AddrPort, now time.Time) {
	pkts, err := rtcp.Unmarshal(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.stats.Ignored++
		return
	}
	if s.isLatched && from.Addr() != s.latched.Addr() {
		s.stats.Ignored++ // RTCP only from the RTP peer's host
		s.stats.Strangers++
		return
	}
	if !s.rtcp.latched {
		s.rtcp.latched, s.rtcp.remote = true, from
	} else if from != s.rtcp.remote {
		s.stats.Ignored++
		return
	}
	s.rtcp.in++
	for _, p := range pkts {
		var reports []rtcp.ReceptionReport
		switch p := p.(type) {
		case *rtcp.SenderReport:
			s.rtcp.lastSR = uint32(p.NTPTime >> 16)
			s.rtcp.lastSRAt = now
			reports = p.Reports
		case *rtcp.ReceiverReport:
			reports = p.Reports
		}
		for _, r := range reports {
			if r.SSRC != s.cfg.SSRC {
				continue
			}
			// TotalLost is a signed 24-bit count.
			lost := int64(r.TotalLost & 0xFFFFFF)
			if lost&0x800000 != 0 {
				lost -= 1 << 24
			}
			s.rtcp.remoteLost = lost
			s.rtcp.remoteFrac = float64(r.FractionLost) / 256
			s.rtcp.remoteJit = time.Duration(r.Jitter) * time.Second / SampleRate
			if r.LastSenderReport != 0 {
				// RTT = arrival - LSR - DLSR, in 1/65536 s (section 6.4.1).
				a := uint32(ntpTime(now) >> 16)
				if rtt := int64(a - r.LastSenderReport - r.Delay); rtt >= 0 && rtt < 65536*10 {
					s.rtcp.rtt = time.Duration(rtt) * time.Second / 65536
				}
			}
		}
	}
}
