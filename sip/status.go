package sip

import "github.com/voxdesk/voxdesk/call"

// statusTable is the one mapping between hang-up causes and SIP final
// status codes. The first row for a cause is the status we send; every row
// is recognised when a far end sends it.
var statusTable = []struct {
	cause  call.Cause
	status int
	reason string
}{
	{call.CauseBusy, 486, "Busy Here"},
	{call.CauseNoAnswer, 480, "Temporarily Unavailable"},
	{call.CauseRejected, 603, "Decline"},
	{call.CauseUnavailable, 503, "Service Unavailable"},
	{call.CauseCancelled, 487, "Request Terminated"},
	{call.CauseNotAcceptable, 488, "Not Acceptable Here"},
	{call.CauseFailure, 500, "Server Internal Error"},
	{call.CauseTimeout, 408, "Request Timeout"},
	{call.CauseTransferred, 302, "Moved Temporarily"},
	// A handler that returns before answering without a reason.
	{call.CauseNormal, 480, "Temporarily Unavailable"},
	{call.CauseNone, 480, "Temporarily Unavailable"},
	// Statuses only received.
	{call.CauseBusy, 600, "Busy Everywhere"},
	{call.CauseRejected, 403, "Forbidden"},
	{call.CauseRejected, 404, "Not Found"},
	{call.CauseNotAcceptable, 606, "Not Acceptable"},
	{call.CauseNotAcceptable, 415, "Unsupported Media Type"},
	{call.CauseUnavailable, 502, "Bad Gateway"},
	{call.CauseTimeout, 504, "Server Time-out"},
}

// StatusForCause returns the SIP final status and reason phrase that
// refuse a call for cause.
func StatusForCause(cause call.Cause) (int, string) {
	for _, r := range statusTable {
		if r.cause == cause {
			return r.status, r.reason
		}
	}
	return 500, "Server Internal Error"
}

// CauseForStatus returns the cause for a final status a far end sent to
// one of our INVITEs. 2xx is CauseNone (the call is up); an unknown 4xx is
// CauseRejected, 5xx CauseFailure, 6xx CauseRejected.
func CauseForStatus(status int) call.Cause {
	if status >= 200 && status < 300 {
		return call.CauseNone
	}
	for _, r := range statusTable {
		if r.status == status && r.cause != call.CauseNormal && r.cause != call.CauseNone {
			return r.cause
		}
	}
	switch {
	case status >= 500 && status < 600:
		return call.CauseFailure
	default:
		return call.CauseRejected
	}
}
