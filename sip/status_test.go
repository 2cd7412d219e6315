package sip

import (
	"testing"

	"github.com/voxdesk/voxdesk/call"
)

// TestStatusTable pins the mapping between hang-up causes and SIP
// statuses, both ways.
func TestStatusTable(t *testing.T) {
	sent := []struct {
		name   string
		cause  call.Cause
		status int
	}{
		{"busy", call.CauseBusy, 486},
		{"no answer", call.CauseNoAnswer, 480},
		{"rejected", call.CauseRejected, 603},
		{"unavailable: overload, draining, no RTP port", call.CauseUnavailable, 503},
		{"cancelled", call.CauseCancelled, 487},
		{"no common codec", call.CauseNotAcceptable, 488},
		{"internal failure", call.CauseFailure, 500},
		{"timeout", call.CauseTimeout, 408},
		{"transferred", call.CauseTransferred, 302},
		{"handler returned without a reason", call.CauseNormal, 480},
		{"unknown cause", call.Cause(99), 500},
	}
	for _, tc := range sent {
		t.Run("send/"+tc.name, func(t *testing.T) {
			if got, _ := StatusForCause(tc.cause); got != tc.status {
				t.Errorf("StatusForCause(%v) = %d, want %d", tc.cause, got, tc.status)
			}
		})
	}
	received := []struct {
		name   string
		status int
		cause  call.Cause
	}{
		{"ok", 200, call.CauseNone},
		{"busy here", 486, call.CauseBusy},
		{"busy everywhere", 600, call.CauseBusy},
		{"temporarily unavailable", 480, call.CauseNoAnswer},
		{"forbidden", 403, call.CauseRejected},
		{"not found", 404, call.CauseRejected},
		{"decline", 603, call.CauseRejected},
		{"service unavailable", 503, call.CauseUnavailable},
		{"request terminated", 487, call.CauseCancelled},
		{"not acceptable here", 488, call.CauseNotAcceptable},
		{"not acceptable", 606, call.CauseNotAcceptable},
		{"server error", 500, call.CauseFailure},
		{"unlisted 5xx", 580, call.CauseFailure},
		{"request timeout", 408, call.CauseTimeout},
		{"unlisted 4xx", 420, call.CauseRejected},
	}
	for _, tc := range received {
		t.Run("receive/"+tc.name, func(t *testing.T) {
			if got := CauseForStatus(tc.status); got != tc.cause {
				t.Errorf("CauseForStatus(%d) = %v, want %v", tc.status, got, tc.cause)
			}
		})
	}
	// Every cause we send maps back to itself.
	for c := call.CauseBusy; c <= call.CauseTransferred; c++ {
		st, _ := StatusForCause(c)
		if c == call.CauseTransferred {
			continue // 302 is not a failure a far end sends us
		}
		if back := CauseForStatus(st); back != c {
			t.Errorf("cause %v -> %d -> %v", c, st, back)
		}
	}
}
