package rtc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/media/g711"
)

// Session is one browser's PeerConnection. The browser makes the offer
// (its page owns the microphone); the session answers with one G.711 audio
// track. Audio flows between the browser and at most one attached Leg at a
// time; between calls the browser's audio is dropped and silence is sent.
//
// A Session ends when Close is called or when its PeerConnection fails or
// is closed by the browser; Done is closed then, and the attached Leg, if
// any, ends with call.CauseFailure. The owner of a Session must call Close
// once it is done with it, including after Done.
type Session struct {
	id   string
	e    *Engine
	log  *slog.Logger
	send func(Signal)
	pc   *webrtc.PeerConnection

	mu       sync.Mutex // guards the fields below
	answered bool       // an offer was answered
	closed   bool
	pending  []webrtc.ICECandidateInit // candidates that came before the offer
	codec    string
	track    *audioTrack
	failErr  error

	current   atomic.Pointer[Leg]
	connected chan struct{}
	connOnce  sync.Once
	done      chan struct{}
	doneOnce  sync.Once
	quit      chan struct{} // closed by Close: stops the writer
	digitReq  chan digitRequest
	wg        sync.WaitGroup

	packetsIn, packetsOut atomic.Uint64
}

// Stats counts a session's RTP packets.
type Stats struct {
	PacketsReceived uint64 // audio and telephone-event packets from the browser
	PacketsSent     uint64 // audio packets to the browser
}

// NewSession starts a PeerConnection for one browser. send is called with
// each Signal for the browser (the answer, then local ICE candidates); it
// may be called from any goroutine and must not block.
func (e *Engine) NewSession(id string, send func(Signal)) (*Session, error) {
	var servers []webrtc.ICEServer
	for _, s := range e.ICEServers("voxdesk-" + id) {
		servers = append(servers, webrtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
	}
	conf := webrtc.Configuration{ICEServers: servers}
	if e.cfg.RelayOnly {
		conf.ICETransportPolicy = webrtc.ICETransportPolicyRelay
	}
	pc, err := e.api.NewPeerConnection(conf)
	if err != nil {
		return nil, fmt.Errorf("rtc: new peer connection: %w", err)
	}
	s := &Session{
		id: id, e: e, send: send, pc: pc,
		log:       e.log.With("session", id),
		connected: make(chan struct{}),
		done:      make(chan struct{}),
		quit:      make(chan struct{}),
		digitReq:  make(chan digitRequest),
	}
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		init := c.ToJSON()
		s.send(Signal{Type: SignalCandidate, Candidate: &Candidate{
			Candidate: init.Candidate, SDPMid: init.SDPMid, SDPMLineIndex: init.SDPMLineIndex, UsernameFragment: init.UsernameFragment,
		}})
	})
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		s.log.Debug("rtc: connection state", "state", st.String())
		switch st {
		case webrtc.PeerConnectionStateConnected:
			s.connOnce.Do(func() { close(s.connected) })
		case webrtc.PeerConnectionStateFailed:
			s.fail(errors.New("rtc: ICE/DTLS connection failed"))
		case webrtc.PeerConnectionStateClosed:
			s.fail(ErrClosed)
		}
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if tr.Kind() != webrtc.RTPCodecTypeAudio {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.closed {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.readLoop(tr)
		}()
	})
	return s, nil
}

// ID returns the id the session was created with.
func (s *Session) ID() string { return s.id }

// Codec returns the negotiated codec ("PCMU" or "PCMA"), empty before the
// offer is answered.
func (s *Session) Codec() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.codec
}

// Connected is closed once ICE and DTLS are up and media can flow.
func (s *Session) Connected() <-chan struct{} { return s.connected }

