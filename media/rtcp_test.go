package media

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// Two sessions with RTCP sockets from ListenPair exchange reports: each
// learns what the other received of its stream, the round-trip time,
// and a BYE arrives when one closes.
func TestRTCPReports(t *testing.T) {
	rtcpInterval.Store(int64(300 * time.Millisecond))
	defer rtcpInterval.Store(int64(5 * time.Second))
	pr, err := NewPortRange(42000, 42099)
	if err != nil {
		t.Fatal(err)
	}
	lo := netip.MustParseAddr("127.0.0.1")
	pa, err := pr.ListenPair(lo)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := pr.ListenPair(lo)
	if err != nil {
		t.Fatal(err)
	}
	if pa.RTCP.LocalAddr().(*net.UDPAddr).Port != pa.Number()+1 {
		t.Fatalf("RTCP port %v for RTP %d", pa.RTCP.LocalAddr(), pa.Number())
	}
	addr := func(p *Port) netip.AddrPort { return netip.AddrPortFrom(lo, uint16(p.Number())) }
	a, err := NewRTPSession(pa, RTPConfig{Remote: addr(pb), RTCP: pa.RTCP})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := NewRTPSession(pb, RTPConfig{Remote: addr(pa), RTCP: pb.RTCP})
	if err != nil {
		t.Fatal(err)
	}
	// Reports come every 150-450 ms here (2.5-7.5 s normally).
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		sa, sb := a.Stats(), b.Stats()
		if sa.RTCPIn >= 2 && sb.RTCPIn >= 2 && sa.RTT > 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	sa := a.Stats()
	if sa.RTCPIn < 2 || sa.RTCPOut < 1 || sa.RemoteLost != 0 || sa.RTT <= 0 || sa.RTT > 100*time.Millisecond {
		t.Fatalf("A's RTCP stats %+v", sa)
	}
	// A's count of packets in before B closes: B's BYE must add one. The
	// BYE is sent before Close returns; A's reader may take a moment on a
	// loaded machine.
	in := a.Stats().RTCPIn
	b.Close()
	for wait := time.Now().Add(2 * time.Second); a.Stats().RTCPIn < in+1 && time.Now().Before(wait); {
		time.Sleep(20 * time.Millisecond)
	}
	if got := a.Stats().RTCPIn; got < in+1 {
		t.Errorf("no BYE: A's RTCP in %d before B closed, %d after", in, got)
	}
	if pr.InUse() != 1 {
		t.Errorf("%d ports in use after one session closed", pr.InUse())
	}
}

// Report blocks about our SSRC fill the Remote* stats; others and
// malformed packets do not.
func TestHandleRTCP(t *testing.T) {
	s, err := newSession(nil, RTPConfig{SSRC: 42})
	if err != nil {
		t.Fatal(err)
	}
	from := netip.MustParseAddrPort("127.0.0.1:5001")
	rr, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: 7, Reports: []rtcp.ReceptionReport{
		{SSRC: 99, TotalLost: 500},
		{SSRC: 42, FractionLost: 64, TotalLost: 3, Jitter: 80},
	}}})
	s.handleRTCP(rr, from, time.Now())
	s.handleRTCP([]byte{0x80, 0xc9, 0, 9}, from, time.Now())                // truncated
	s.handleRTCP(rr, netip.MustParseAddrPort("127.0.0.1:6666"), time.Now()) // stranger
	st := s.Stats()
	if st.RemoteLost != 3 || st.RemoteFractionLost != 0.25 || st.RemoteJitter != 10*time.Millisecond || st.RTCPIn != 1 || st.Ignored != 2 {
		t.Errorf("stats %+v", st)
	}
}

func FuzzHandleRTCP(f *testing.F) {
	sr, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.SenderReport{SSRC: 1, NTPTime: 1 << 40, Reports: []rtcp.ReceptionReport{{SSRC: 42, LastSenderReport: 5, Delay: 9}}}})
	f.Add(sr)
	f.Add([]byte{0x81, 0xcb, 0, 1, 0, 0, 0, 42}) // BYE
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := newSession(nil, RTPConfig{SSRC: 42})
		if err != nil {
			t.Fatal(err)
		}
		s.handleRTCP(b, netip.MustParseAddrPort("127.0.0.1:1"), time.Now())
		if st := s.Stats(); st.RTT < 0 || st.RemoteFractionLost < 0 || st.RemoteFractionLost >= 1 {
			t.Fatalf("stats %+v", st)
		}
	})
}
