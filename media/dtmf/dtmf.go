// Package dtmf handles DTMF digits: RFC 4733 telephone-events carried in
// RTP (decoding with retransmission handling, and the packet sequence a
// sender emits) and, in goertzel.go, in-band tone detection.
//
// RFC 4733: https://www.rfc-editor.org/rfc/rfc4733
package dtmf

import (
	"errors"
	"fmt"
	"time"
)

// ClockRate is the RTP clock rate of telephone-events negotiated with
// 8 kHz G.711 audio (RFC 4733 section 2.3.2: same as the audio).
const ClockRate = 8000

// Digit is one key press, reported once.
type Digit struct {
	Key      rune          // '0'-'9', '*', '#', 'A'-'D'
	Duration time.Duration // from the event's duration field
}

// ErrShortPayload reports a telephone-event payload shorter than 4 bytes.
var ErrShortPayload = errors.New("dtmf: telephone-event payload shorter than 4 bytes")

// ErrUnknownKey reports a key that has no DTMF event code.
var ErrUnknownKey = errors.New("dtmf: not a DTMF key")

// Event is the 4-byte telephone-event payload
// (RFC 4733 section 2.3, https://www.rfc-editor.org/rfc/rfc4733#section-2.3).
type Event struct {
	Code     uint8  // event code; 0-15 are DTMF (section 3.2)
	End      bool   // E bit: last packet(s) of the event
	Volume   uint8  // 0-63, power level in -dBm0
	Duration uint16 // in RTP timestamp units since the event's timestamp
}

// ParseEvent decodes a telephone-event payload. Extra bytes (RFC 4733
// allows several events with redundancy, section 2.5.1.5) are ignored: the
// first event is the current one.
func ParseEvent(b []byte) (Event, error) {
	if len(b) < 4 {
		return Event{}, ErrShortPayload
	}
	return Event{
		Code:     b[0],
		End:      b[1]&0x80 != 0,
		Volume:   b[1] & 0x3F,
		Duration: uint16(b[2])<<8 | uint16(b[3]),
	}, nil
}

// AppendTo appends the 4-byte wire form of e to b.
func (e Event) AppendTo(b []byte) []byte {
	flags := e.Volume & 0x3F
	if e.End {
		flags |= 0x80
	}
	return append(b, e.Code, flags, byte(e.Duration>>8), byte(e.Duration))
}

// KeyToCode maps a key to its event code (RFC 4733 section 3.2 table 1).
func KeyToCode(key rune) (uint8, error) {
	switch {
	case key >= '0' && key <= '9':
		return uint8(key - '0'), nil
	case key == '*':
		return 10, nil
	case key == '#':
		return 11, nil
	case key >= 'A' && key <= 'D':
		return uint8(key-'A') + 12, nil
	case key >= 'a' && key <= 'd':
		return uint8(key-'a') + 12, nil
	}
	return 0, fmt.Errorf("%w: %q", ErrUnknownKey, key)
}

// CodeToKey maps a DTMF event code to its key; ok is false for codes
// outside 0-15 (flash, fax tones and others).
func CodeToKey(code uint8) (key rune, ok bool) {
	switch {
	case code <= 9:
		return rune('0' + code), true
	case code == 10:
		return '*', true
	case code == 11:
		return '#', true
	case code <= 15:
		return rune('A' + code - 12), true
	}
	return 0, false
}

func samplesToDuration(n uint32) time.Duration {
	return time.Duration(n) * time.Second / ClockRate
}
