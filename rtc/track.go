package rtc

import (
	"strings"
	"sync"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// audioTrack is the session's outgoing audio: G.711 frames and, in their
// place while a key is sent, RFC 4733 telephone-events on the same SSRC
// (section 2.1). pion's TrackLocalStaticRTP stamps every packet with the
// codec's payload type, so it cannot carry the events.
type audioTrack struct {
	codec webrtc.RTPCodecCapability
	id    string
	sid   string

	mu      sync.RWMutex
	bound   bool
	ssrc    uint32
	pt      uint8
	eventPT uint8 // 0: the browser did not negotiate telephone-event
	out     webrtc.TrackLocalWriter
}

var _ webrtc.TrackLocal = (*audioTrack)(nil)

func newAudioTrack(codec webrtc.RTPCodecCapability, id, streamID string) *audioTrack {
	return &audioTrack{codec: codec, id: id, sid: streamID}
}

// Bind takes the negotiated payload types of our codec and of
// telephone-event.
func (t *audioTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var codec *webrtc.RTPCodecParameters
	var eventPT uint8
	for _, c := range ctx.CodecParameters() {
		switch {
		case strings.EqualFold(c.MimeType, t.codec.MimeType) && c.ClockRate == t.codec.ClockRate && codec == nil:
			codec = &c
		case strings.EqualFold(c.MimeType, mimeTelephoneEvent) && c.ClockRate == t.codec.ClockRate:
			eventPT = uint8(c.PayloadType)
		}
	}
	if codec == nil {
		return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
	}
	t.bound, t.ssrc, t.pt, t.eventPT, t.out = true, uint32(ctx.SSRC()), uint8(codec.PayloadType), eventPT, ctx.WriteStream()
	return *codec, nil
}

func (t *audioTrack) Unbind(webrtc.TrackLocalContext) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.bound, t.out = false, nil
	return nil
}

func (t *audioTrack) ID() string                { return t.id }
func (t *audioTrack) RID() string               { return "" }
func (t *audioTrack) StreamID() string          { return t.sid }
func (t *audioTrack) Kind() webrtc.RTPCodecType { return webrtc.RTPCodecTypeAudio }

// eventType returns the negotiated telephone-event payload type, 0 when
// there is none (or the track is not bound yet).
func (t *audioTrack) eventType() uint8 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.eventPT
}

// write sends one packet: audio with the codec's payload type, or a
// telephone-event with the event's. Before Bind it drops the packet.
func (t *audioTrack) write(h *rtp.Header, payload []byte, event bool) error {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if !t.bound {
		return nil
	}
	h.SSRC, h.PayloadType = t.ssrc, t.pt
	if event {
		h.PayloadType = t.eventPT
	}
	_, err := t.out.WriteRTP(h, payload)
	return err
}
