package media

import (
	"encoding/binary"
	"math"
	"net"
	"net/netip"
	"strconv"
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
		j.push((i+1)*FrameSamples, false, frame)
		j.push(i*FrameSamples, false, frame)
		j.pop(out)
		j.pop(out)
	}
	if j.late != 0 {
		b.Fatalf("%d late", j.late)
	}
}

// BenchmarkDecodePCM decodes a 16 kHz 16-bit mono WAV to 8 kHz (the
// voiceprint evaluation path) for 1, 3 and 7 s of audio.
func BenchmarkDecodePCM(b *testing.B) {
	for _, sec := range []int{1, 3, 7} {
		b.Run(strconv.Itoa(sec)+"s", func(b *testing.B) {
			data := make([]byte, 2*16000*sec)
			for i := range 16000 * sec {
				binary.LittleEndian.PutUint16(data[2*i:], uint16(int16(8000*math.Sin(float64(i)/7))))
			}
			wav := wavBytes(1, 1, 16000, 16, data)
			b.ReportAllocs()
			b.SetBytes(int64(len(wav)))
			for b.Loop() {
				if _, err := DecodePCM(wav, SampleRate); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkResampler streams 20 ms frames from 8 to 16 kHz.
func BenchmarkResampler(b *testing.B) {
	rs, _ := NewResampler(SampleRate, 16000)
	in := make([]int16, FrameSamples)
	out := make([]int16, 0, 400)
	b.ReportAllocs()
	for b.Loop() {
		out = rs.Process(out[:0], in)
	}
}

// The per-packet paths allocate nothing in steady state.
func TestHotPathsDoNotAllocate(t *testing.T) {
	sink, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := newSession(c, RTPConfig{Remote: sink.LocalAddr().(*net.UDPAddr).AddrPort(), EventPayloadType: 101})
	if err != nil {
		t.Fatal(err)
	}
	snd := newSender(s)
	r := &receiver{s: s}
	from := netip.MustParseAddrPort("127.0.0.1:4000")
	raw := make([]byte, 12+FrameSamples)
	out := make([]int16, FrameSamples)
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 7}, Payload: make([]byte, FrameSamples)}
	i := 0
	tests := []struct {
		name string
		fn   func()
	}{
		{"send one frame", func() {
			frame := <-s.free
			s.queue <- frame
			snd.tick(uint32(i) * FrameSamples)
		}},
		{"receive one packet and play a frame", func() {
			pkt.SequenceNumber, pkt.Timestamp = uint16(i), uint32(i)*FrameSamples
			n, _ := pkt.MarshalTo(raw)
			r.handle(raw[:n], from, FrameDuration*time.Duration(i+1))
			s.mu.Lock()
			s.jb.pop(out)
			s.mu.Unlock()
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if a := testing.AllocsPerRun(200, func() { tc.fn(); i++ }); a != 0 {
				t.Errorf("%v allocations per run", a)
			}
		})
	}
}
