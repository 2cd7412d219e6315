package media

import (
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// FuzzReceive feeds arbitrary datagrams to the receive path (RTP parse,
// latching, statistics, G.711 decode, jitter buffer, telephone-events):
// no panic, and the playout still yields whole frames.
func FuzzReceive(f *testing.F) {
	audio, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: 1, Timestamp: 160, SSRC: 5}, Payload: make([]byte, 160)}).Marshal()
	event, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 101, Marker: true, SequenceNumber: 2, Timestamp: 320, SSRC: 6}, Payload: []byte{5, 0x8a, 3, 0xc0}}).Marshal()
	alaw, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 8, SequenceNumber: 65535, Timestamp: 1 << 31, SSRC: 7, Padding: true}, Payload: make([]byte, 240), PaddingSize: 4}).Marshal()
	f.Add(audio, event)
	f.Add(alaw, []byte{0x80})
	f.Add([]byte{}, []byte{0x90, 0, 0, 0})
	f.Fuzz(func(t *testing.T, a, b []byte) {
		s, err := newSession(nil, RTPConfig{EventPayloadType: 101})
		if err != nil {
			t.Fatal(err)
		}
		r := &receiver{s: s}
		r.s.conn = nopConn{}
		from := netip.MustParseAddrPort("127.0.0.1:9")
		out := make([]int16, FrameSamples)
		for i, pkt := range [][]byte{a, b, a, b} {
			r.handle(pkt, from, time.Duration(i)*FrameDuration)
			s.mu.Lock()
			s.jb.pop(out)
			s.mu.Unlock()
		}
		st := s.Stats()
		if st.PacketsIn+st.Ignored != 4 {
			t.Fatalf("4 datagrams, %d accepted + %d ignored", st.PacketsIn, st.Ignored)
		}
	})
}

// nopConn lets the receive path arm read deadlines without a socket.
type nopConn struct{ Conn }

func (nopConn) SetReadDeadline(time.Time) error { return nil }

// FuzzJitterBuffer drives the jitter buffer with arbitrary timestamps,
// lengths and markers interleaved with playout: it never panics and
// every pop moves the playout point by exactly one frame.
func FuzzJitterBuffer(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 160, 1, 0, 0, 0, 160, 160, 0})
	f.Add([]byte{255, 255, 255, 255, 8, 2, 0, 0, 0, 0, 200, 1})
	f.Fuzz(func(t *testing.T, ops []byte) {
		var j jitterBuffer
		j.delay = 480
		out := make([]int16, FrameSamples)
		samples := make([]int16, 1024)
		for i := range samples {
			samples[i] = int16(i + 1)
		}
		for len(ops) >= 6 {
			ts := uint32(ops[0])<<24 | uint32(ops[1])<<16 | uint32(ops[2])<<8 | uint32(ops[3])
			n := int(ops[4]) * 4
			flags := ops[5]
			ops = ops[6:]
			if flags&1 == 0 {
				j.push(ts, flags&2 != 0, samples[:n])
				continue
			}
			start := j.play
			j.pop(out)
			if j.play-start != FrameSamples && j.synced {
				t.Fatalf("playout moved %d samples", j.play-start)
			}
		}
	})
}

// FuzzResample converts arbitrary audio between arbitrary rates: no
// panic, and the output length is the input's scaled by to/from.
func FuzzResample(f *testing.F) {
	f.Add(uint16(8000), uint16(16000), []byte{1, 2, 3, 4})
	f.Add(uint16(44100), uint16(8000), make([]byte, 200))
	f.Fuzz(func(t *testing.T, from, to uint16, data []byte) {
		if from < 1000 || to < 1000 {
			return
		}
		src := make([]float32, len(data))
		for i, b := range data {
			src[i] = float32(int8(b)) / 128
		}
		out, err := Resample(src, int(from), int(to))
		if err != nil {
			t.Fatal(err)
		}
		want := (len(src)*int(to) + int(from) - 1) / int(from)
		if len(out) != want {
			t.Fatalf("%d samples from %d at %d->%d Hz, want %d", len(out), len(src), from, to, want)
		}
	})
}
