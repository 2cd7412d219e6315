package rtc

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Signal is one signalling message between the browser and a Session, in
// the browser's own JSON shapes: {"type":"offer","sdp":"v=0..."} for
// RTCSessionDescription and {"type":"candidate","candidate":{...}} for a
// trickled RTCIceCandidateInit (RFC 8838). A candidate message whose
// candidate string is empty marks the end of candidates.
type Signal struct {
	Type      string     `json:"type"` // "offer", "answer" or "candidate"
	SDP       string     `json:"sdp,omitempty"`
	Candidate *Candidate `json:"candidate,omitempty"`
}

// Candidate is the browser's RTCIceCandidateInit.
type Candidate struct {
	Candidate        string  `json:"candidate"`
	SDPMid           *string `json:"sdpMid,omitempty"`
	SDPMLineIndex    *uint16 `json:"sdpMLineIndex,omitempty"`
	UsernameFragment *string `json:"usernameFragment,omitempty"`
}

// Signal types.
const (
	SignalOffer     = "offer"
	SignalAnswer    = "answer"
	SignalCandidate = "candidate"
)

// Limits on what a browser may send; real offers are a few kilobytes.
const (
	MaxSDPBytes       = 32 << 10
	MaxCandidateBytes = 1 << 10
)

// ErrBadSignal is wrapped by every error about a malformed Signal.
var ErrBadSignal = errors.New("rtc: bad signal")

// Validate checks the shape of a signal received from a browser.
func (s *Signal) Validate() error {
	switch s.Type {
	case SignalOffer:
		if s.SDP == "" {
			return fmt.Errorf("%w: offer without sdp", ErrBadSignal)
		}
		if len(s.SDP) > MaxSDPBytes {
			return fmt.Errorf("%w: sdp of %d bytes exceeds %d", ErrBadSignal, len(s.SDP), MaxSDPBytes)
		}
		if s.Candidate != nil {
			return fmt.Errorf("%w: offer with a candidate", ErrBadSignal)
		}
	case SignalCandidate:
		if s.Candidate == nil {
			return fmt.Errorf("%w: candidate message without candidate", ErrBadSignal)
		}
		if len(s.Candidate.Candidate) > MaxCandidateBytes {
			return fmt.Errorf("%w: candidate of %d bytes exceeds %d", ErrBadSignal, len(s.Candidate.Candidate), MaxCandidateBytes)
		}
		if s.SDP != "" {
			return fmt.Errorf("%w: candidate message with sdp", ErrBadSignal)
		}
	case "":
		return fmt.Errorf("%w: missing type", ErrBadSignal)
	default:
		return fmt.Errorf("%w: type %q (want offer or candidate)", ErrBadSignal, s.Type)
	}
	return nil
}

// ParseSignal decodes and validates one JSON signal from a browser.
func ParseSignal(b []byte) (Signal, error) {
	var s Signal
	if len(b) > MaxSDPBytes+4096 {
		return s, fmt.Errorf("%w: message of %d bytes is too large", ErrBadSignal, len(b))
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return Signal{}, fmt.Errorf("%w: %v", ErrBadSignal, err)
	}
	if err := s.Validate(); err != nil {
		return Signal{}, err
	}
	return s, nil
}