// Done is closed when the session has ended.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err says why the session ended (nil while it is up).
func (s *Session) Err() error {
	select {
	case <-s.done:
	default:
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failErr
}

// Stats returns the session's packet counts.
func (s *Session) Stats() Stats {
	return Stats{PacketsReceived: s.packetsIn.Load(), PacketsSent: s.packetsOut.Load()}
}

// fail ends the session without closing the PeerConnection (Close does
// that, called by the owner): it may run on one of pion's goroutines.
func (s *Session) fail(err error) {
	s.doneOnce.Do(func() {
		s.mu.Lock()
		s.failErr = err
		s.mu.Unlock()
		close(s.done)
		if l := s.current.Load(); l != nil {
			l.end(call.CauseFailure)
		}
		s.log.Info("rtc: session ended", "reason", err.Error())
	})
}

// Close ends the session now, hangs up its leg (call.CauseFailure) and
// waits for its goroutines. It is safe to call more than once.
func (s *Session) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.quit)
	s.mu.Unlock()
	s.fail(ErrClosed)
	err := s.pc.Close()
	s.wg.Wait()
	if err != nil {
		return fmt.Errorf("rtc: close %s: %w", s.id, err)
	}
	return nil
}

// HandleSignal applies one Signal from the browser: the offer (answered
// through send) or a trickled ICE candidate. Candidates may come before
// the offer; they are kept until it arrives.
func (s *Session) HandleSignal(sig Signal) error {
	if err := sig.Validate(); err != nil {
		return err
	}
	switch sig.Type {
	case SignalOffer:
		return s.handleOffer(sig.SDP)
	default:
		return s.handleCandidate(*sig.Candidate)
	}
}

func (s *Session) handleCandidate(c Candidate) error {
	init := webrtc.ICECandidateInit{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex, UsernameFragment: c.UsernameFragment}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if !s.answered {
		if len(s.pending) >= 64 {
			s.mu.Unlock()
			return fmt.Errorf("%w: too many candidates before the offer", ErrBadSignal)
		}
		s.pending = append(s.pending, init)
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	if c.Candidate == "" {
		return nil // end of candidates
	}
	if err := s.pc.AddICECandidate(init); err != nil {
		return fmt.Errorf("%w: candidate: %v", ErrBadSignal, err)
	}
	return nil
}

func (s *Session) handleOffer(offer string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.answered {
		return ErrRenegotiation
	}
	codec, err := chooseCodec(offer, s.e.cfg.Codecs)
	if err != nil {
		return err
	}
	if err := s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return fmt.Errorf("%w: offer: %v", ErrBadSignal, err)
	}
	params := codecByName(codec)
	track := newAudioTrack(params.RTPCodecCapability, "audio", "voxdesk-"+s.id)
	// The answer lists the codecs in the engine's order (Config.Codecs),
	// with the offer's payload types, so the browser sends our preferred
	// codec.
	sender, err := s.pc.AddTrack(track)
	if err != nil {
		return fmt.Errorf("rtc: add track: %w", err)
	}
	answer, err := s.pc.CreateAnswer(nil)
	if err != nil {
		return fmt.Errorf("%w: answer: %v", ErrBadSignal, err)
	}
	if err := s.pc.SetLocalDescription(answer); err != nil {
		return fmt.Errorf("rtc: set local description: %w", err)
	}
	s.answered, s.codec, s.track = true, codec, track
	for _, c := range s.pending {
		if c.Candidate == "" {
			continue
		}
		if err := s.pc.AddICECandidate(c); err != nil {
			s.log.Warn("rtc: early candidate refused", "err", err)
		}
	}
	s.pending = nil
	s.send(Signal{Type: SignalAnswer, SDP: s.pc.LocalDescription().SDP})

	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		drainRTCP(sender)
	}()
	go func() {
		defer s.wg.Done()
		s.writeLoop(track, codec)
	}()
	s.log.Info("rtc: offer answered", "codec", codec)
	return nil
}

// drainRTCP reads the sender's RTCP so pion's interceptors run, until the
// sender stops.
func drainRTCP(sender *webrtc.RTPSender) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := sender.Read(buf); err != nil {
			return
		}
	}
}

// readLoop decodes the browser's audio into 20 ms frames for the attached
// leg, and its telephone-events into digits.
func (s *Session) readLoop(tr *webrtc.TrackRemote) {
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	var fr framer
	dtmfPT := -1
	for _, c := range s.pc.GetTransceivers() {
		if r := c.Receiver(); r != nil && r.Track() == tr {
			for _, p := range r.GetParameters().Codecs {
				if p.MimeType == mimeTelephoneEvent {
					dtmfPT = int(p.PayloadType)
				}
			}
		}
	}
	var digits digitDecoder
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			if errors.Is(err, io.EOF) || s.isDone() {
				return
			}
			continue // e.g. an unknown payload type: skip the packet
		}
		if err := pkt.Unmarshal(buf[:n]); err != nil {
			continue
		}
		s.packetsIn.Add(1)
		leg := s.current.Load()
		switch {
		case pkt.PayloadType == ptPCMU || pkt.PayloadType == ptPCMA:
			fr.push(pkt.Payload, pkt.PayloadType == ptPCMA, func(frame []int16) {
				if leg != nil {
					leg.deliver(frame)
				}
			})
		case int(pkt.PayloadType) == dtmfPT:
			for _, d := range digits.decode(pkt.SSRC, pkt.Timestamp, pkt.Payload) {
				if leg != nil {
					leg.deliverDigit(d)
				}
			}
		}
	}
}

