// Package sdp does the SDP offer/answer exchange (RFC 3264,
// https://www.rfc-editor.org/rfc/rfc3264) for one G.711 audio stream, on
// top of github.com/pion/sdp/v3 for the syntax (RFC 8866).
//
// Parse reduces a description to what a voice call needs (Session);
// Answer picks a codec by our preference and builds the answer; Offer
// builds an offer for an outbound leg and Accept reads the answer to it.
// Errors carry the SIP status that should end the transaction:
// malformed SDP is a *ParseError (400), no usable audio ErrNoCommonCodec
// or ErrNoAudio (488); see StatusCode.
package sdp

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Codec is an RTP payload format for audio.
type Codec struct {
	PayloadType uint8
	Name        string // encoding name as in a=rtpmap, e.g. "PCMU"
	ClockRate   int
}

// Static payload types (RFC 3551 section 6) and the customary dynamic
// one for telephone-events (RFC 4733).
var (
	PCMU           = Codec{PayloadType: 0, Name: "PCMU", ClockRate: 8000}
	PCMA           = Codec{PayloadType: 8, Name: "PCMA", ClockRate: 8000}
	TelephoneEvent = Codec{PayloadType: 101, Name: "telephone-event", ClockRate: 8000}
)

// DefaultCodecs is the preference order used when a Local has none.
var DefaultCodecs = []Codec{PCMU, PCMA}

func (c Codec) String() string { return fmt.Sprintf("%s/%d (%d)", c.Name, c.ClockRate, c.PayloadType) }

func (c Codec) same(o Codec) bool {
	return strings.EqualFold(c.Name, o.Name) && c.ClockRate == o.ClockRate
}

// Direction is a media stream's direction attribute (RFC 3264 section
// 5.1), seen from the side that wrote the description.
type Direction uint8

// Directions. The zero value is SendRecv, the default when absent.
const (
	SendRecv Direction = iota
	SendOnly
	RecvOnly
	Inactive
)

func (d Direction) String() string {
	switch d {
	case SendRecv:
		return "sendrecv"
	case SendOnly:
		return "sendonly"
	case RecvOnly:
		return "recvonly"
	case Inactive:
		return "inactive"
	}
	return fmt.Sprintf("Direction(%d)", uint8(d))
}

// Sends reports whether the side with this direction sends media.
func (d Direction) Sends() bool { return d == SendRecv || d == SendOnly }

// Receives reports whether the side with this direction receives media.
func (d Direction) Receives() bool { return d == SendRecv || d == RecvOnly }

func direction(send, recv bool) Direction {
	switch {
	case send && recv:
		return SendRecv
	case send:
		return SendOnly
	case recv:
		return RecvOnly
	}
	return Inactive
}

// Reply is the direction an answerer that is willing to send and receive
// uses for an offer with direction d (RFC 3264 section 6.1): sendonly is
// answered recvonly, recvonly sendonly, inactive inactive.
func (d Direction) Reply() Direction { return direction(d.Receives(), d.Sends()) }

// Errors ending an offer/answer exchange.
var (
	// ErrNoCommonCodec: the offer has no audio codec we support (488).
	ErrNoCommonCodec = &StatusError{Status: 488, Reason: "no common codec"}
	// ErrNoAudio: the offer has no usable audio stream, for example only
	// video, a disabled (port 0) audio stream or a secure profile (488).
	ErrNoAudio = &StatusError{Status: 488, Reason: "no usable audio stream"}
	// ErrMalformed is wrapped by every *ParseError.
	ErrMalformed = errors.New("sdp: malformed")
)

// StatusError is an offer/answer failure with the SIP status to reply.
type StatusError struct {
	Status int
	Reason string
}

func (e *StatusError) Error() string { return "sdp: " + e.Reason }

// SIPStatus returns the SIP response status for e.
func (e *StatusError) SIPStatus() int { return e.Status }

// ParseError reports malformed SDP; it maps to SIP 400 with Reason.
type ParseError struct {
	Reason string
	Err    error // underlying syntax error, if any
}

func (e *ParseError) Error() string {
	if e.Err != nil {
		return "sdp: malformed: " + e.Reason + ": " + e.Err.Error()
	}
	return "sdp: malformed: " + e.Reason
}

// Unwrap returns both ErrMalformed and the underlying error.
func (e *ParseError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrMalformed, e.Err}
	}
	return []error{ErrMalformed}
}

// SIPStatus is 400 Bad Request.
func (e *ParseError) SIPStatus() int { return 400 }

// StatusCode maps an error from this package to a SIP status: 400 for
// malformed SDP, 488 for no acceptable media, 500 for anything else.
func StatusCode(err error) int {
	var s interface{ SIPStatus() int }
	if errors.As(err, &s) {
		return s.SIPStatus()
	}
	return 500
}

// DefaultPtime is the packet time we send and ask for.
const DefaultPtime = 20 * time.Millisecond
