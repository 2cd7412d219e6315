package service

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/voxdesk/voxdesk/media"
	"github.com/voxdesk/voxdesk/media/dtmf"
	"github.com/voxdesk/voxdesk/media/sdp"
	"github.com/voxdesk/voxdesk/sip"
)

// rtpOpener opens media.RTPSessions on ports of the configured range for
// the SIP front end.
type rtpOpener struct {
	ports   *media.PortRange
	ip      netip.Addr
	jitter  time.Duration
	learn   bool
	timeout time.Duration
	log     *slog.Logger
	metrics *metrics
	marks   *frameMarks // the voice tap's view of received vs synthesised frames
}

var _ sip.MediaOpener = (*rtpOpener)(nil)

func (o *rtpOpener) OpenMedia(callID string) (sip.Media, error) {
	p, err := o.ports.ListenPair(o.ip) // RTP on an even port, RTCP on the next
	if err != nil {
		return nil, err
	}
	ap := netip.AddrPortFrom(o.ip, uint16(p.Number()))
	m := &rtpMedia{o: o, port: p, addr: ap, callID: callID, log: o.log.With("call_id", callID), started: make(chan struct{})}
	o.marks.add(callID, m)
	return m, nil
}

// rtpMedia adapts a media.RTPSession to sip.Media. The session is
// created by the first Update, when the codec is known.
type rtpMedia struct {
	o      *rtpOpener
	port   *media.Port
	addr   netip.AddrPort
	callID string
	log    *slog.Logger

	mu      sync.Mutex
	sess    *media.RTPSession
	codec   uint8
	closed  bool
	started chan struct{}
}

var _ sip.Media = (*rtpMedia)(nil)

func (m *rtpMedia) LocalAddr() netip.AddrPort { return m.addr }

func (m *rtpMedia) Update(n sdp.Media) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return media.ErrClosed
	}
	if m.sess == nil {
		cfg := media.RTPConfig{
			PayloadType: n.Codec.PayloadType,
			Remote:      n.Remote,
			JitterDelay: m.o.jitter,
			LearnSource: m.o.learn,
			Timeout:     m.o.timeout,
			Logger:      m.log,
			RTCP:        m.port.RTCP,
		}
		if n.HasEvents {
			cfg.EventPayloadType = n.Events.PayloadType
		}
		s, err := media.NewRTPSession(m.port, cfg)
		if err != nil {
			return fmt.Errorf("service: rtp session: %w", err)
		}
		m.sess, m.codec = s, n.Codec.PayloadType
		close(m.started)
	} else {
		if n.Codec.PayloadType != m.codec {
			if err := m.sess.SetPayloadType(n.Codec.PayloadType); err != nil {
				return fmt.Errorf("service: codec change: %w", err)
			}
			m.codec = n.Codec.PayloadType
			m.log.Info("codec changed by re-INVITE", "codec", n.Codec.Name)
		}
		if n.Remote.Addr().IsValid() && !n.Remote.Addr().IsUnspecified() {
			m.sess.SetRemote(n.Remote)
		}
	}
	m.sess.Hold(!n.Direction.Sends())
	// A caller holding the call (sendonly, inactive) may send nothing.
	m.sess.PauseTimeout(n.Direction != sdp.SendRecv)
	return nil
}

func (m *rtpMedia) session() *media.RTPSession {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sess
}

func (m *rtpMedia) ReadAudio(ctx context.Context, dst []int16) (int, error) {
	s := m.session()
	if s == nil {
		return 0, media.ErrClosed
	}
	return s.ReadAudio(ctx, dst)
}

// Synthetic reports whether the last frame read was synthesised
// (media.Marker); before the session exists every frame is.
func (m *rtpMedia) Synthetic() bool {
	s := m.session()
	return s == nil || s.Synthetic()
}

func (m *rtpMedia) WriteAudio(ctx context.Context, frame []int16) error {
	s := m.session()
	if s == nil {
		return media.ErrClosed
	}
	return s.WriteAudio(ctx, frame)
}

// closedDigits is returned by Digits before the session exists.
var closedDigits = func() chan dtmf.Digit { c := make(chan dtmf.Digit); close(c); return c }()

func (m *rtpMedia) Digits() <-chan dtmf.Digit {
	s := m.session()
	if s == nil {
		return closedDigits
	}
	return s.Digits()
}

// Inactive is the session's RTP timeout; nil (never) before the answer.
func (m *rtpMedia) Inactive() <-chan struct{} {
	s := m.session()
	if s == nil {
		return nil
	}
	return s.Inactive()
}

func (m *rtpMedia) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	s := m.sess
	m.mu.Unlock()
	m.o.marks.remove(m.callID, m)
	if s == nil {
		return m.port.Close()
	}
	err := s.Close()
	if m.o.metrics != nil {
		m.o.metrics.addRTP(s.Stats())
	}
	return err
}
