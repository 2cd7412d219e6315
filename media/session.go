package media

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/voxdesk/voxdesk/media/dtmf"
)

// Conn is the UDP socket an RTPSession uses; *net.UDPConn and *Port
// satisfy it. The session owns it and closes it.
type Conn interface {
	ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error)
	WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error)
	SetReadDeadline(t time.Time) error
	LocalAddr() net.Addr
	Close() error
}

// Digit is a DTMF key press received as RFC 4733 telephone-events.
type Digit = dtmf.Digit

// RTPConfig configures an RTPSession. The zero value sends PCMU, accepts
// no telephone-events and waits for the peer's first packet to learn
// where to send.
type RTPConfig struct {
	// PayloadType we send: 0 (PCMU) or 8 (PCMA). Both are decoded on
	// receive whatever this says.
	PayloadType uint8
	// EventPayloadType is the negotiated telephone-event type (RFC
	// 4733), usually 101; 0 disables receiving and sending digits.
	EventPayloadType uint8
	// Remote is the peer's address from its SDP (c= address, m= port):
	// where we send, and the only source whose RTP is accepted until the
	// peer proves a move (see RTPSession). Zero: send nothing until the
	// first RTP packet arrives, and latch its source.
	Remote netip.AddrPort
	// LearnSource accepts a peer behind NAT, whose RTP does not come
	// from the address its SDP names: as long as no audio came from
	// Remote, a source sending SwitchSourceAfter consecutive in-sequence
	// audio packets of one SSRC is latched. Off by default: until the
	// caller has spoken from Remote, any address can do that.
	LearnSource bool
	// Timeout closes Inactive when no RTP from the peer has been
	// accepted for this long while the timeout is not paused (a peer on
	// hold sends nothing; see PauseTimeout). Zero: never.
	Timeout time.Duration
	// SSRC we send with; 0 picks a random one.
	SSRC uint32
	// JitterDelay is the playout delay of received audio; default 60 ms,
	// at most MaxJitterDelay.
	JitterDelay time.Duration
	// SendQueue is how many frames WriteAudio queues before blocking;
	// default 2 (40 ms).
	SendQueue int
	// SuppressSilence sends nothing while no frame is queued (the next
	// talkspurt gets the marker bit) instead of encoded silence.
	SuppressSilence bool
	// RTCP, if set, is the socket for RTCP (usually the RTP port + 1,
	// see PortRange.ListenPair): reports are sent to the peer's RTCP
	// source once seen, before that to RemoteRTCP, or the RTP remote
	// port + 1. The session owns and closes it.
	RTCP Conn
	// RemoteRTCP is the peer's RTCP address from SDP (a=rtcp, RFC 3605)
	// when it is not the RTP port + 1.
	RemoteRTCP netip.AddrPort
	// InbandDTMF detects DTMF tones in the received audio (Goertzel)
	// and delivers them on Digits like telephone-events; it is ignored
	// when EventPayloadType is set, so a gateway sending both is not
	// heard twice.
	InbandDTMF bool
	// Logger for session events; nothing is logged when nil. Give it
	// the call_id attribute.
	Logger *slog.Logger
}

// MaxJitterDelay is the largest RTPConfig.JitterDelay (the jitter
// buffer holds 512 ms).
const MaxJitterDelay = 300 * time.Millisecond

// ErrNoEvents is returned by SendDigit when no telephone-event payload
// type was negotiated.
var ErrNoEvents = errors.New("media: telephone-events not negotiated")

