package sip

import (
	"errors"

	"github.com/emiago/sipgo/sip"
	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/media/sdp"
)

// Requests inside a dialog (RFC 3261 section 12.2.2): each is matched to
// a leg on the whole dialog id, the Call-ID with their tag in From and
// ours in To. A request that matches no dialog gets 481 and changes
// nothing, so a BYE with a call's Call-ID but a made-up tag does not end
// the call; one whose CSeq is below the last the far end used gets 500.

// lookup returns the leg with Call-ID cid, nil when none. Call-IDs are
// unique among our legs: a second INVITE with a live Call-ID is refused
// (482), and the dialer makes a Call-ID per INVITE, forks included.
func (s *Server) lookup(cid string) *Leg {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[cid]
}

// dialogLeg returns the leg whose dialog req belongs to, nil when none.
func (s *Server) dialogLeg(req *sip.Request) *Leg {
	l := s.lookup(callIDOf(req))
	if l == nil || !l.dlg.matches(req) {
		return nil
	}
	return l
}

// inDialog returns the leg of an in-dialog request after checking its
// CSeq; when there is none it has answered (481 or 500) and returns nil.
func (s *Server) inDialog(req *sip.Request, tx sip.ServerTransaction) *Leg {
	l := s.dialogLeg(req)
	if l == nil {
		// Rate-limited, like the sanity layer's: a flood of forged
		// in-dialog requests must not flood the log.
		if ok, suppressed := s.badLog.allow(); ok {
			s.log.Info("request outside any dialog", "call_id", callIDOf(req), "method", req.Method,
				"source", req.Source(), "suppressed", suppressed)
		}
		s.reply(tx, req, 481, "Call/Transaction Does Not Exist", "", nil)
		return nil
	}
	if err := l.dlg.receive(req); err != nil {
		l.log.Info("in-dialog request refused", "method", req.Method, "err", err)
		s.reply(tx, req, 500, "CSeq Out of Order", "", nil)
		return nil
	}
	return l
}

// onReinvite handles an INVITE inside a dialog: hold, resume, or a new
// remote address (RFC 3264 section 8). One at a time: another while the
// first waits for its ACK, or before the answer, gets 491.
func (s *Server) onReinvite(req *sip.Request, tx sip.ServerTransaction) {
	l := s.inDialog(req, tx)
	if l == nil {
		return
	}
	toTag := l.dlg.localTag()
	if err := l.dlg.beginReinvite(); err != nil {
		s.reply(tx, req, 491, "Request Pending", "", nil)
		return
	}
	defer l.dlg.endReinvite()
	l.mu.Lock()
	local := l.local
	l.mu.Unlock()
	local.SessionVersion++
	var body []byte
	var neg sdp.Media
	if len(req.Body()) == 0 {
		// An offerless re-INVITE: we offer in the 200, the answer comes
		// in the ACK; media stays as it is.
		b, err := sdp.Offer(local)
		if err != nil {
			s.reply(tx, req, 500, "Server Internal Error", toTag, nil)
			return
		}
		body, neg = b, l.Negotiated()
	} else {
		offer, err := sdp.Parse(req.Body())
		if err != nil {
			s.reply(tx, req, sdp.StatusCode(err), sdpReason(err), toTag, nil)
			return
		}
		b, m, err := sdp.Answer(offer, local)
		if err != nil {
			s.reply(tx, req, sdp.StatusCode(err), sdpReason(err), toTag, nil)
			return
		}
		if err := l.media.Update(m); err != nil {
			l.log.Error("re-INVITE media update", "err", err)
			s.reply(tx, req, 500, "Media update failed", toTag, nil)
			return
		}
		body, neg = b, m
	}
	l.mu.Lock()
	l.local = local
	l.negotiated = neg
	l.mu.Unlock()
	l.dlg.refreshTarget(req)
	l.log.Info("re-INVITE", "direction", neg.Direction.String(), "remote_rtp", neg.Remote, "codec", neg.Codec.Name)
	res := s.response(req, 200, "OK", toTag, body)
	if err := tx.Respond(res); err != nil {
		l.log.Warn("respond re-INVITE", "err", err)
		if errors.Is(err, sip.ErrUDPMTUCongestion) {
			s.reply(tx, req, 500, responseTooLarge, toTag, nil)
		}
		return
	}
	s.awaitAck(l, tx, res, false, req.CSeq().SeqNo)
}

// onAck passes the ACK for one of our 2xx to the goroutine retransmitting
// it. An ACK that matches no dialog is dropped (ACKs get no answer).
func (s *Server) onAck(req *sip.Request, tx sip.ServerTransaction) {
	l := s.dialogLeg(req)
	if l == nil || req.CSeq() == nil {
		s.log.Debug("ACK outside any dialog", "call_id", callIDOf(req), "source", req.Source())
		return
	}
	l.dlg.acked(req.CSeq().SeqNo)
}

func (s *Server) onBye(req *sip.Request, tx sip.ServerTransaction) {
	l := s.inDialog(req, tx)
	if l == nil {
		return
	}
	if err := s.reply(tx, req, 200, "OK", "", nil); err != nil {
		l.log.Debug("respond BYE", "err", err)
	}
	if !l.ended() {
		l.log.Info("far end hung up")
	}
	l.end(call.CauseNormal, "")
}

// onInfo answers INFO in a dialog (RFC 6086): we use no Info Package, so
// one naming a package gets 469; a legacy INFO without one (some phones
// send them as keep-alives or DTMF we take from RTP) gets 200 and is
// ignored.
func (s *Server) onInfo(req *sip.Request, tx sip.ServerTransaction) {
	l := s.inDialog(req, tx)
	if l == nil {
		return
	}
	if req.GetHeader("Info-Package") != nil {
		s.reply(tx, req, 469, "Bad Info Package", "", nil, sip.NewHeader("Recv-Info", ""))
		return
	}
	l.log.Debug("INFO ignored", "content_type", req.ContentType())
	s.reply(tx, req, 200, "OK", "", nil)
}

// onCancel sees only CANCELs that match no INVITE transaction (sipgo
// handles the others).
func (s *Server) onCancel(req *sip.Request, tx sip.ServerTransaction) {
	s.reply(tx, req, 481, "Call/Transaction Does Not Exist", "", nil)
}
