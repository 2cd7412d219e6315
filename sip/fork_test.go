package sip

import (
	"context"
	"errors"
	"testing"

	"github.com/voxdesk/voxdesk/call"
)

// refusal is the error Dial returns for a final failure status.
func refusal(code int, reason string) error {
	return &call.RejectError{Cause: CauseForStatus(code), Reason: reason, Err: &ResponseError{StatusCode: code, Reason: reason}}
}

// TestForkError: a fork where no phone answered is a decline only when
// every phone declined (603 preferred over 486); otherwise the first
// other failure.
func TestForkError(t *testing.T) {
	noAnswer := &call.RejectError{Cause: call.CauseNoAnswer, Reason: "no answer", Err: context.DeadlineExceeded}
	declinedWith := func(cause call.Cause) func(error) bool {
		return func(err error) bool { rej, ok := declined(err); return ok && rej.Cause == cause }
	}
	status := func(code int) func(error) bool {
		return func(err error) bool { var re *ResponseError; return errors.As(err, &re) && re.StatusCode == code }
	}
	is := func(want error) func(error) bool { return func(err error) bool { return err == want } }
	for _, c := range []struct {
		name string
		errs []error
		ok   func(error) bool
	}{
		{"busy and decline: the decline", []error{refusal(486, "Busy Here"), refusal(603, "Decline")}, declinedWith(call.CauseRejected)},
		{"all busy: busy", []error{refusal(486, "Busy Here"), refusal(600, "Busy Everywhere")}, declinedWith(call.CauseBusy)},
		{"busy and no answer: no answer", []error{refusal(486, "Busy Here"), noAnswer}, is(noAnswer)},
		{"not found is no decline", []error{refusal(603, "Decline"), refusal(404, "Not Found")}, status(404)},
		{"cancelled", []error{context.Canceled, refusal(486, "Busy Here")}, is(context.Canceled)},
	} {
		if got := forkError(c.errs); !c.ok(got) {
			t.Errorf("%s: got %v", c.name, got)
		}
	}
}
