package sip

import (
	"context"
	"errors"

	"github.com/voxdesk/voxdesk/call"
)

// fork places the INVITEs of outs at once (parallel forking, as RFC 3261
// section 16.7 has a proxy do it, here by the UAC: one INVITE each, with
// its own Call-ID and RTP session) and returns the leg of the first to
// answer:
//
//   - the first 2xx wins; the other INVITEs are CANCELled (their phones
//     answer 487). One whose 2xx crosses the CANCEL, or arrives together
//     with the winner's, is ACKed and hung up with BYE (section 15), so no
//     phone is left off-hook or retransmitting its 200.
//   - a refusal (486, 603...) from one phone leaves the others ringing.
//   - when every phone has refused, the error is a decline (a
//     *call.RejectError with CauseBusy or CauseRejected, 603 preferred) if
//     each one declined with 486, 600 or 603; otherwise the first other
//     failure (no answer before the ring timeout, 404, ctx's end...).
//
// The winner is returned at once; the losers' CANCEL exchanges finish in
// goroutines the server waits for on Close, which also CANCELs phones
// still ringing.
func (s *Server) fork(ctx context.Context, outs []outbound) (call.Leg, error) {
	if len(outs) == 1 {
		return s.place(ctx, outs[0])
	}
	fctx, cancelFork := context.WithCancel(ctx)
	stopWatch := context.AfterFunc(s.ctx, cancelFork)
	cancel := func() { stopWatch(); cancelFork() }
	type result struct {
		leg call.Leg
		err error
	}
	results := make(chan result, len(outs))
	for _, o := range outs {
		s.goLeg(func() {
			leg, err := s.place(fctx, o)
			results <- result{leg, err}
		})
	}
	var errs []error
	for left := len(outs); left > 0; left-- {
		r := <-results
		if r.err != nil {
			errs = append(errs, r.err)
			continue
		}
		cancelFork() // CANCEL the others
		s.goLeg(func() {
			defer cancel()
			for left--; left > 0; left-- {
				if late := <-results; late.err == nil {
					hangUpLate(late.leg)
				}
			}
		})
		return r.leg, nil
	}
	cancel()
	return nil, forkError(errs)
}

// hangUpLate hangs up a leg that answered after another won the fork.
func hangUpLate(l call.Leg) {
	ctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
	defer cancel()
	if leg, ok := l.(*Leg); ok {
		leg.log.Info("answered after another phone: hanging up")
	}
	_ = l.Hangup(ctx, call.CauseCancelled)
}

// declined reports whether err is a phone's 486, 600 or 603.
func declined(err error) (*call.RejectError, bool) {
	var rej *call.RejectError
	var re *ResponseError
	if !errors.As(err, &rej) || !errors.As(err, &re) {
		return nil, false
	}
	switch re.StatusCode {
	case 486, 600, 603:
		return rej, true
	}
	return nil, false
}

// forkError is the error of a fork in which no phone answered: see fork.
func forkError(errs []error) error {
	var decline *call.RejectError
	for _, err := range errs {
		rej, ok := declined(err)
		if !ok {
			return err
		}
		if decline == nil || rej.Cause == call.CauseRejected {
			decline = rej
		}
	}
	return decline
}