// Stats are an RTPSession's counters.
type Stats struct {
	PacketsIn, BytesIn   uint64 // RTP packets and payload bytes accepted
	PacketsOut, BytesOut uint64 // sent
	// Lost is the cumulative number of audio packets lost (RFC 3550
	// A.3: expected minus received), summed over audio SSRCs.
	Lost int64
	// Jitter is the interarrival jitter of received audio (RFC 3550 A.8).
	Jitter time.Duration
	// SendSkipped counts the 20 ms packets not sent because the shared
	// pacer stalled for more than 200 ms (an overloaded machine).
	SendSkipped uint64
	// Late packets arrived after their playout time and were dropped.
	Late uint64
	// Concealed frames were played out with nothing received.
	Concealed uint64
	// Ignored packets: from a stranger (counted in Strangers too),
	// unknown payload type, or not RTP.
	Ignored uint64
	// Strangers are packets dropped because they came from an address
	// other than the latched one (an injection or hijack attempt, or a
	// peer moving before it proved the move).
	Strangers uint64
	// SourceSwitches counts moves of the latched address.
	SourceSwitches uint64
	// SSRCChanges counts changes of the audio SSRC.
	SSRCChanges uint64
	// Latched is the peer address RTP is accepted from: the SDP
	// address, or where the peer moved.
	Latched netip.AddrPort

	// RTCP (zero unless RTPConfig.RTCP is set): compound packets sent
	// and received, and what the peer's receiver reports say about
	// our stream.
	RTCPIn, RTCPOut    uint64
	RemoteLost         int64
	RemoteFractionLost float64
	RemoteJitter       time.Duration
	RTT                time.Duration
}

// RTPSession sends and receives one call's audio over RTP
// (RFC 3550, https://www.rfc-editor.org/rfc/rfc3550).
//
// Sending: frames given to WriteAudio go out one per 20 ms, paced by a
// pacer shared by all sessions whose ticks are deadlines computed from
// its start on the monotonic clock (a late wake-up does not delay later
// packets; after a stall of up to 200 ms the missed packets go out at
// once, beyond that they are skipped), with consecutive sequence
// numbers, a timestamp advancing 160 per 20 ms of wall time, and the
// marker bit on the first packet and on the first after a pause (hold,
// suppressed silence). Packets go to the latched address.
//
// Source check (strict RTP, like FreeSWITCH's and rtpengine's): the
// session is latched from the start to the address the SDP names
// (RTPConfig.Remote), and RTP, telephone-events and RTCP from any other
// address are dropped (Stats.Strangers, logged at most once per
// strangerLogEvery), so an attacker spraying the port range neither
// receives the call's audio nor injects audio or digits. The latch moves
// (a NAT rebinding, an SBC fail-over; Symmetric RTP, RFC 4961) only after
// SwitchSourceAfter consecutive in-sequence audio packets from one new
// address carrying the SSRC of the audio received so far, which an
// off-path attacker does not know. Telephone-events may use an SSRC of
// their own (SIPp's DTMF pcaps do): they are accepted by address.
//
// Receiving: audio (PCMU or PCMA) is decoded into a jitter buffer that
// reorders, drops late packets and conceals loss; ReadAudio plays it out
// one frame per 20 ms. An audio SSRC change is accepted and restarts the
// jitter buffer. Telephone-events are decoded whatever their SSRC and
// each digit is delivered once on Digits.
type RTPSession struct {
	conn  Conn
	cfg   RTPConfig
	log   *slog.Logger
	start time.Time

	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
	digits    chan Digit

	// send side
	snd      *sender
	pacer    *pacer
	queue    chan *[FrameSamples]int16
	free     chan *[FrameSamples]int16
	digitReq chan digitRequest
	hold     atomic.Bool
	pt       atomic.Uint32 // payload type we send

	// inactivity watch (RTPConfig.Timeout)
	lastRecv     atomic.Int64 // monotonic ns since start of the last accepted RTP
	timeoutPause atomic.Bool
	inactive     chan struct{}
	watch        *time.Timer

	// receive side, guarded by mu
	mu          sync.Mutex
	remote      netip.AddrPort // SDP address
	latched     netip.AddrPort
	isLatched   bool
	cand        candidate // a new source proving itself
	strangerLog time.Time // last stranger warning
	strangerN   uint64    // strangers not yet logged
	jb          jitterBuffer
	audioAt     time.Duration // arrival of the last audio packet, since start
	synthetic   atomic.Bool   // the last frame ReadAudio returned was not received
	dec         dtmf.Decoder
	audioSSRC   uint32
	haveSSRC    bool
	seqBase     int64
	seqMax      int64
	received    int64
	lostPrev    int64
	jitter      float64
	lastTransit int32
	haveTransit bool
	stats       Stats
	rtcp        rtcpState

	// read side, used by the ReadAudio caller only
	readN     int64
	readTimer *time.Timer

	sent struct {
		packets, bytes atomic.Uint64
	}
	sendSkipped atomic.Uint64 // ticks the pacer skipped after stalls
}

