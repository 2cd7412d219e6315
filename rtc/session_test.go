package rtc

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"go.uber.org/goleak"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/media/g711"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// peer is a plain pion PeerConnection standing in for a browser: it offers
// the codecs a browser offers (Opus first) and sends a 1 kHz tone.
type peer struct {
	pc    *webrtc.PeerConnection
	track *webrtc.TrackLocalStaticSample

	mu       sync.Mutex
	received []int16 // decoded audio from the session
	recvPT   uint8
	events   []rtp.Packet // telephone-event packets from the session
	wg       sync.WaitGroup
}

func newPeer(t *testing.T, mimes ...string) *peer {
	t.Helper()
	var me webrtc.MediaEngine
	pts := map[string]webrtc.PayloadType{webrtc.MimeTypeOpus: 111, webrtc.MimeTypePCMU: 0, webrtc.MimeTypePCMA: 8, mimeTelephoneEvent: 126}
	for _, m := range mimes {
		c := webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: m, ClockRate: 8000}, PayloadType: pts[m]}
		if m == webrtc.MimeTypeOpus {
			c.ClockRate, c.Channels = 48000, 2
		}
		if err := me.RegisterCodec(c, webrtc.RTPCodecTypeAudio); err != nil {
			t.Fatal(err)
		}
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	api := webrtc.NewAPI(webrtc.WithMediaEngine(&me), webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{pc: pc}
	mic := mimes[len(mimes)-1]
	if mic == mimeTelephoneEvent {
		mic = mimes[len(mimes)-2]
	}
	p.track, err = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: mic, ClockRate: 8000}, "mic", "browser")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTrack(p.track); err != nil {
		t.Fatal(err)
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		p.wg.Add(1)
		defer p.wg.Done()
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			if pkt.PayloadType == 126 {
				p.mu.Lock()
				p.events = append(p.events, *pkt)
				p.mu.Unlock()
				continue
			}
			dec := make([]int16, len(pkt.Payload))
			if pkt.PayloadType == ptPCMA {
				g711.DecodeAlaw(dec, pkt.Payload)
			} else {
				g711.DecodeUlaw(dec, pkt.Payload)
			}
			p.mu.Lock()
			p.received = append(p.received, dec...)
			p.recvPT = pkt.PayloadType
			p.mu.Unlock()
		}
	})
	return p
}

func (p *peer) close() {
	_ = p.pc.Close()
	p.wg.Wait()
}

// connect runs the offer/answer and trickle exchange between the peer and
// a new session of e.
func connect(t *testing.T, e *Engine, p *peer) *Session {
	t.Helper()
	s, err := e.NewSession("s1", func(sig Signal) {
		switch sig.Type {
		case SignalAnswer:
			if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sig.SDP}); err != nil {
				t.Errorf("peer: set answer: %v", err)
			}
		case SignalCandidate:
			c := sig.Candidate
			// Candidates may precede the answer; pion queues none, so
			// they are all in the answer's gathering anyway on loopback.
			_ = p.pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex})
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	p.pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		j := c.ToJSON()
		if err := s.HandleSignal(Signal{Type: SignalCandidate, Candidate: &Candidate{Candidate: j.Candidate, SDPMid: j.SDPMid, SDPMLineIndex: j.SDPMLineIndex}}); err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("session: candidate: %v", err)
		}
	})
	offer, err := p.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	if err := s.HandleSignal(Signal{Type: SignalOffer, SDP: offer.SDP}); err != nil {
		t.Fatalf("offer: %v", err)
	}
	return s
}

func tone(n int, freq, amp float64, phase *int) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(amp * math.Sin(2*math.Pi*freq*float64(*phase)/8000))
		*phase++
	}
	return out
}

func rms(x []int16) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(max(len(x), 1)))
}

