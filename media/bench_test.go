package media

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/voxdesk/voxdesk/media/g711"
)

// BenchmarkSendPacket is the per-packet send path: take the queued
// frame, G.711-encode it, write the RTP header and send it on a loopback
// UDP socket.
func BenchmarkSendPacket(b *testing.B) {
	sink, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	go func() { // drain so the socket buffer never fills
		buf := make([]byte, 1500)
		for {
			if _, _, err := sink.ReadFromUDPAddrPort(buf); err != nil {
				return
			}
		}
	}()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	s, err := newSession(c, RTPConfig{Remote: sink.LocalAddr().(*net.UDPAddr).AddrPort()})
	if err != nil {
		b.Fatal(err)
	}
	snd := newSender(s)
	frame := <-s.free
	for i := range frame {
		frame[i] = int16(i * 100)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		s.queue <- frame
		snd.tick(uint32(i) * FrameSamples)
		frame = <-s.free
	}
	if s.sent.packets.Load() == 0 {
		b.Fatal("nothing sent")
	}
}

// BenchmarkReceivePacket is the per-packet receive path without the
// socket read: RTP parse, latching check, loss and jitter statistics,
// G.711 decode into the jitter buffer; plus one 20 ms playout pop.
func BenchmarkReceivePacket(b *testing.B) {
	s, err := newSession(nil, RTPConfig{})
	if err != nil {
		b.Fatal(err)
	}
	r := &receiver{s: s}
	from := netip.MustParseAddrPort("127.0.0.1:4000")
	pay := make([]byte, FrameSamples)
	for i := range pay {
		pay[i] = g711.LinearToUlaw(int16(i * 50))
	}
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 7}, Payload: pay}
	raw := make([]byte, 12+FrameSamples)
	out := make([]int16, FrameSamples)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		pkt.SequenceNumber = uint16(i)
		pkt.Timestamp = uint32(i) * FrameSamples
		n, _ := pkt.MarshalTo(raw)
		r.handle(raw[:n], from, FrameDuration*(1+time.Duration(i)))
		s.mu.Lock()
		s.jb.pop(out)
		s.mu.Unlock()
	}
	if st := s.Stats(); st.PacketsIn == 0 || st.Lost != 0 {
		b.Fatalf("stats %+v", st)
	}
}

// BenchmarkJitterBuffer pushes a reordered pair of frames and pops two.
func BenchmarkJitterBuffer(b *testing.B) {
	var j jitterBuffer
	j.delay = 480
	frame := make([]int16, FrameSamples)
	out := make([]int16, FrameSamples)
	b.ReportAllocs()
	for i := uint32(0); b.Loop(); i += 2 {
		j.push((i+1)*FrameSamples, frame)
		j.push(i*FrameSamples, frame)
		j.pop(out)
		j.pop(out)
	}
	if j.late != 0 {
		b.Fatalf("%d late", j.late)
	}
}
