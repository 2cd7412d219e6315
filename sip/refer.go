package sip

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// ErrTransferRefused is what a transfer hook returns (wrapped) for a
// target it does not know: the REFER gets 403.
var ErrTransferRefused = errors.New("sip: transfer refused")

// WithTransferHook sets f, called for a REFER (blind transfer, RFC 3515)
// received in the dialog of a leg: legID is the leg's Call-ID, target the
// user part of the Refer-To URI (an agent, a queue or a number). f checks the target and returns the transfer to run;
// when it returns no error the REFER gets 202, the referrer a NOTIFY with
// the sipfrag "SIP/2.0 200 OK" (RFC 3515 section 2.4.5), and then run is
// called (it typically hangs the leg up). Any error gets 403.
func WithTransferHook(f func(ctx context.Context, legID, target string) (run func(), err error)) Option {
	return func(s *Server) { s.onTransfer = f }
}

func (s *Server) onRefer(req *sip.Request, tx sip.ServerTransaction) {
	l := s.inDialog(req, tx)
	if l == nil {
		return
	}
	if s.onTransfer == nil && s.onAttended == nil {
		s.reply(tx, req, 405, "Method Not Allowed", "", nil, sip.NewHeader("Allow", s.allow))
		return
	}
	h := req.GetHeader("Refer-To")
	var target sip.Uri
	if h == nil {
		s.reply(tx, req, 400, "Bad Request: No Refer-To", "", nil)
		return
	}
	var params sip.HeaderParams
	if _, err := sip.ParseAddressValue(h.Value(), &target, &params); err != nil || target.Wildcard || target.User == "" {
		s.reply(tx, req, 400, "Bad Request: Refer-To", "", nil)
		return
	}
	if rep := target.Headers; rep != nil {
		if v, ok := rep.Get("Replaces"); ok {
			s.attendedTransfer(l, req, tx, v)
			return
		}
	}
	if s.onTransfer == nil {
		s.reply(tx, req, 403, "Blind Transfer Not Supported", "", nil)
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	defer cancel()
	run, err := s.onTransfer(ctx, l.callID, target.User)
	if err != nil {
		l.log.Info("transfer refused", "target", target.String(), "err", err)
		s.reply(tx, req, 403, "Transfer Refused", "", nil)
		return
	}
	l.log.Info("transferred by REFER", "target", target.String())
	s.reply(tx, req, 202, "Accepted", "", nil)
	defer run()
	s.notifyRefer(l, "200 OK")
}

// notifyRefer sends the referrer of l the final NOTIFY of its REFER
// subscription, whose sipfrag is the status line "SIP/2.0 "+status
// (RFC 3515 section 2.4.5), and waits for its answer.
func (s *Server) notifyRefer(l *Leg, status string) {
	notify := l.dlg.newRequest(sip.NOTIFY)
	notify.AppendHeader(sip.NewHeader("Event", "refer"))
	notify.AppendHeader(sip.NewHeader("Subscription-State", "terminated;reason=noresource"))
	notify.AppendHeader(sip.NewHeader("Content-Type", "message/sipfrag;version=2.0"))
	notify.SetBody([]byte("SIP/2.0 " + status + "\r\n"))
	nctx, ncancel := context.WithTimeout(s.ctx, 4*time.Second)
	defer ncancel()
	ntx, err := s.client.TransactionRequest(nctx, notify)
	if err != nil {
		l.log.Debug("NOTIFY", "err", err)
		return
	}
	defer ntx.Terminate()
	if _, err := waitFinal(nctx, ntx); err != nil {
		l.log.Debug("NOTIFY", "err", err)
	}
}

// WithAttendedTransferHook sets f, called for a REFER in the dialog of
// leg legID whose Refer-To carries Replaces (attended transfer, RFC 5589
// section 7, Replaces from RFC 3891) naming replaces, the Call-ID of
// another of our dialogs: typically the consultation call the same phone
// placed (WithAgentCalls). f checks the transfer and returns what
// completes it; then the REFER gets 202, the referrer a NOTIFY with the
// sipfrag "SIP/2.0 200 OK", and complete is called (an error it returns
// is logged: the referrer, told 200, usually hangs up, which ends its
// part anyway). An error from f gets 403. A Replaces naming no dialog of
// ours (unknown Call-ID, tags that do not match, a dialog not
// confirmed, or the REFER's own dialog) is what the transferee's INVITE
// with Replaces would meet at the target (481, RFC 3891 section 3): the
// REFER is accepted (202) and the NOTIFY carries "SIP/2.0 481
// Call/Transaction Does Not Exist", so the phone goes back to its call
// as RFC 5589 section 7.2 shows; nothing changes.
func WithAttendedTransferHook(f func(ctx context.Context, legID, replaces string) (complete func() error, err error)) Option {
	return func(s *Server) { s.onAttended = f }
}

// replaces is a parsed Replaces value (RFC 3891 section 6.1).
type replaces struct{ callID, toTag, fromTag string }

// parseReplaces reads a Replaces value as it comes in a Refer-To URI
// header, escaped or not: "call-id;to-tag=x;from-tag=y" (early-only and
// unknown parameters are ignored).
func parseReplaces(v string) (replaces, error) {
	if u, err := url.PathUnescape(v); err == nil {
		v = u
	}
	parts := strings.Split(v, ";")
	r := replaces{callID: strings.TrimSpace(parts[0])}
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.ToLower(k) {
		case "to-tag":
			r.toTag = val
		case "from-tag":
			r.fromTag = val
		}
	}
	if r.callID == "" || r.toTag == "" || r.fromTag == "" {
		return r, errors.New("sip: Replaces needs a Call-ID, to-tag and from-tag")
	}
	return r, nil
}

// attendedTransfer serves a REFER with Replaces (WithAttendedTransferHook).
func (s *Server) attendedTransfer(l *Leg, req *sip.Request, tx sip.ServerTransaction, value string) {
	if s.onAttended == nil {
		s.reply(tx, req, 403, "Attended Transfer Not Supported", "", nil)
		return
	}
	rep, err := parseReplaces(value)
	if err != nil {
		l.log.Info("attended transfer refused", "replaces", value, "err", err)
		s.reply(tx, req, 400, "Bad Request: Replaces", "", nil)
		return
	}
	// The tags are those of the dialog as its recipient sees it: to-tag
	// is ours, from-tag the phone's (RFC 3891 section 3).
	r := s.lookup(rep.callID)
	if r == nil || r == l || r.dlg.localTag() != rep.toTag || r.dlg.remoteTag() != rep.fromTag ||
		r.dlg.current() != dialogConfirmed {
		l.log.Info("attended transfer: Replaces names no dialog", "replaces", rep.callID)
		s.reply(tx, req, 202, "Accepted", "", nil)
		s.notifyRefer(l, "481 Call/Transaction Does Not Exist")
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	defer cancel()
	complete, err := s.onAttended(ctx, l.callID, rep.callID)
	if err != nil {
		l.log.Info("attended transfer refused", "replaces", rep.callID, "err", err)
		s.reply(tx, req, 403, "Transfer Refused", "", nil)
		return
	}
	l.log.Info("attended transfer by REFER", "replaces", rep.callID)
	s.reply(tx, req, 202, "Accepted", "", nil)
	s.notifyRefer(l, "200 OK")
	if err := complete(); err != nil {
		l.log.Warn("attended transfer failed after its NOTIFY", "replaces", rep.callID, "err", err)
	}
}