type digitRequest struct {
	events []dtmf.Event
	done   chan struct{}
}

// NewRTPSession starts sending and receiving on conn, which it owns.
func NewRTPSession(conn Conn, cfg RTPConfig) (*RTPSession, error) {
	s, err := newSession(conn, cfg)
	if err != nil {
		return nil, err
	}
	s.snd = newSender(s)
	s.pacer = pickPacer()
	s.pacer.add(s.snd)
	if cfg.Timeout > 0 {
		s.watch = time.AfterFunc(time.Hour, s.checkInactive)
		s.watch.Reset(cfg.Timeout) // after the assignment checkInactive uses
	}
	s.wg.Add(1)
	go s.recvLoop()
	if cfg.RTCP != nil {
		s.wg.Add(1)
		go s.rtcpLoop()
	}
	return s, nil
}

// newSession builds a session without starting its goroutines.
func newSession(conn Conn, cfg RTPConfig) (*RTPSession, error) {
	if cfg.PayloadType != 0 && cfg.PayloadType != 8 {
		return nil, fmt.Errorf("media: payload type %d is not PCMU (0) or PCMA (8)", cfg.PayloadType)
	}
	if cfg.EventPayloadType > 127 || cfg.EventPayloadType == 8 {
		return nil, fmt.Errorf("media: bad telephone-event payload type %d", cfg.EventPayloadType)
	}
	if cfg.JitterDelay <= 0 {
		cfg.JitterDelay = 60 * time.Millisecond
	}
	if cfg.JitterDelay > MaxJitterDelay {
		return nil, fmt.Errorf("media: jitter delay %v above %v", cfg.JitterDelay, MaxJitterDelay)
	}
	if cfg.SendQueue <= 0 {
		cfg.SendQueue = 2
	}
	if cfg.SSRC == 0 {
		cfg.SSRC = randUint32() | 1
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &RTPSession{
		conn:      conn,
		cfg:       cfg,
		log:       log,
		start:     time.Now(),
		done:      make(chan struct{}),
		digits:    make(chan Digit, 32),
		queue:     make(chan *[FrameSamples]int16, cfg.SendQueue),
		free:      make(chan *[FrameSamples]int16, cfg.SendQueue),
		digitReq:  make(chan digitRequest),
		remote:    unmap(cfg.Remote),
		latched:   unmap(cfg.Remote),
		isLatched: usable(cfg.Remote),
		rtcp:      rtcpState{remote: unmap(cfg.RemoteRTCP)},
		readTimer: time.NewTimer(time.Hour),
		inactive:  make(chan struct{}),
	}
	s.readTimer.Stop()
	s.pt.Store(uint32(cfg.PayloadType))
	s.jb.delay = uint32(cfg.JitterDelay * SampleRate / time.Second)
	for range cfg.SendQueue {
		s.free <- new([FrameSamples]int16)
	}
	return s, nil
}

func randUint32() uint32 {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return binary.BigEndian.Uint32(b[:])
}

func unmap(a netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}

// usable reports whether a is an address packets can come from and go
// to (not zero, not an RFC 2543 0.0.0.0 hold address).
func usable(a netip.AddrPort) bool {
	return a.IsValid() && a.Port() != 0 && !a.Addr().IsUnspecified()
}

// LocalAddr is the session's UDP address.
func (s *RTPSession) LocalAddr() net.Addr { return s.conn.LocalAddr() }

// SSRC is the synchronisation source we send with.
func (s *RTPSession) SSRC() uint32 { return s.cfg.SSRC }

// Digits delivers received DTMF digits, each once. It is closed by Close.
func (s *RTPSession) Digits() <-chan Digit { return s.digits }

// SetRemote changes the peer's address (a re-INVITE moved it): RTP is
// sent to it and accepted from it only.
func (s *RTPSession) SetRemote(addr netip.AddrPort) {
	s.mu.Lock()
	s.remote = unmap(addr)
	s.latched, s.isLatched = s.remote, usable(s.remote)
	s.cand = candidate{}
	if s.rtcp.latched {
		s.rtcp.latched, s.rtcp.remote = false, netip.AddrPort{}
	}
	s.mu.Unlock()
}

// SetPayloadType switches the codec we send between PCMU (0) and PCMA
// (8), for a re-INVITE that changes it. Receiving decodes both anyway.
func (s *RTPSession) SetPayloadType(pt uint8) error {
	if pt != 0 && pt != 8 {
		return fmt.Errorf("media: payload type %d is not PCMU (0) or PCMA (8)", pt)
	}
	s.pt.Store(uint32(pt))
	return nil
}

// Hold pauses (true) or resumes (false) sending. Frames written while
// on hold are consumed at the normal pace and dropped, so a player is
// not blocked. The first packet after resuming has the marker bit.
func (s *RTPSession) Hold(on bool) { s.hold.Store(on) }

// PauseTimeout stops (true) or restarts (false) the inactivity watch of
// RTPConfig.Timeout: pause it while the peer is not expected to send
// (it put the call on hold with sendonly or inactive). Restarting gives
// the peer a whole Timeout again.
func (s *RTPSession) PauseTimeout(paused bool) {
	if !paused && s.timeoutPause.Load() {
		s.lastRecv.Store(int64(time.Since(s.start)))
	}
	s.timeoutPause.Store(paused)
}

// Inactive is closed once no RTP was accepted from the peer for
// RTPConfig.Timeout (outside pauses); never when Timeout is zero.
func (s *RTPSession) Inactive() <-chan struct{} { return s.inactive }

// checkInactive runs when the watch timer fires: it closes inactive
// or re-arms for the time left.
func (s *RTPSession) checkInactive() {
	select {
	case <-s.done:
		return
	default:
	}
	wait := s.cfg.Timeout
	if !s.timeoutPause.Load() {
		idle := time.Since(s.start) - time.Duration(s.lastRecv.Load())
		if idle >= s.cfg.Timeout {
			s.log.Debug("rtp timeout: nothing received from the peer", "timeout", s.cfg.Timeout, "idle", idle.Round(time.Millisecond))
			close(s.inactive)
			return
		}
		wait = s.cfg.Timeout - idle
	}
	s.watch.Reset(wait)
}

// Stats returns a snapshot of the counters.
func (s *RTPSession) Stats() Stats {
	s.mu.Lock()
	st := s.stats
	st.Lost = s.lostPrev
	if s.haveSSRC {
		st.Lost += (s.seqMax - s.seqBase + 1) - s.received
	}
	if st.Lost < 0 {
		st.Lost = 0
	}
	st.Jitter = time.Duration(s.jitter * float64(time.Second) / SampleRate)
	st.Late = s.jb.late
	st.Concealed = s.jb.concealed
	if s.isLatched {
		st.Latched = s.latched
	}
	st.RTCPIn, st.RTCPOut = s.rtcp.in, s.rtcp.out
	st.RemoteLost, st.RemoteFractionLost = s.rtcp.remoteLost, s.rtcp.remoteFrac
	st.RemoteJitter, st.RTT = s.rtcp.remoteJit, s.rtcp.rtt
	s.mu.Unlock()
	st.PacketsOut = s.sent.packets.Load()
	st.BytesOut = s.sent.bytes.Load()
	st.SendSkipped = s.sendSkipped.Load()
	return st
}

// WriteAudio queues one frame (at most FrameSamples; shorter frames are
// padded with silence) for sending. It blocks while SendQueue frames are
// waiting, so a loop writing frames runs at the 20 ms pace of the clock.
func (s *RTPSession) WriteAudio(ctx context.Context, frame []int16) error {
	if len(frame) > FrameSamples {
		return ErrFrameSize
	}
	select {
	case <-s.done:
		return ErrClosed
	default:
	}
	var buf *[FrameSamples]int16
	select {
	case buf = <-s.free:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return ErrClosed
	}
	n := copy(buf[:], frame)
	clear(buf[n:])
	select {
	case s.queue <- buf: // never blocks: there are as many slots as buffers
		return nil
	case <-s.done:
		return ErrClosed
	}
}

// SendDigit sends key as RFC 4733 telephone-events lasting duration,
// in place of audio, and returns once the last end packet is sent.
func (s *RTPSession) SendDigit(ctx context.Context, key rune, duration time.Duration) error {
	if s.cfg.EventPayloadType == 0 {
		return ErrNoEvents
	}
	select {
	case <-s.done:
		return ErrClosed
	default:
	}
	evs, err := dtmf.Sequence(key, duration, FrameDuration)
	if err != nil {
		return err
	}
	req := digitRequest{events: evs, done: make(chan struct{})}
	select {
	case s.digitReq <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return ErrClosed
	}
	select {
	case <-req.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return ErrClosed
	}
}

// maxReadLag is how far behind the playout clock a reader may be and
// still get every frame; beyond it, ReadAudio skips to the present.
const maxReadLag = 10 * FrameDuration

// ReadAudio waits for the next 20 ms playout instant and fills dst[:160]
// with received audio, concealed where packets were lost or late. dst
// must hold FrameSamples. A caller that falls more than 200 ms behind
// (it stopped reading) resumes at the present, not with the backlog,
// and with the playout delay behind the newest audio received.
// Call it from one goroutine at a time.
func (s *RTPSession) ReadAudio(ctx context.Context, dst []int16) (int, error) {
	if len(dst) < FrameSamples {
		return 0, io.ErrShortBuffer
	}
	select {
	case <-s.done:
		return 0, ErrClosed
	default:
	}
	if wait := s.nextPlayout(time.Since(s.start)); wait > 0 {
		s.readTimer.Reset(wait)
		select {
		case <-s.readTimer.C:
		case <-ctx.Done():
			s.readTimer.Stop()
			return 0, ctx.Err()
		case <-s.done:
			s.readTimer.Stop()
			return 0, ErrClosed
		}
	}
	s.popFrame(dst)
	return FrameSamples, nil
}

// nextPlayout returns how long after now (time since the session
// started) the reader's next 20 ms playout instant is. A reader more
// than maxReadLag behind (it stopped reading for a while: the call was
// playing a prompt, or ringing an agent) resumes at the present rather
// than with a backlog of stale frames; if the peer's audio kept coming
// meanwhile, playout rejoins it with the configured delay (see
// jitterBuffer.skip).
func (s *RTPSession) nextPlayout(now time.Duration) time.Duration {
	wait := time.Duration(s.readN+1)*FrameDuration - now
	if wait < -maxReadLag {
		skip := int64(-wait / FrameDuration)
		s.readN += skip
		s.mu.Lock()
		s.jb.skip(uint32(skip)*FrameSamples, now-s.audioAt <= maxReadLag)
		s.mu.Unlock()
	}
	return wait
}

// popFrame plays out the reader's next frame into dst[:FrameSamples].
func (s *RTPSession) popFrame(dst []int16) {
	s.readN++
	s.mu.Lock()
	s.synthetic.Store(s.jb.pop(dst[:FrameSamples]))
	s.mu.Unlock()
}

// Synthetic reports whether the frame the last ReadAudio returned was
// synthesised (loss concealment or silence fill) rather than received,
// so a consumer that must not take it for the caller's speech (the
// voiceprint tap) can skip it. See Marker.
func (s *RTPSession) Synthetic() bool { return s.synthetic.Load() }

// Close stops the session, closes its socket, waits for its goroutines
// and closes Digits. It is safe to call more than once.
func (s *RTPSession) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.done)
		if s.watch != nil {
			s.watch.Stop()
		}
		s.pacer.remove(s.snd)
		s.snd.finishDigit()
		s.sendReport(s.snd.ts0+uint32(s.snd.n)*FrameSamples, true) // RTCP BYE
		err = s.conn.Close()
		if s.cfg.RTCP != nil {
			if cerr := s.cfg.RTCP.Close(); cerr != nil && err == nil {
				err = cerr
			}
		}
		s.wg.Wait()
		close(s.digits)
		s.readTimer.Stop()
		st := s.Stats()
		s.log.Info("rtp session closed",
			"packets_in", st.PacketsIn, "packets_out", st.PacketsOut, "lost", st.Lost,
			"late", st.Late, "concealed", st.Concealed, "jitter", st.Jitter, "ignored", st.Ignored, "send_skipped", st.SendSkipped)
	})
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}
