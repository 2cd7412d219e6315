package media

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/voxdesk/voxdesk/media/dtmf"
	"github.com/voxdesk/voxdesk/media/g711"
)

// peer is a raw RTP endpoint on loopback for driving a session.
type peer struct {
	t    *testing.T
	conn *net.UDPConn
	seq  uint16
	ts   uint32
	ssrc uint32
}

func newPeer(t *testing.T) *peer {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &peer{t: t, conn: c, seq: 100, ts: 5000, ssrc: 0x11223344}
}

func (p *peer) addr() netip.AddrPort { return p.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

func (p *peer) send(to netip.AddrPort, h rtp.Header, payload []byte) {
	p.t.Helper()
	h.Version = 2
	b, err := (&rtp.Packet{Header: h, Payload: payload}).Marshal()
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.conn.WriteToUDPAddrPort(b, to); err != nil {
		p.t.Fatal(err)
	}
}

// audio sends one 20 ms PCMU frame of constant value v with the given
// sequence offset and timestamp offset from the peer's base.
func (p *peer) audio(to netip.AddrPort, seqOff, frameOff int, v int16) {
	p.t.Helper()
	pcm := make([]int16, FrameSamples)
	for i := range pcm {
		pcm[i] = v
	}
	pay := make([]byte, FrameSamples)
	g711.EncodeUlaw(pay, pcm)
	p.send(to, rtp.Header{PayloadType: 0, SequenceNumber: p.seq + uint16(seqOff),
		Timestamp: p.ts + uint32(frameOff*FrameSamples), SSRC: p.ssrc}, pay)
}

// stream sends PCMU frames first..last-1 of constant value v in the
// background, paced on absolute 20 ms deadlines; marker(k) sets the
// marker bit. The returned channel closes when all are sent.
func (p *peer) stream(to netip.AddrPort, first, last int, v int16, marker func(k int) bool) <-chan struct{} {
	done := make(chan struct{})
	seq, ts, ssrc := p.seq, p.ts, p.ssrc
	pcm := make([]int16, FrameSamples)
	for i := range pcm {
		pcm[i] = v
	}
	pay := make([]byte, FrameSamples)
	g711.EncodeUlaw(pay, pcm)
	go func() {
		defer close(done)
		start := time.Now()
		for k := first; k < last; k++ {
			time.Sleep(time.Until(start.Add(time.Duration(k-first) * FrameDuration)))
			b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, Marker: marker != nil && marker(k),
				SequenceNumber: seq + uint16(k), Timestamp: ts + uint32(k*FrameSamples), SSRC: ssrc}, Payload: pay}).Marshal()
			_, _ = p.conn.WriteToUDPAddrPort(b, to)
		}
	}()
	return done
}

type rxPacket struct {
	at  time.Time
	pkt rtp.Packet
}

// recv reads RTP packets until n arrived or the deadline passed.
func (p *peer) recv(n int, within time.Duration) []rxPacket {
	p.t.Helper()
	var out []rxPacket
	buf := make([]byte, 1500)
	deadline := time.Now().Add(within)
	for len(out) < n {
		_ = p.conn.SetReadDeadline(deadline)
		k, _, err := p.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			break
		}
		var pkt rtp.Packet
		if err := pkt.Unmarshal(append([]byte(nil), buf[:k]...)); err != nil {
			p.t.Fatalf("peer got non-RTP: %v", err)
		}
		out = append(out, rxPacket{time.Now(), pkt})
	}
	return out
}

