package service

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/call/calltest"
	"github.com/voxdesk/voxdesk/media"
	"github.com/voxdesk/voxdesk/media/g711"
	"github.com/voxdesk/voxdesk/media/sdp"
)

// everyOther marks every second frame of leg as synthesised, as an RTP
// session losing every other packet would.
type everyOther struct{ leg *calltest.Leg }

func (m *everyOther) Synthetic() bool { return (m.leg.Now()/call.FrameDuration)%2 == 0 }

// The voice tap finds the call's media by call id, keeps only received
// frames for an agent's enrolment and passes the marks on to the
// handler's listeners.
func TestTapSkipsSyntheticFrames(t *testing.T) {
	v := &voice{cfg: VoiceprintConfig{TapSeconds: 10}, taps: map[string]*tapLeg{}, marks: newFrameMarks()}
	leg := calltest.NewLeg(calltest.Event{Speech: make([]int16, 8000)}, calltest.Event{At: 2 * time.Second, Hangup: true})
	m := &everyOther{leg}
	v.marks.add("call-gaps", m)
	var marked int
	h := v.Middleware(call.HandlerFunc(func(ctx context.Context, c *call.Call) error {
		buf := make([]int16, call.FrameSamples)
		for range 20 {
			if _, err := c.Leg.ReadAudio(ctx, buf); err != nil {
				return err
			}
			if c.Leg.(interface{ Synthetic() bool }).Synthetic() {
				marked++
			}
		}
		if got := len(v.taps["call-gaps"].audio()); got != 10*call.FrameSamples {
			t.Errorf("tap kept %d samples, want the 10 received frames", got)
		}
		return nil
	}))
	if err := h.ServeCall(context.Background(), call.New("call-gaps", leg, nil)); err != nil {
		t.Fatal(err)
	}
	if marked != 10 {
		t.Errorf("handler saw %d frames marked, want 10", marked)
	}
	v.marks.remove("call-gaps", m)
	if v.marks.get("call-gaps") != nil {
		t.Error("marks kept a closed call's media")
	}
}

// mediaLeg is a call leg reading the caller from an RTP media, as sip's
// leg does (and, like it, saying nothing about synthesised frames).
type mediaLeg struct {
	*calltest.Leg
	m interface {
		ReadAudio(ctx context.Context, dst []int16) (int, error)
	}
}

func (l *mediaLeg) ReadAudio(ctx context.Context, dst []int16) (int, error) {
	return l.m.ReadAudio(ctx, dst)
}

// Real RTP with a gap, through the switch's media opener: the voice tap
// finds the call's RTP session by call id and keeps only the frames that
// arrived, none of the silence before the first packet, the concealment
// of the lost ones or the fill after the last.
func TestTapSkipsRTPGaps(t *testing.T) {
	v := &voice{cfg: VoiceprintConfig{TapSeconds: 10}, taps: map[string]*tapLeg{}, marks: newFrameMarks()}
	ports, err := media.NewPortRange(47000, 47998)
	if err != nil {
		t.Fatal(err)
	}
	o := &rtpOpener{ports: ports, ip: netip.MustParseAddr("127.0.0.1"), jitter: 60 * time.Millisecond,
		log: slog.New(slog.DiscardHandler), marks: v.marks}
	peer, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	m, err := o.OpenMedia("call-rtp")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Update(sdp.Media{Codec: sdp.Codec{PayloadType: 0, Name: "PCMU", ClockRate: 8000},
		Remote: peer.LocalAddr().(*net.UDPAddr).AddrPort()}); err != nil {
		t.Fatal(err)
	}
	// 30 frames of alternating sign and rising level; 10..13 lost.
	level := func(k int) int16 {
		v := int16((k + 1) * 1000)
		if k%2 == 1 {
			v = -v
		}
		return g711.UlawToLinear(g711.LinearToUlaw(v))
	}
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		pcm, pay := make([]int16, call.FrameSamples), make([]byte, call.FrameSamples)
		tick := time.NewTicker(call.FrameDuration)
		defer tick.Stop()
		for k := range 30 {
			<-tick.C
			if k >= 10 && k < 14 {
				continue
			}
			for i := range pcm {
				pcm[i] = level(k)
			}
			g711.EncodeUlaw(pay, pcm)
			b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(k), Timestamp: uint32(k * call.FrameSamples), SSRC: 7},
				Payload: pay}).Marshal()
			peer.WriteToUDPAddrPort(b, m.LocalAddr())
		}
	}()
	leg := &mediaLeg{Leg: calltest.NewLeg(), m: m}
	marked := 0
	h := v.Middleware(call.HandlerFunc(func(ctx context.Context, c *call.Call) error {
		buf := make([]int16, call.FrameSamples)
		for range 60 {
			if _, err := c.Leg.ReadAudio(ctx, buf); err != nil {
				return err
			}
			if c.Leg.(media.Marker).Synthetic() {
				marked++
			}
		}
		kept := v.taps["call-rtp"].audio()
		n := len(kept) / call.FrameSamples
		if n < 20 || n > 26 {
			t.Errorf("tap kept %d frames, want the 26 sent (a few may come late)", n)
		}
		prev := int16(0)
		for f := range n {
			x := kept[f*call.FrameSamples+call.FrameSamples/2]
			if x == 0 || x == prev {
				t.Errorf("kept frame %d has level %d after %d: silence or concealment kept", f, x, prev)
			}
			prev = x
		}
		return nil
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.ServeCall(ctx, call.New("call-rtp", leg, nil)); err != nil {
		t.Fatal(err)
	}
	<-sent
	if marked < 60-26 {
		t.Errorf("%d of 60 frames marked synthetic, want at least the 34 not received", marked)
	}
}

// The audio kept for an agent's enrolment grows with the call: a 2 s call
// holds about 2 s, not TapSeconds; a long one the last TapSeconds, in
// order.
func TestTapRingGrowsThenWraps(t *testing.T) {
	tl := &tapLeg{keep: 30 * call.SampleRate}
	frame := make([]int16, call.FrameSamples)
	next := int16(0)
	feed := func(d time.Duration) {
		for range int(d / call.FrameDuration) {
			for i := range frame {
				frame[i] = next
				next++
			}
			tl.keepAudio(frame)
		}
	}
	feed(2 * time.Second)
	if got := len(tl.audio()); got != 2*call.SampleRate || cap(tl.ring) > 4*call.SampleRate {
		t.Errorf("2 s call: %d samples kept in a ring of %d, want 16000 in at most 32000", got, cap(tl.ring))
	}
	feed(40 * time.Second)
	kept := tl.audio()
	if len(kept) != 30*call.SampleRate || cap(tl.ring) > 30*call.SampleRate+call.SampleRate {
		t.Fatalf("42 s call: %d samples kept in a ring of %d, want the last 30 s", len(kept), cap(tl.ring))
	}
	for i, s := range kept {
		if want := next - int16(len(kept)-i); s != want {
			t.Fatalf("sample %d: %d, want %d (last 30 s in order)", i, s, want)
		}
	}
}
