package sip

import (
	"context"
	"net/netip"

	"github.com/voxdesk/voxdesk/media/dtmf"
	"github.com/voxdesk/voxdesk/media/sdp"
)

// Media is the RTP side of one SIP leg, as the leg drives it. service
// implements it on media.RTPSession.
type Media interface {
	// LocalAddr is where we receive RTP; it goes into our SDP.
	LocalAddr() netip.AddrPort
	// Update applies a negotiation: the first one starts the stream,
	// later ones (re-INVITEs) change the remote address or direction.
	// When m.Direction does not send, audio written is dropped (hold).
	Update(m sdp.Media) error
	ReadAudio(ctx context.Context, dst []int16) (int, error)
	WriteAudio(ctx context.Context, frame []int16) error
	// Digits delivers RFC 4733 key presses, each once.
	Digits() <-chan dtmf.Digit
	// Inactive is closed when no RTP came from the far end for the
	// media timeout (outside hold); the leg then hangs up with
	// call.CauseTimeout. A nil channel means no timeout.
	Inactive() <-chan struct{}
	// Close stops the stream, releases the port and unblocks readers
	// and writers.
	Close() error
}

// MediaOpener opens the RTP session of a new call. An error (typically
// an exhausted port range) refuses the call with 503.
type MediaOpener interface {
	OpenMedia(callID string) (Media, error)
}

// MediaOpenerFunc adapts a function to MediaOpener.
type MediaOpenerFunc func(callID string) (Media, error)

// OpenMedia calls f.
func (f MediaOpenerFunc) OpenMedia(callID string) (Media, error) { return f(callID) }