func (s *Session) isDone() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// writeLoop sends one 20 ms packet per tick: the attached leg's next frame,
// or silence, so the browser's jitter buffer and the NAT bindings stay
// warm. While a key is sent (Leg.SendDigit) its telephone-events replace
// the audio, one per tick (RFC 4733 section 2.5.1), and the leg's frames
// are dropped at the same pace.
func (s *Session) writeLoop(track *audioTrack, codec string) {
	tick := time.NewTicker(call.FrameDuration)
	defer tick.Stop()
	alaw := codec == codecPCMA
	silence := make([]int16, call.FrameSamples)
	payload := make([]byte, call.FrameSamples)
	hdr := rtp.Header{Version: 2}
	var ev eventSender
	defer ev.finish()
	clock, start := uint32(0), true // media clock (samples); start: next audio packet starts a talkspurt
	for {
		select {
		case <-s.quit:
			return
		case <-s.done:
			return
		case <-tick.C:
		}
		frame := silence
		if l := s.current.Load(); l != nil {
			if f, ok := l.next(); ok {
				frame = f
			}
		}
		if ev.req == nil {
			select {
			case req := <-s.digitReq:
				ev = eventSender{req: &req, ts: clock}
			default:
			}
		}
		body, event := payload, ev.req != nil
		if event {
			body, hdr.Marker = ev.packet(payload[:0]), ev.n == 0
			hdr.Timestamp = ev.ts
		} else {
			if alaw {
				g711.EncodeAlaw(payload, frame)
			} else {
				g711.EncodeUlaw(payload, frame)
			}
			hdr.Marker, hdr.Timestamp = start, clock
			start = false
		}
		err := track.write(&hdr, body, event)
		if event {
			ev.advance()
		}
		if err != nil {
			if errors.Is(err, io.ErrClosedPipe) {
				return
			}
			s.log.Debug("rtc: write", "err", err)
		} else {
			s.packetsOut.Add(1)
		}
		hdr.SequenceNumber++
		clock += call.FrameSamples
	}
}

// Attach starts a call leg over the session. Only one leg is attached at a
// time: ErrBusy until the previous one has ended.
func (s *Session) Attach(id string) (*Leg, error) {
	if s.isDone() {
		return nil, ErrClosed
	}
	l := newLeg(s, id)
	if !s.current.CompareAndSwap(nil, l) {
		return nil, ErrBusy
	}
	if s.isDone() { // lost a race with fail
		l.end(call.CauseFailure)
	}
	return l, nil
}

// WaitConnected waits until media can flow, the session ends or ctx is
// done.
func (s *Session) WaitConnected(ctx context.Context) error {
	select {
	case <-s.connected:
		return nil
	case <-s.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// framer cuts decoded G.711 payloads of any packet size into 20 ms frames.
type framer struct {
	buf []int16
	dec [call.FrameSamples * 4]int16
}

func (f *framer) push(payload []byte, alaw bool, emit func([]int16)) {
	for len(payload) > 0 {
		chunk := payload[:min(len(payload), len(f.dec))]
		payload = payload[len(chunk):]
		var n int
		if alaw {
			n = g711.DecodeAlaw(f.dec[:], chunk)
		} else {
			n = g711.DecodeUlaw(f.dec[:], chunk)
		}
		f.buf = append(f.buf, f.dec[:n]...)
	}
	for len(f.buf) >= call.FrameSamples {
		frame := make([]int16, call.FrameSamples)
		copy(frame, f.buf)
		emit(frame)
		f.buf = append(f.buf[:0], f.buf[call.FrameSamples:]...)
	}
}
