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
