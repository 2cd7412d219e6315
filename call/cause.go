package call

import (
	"errors"
	"fmt"
)

// ErrHangup is returned by Leg methods once the leg has ended.
var ErrHangup = errors.New("call: leg hung up")

// Cause says why a leg ended or was refused. Front ends map it to their
// protocol (a SIP status code, a WebRTC close reason).
type Cause int

// Causes, after the ITU-T Q.850 names telephony people know.
const (
	CauseNone          Cause = iota // the leg is up
	CauseNormal                     // normal clearing (BYE)
	CauseBusy                       // user busy (486)
	CauseNoAnswer                   // no answer (480/408)
	CauseRejected                   // call rejected (403/603)
	CauseUnavailable                // service unavailable, overload or draining (503)
	CauseCancelled                  // caller gave up before answer (487)
	CauseNotAcceptable              // no common media (488)
	CauseFailure                    // internal failure (500)
	CauseTimeout                    // media or signalling timeout
	CauseTransferred                // left us on a transfer
)

var causeNames = [...]string{
	CauseNone:          "none",
	CauseNormal:        "normal",
	CauseBusy:          "busy",
	CauseNoAnswer:      "no-answer",
	CauseRejected:      "rejected",
	CauseUnavailable:   "unavailable",
	CauseCancelled:     "cancelled",
	CauseNotAcceptable: "not-acceptable",
	CauseFailure:       "failure",
	CauseTimeout:       "timeout",
	CauseTransferred:   "transferred",
}

func (c Cause) String() string {
	if c >= 0 && int(c) < len(causeNames) {
		return causeNames[c]
	}
	return fmt.Sprintf("cause(%d)", int(c))
}

// RejectError is returned by a Handler that refuses a call before it is
// answered.
type RejectError struct {
	Cause  Cause
	Reason string // human text, sent as the SIP reason phrase
	Err    error  // underlying error, if any
}

func (e *RejectError) Error() string {
	s := "call: rejected (" + e.Cause.String() + ")"
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *RejectError) Unwrap() error { return e.Err }

// Reject returns a *RejectError with the cause and reason.
func Reject(cause Cause, reason string) error { return &RejectError{Cause: cause, Reason: reason} }