func TestSessionAudioBothWays(t *testing.T) {
	for _, tc := range []struct {
		name   string
		offer  []string // the peer's codecs, its sending codec last
		prefs  []string
		want   string
		wantPT uint8
	}{
		{"browser offers Opus then PCMU", []string{webrtc.MimeTypeOpus, webrtc.MimeTypePCMA, webrtc.MimeTypePCMU}, nil, codecPCMU, ptPCMU},
		{"A-law only peer", []string{webrtc.MimeTypePCMA}, nil, codecPCMA, ptPCMA},
		{"switch prefers A-law", []string{webrtc.MimeTypePCMU, webrtc.MimeTypePCMA}, []string{"pcma", "pcmu"}, codecPCMA, ptPCMA},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			e, err := New(Config{Loopback: true, Codecs: tc.prefs})
			if err != nil {
				t.Fatal(err)
			}
			p := newPeer(t, tc.offer...)
			defer p.close()
			s := connect(t, e, p)
			defer s.Close()
			if err := s.WaitConnected(ctx); err != nil {
				t.Fatalf("connect: %v", err)
			}
			if got := s.Codec(); got != tc.want {
				t.Fatalf("codec %q, want %q", got, tc.want)
			}
			leg, err := s.Attach("call-1")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Attach("call-2"); !errors.Is(err, ErrBusy) {
				t.Fatalf("second Attach: %v, want ErrBusy", err)
			}

			// The peer speaks a tone for a second; the switch speaks a
			// louder tone back at the same time.
			var wg sync.WaitGroup
			wg.Add(2)
			go func() {
				defer wg.Done()
				ph := 0
				tick := time.NewTicker(20 * time.Millisecond)
				defer tick.Stop()
				for range 50 {
					pcm := tone(call.FrameSamples, 1000, 8000, &ph)
					payload := make([]byte, len(pcm))
					if tc.want == codecPCMA {
						g711.EncodeAlaw(payload, pcm)
					} else {
						g711.EncodeUlaw(payload, pcm)
					}
					_ = p.track.WriteSample(media.Sample{Data: payload, Duration: 20 * time.Millisecond})
					<-tick.C
				}
			}()
			go func() {
				defer wg.Done()
				ph := 0
				for range 50 {
					if err := leg.WriteAudio(ctx, tone(call.FrameSamples, 440, 12000, &ph)); err != nil {
						t.Errorf("WriteAudio: %v", err)
						return
					}
				}
			}()
			var loud int
			frame := make([]int16, call.FrameSamples)
			for range 50 {
				if _, err := leg.ReadAudio(ctx, frame); err != nil {
					t.Fatalf("ReadAudio: %v", err)
				}
				// A 1 kHz sine of amplitude 8000 has an RMS of 5657.
				if r := rms(frame); r > 5000 && r < 6300 {
					loud++
				}
			}
			wg.Wait()
			if loud < 30 {
				t.Errorf("only %d of 50 frames read from the leg carried the peer's tone", loud)
			}
			time.Sleep(100 * time.Millisecond)
			p.mu.Lock()
			got, pt := append([]int16(nil), p.received...), p.recvPT
			p.mu.Unlock()
			var toneFrames int
			for i := 0; i+call.FrameSamples <= len(got); i += call.FrameSamples {
				if r := rms(got[i : i+call.FrameSamples]); r > 8000 && r < 9000 { // 12000/sqrt(2) = 8485
					toneFrames++
				}
			}
			if toneFrames < 40 {
				t.Errorf("peer heard %d tone frames of 50", toneFrames)
			}
			if pt != tc.wantPT {
				t.Errorf("peer received payload type %d, want %d", pt, tc.wantPT)
			}
			if err := leg.Hangup(ctx, call.CauseNormal); err != nil {
				t.Fatal(err)
			}
			if leg.Cause() != call.CauseNormal {
				t.Fatalf("cause %v", leg.Cause())
			}
			// The session stays up for the next call.
			leg2, err := s.Attach("call-2")
			if err != nil {
				t.Fatalf("Attach after hangup: %v", err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			select {
			case <-leg2.Done():
			case <-ctx.Done():
				t.Fatal("leg not ended by Close")
			}
			if leg2.Cause() != call.CauseFailure {
				t.Fatalf("leg cause after session close = %v, want failure", leg2.Cause())
			}
		})
	}
}

