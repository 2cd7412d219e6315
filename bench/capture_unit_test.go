package bench

import (
	"encoding/binary"
	"errors"
	"math"
	"net"
	"testing"
	"time"

	"github.com/pion/rtp"
	"golang.org/x/sys/unix"
)

// ipv4UDP builds an IPv4 packet (no link header, as a SOCK_DGRAM packet
// socket reads it) carrying payload in UDP from src to dst.
func ipv4UDP(src, dst uint16, payload []byte) []byte {
	pkt := make([]byte, 20+8+len(payload))
	pkt[0] = 0x45 // version 4, 5 words of header
	binary.BigEndian.PutUint16(pkt[2:], uint16(len(pkt)))
	pkt[8], pkt[9] = 64, unix.IPPROTO_UDP
	copy(pkt[12:], []byte{127, 0, 0, 1, 127, 0, 0, 1})
	binary.BigEndian.PutUint16(pkt[20:], src)
	binary.BigEndian.PutUint16(pkt[22:], dst)
	binary.BigEndian.PutUint16(pkt[24:], uint16(8+len(payload)))
	copy(pkt[28:], payload)
	return pkt
}

func rtpPacket(pt uint8, seq uint16, ts uint32) []byte {
	b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq, Timestamp: ts, SSRC: 7}, Payload: make([]byte, 160)}).Marshal()
	return b
}

func TestParseRTPPacket(t *testing.T) {
	good := ipv4UDP(12000, 11000, rtpPacket(0, 9, 1600))
	tcp := append([]byte(nil), good...)
	tcp[9] = unix.IPPROTO_TCP
	shortIHL := append([]byte(nil), good...)
	shortIHL[0] = 0x42 // a header of 2 words cannot be
	v1 := ipv4UDP(12000, 11000, rtpPacket(0, 9, 1600))
	v1[28] = 0x40 // RTP version 1
	for _, tc := range []struct {
		name string
		pkt  []byte
		ok   bool
	}{
		{"RTP in UDP in IPv4", good, true},
		{"TCP", tcp, false},
		{"IPv6 version nibble", append([]byte{0x60}, good[1:]...), false},
		{"IP header length below 20 bytes", shortIHL, false},
		{"RTP version 1", v1, false},
		{"UDP payload shorter than an RTP header", ipv4UDP(1, 2, []byte{0x80, 0, 0}), false},
		{"truncated IP header", good[:12], false},
		{"empty", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h rtp.Header
			src, dst, ok := parseRTPPacket(tc.pkt, &h)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if ok && (src != 12000 || dst != 11000 || h.SequenceNumber != 9 || h.Timestamp != 1600) {
				t.Errorf("got %d -> %d seq %d ts %d", src, dst, h.SequenceNumber, h.Timestamp)
			}
		})
	}
}

// FuzzParseRTPPacket: whatever crosses lo, the capture's parser neither
// panics nor reads ports that are not in the packet.
func FuzzParseRTPPacket(f *testing.F) {
	f.Add(ipv4UDP(12000, 11000, rtpPacket(0, 9, 1600)))
	f.Add(ipv4UDP(12000, 11000, rtpPacket(101, 1, 0))[:40])
	f.Add([]byte{0x4f, 0, 0, 0, 0, 0, 0, 0, 0, 17})
	f.Fuzz(func(t *testing.T, pkt []byte) {
		var h rtp.Header
		src, dst, ok := parseRTPPacket(pkt, &h)
		if !ok {
			return
		}
		ihl := int(pkt[0]&0x0f) * 4
		if binary.BigEndian.Uint16(pkt[ihl:]) != src || binary.BigEndian.Uint16(pkt[ihl+2:]) != dst || h.Version != 2 {
			t.Fatalf("ports %d -> %d or version %d not read from the packet", src, dst, h.Version)
		}
	})
}

func TestSummariseRTP(t *testing.T) {
	steady := &rtpTrace{}
	for i := range 50 {
		steady.add(time.Duration(i)*20*time.Millisecond, uint32(i*160), uint16(65530+i)) // sequence wraps
	}
	r := summariseRTP([]*rtpTrace{steady})
	if r.pktsIn != 50 || r.pktsExpected != 50 || r.jitterP99 != 0 || r.devP99 != 0 || r.maxGap != 20*time.Millisecond {
		t.Errorf("steady stream: %+v", r)
	}
	// One packet 10 ms late: D = 10 ms, so J = 10 ms / 16 (RFC 3550 A.8).
	late := &rtpTrace{}
	late.add(0, 0, 1)
	late.add(30*time.Millisecond, 160, 2)
	r = summariseRTP([]*rtpTrace{late, {}}) // an empty trace is ignored
	if want := 625 * time.Microsecond; (r.jitterP50-want).Abs() > time.Microsecond || r.callsWithRTP != 1 {
		t.Errorf("jitter %v over %d streams, want %v over 1", r.jitterP50, r.callsWithRTP, want)
	}
	// A lost packet shows in expected against received.
	lost := &rtpTrace{}
	lost.add(0, 0, 10)
	lost.add(40*time.Millisecond, 320, 12)
	if r := summariseRTP([]*rtpTrace{lost}); r.pktsExpected-r.pktsIn != 1 {
		t.Errorf("lost: expected %d received %d, want one missing", r.pktsExpected, r.pktsIn)
	}
}

// TestLoCapture sends RTP over loopback and finds it in the capture with
// the kernel's timestamps 20 ms apart.
func TestLoCapture(t *testing.T) {
	const from, to = 14040, 14041 // outside every range the benches and the other tests use
	c, err := startLoCapture(func(src, dst uint16) bool { return src == from && dst == to })
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		// A privilege, not a tool make installs: as service's tapLoopback.
		t.Skipf("no packet socket without CAP_NET_RAW: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	rx, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: to})
	if err != nil {
		c.close()
		t.Fatal(err)
	}
	defer rx.Close()
	tx, err := net.DialUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: from}, rx.LocalAddr().(*net.UDPAddr))
	if err != nil {
		c.close()
		t.Fatal(err)
	}
	defer tx.Close()
	const n = 20
	next := time.Now()
	for i := range n {
		time.Sleep(time.Until(next))
		tx.Write(rtpPacket(0, uint16(i), uint32(i*160)))
		tx.Write(rtpPacket(101, uint16(i), 0)) // counted apart, not in the audio trace
		next = next.Add(20 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	streams, other, drops := c.close()
	if len(streams) != 1 || drops != 0 {
		t.Fatalf("%d streams, %d drops; want 1 and 0", len(streams), drops)
	}
	for k, tr := range streams {
		if k.src != from || k.dst != to || len(tr.seq) != n || other[101] != n {
			t.Fatalf("stream %+v: %d audio packets, %d events; want %d of each", k, len(tr.seq), other[101], n)
		}
		r := summariseRTP([]*rtpTrace{tr})
		if r.pktsExpected != n || math.Abs(r.rtpSeconds-0.38) > 0.1 {
			t.Errorf("expected %d packets over %.3f s, want %d over about 0.38 s", r.pktsExpected, r.rtpSeconds, n)
		}
	}
}
