package sip

import (
	"context"
	"errors"
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
	if s.onTransfer == nil {
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
	notify := l.dlg.newRequest(sip.NOTIFY)
	notify.AppendHeader(sip.NewHeader("Event", "refer"))
	notify.AppendHeader(sip.NewHeader("Subscription-State", "terminated;reason=noresource"))
	notify.AppendHeader(sip.NewHeader("Content-Type", "message/sipfrag;version=2.0"))
	notify.SetBody([]byte("SIP/2.0 200 OK\r\n"))
	nctx, ncancel := context.WithTimeout(s.ctx, 4*time.Second)
	defer ncancel()
	defer run()
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