func newTestSession(t *testing.T, cfg RTPConfig) (*RTPSession, netip.AddrPort) {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewRTPSession(c, cfg)
	if err != nil {
		c.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, c.LocalAddr().(*net.UDPAddr).AddrPort()
}

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// A session paces 50 packets per second to its SDP address, with
// consecutive sequence numbers, timestamps 160 apart, one SSRC and the
// marker on the first packet only.
func TestSendPacing(t *testing.T) {
	p := newPeer(t)
	s, _ := newTestSession(t, RTPConfig{Remote: p.addr(), PayloadType: 8})
	ctx := testCtx(t, 5*time.Second)
	go func() {
		frame := make([]int16, FrameSamples)
		for i := range 60 {
			for j := range frame {
				frame[j] = int16(1000 * math.Sin(float64(i*FrameSamples+j)/5))
			}
			if s.WriteAudio(ctx, frame) != nil {
				return
			}
		}
	}()
	pkts := p.recv(50, 3*time.Second)
	if len(pkts) != 50 {
		t.Fatalf("got %d packets", len(pkts))
	}
	for i, r := range pkts {
		h := r.pkt.Header
		if h.PayloadType != 8 || h.SSRC != s.SSRC() || len(r.pkt.Payload) != FrameSamples {
			t.Fatalf("packet %d: %+v len %d", i, h, len(r.pkt.Payload))
		}
		if h.Marker != (i == 0) {
			t.Errorf("packet %d marker %v", i, h.Marker)
		}
		if i > 0 {
			prev := pkts[i-1].pkt.Header
			if h.SequenceNumber != prev.SequenceNumber+1 {
				t.Errorf("packet %d seq %d after %d", i, h.SequenceNumber, prev.SequenceNumber)
			}
			if h.Timestamp != prev.Timestamp+FrameSamples {
				t.Errorf("packet %d ts %d after %d", i, h.Timestamp, prev.Timestamp)
			}
		}
	}
	// 50 packets/s: the median gap is 20 ms, and the sender never runs
	// ahead of the clock (a stalled machine can only make it late, and
	// the pacer then catches up).
	gaps := make([]time.Duration, 0, 49)
	for i := 1; i < len(pkts); i++ {
		gaps = append(gaps, pkts[i].at.Sub(pkts[i-1].at))
	}
	slices.Sort(gaps)
	if med := gaps[len(gaps)/2]; med < 18*time.Millisecond || med > 22*time.Millisecond {
		t.Errorf("median gap %v, want 20 ms", med)
	}
	if span := pkts[49].at.Sub(pkts[0].at); span < 49*FrameDuration*95/100 {
		t.Errorf("49 gaps in %v: faster than 50 packets/s", span)
	}
	time.Sleep(30 * time.Millisecond)
	st := s.Stats()
	if st.PacketsOut < 50 || st.BytesOut < 50*FrameSamples {
		t.Errorf("stats %+v", st)
	}
}

// With nothing written the session sends encoded silence (keeping NAT
// bindings and the peer's jitter buffer fed); with SuppressSilence it
// sends nothing, and the next talkspurt starts with the marker bit.
func TestSilenceAndTalkspurt(t *testing.T) {
	t.Run("silence frames", func(t *testing.T) {
		p := newPeer(t)
		newTestSession(t, RTPConfig{Remote: p.addr()})
		pkts := p.recv(5, 2*time.Second)
		if len(pkts) != 5 {
			t.Fatalf("got %d packets", len(pkts))
		}
		for _, r := range pkts {
			for _, b := range r.pkt.Payload {
				if b != g711.UlawSilence {
					t.Fatalf("payload byte 0x%02x, want silence", b)
				}
			}
		}
	})
	t.Run("suppressed", func(t *testing.T) {
		p := newPeer(t)
		s, _ := newTestSession(t, RTPConfig{Remote: p.addr(), SuppressSilence: true})
		if got := p.recv(1, 200*time.Millisecond); len(got) != 0 {
			t.Fatalf("sent %d packets with nothing to say", len(got))
		}
		ctx := testCtx(t, 3*time.Second)
		frame := make([]int16, FrameSamples)
		for range 3 {
			if err := s.WriteAudio(ctx, frame); err != nil {
				t.Fatal(err)
			}
		}
		pkts := p.recv(3, time.Second)
		if len(pkts) != 3 || !pkts[0].pkt.Marker || pkts[1].pkt.Marker {
			t.Fatalf("talkspurt packets %d, markers wrong", len(pkts))
		}
	})
}

// WriteAudio blocks to pace a writer at the clock: 25 frames take about
// 500 ms, not an instant.
func TestWritePacesWriter(t *testing.T) {
	s, _ := newTestSession(t, RTPConfig{})
	ctx := testCtx(t, 5*time.Second)
	frame := make([]int16, FrameSamples)
	start := time.Now()
	for range 27 {
		if err := s.WriteAudio(ctx, frame); err != nil {
			t.Fatal(err)
		}
	}
	// 2 frames fit in the queue; the other 25 wait for 20 ms ticks. The
	// upper bound is loose: on a loaded 2-core machine ticks the sender
	// misses go out as silence before the starved writer refills.
	if el := time.Since(start); el < 440*time.Millisecond || el > 2*time.Second {
		t.Errorf("27 frames written in %v, want about 500 ms", el)
	}
	if err := s.WriteAudio(ctx, make([]int16, FrameSamples+1)); err != ErrFrameSize {
		t.Errorf("oversize frame: %v", err)
	}
}

// readFrames reads n frames and returns the first sample of each.
func readFrames(t *testing.T, s *RTPSession, n int) []int16 {
	t.Helper()
	ctx := testCtx(t, 5*time.Second)
	out := make([]int16, 0, n)
	buf := make([]int16, FrameSamples)
	for range n {
		k, err := s.ReadAudio(ctx, buf)
		if err != nil || k != FrameSamples {
			t.Fatalf("ReadAudio: %d %v", k, err)
		}
		out = append(out, buf[FrameSamples/2])
	}
	return out
}

// firstAudio returns the index of the first non-silent frame level,
// failing unless n frames follow from it.
func firstAudio(t *testing.T, levels []int16, n int) int {
	t.Helper()
	start := slices.IndexFunc(levels, func(v int16) bool { return v != 0 })
	if start < 0 || start+n > len(levels) {
		t.Fatalf("audio never played out: %v", levels)
	}
	return start
}

// Received packets are reordered by timestamp; a lost one is concealed
// (a faded copy of the previous frame) and counted.
func TestReceiveReorderAndLoss(t *testing.T) {
	s, addr := newTestSession(t, RTPConfig{JitterDelay: 100 * time.Millisecond})
	p := newPeer(t)
	// Frames 0..9 with value (k+1)*1000; 5 is lost; 2 and 3 swapped.
	order := []int{0, 1, 3, 2, 4, 6, 7, 8, 9}
	for _, k := range order {
		p.audio(addr, k, k, int16((k+1)*1000))
	}
	got := readFrames(t, s, 20)
	// Find frame 0's value, then check the sequence.
	start := firstAudio(t, got, 10)
	for k := range 10 {
		v := got[start+k]
		want := g711.UlawToLinear(g711.LinearToUlaw(int16((k + 1) * 1000)))
		if k == 5 {
			// Concealed: frame 4's level continued (still at full
			// level 10 ms into the loss).
			want = g711.UlawToLinear(g711.LinearToUlaw(5000))
		}
		if v != want {
			t.Errorf("frame %d: %d, want %d (all: %v)", k, v, want, got[start:start+10])
		}
	}
	st := s.Stats()
	if st.Lost != 1 || st.Concealed < 1 || st.PacketsIn != 9 {
		t.Errorf("stats %+v", st)
	}
}

// A packet arriving after its frame was played out is dropped as late.
func TestLatePacketDropped(t *testing.T) {
	s, addr := newTestSession(t, RTPConfig{JitterDelay: 40 * time.Millisecond})
	p := newPeer(t)
	p.audio(addr, 0, 0, 1000)
	readFrames(t, s, 6) // plays past frame 1's slot
	p.audio(addr, 1, 1, 2000)
	time.Sleep(20 * time.Millisecond)
	if st := s.Stats(); st.Late != 1 {
		t.Errorf("late = %d, want 1", st.Late)
	}
}

// digit sends one RFC 4733 key press (start, then three end packets)
// with the peer's sequence numbers from seqOff.
func (p *peer) digit(to netip.AddrPort, code uint8, seqOff int, ts uint32) {
	p.t.Helper()
	for k, d := range []uint16{0, 800, 800, 800} {
		pay := dtmf.Event{Code: code, End: k > 0, Volume: 10, Duration: d}.AppendTo(nil)
		p.send(to, rtp.Header{PayloadType: 101, Marker: k == 0, SequenceNumber: p.seq + uint16(seqOff+k), Timestamp: ts, SSRC: p.ssrc}, pay)
	}
}

// Strict source: the session is latched to the SDP address from the
// start. A stranger spraying audio and digits before and while the
// peer speaks gets none of our RTP and is not heard; the peer's audio
// and digits (with an SSRC of their own, like SIPp's pcaps) are.
func TestStrictSource(t *testing.T) {
	real := newPeer(t) // the address in the SDP
	s, addr := newTestSession(t, RTPConfig{Remote: real.addr(), EventPayloadType: 101, JitterDelay: 40 * time.Millisecond})
	stranger := newPeer(t)
	stranger.ssrc = 0xBAD
	// Before the peer's first packet: audio and a digit 9.
	for k := range 8 {
		stranger.audio(addr, k, k, -9000)
	}
	stranger.digit(addr, 9, 8, 7000)
	time.Sleep(30 * time.Millisecond)
	for k := range 5 {
		real.audio(addr, k, k, 3000)
	}
	for k := range 5 {
		stranger.audio(addr, 20+k, 20+k, -9000)
	}
	dtmfSrc := *real
	dtmfSrc.ssrc = 0xD7F // the peer's digits with an SSRC of their own
	dtmfSrc.digit(addr, 4, 5, 8000)
	if got := real.recv(3, time.Second); len(got) != 3 {
		t.Fatalf("SDP address got %d packets", len(got))
	}
	vals := readFrames(t, s, 12)
	for _, v := range vals {
		if v < 0 {
			t.Fatalf("stranger's audio played: %v", vals)
		}
	}
	select {
	case d := <-s.Digits():
		if d.Key != '4' {
			t.Fatalf("digit %q, want the peer's 4", d.Key)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the peer's digit was not delivered")
	}
	select {
	case d := <-s.Digits():
		t.Fatalf("extra digit %q", d.Key)
	case <-time.After(100 * time.Millisecond):
	}
	if got := stranger.recv(1, 100*time.Millisecond); len(got) != 0 {
		t.Fatalf("stranger received %d of our packets", len(got))
	}
	st := s.Stats()
	if st.Strangers != 17 || st.Latched != real.addr() || st.SourceSwitches != 0 {
		t.Errorf("stats %+v", st)
	}
}

// The latch moves only when the new address proves it is the peer:
// SwitchSourceAfter consecutive in-sequence packets with the peer's SSRC.
// A stranger's in-sequence stream under another SSRC never moves it.
func TestSourceSwitch(t *testing.T) {
	real := newPeer(t)
	s, addr := newTestSession(t, RTPConfig{Remote: real.addr(), JitterDelay: 40 * time.Millisecond})
	for k := range 3 {
		real.audio(addr, k, k, 3000)
	}
	time.Sleep(20 * time.Millisecond)
	stranger := newPeer(t)
	stranger.ssrc = 0xBAD
	for k := range 20 {
		stranger.audio(addr, 3+k, 3+k, -9000)
	}
	// The peer behind a NAT that rebinds: same SSRC, new address; a gap
	// in its sequence restarts the count.
	moved := newPeer(t)
	moved.audio(addr, 3, 3, 3000)
	for k := range SwitchSourceAfter - 1 {
		moved.audio(addr, 5+k, 5+k, 3000)
	}
	time.Sleep(30 * time.Millisecond)
	if st := s.Stats(); st.Latched != real.addr() || st.SourceSwitches != 0 {
		t.Fatalf("moved before %d in-sequence packets: %+v", SwitchSourceAfter, st)
	}
	moved.audio(addr, 5+SwitchSourceAfter-1, 5+SwitchSourceAfter-1, 3000)
	time.Sleep(30 * time.Millisecond)
	if st := s.Stats(); st.Latched != moved.addr() || st.SourceSwitches != 1 {
		t.Fatalf("not moved after %d in-sequence packets: %+v", SwitchSourceAfter, st)
	}
	if got := moved.recv(2, time.Second); len(got) != 2 {
		t.Fatalf("new address got %d packets", len(got))
	}
	// A re-INVITE moves the peer at once.
	s.SetRemote(stranger.addr())
	if got := stranger.recv(2, time.Second); len(got) != 2 {
		t.Fatalf("after SetRemote, new address got %d packets", len(got))
	}
}

// LearnSource: a peer behind NAT, silent on its SDP address, is latched
// after SwitchSourceAfter in-sequence packets of one SSRC; without it,
// never.
func TestLearnSource(t *testing.T) {
	for _, learn := range []bool{false, true} {
		sdpPeer := newPeer(t)
		s, addr := newTestSession(t, RTPConfig{Remote: sdpPeer.addr(), LearnSource: learn})
		natted := newPeer(t)
		for k := range SwitchSourceAfter {
			natted.audio(addr, k, k, 3000)
		}
		time.Sleep(30 * time.Millisecond)
		want := sdpPeer.addr()
		if learn {
			want = natted.addr()
		}
		if st := s.Stats(); st.Latched != want {
			t.Errorf("learn=%v: latched %v, want %v", learn, st.Latched, want)
		}
	}
}

// An audio SSRC change is accepted: the new stream plays out (the jitter
// buffer restarts on its timeline).
func TestSSRCChange(t *testing.T) {
	s, addr := newTestSession(t, RTPConfig{JitterDelay: 40 * time.Millisecond})
	p := newPeer(t)
	for k := range 3 {
		p.audio(addr, k, k, 1000)
	}
	readFrames(t, s, 6)
	p.ssrc, p.seq, p.ts = 0x55667788, 40000, 9_000_000 // new source, new timeline
	sent := p.stream(addr, 0, 10, 7000, nil)
	vals := readFrames(t, s, 12)
	<-sent
	want := g711.UlawToLinear(g711.LinearToUlaw(7000))
	found := false
	for _, v := range vals {
		found = found || v == want
	}
	if !found {
		t.Fatalf("new SSRC's audio not played: %v", vals)
	}
	if st := s.Stats(); st.SSRCChanges != 1 || st.PacketsIn != 13 {
		t.Errorf("stats %+v", st)
	}
}

// Telephone-events on their own SSRC (as SIPp's pcaps send them) between
// audio packets: the digit is delivered once with its duration and the
// audio SSRC is not considered changed.
func TestDigitsOwnSSRC(t *testing.T) {
	s, addr := newTestSession(t, RTPConfig{EventPayloadType: 101})
	p := newPeer(t)
	p.audio(addr, 0, 0, 1000)
	ev := func(end bool, dur uint16, seq uint16) {
		pay := dtmf.Event{Code: 11, End: end, Volume: 10, Duration: dur}.AppendTo(nil)
		p.send(addr, rtp.Header{PayloadType: 101, SequenceNumber: seq, Timestamp: 777, SSRC: 0xE05384E, Marker: dur == 0}, pay)
	}
	ev(false, 0, 1)
	ev(false, 160, 2)
	p.audio(addr, 1, 1, 1000)
	ev(false, 320, 3)
	for range 3 {
		ev(true, 480, 4)
	}
	p.audio(addr, 2, 2, 1000)
	d := oneDigit(t, s)
	if d.Key != '#' || d.Duration != 60*time.Millisecond {
		t.Errorf("digit %q %v", d.Key, d.Duration)
	}
	if st := s.Stats(); st.SSRCChanges != 0 || st.PacketsIn != 9 {
		t.Errorf("stats %+v", st)
	}
}

// A digit whose end packets are all lost is still reported, after a
// second of silence from the event stream.
func TestDigitEndLost(t *testing.T) {
	s, addr := newTestSession(t, RTPConfig{EventPayloadType: 96})
	p := newPeer(t)
	for i, dur := range []uint16{0, 160, 320} {
		pay := dtmf.Event{Code: 7, Duration: dur}.AppendTo(nil)
		p.send(addr, rtp.Header{PayloadType: 96, SequenceNumber: uint16(i), Timestamp: 1}, pay)
	}
	select {
	case d := <-s.Digits():
		if d.Key != '7' || d.Duration != 40*time.Millisecond {
			t.Errorf("digit %+v", d)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no digit")
	}
}

// Two sessions talk to each other: audio both ways and a digit sent as
// telephone-events arrives once.
func TestTwoSessions(t *testing.T) {
	ca, _ := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	cb, _ := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	a, err := NewRTPSession(ca, RTPConfig{Remote: cb.LocalAddr().(*net.UDPAddr).AddrPort(), EventPayloadType: 101, PayloadType: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := NewRTPSession(cb, RTPConfig{Remote: ca.LocalAddr().(*net.UDPAddr).AddrPort(), EventPayloadType: 101})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := testCtx(t, 5*time.Second)
	go func() {
		frame := make([]int16, FrameSamples)
		for i := range frame {
			frame[i] = 4000
		}
		for range 30 {
			if a.WriteAudio(ctx, frame) != nil {
				return
			}
		}
	}()
	// Read for 1.2 s: the 30 tone frames, however the scheduler of a
	// loaded machine spreads them, are heard (a frame or two may come
	// too late to play).
	vals := readFrames(t, b, 60)
	want := g711.AlawToLinear(g711.LinearToAlaw(4000))
	n := 0
	for _, v := range vals {
		if v == want {
			n++
		}
	}
	if n < 28 {
		t.Fatalf("B heard A's tone in %d of 30 frames: %v", n, vals)
	}
	if err := a.SendDigit(ctx, '5', 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-b.Digits():
		if d.Key != '5' || d.Duration != 100*time.Millisecond {
			t.Errorf("digit %+v", d)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no digit")
	}
	// (Jitter figures on a shared machine measure its scheduler; the
	// statistic itself is pinned by TestJitterAndLossStats.)
	if st := b.Stats(); st.Lost != 0 || st.PacketsIn < 30 {
		t.Errorf("B stats %+v", st)
	}
	for name, cfg := range map[string]RTPConfig{
		"G.729 payload type":             {PayloadType: 18},
		"events on the audio type":       {PayloadType: 8, EventPayloadType: 8},
		"events on PCMA's type":          {PayloadType: 0, EventPayloadType: 8},
		"events on a type out of range":  {EventPayloadType: 200},
		"jitter delay beyond the buffer": {JitterDelay: time.Second},
	} {
		if _, err := NewRTPSession(ca, cfg); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

// Hold stops sending; resuming sends again with the marker bit.
func TestHold(t *testing.T) {
	p := newPeer(t)
	s, _ := newTestSession(t, RTPConfig{Remote: p.addr()})
	if got := p.recv(2, time.Second); len(got) != 2 {
		t.Fatalf("got %d", len(got))
	}
	s.Hold(true)
	time.Sleep(30 * time.Millisecond)
	p.recv(100, 30*time.Millisecond) // drain what was in flight
	if got := p.recv(1, 200*time.Millisecond); len(got) != 0 {
		t.Fatalf("sent %d packets on hold", len(got))
	}
	s.Hold(false)
	got := p.recv(2, time.Second)
	if len(got) != 2 || !got[0].pkt.Marker || got[1].pkt.Marker {
		t.Fatalf("after resume: %d packets, marker wrong", len(got))
	}
}

// Close stops the goroutines, closes Digits, and later calls fail cleanly.
func TestCloseLifecycle(t *testing.T) {
	s, _ := newTestSession(t, RTPConfig{EventPayloadType: 101})
	ctx := testCtx(t, 2*time.Second)
	done := make(chan error, 1)
	go func() {
		buf := make([]int16, FrameSamples)
		for {
			if _, err := s.ReadAudio(ctx, buf); err != nil {
				done <- err
				return
			}
		}
	}()
	time.Sleep(50 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != ErrClosed {
		t.Errorf("ReadAudio after Close: %v", err)
	}
	if _, ok := <-s.Digits(); ok {
		t.Error("Digits not closed")
	}
	if err := s.WriteAudio(ctx, make([]int16, FrameSamples)); err != ErrClosed {
		t.Errorf("WriteAudio after Close: %v", err)
	}
	if err := s.SendDigit(ctx, '1', time.Second); err != ErrClosed {
		t.Errorf("SendDigit after Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestPortRange(t *testing.T) {
	pr, err := NewPortRange(41001, 41006) // even ports 41002, 41004, 41006
	if err != nil {
		t.Fatal(err)
	}
	lo := netip.MustParseAddr("127.0.0.1")
	var ports []*Port
	for range pr.Size() {
		p, err := pr.Listen(lo)
		if err != nil {
			t.Fatal(err)
		}
		if p.Number()%2 != 0 || p.Number() < 41002 || p.Number() > 41006 {
			t.Errorf("port %d", p.Number())
		}
		ports = append(ports, p)
	}
	if _, err := pr.Listen(lo); !errors.Is(err, ErrPortsExhausted) {
		t.Fatalf("full range: %v", err)
	}
	ports[1].Close()
	p, err := pr.Listen(lo)
	if err != nil || p.Number() != ports[1].Number() {
		t.Fatalf("released port not reused: %v", err)
	}
	// A session owns its port and frees it on Close.
	s, err := NewRTPSession(p, RTPConfig{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if pr.InUse() != 2 {
		t.Errorf("in use %d after session close", pr.InUse())
	}
	ports[0].Close()
	ports[2].Close()
	if _, err := NewPortRange(10, 5); err == nil {
		t.Error("inverted range accepted")
	}
}

// Ports are handed out at random, not in order: an attacker who saw one
// call's port cannot aim at the next call's before its caller speaks.
func TestPortRangeRandom(t *testing.T) {
	pr, err := NewPortRange(41000, 41999) // 500 even ports
	if err != nil {
		t.Fatal(err)
	}
	lo := netip.MustParseAddr("127.0.0.1")
	var nums []int
	for range 20 {
		p, err := pr.Listen(lo)
		if err != nil {
			t.Fatal(err)
		}
		nums = append(nums, p.Number())
		defer p.Close()
	}
	// In order, every port is the last plus 2; at random about 20/500
	// of them would be.
	next := 0
	for i := 1; i < len(nums); i++ {
		if nums[i] == nums[i-1]+2 {
			next++
		}
	}
	if next > 3 {
		t.Errorf("%d of 19 ports followed the previous one: %v", next, nums)
	}
	if slices.IsSorted(nums) {
		t.Errorf("ports handed out in increasing order: %v", nums)
	}
	for _, n := range []int{1, 2, 3, 4, 6, 500} {
		st := randomStride(n)
		seen := map[int]bool{}
		for i := range n {
			seen[(i*st)%n] = true
		}
		if len(seen) != n {
			t.Errorf("stride %d over %d slots visits %d", st, n, len(seen))
		}
	}
	if _, err := NewPortRange(10, 5); err == nil {
		t.Error("inverted range accepted")
	}
}

// A reader that pauses (say, while a prompt plays) resumes at the
// present: it gets live frames at the 20 ms pace, not a stale backlog.
func TestReadAfterPauseSkipsBacklog(t *testing.T) {
	s, _ := newTestSession(t, RTPConfig{})
	readFrames(t, s, 2)
	time.Sleep(500 * time.Millisecond)
	start := time.Now()
	readFrames(t, s, 10)
	if el := time.Since(start); el < 150*time.Millisecond {
		t.Errorf("10 frames after a pause returned in %v: backlog not skipped", el)
	}
}

// RFC 3550 A.8 interarrival jitter and A.3 loss, from synthetic arrival
// times fed to the receive path.
func TestJitterAndLossStats(t *testing.T) {
	tests := []struct {
		name    string
		arrival func(i int) time.Duration // arrival of packet i (timestamp i*160)
		seqs    []int
		jitter  time.Duration // expected, within 0.1 ms
		lost    int64
	}{
		{"steady 20 ms", func(i int) time.Duration { return time.Duration(i) * FrameDuration }, seqRange(0, 200), 0, 0},
		{"alternating +-2 ms", func(i int) time.Duration {
			return time.Duration(i)*FrameDuration + time.Duration(2*(i%2))*time.Millisecond
		}, seqRange(0, 400), 2 * time.Millisecond, 0},
		{"three lost, across the 16-bit wrap", func(i int) time.Duration { return time.Duration(i) * FrameDuration },
			append(seqRange(65530, 65536), seqRange(65539, 65550)...), 0, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := newSession(nil, RTPConfig{})
			if err != nil {
				t.Fatal(err)
			}
			r := &receiver{s: s}
			from := netip.MustParseAddrPort("127.0.0.1:5000")
			pay := make([]byte, FrameSamples)
			for _, seq := range tc.seqs {
				b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(seq), Timestamp: uint32(seq * FrameSamples), SSRC: 1}, Payload: pay}).Marshal()
				r.handle(b, from, tc.arrival(seq-tc.seqs[0]))
			}
			st := s.Stats()
			if d := st.Jitter - tc.jitter; d < -100*time.Microsecond || d > 100*time.Microsecond {
				t.Errorf("jitter %v, want %v", st.Jitter, tc.jitter)
			}
			if st.Lost != tc.lost {
				t.Errorf("lost %d, want %d", st.Lost, tc.lost)
			}
		})
	}
}

func seqRange(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

// With InbandDTMF and no telephone-events negotiated, a DTMF tone in
// the audio is delivered on Digits, once.
func TestInbandDigits(t *testing.T) {
	s, addr := newTestSession(t, RTPConfig{InbandDTMF: true})
	p := newPeer(t)
	const frames = 8 // 160 ms of '7' (852 + 1209 Hz), then silence
	for k := range 20 {
		pcm := make([]int16, FrameSamples)
		if k < frames {
			for i := range pcm {
				tt := float64(k*FrameSamples+i) / SampleRate
				pcm[i] = int16(6000*math.Sin(2*math.Pi*852*tt) + 6000*math.Sin(2*math.Pi*1209*tt))
			}
		}
		pay := make([]byte, FrameSamples)
		g711.EncodeUlaw(pay, pcm)
		p.send(addr, rtp.Header{PayloadType: 0, SequenceNumber: uint16(k), Timestamp: uint32(k * FrameSamples), SSRC: 9}, pay)
	}
	d := oneDigit(t, s)
	if d.Key != '7' || d.Duration < 100*time.Millisecond || d.Duration > 200*time.Millisecond {
		t.Errorf("digit %q %v", d.Key, d.Duration)
	}
}

// oneDigit waits for a digit and checks that no second one follows.
func oneDigit(t *testing.T, s *RTPSession) Digit {
	t.Helper()
	var d Digit
	select {
	case d = <-s.Digits():
	case <-time.After(2 * time.Second):
		t.Fatal("no digit")
	}
	select {
	case d2 := <-s.Digits():
		t.Errorf("a second digit %+v after %+v", d2, d)
	case <-time.After(200 * time.Millisecond):
	}
	return d
}

// A peer whose timestamps stop during a pause (and resume where they
// left off) is followed: after a few late packets, or at once when the
// talkspurt is marked, the buffer moves to its timeline.
func TestTimestampsThatStopDuringSilence(t *testing.T) {
	for _, marked := range []bool{false, true} {
		t.Run(map[bool]string{false: "unmarked", true: "marker"}[marked], func(t *testing.T) {
			s, addr := newTestSession(t, RTPConfig{JitterDelay: 40 * time.Millisecond})
			p := newPeer(t)
			for k := range 5 {
				p.audio(addr, k, k, 1000)
				time.Sleep(FrameDuration)
			}
			readFrames(t, s, 30) // 600 ms of wall clock pass
			// The talkspurt continues at timestamp 5, as if no time passed,
			// while the reader keeps reading.
			sent := p.stream(addr, 5, 25, 3000, func(k int) bool { return marked && k == 5 })
			vals := readFrames(t, s, 25)
			<-sent
			want := g711.UlawToLinear(g711.LinearToUlaw(3000))
			heard := 0
			for _, v := range vals {
				if v == want {
					heard++
				}
			}
			// Without following, every one of the 20 frames is late.
			if heard < 10 {
				t.Fatalf("after the pause the stream was not followed: %v (stats %+v)", vals, s.Stats())
			}
		})
	}
}

// A peer with a=ptime:30 sends 240 samples per packet; playout still
// yields seamless 160-sample frames.
func TestReceive30msPackets(t *testing.T) {
	s, addr := newTestSession(t, RTPConfig{JitterDelay: 100 * time.Millisecond})
	p := newPeer(t)
	const per = 240
	pcm := make([]int16, per)
	for i := range pcm {
		pcm[i] = 2000
	}
	pay := make([]byte, per)
	g711.EncodeUlaw(pay, pcm)
	done := make(chan struct{})
	go func() {
		defer close(done)
		start := time.Now()
		for k := range 20 { // 600 ms
			time.Sleep(time.Until(start.Add(time.Duration(k) * 30 * time.Millisecond)))
			b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: uint16(k),
				Timestamp: uint32(k * per), SSRC: 3}, Payload: pay}).Marshal()
			_, _ = p.conn.WriteToUDPAddrPort(b, addr)
		}
	}()
	vals := readFrames(t, s, 40)
	<-done
	want := g711.UlawToLinear(g711.LinearToUlaw(2000))
	heard := 0
	for _, v := range vals {
		if v == want {
			heard++
		}
	}
	// 600 ms of audio is 30 frames; allow the scheduler a frame or two.
	if heard < 28 {
		t.Errorf("heard %d of 30 frames: %v", heard, vals)
	}
}

// RTP timeout: Inactive closes once the peer has sent nothing for
// Timeout, not while it streams, and not while the watch is paused (the
// peer put the call on hold).
func TestInactivityTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	p := newPeer(t)
	s, addr := newTestSession(t, RTPConfig{Remote: p.addr(), Timeout: timeout})
	start := time.Now()
	<-p.stream(addr, 0, 30, 1000, nil) // 600 ms of audio
	select {
	case <-s.Inactive():
		t.Fatalf("inactive %v after start while the peer streamed", time.Since(start))
	default:
	}
	last := time.Now()
	select {
	case <-s.Inactive():
		if d := time.Since(last); d < timeout-20*time.Millisecond || d > timeout+300*time.Millisecond {
			t.Errorf("inactive %v after the last packet, want about %v", d, timeout)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("never inactive after the peer stopped")
	}

	held, _ := newTestSession(t, RTPConfig{Remote: p.addr(), Timeout: timeout})
	held.PauseTimeout(true)
	select {
	case <-held.Inactive():
		t.Fatal("inactive while paused (on hold)")
	case <-time.After(3 * timeout):
	}
	resumed := time.Now()
	held.PauseTimeout(false)
	select {
	case <-held.Inactive():
		if d := time.Since(resumed); d < timeout-20*time.Millisecond {
			t.Errorf("inactive %v after resuming, want a whole %v", d, timeout)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("never inactive after resuming")
	}

	never, _ := newTestSession(t, RTPConfig{Remote: p.addr()})
	select {
	case <-never.Inactive():
		t.Fatal("inactive without a timeout")
	case <-time.After(2 * timeout):
	}
}

// A reader that stops reading while the peer keeps sending (the caller
// was on hold music while an agent's phone rang) must rejoin the stream
// with the playout delay when it resumes. The sender's clock and the
// reader's run with a phase offset; when the pause overflowed the ring
// (push dropped the oldest audio, moving the playout point on already)
// and the skip counted from the old playout point, playout landed 12 to
// 32 ms behind the newest audio, off the packets' boundaries: each frame
// then straddled two packets and, for most phase offsets, was cut by
// the packet that had not arrived yet (zeros, not counted as concealed).
// Driven with synthetic times, so the outcome does not depend on the
// machine's load.
func TestReaderRejoinsLiveStreamAfterPause(t *testing.T) {
	for _, pause := range []time.Duration{300, 530, 545, 560, 700, 1500} {
		for phase := time.Duration(1); phase < 20; phase += 3 {
			t.Run(fmt.Sprintf("pause %dms phase %dms", pause, phase), func(t *testing.T) {
				frameAfterPause(t, phase*time.Millisecond, pause*time.Millisecond)
			})
		}
	}
}

// frameAfterPause streams numbered frames arriving at phase + k*20ms,
// reads for 1 s at the reader's 20 ms instants, pauses, reads for 1 s
// more, and checks what was read after the pause: whole consecutive
// frames, none synthetic, none older than the playout delay allows.
func frameAfterPause(t *testing.T, phase, pause time.Duration) {
	t.Helper()
	s, err := newSession(nil, RTPConfig{})
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{s: s}
	from := netip.MustParseAddrPort("127.0.0.1:5000")
	// Frame k holds the one value level(k): the mu-law levels in turn,
	// exact through the codec and distinct for 100 frames in a row.
	var levels []int16
	for b := range 256 {
		var v [1]int16
		g711.DecodeUlaw(v[:], []byte{byte(b)})
		if v[0] != 0 && !slices.Contains(levels, v[0]) {
			levels = append(levels, v[0])
		}
	}
	level := func(k int) int16 { return levels[k%len(levels)] }
	sent := 0
	deliver := func(now time.Duration) {
		for ; phase+time.Duration(sent)*FrameDuration <= now; sent++ {
			pcm := make([]int16, FrameSamples)
			for i := range pcm {
				pcm[i] = level(sent)
			}
			pay := make([]byte, FrameSamples)
			g711.EncodeUlaw(pay, pcm)
			b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(sent), Timestamp: uint32(sent * FrameSamples), SSRC: 1}, Payload: pay}).Marshal()
			r.handle(b, from, phase+time.Duration(sent)*FrameDuration)
		}
	}
	var now time.Duration
	frame := make([]int16, FrameSamples)
	read := func() {
		deliver(now)
		if wait := s.nextPlayout(now); wait > 0 {
			now += wait
			deliver(now)
		}
		s.popFrame(frame)
	}
	for range 50 {
		read()
	}
	now += pause
	prev := -1
	for n := range 50 {
		read()
		k := -1
		for c := max(0, sent-50); c < sent; c++ {
			if level(c) == frame[0] {
				k = c
			}
		}
		cut := slices.IndexFunc(frame, func(v int16) bool { return v != frame[0] })
		switch {
		case s.Synthetic():
			t.Fatalf("frame %d after the pause (at %v, %d packets arrived) was synthesised", n, now, sent)
		case k < 0 || cut >= 0:
			t.Fatalf("frame %d after the pause (at %v, %d packets arrived) is not one whole packet: %d samples of packet %d, then %d", n, now, sent, cut, k, frame[max(cut, 0)])
		case prev >= 0 && k != prev+1:
			t.Fatalf("frame %d after the pause is packet %d, after packet %d", n, k, prev)
		}
		// The packet played arrived no more than the playout delay
		// (60 ms) plus one frame of phase before now.
		if age := now - (phase + time.Duration(k)*FrameDuration); age > 80*time.Millisecond {
			t.Fatalf("frame %d after the pause is packet %d, which arrived %v before: backlog not skipped", n, k, age)
		}
		prev = k
	}
	if st := s.Stats(); st.Late != 0 {
		t.Errorf("%d packets dropped as late", st.Late)
	}
}

// Stalls of the shared pacer (an overloaded process) are counted per
// session and warned about once per call, not once per stall: a stall
// hits every session of a shard inside one late tick.
func TestPacerStallWarnsOnce(t *testing.T) {
	var logs strings.Builder
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := newSession(c, RTPConfig{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	snd := newSender(s)
	snd.pace(1)
	snd.pace(1)
	if st := s.Stats(); st.SendSkipped != 0 {
		t.Fatalf("%d packets skipped on schedule", st.SendSkipped)
	}
	snd.pace(12) // 11 ticks skipped
	snd.pace(1)
	snd.pace(13) // 12 more
	if st := s.Stats(); st.SendSkipped != 23 {
		t.Errorf("%d packets skipped, want 23", st.SendSkipped)
	}
	if n := strings.Count(logs.String(), "rtp sender fell behind"); n != 1 {
		t.Errorf("%d warnings for two stalls, want 1:\n%s", n, logs.String())
	}
	if snd.n != 27 {
		t.Errorf("sender at tick %d, want 27: skipped ticks still advance the timestamp", snd.n)
	}
}