func TestLegEndsWhenPeerGoesAway(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	e, err := New(Config{Loopback: true, DisconnectTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	p := newPeer(t, webrtc.MimeTypePCMU)
	s := connect(t, e, p)
	defer s.Close()
	if err := s.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	leg, err := s.Attach("c")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	p.close()
	select {
	case <-leg.Done():
	case <-ctx.Done():
		t.Fatal("leg still up after the peer closed")
	}
	t.Logf("leg ended %v after the peer closed", time.Since(start).Round(time.Millisecond))
	if leg.Cause() != call.CauseFailure {
		t.Fatalf("cause %v, want failure", leg.Cause())
	}
	if _, err := leg.ReadAudio(ctx, make([]int16, call.FrameSamples)); !errors.Is(err, call.ErrHangup) {
		t.Fatalf("ReadAudio after end: %v", err)
	}
	if s.Err() == nil {
		t.Fatal("session Err is nil after failure")
	}
}

func TestReadAudioConcealsMissingFrames(t *testing.T) {
	leg := idleLeg(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	frame := make([]int16, call.FrameSamples)
	start := time.Now()
	for range 10 {
		if _, err := leg.ReadAudio(ctx, frame); err != nil {
			t.Fatal(err)
		}
		if rms(frame) != 0 {
			t.Fatal("concealed frame is not silence")
		}
	}
	// 10 frames: the first after 20+40 ms, then one every 20 ms.
	if d := time.Since(start); d < 200*time.Millisecond || d > 600*time.Millisecond {
		t.Fatalf("10 concealed frames took %v, want about 240 ms", d)
	}
	if _, err := leg.ReadAudio(ctx, make([]int16, 10)); err == nil {
		t.Fatal("short buffer accepted")
	}
}

func TestBadOffersAreRefused(t *testing.T) {
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	opusOnly := "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\n"
	for _, tc := range []struct {
		name string
		sig  Signal
		want error
	}{
		{"no type", Signal{SDP: "v=0"}, ErrBadSignal},
		{"unknown type", Signal{Type: "bye"}, ErrBadSignal},
		{"offer without sdp", Signal{Type: SignalOffer}, ErrBadSignal},
		{"garbage sdp", Signal{Type: SignalOffer, SDP: "hello"}, ErrBadSignal},
		{"opus only", Signal{Type: SignalOffer, SDP: opusOnly}, ErrNoCodec},
		{"candidate without body", Signal{Type: SignalCandidate}, ErrBadSignal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := e.NewSession("bad", func(Signal) {})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.HandleSignal(tc.sig); !errors.Is(err, tc.want) {
				t.Fatalf("HandleSignal = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"opus", Config{Codecs: []string{"opus"}}},
		{"bad public ip", Config{PublicIPs: []string{"example.com"}}},
		{"half port range", Config{PortMin: 10000}},
		{"inverted port range", Config{PortMin: 20000, PortMax: 10000}},
		{"ice server without urls", Config{ICEServers: []ICEServer{{}}}},
		{"ice server not stun", Config{ICEServers: []ICEServer{{URLs: []string{"http://x"}}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.cfg); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	if _, err := New(Config{PublicIPs: []string{"203.0.113.7"}, PortMin: 40000, PortMax: 40100,
		ICEServers: []ICEServer{{URLs: []string{"stun:stun.example.net:3478"}}}}); err != nil {
		t.Fatalf("good config refused: %v", err)
	}
}

func TestAnswerKeepsOfferedEventPayloadType(t *testing.T) {
	// A browser numbers telephone-event 126 (Chromium does); the answer
	// must use the same number, or the browser's RTCDTMFSender sends
	// packets the switch does not recognise.
	var me webrtc.MediaEngine
	for _, c := range []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}, PayloadType: 0},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: mimeTelephoneEvent, ClockRate: 8000, SDPFmtpLine: "0-15"}, PayloadType: 126},
	} {
		if err := me.RegisterCodec(c, webrtc.RTPCodecTypeAudio); err != nil {
			t.Fatal(err)
		}
	}
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(&me)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	var answer string
	s, err := e.NewSession("dtmf", func(sig Signal) {
		if sig.Type == SignalAnswer {
			answer = sig.SDP
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.HandleSignal(Signal{Type: SignalOffer, SDP: offer.SDP}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(answer, "a=rtpmap:126 telephone-event/8000") || strings.Contains(answer, "telephone-event/8000\r\na=rtpmap:101") {
		t.Fatalf("answer does not reuse payload type 126:\n%s", answer)
	}
	if !strings.Contains(answer, "m=audio 9 UDP/TLS/RTP/SAVPF 0 126") && !strings.Contains(answer, " 0 126\r\n") {
		t.Fatalf("answer's audio formats are not PCMU then 126:\n%s", answer)
	}
}

func TestHoldPlaysHoldAudio(t *testing.T) {
	leg := idleLeg(t)
	music := make([]int16, 250) // not a multiple of the frame: the loop wraps mid-frame
	for i := range music {
		music[i] = int16(i + 1)
	}
	leg.SetHoldAudio(music)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	frame := make([]int16, call.FrameSamples)
	for _, tc := range []struct {
		name  string
		hold  bool
		first int16 // first sample expected; 0 = silence
	}{
		{"talking: the browser (silent here)", false, 0},
		{"held: music from the start", true, 1},
		{"held: music goes on", true, 161},
		{"held: the loop wraps", true, 71},
		{"resumed", false, 0},
	} {
		leg.SetHold(tc.hold)
		leg.deliver(make([]int16, call.FrameSamples)) // the browser's (silent) frame
		if _, err := leg.ReadAudio(ctx, frame); err != nil {
			t.Fatal(err)
		}
		if frame[0] != tc.first {
			t.Errorf("%s: first sample %d, want %d", tc.name, frame[0], tc.first)
		}
	}
}

// idleLeg is a leg on a session with no browser: nothing arrives.
func idleLeg(t *testing.T) *Leg {
	t.Helper()
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.NewSession("idle", func(Signal) {})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	leg, err := s.Attach("c")
	if err != nil {
		t.Fatal(err)
	}
	return leg
}

// TestLegPlayToFar: queued audio replaces the microphone frame by frame,
// padded with silence, then the microphone comes back; an overfull queue
// is refused and keeps what was queued.
func TestLegPlayToFar(t *testing.T) {
	leg := idleLeg(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tone := make([]int16, call.FrameSamples+10)
	for i := range tone {
		tone[i] = 1000
	}
	if err := leg.PlayToFar(tone); err != nil {
		t.Fatal(err)
	}
	if err := leg.PlayToFar(make([]int16, MaxPlayToFar)); !errors.Is(err, ErrPlayQueueFull) {
		t.Fatalf("overfull queue: %v, want ErrPlayQueueFull", err)
	}
	mic := make([]int16, call.FrameSamples)
	for i := range mic {
		mic[i] = 7
	}
	frame := make([]int16, call.FrameSamples)
	want := []struct{ first, last int16 }{{1000, 1000}, {1000, 0}, {7, 7}}
	for i, w := range want {
		leg.deliver(slices.Clone(mic))
		if _, err := leg.ReadAudio(ctx, frame); err != nil {
			t.Fatal(err)
		}
		if frame[0] != w.first || frame[call.FrameSamples-1] != w.last {
			t.Errorf("frame %d: first %d last %d, want %d %d", i, frame[0], frame[call.FrameSamples-1], w.first, w.last)
		}
	}
}
