package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/media/sdp"
)

// refuse answers an INVITE that does not become a call.
func (s *Server) refuse(tx sip.ServerTransaction, req *sip.Request, log *slog.Logger, code int, reason string, hdrs ...sip.Header) {
	s.metrics.Refused(code)
	log.Info("invite refused", "status", code, "reason", reason, "source", req.Source())
	if err := s.reply(tx, req, code, reason, "", nil, hdrs...); err != nil {
		log.Debug("respond", "status", code, "err", err)
	}
}

func (s *Server) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	cid := callIDOf(req)
	log := s.log.With("call_id", cid)
	from, to := req.From(), req.To()
	if cid == "" || from == nil || to == nil || req.CSeq() == nil {
		s.refuse(tx, req, log, 400, "Missing Call-ID, From, To or CSeq")
		return
	}
	if tag, ok := to.Params.Get("tag"); ok && tag != "" {
		s.onReinvite(req, tx)
		return
	}
	if tag, ok := from.Params.Get("tag"); !ok || tag == "" {
		s.refuse(tx, req, log, 400, "From tag missing")
		return
	}
	if s.draining.Load() {
		s.refuse(tx, req, log, 503, "Draining")
		return
	}
	src, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		s.refuse(tx, req, log, 400, "Bad source address")
		return
	}
	var (
		trunk *Trunk
		agent string
		serve call.Handler
	)
	if s.agentCall(req) {
		var ok bool
		if agent, serve, ok = s.routeAgentCall(req, tx, log); !ok {
			return
		}
		log = log.With("agent", agent)
	} else if acc := s.auth.match(s.trunks, src.Addr(), req); acc.trunk == nil {
		if acc.challenge != nil {
			s.metrics.Refused(401)
			log.Info("invite challenged", "trunk", acc.challenge.Name, "source", req.Source(), "stale", acc.stale)
			s.reply(tx, req, 401, "Unauthorized", "", nil,
				sip.NewHeader("WWW-Authenticate", s.auth.challenge(acc.challenge, acc.stale)))
			return
		}
		s.refuse(tx, req, log, 403, "Source not allowed")
		return
	} else {
		trunk = acc.trunk
		log = log.With("trunk", trunk.Name)
	}
	contact := req.Contact()
	if contact == nil {
		s.refuse(tx, req, log, 400, "Missing Contact header")
		return
	}
	body := req.Body()
	if len(body) == 0 {
		s.refuse(tx, req, log, 488, "INVITE without SDP offer not supported")
		return
	}
	if ct := req.ContentType(); ct != nil && !strings.EqualFold(strings.TrimSpace(strings.Split(ct.Value(), ";")[0]), "application/sdp") {
		s.refuse(tx, req, log, 415, "Only application/sdp accepted", sip.NewHeader("Accept", "application/sdp"))
		return
	}
	offer, err := sdp.Parse(body)
	if err != nil {
		s.refuse(tx, req, log, sdp.StatusCode(err), sdpReason(err))
		return
	}

	// Admission: a slot under MaxCalls, then a port for RTP.
	s.mu.Lock()
	if _, dup := s.calls[cid]; dup {
		s.mu.Unlock()
		s.refuse(tx, req, log, 482, "Loop Detected")
		return
	}
	if s.cfg.MaxCalls > 0 && s.inbound >= s.cfg.MaxCalls {
		s.mu.Unlock()
		s.refuse(tx, req, log, 503, "Max calls reached")
		return
	}
	s.inbound++
	s.calls[cid] = nil // reserve the Call-ID while we set up
	s.mu.Unlock()
	admitted := false
	defer func() {
		if !admitted {
			s.forget(cid, true)
		}
	}()

	// Watch for CANCEL from now on (sipgo answers it 200 and the INVITE 487).
	cancelled := make(chan struct{})
	var cancelOnce sync.Once
	tx.OnCancel(func(*sip.Request) { cancelOnce.Do(func() { close(cancelled) }) })
	if err := s.reply(tx, req, 100, "Trying", "", nil); err != nil {
		log.Debug("respond 100", "err", err)
		return
	}

	m, err := s.media.OpenMedia(cid)
	if err != nil {
		log.Warn("no RTP port for the call", "err", err)
		s.refuse(tx, req, log, 503, "No media port available")
		return
	}
	local := sdp.Local{Addr: s.advertised(m.LocalAddr()), Codecs: s.codecs, SessionID: randUint63(), SessionVersion: 1}
	answer, neg, err := sdp.Answer(offer, local)
	if err != nil {
		m.Close()
		s.refuse(tx, req, log, sdp.StatusCode(err), sdpReason(err))
		return
	}

	toTag := sip.GenerateTagN(16)
	l := newLeg(s, newUASDialog(req, toTag, s.laddr(req.Transport())), m, log)
	l.trunk, l.agent, l.serve = trunk, agent, serve
	l.inbound = true
	l.local = local

	c := call.New(cid, l, s.log)
	c.Channel = call.ChannelSIP
	c.Callee = req.Recipient.User
	if trunk != nil {
		c.Trunk = trunk.Name
		c.Caller = callerNumber(req, trunk.Trusted)
		c.Log = c.Log.With("trunk", trunk.Name)
	} else {
		c.Caller = agent
		c.Log = c.Log.With("agent", agent)
	}
	l.log = c.Log

	s.mu.Lock()
	s.calls[cid] = l
	s.mu.Unlock()
	admitted = true
	s.metrics.CallStarted()
	c.Log.Info("call arriving", "caller", c.Caller, "callee", c.Callee, "source", req.Source(),
		"transport", l.dlg.transport, "codec", neg.Codec.Name)

	if err := s.reply(tx, req, 180, "Ringing", toTag, nil); err != nil {
		c.Log.Debug("respond 180", "err", err)
	}
	s.goLeg(func() { s.serveCall(l, c) })
	s.ring(l, req, tx, toTag, answer, neg, cancelled)
}

// ring holds the INVITE transaction until the handler answers or the
// leg ends, sends the final response, and retransmits a 200 until ACK.
func (s *Server) ring(l *Leg, req *sip.Request, tx sip.ServerTransaction, toTag string, answer []byte, neg sdp.Media, cancelled <-chan struct{}) {
	for {
		select {
		case reply := <-l.answer:
			res, viaTCP, err := s.finalResponse(req, toTag, answer)
			if err != nil {
				l.log.Warn("answer not sent", "err", err)
				l.end(call.CauseFailure, responseTooLarge)
				reply <- fmt.Errorf("sip: answer %s: %w", l.callID, err)
				continue // the done case sends the refusal, which fits
			}
			if err := l.setUp(neg); err != nil {
				if !errors.Is(err, call.ErrHangup) {
					l.log.Error("answer", "err", err)
					l.end(call.CauseFailure, "Media failure")
				}
				reply <- err
				continue // the done case sends the refusal
			}
			if viaTCP {
				err = s.sendOverTCP(res, l.dlg.remoteTarget())
				tx.Terminate() // the caller has its final response
			} else {
				err = tx.Respond(res)
			}
			if err != nil {
				l.log.Warn("send 200", "err", err, "over_tcp", viaTCP)
				l.end(call.CauseFailure, "")
				reply <- fmt.Errorf("sip: answer %s: %w", l.callID, err)
				return
			}
			l.log.Info("call answered", "codec", neg.Codec.Name, "remote_rtp", neg.Remote, "local_rtp", l.local.Addr)
			reply <- nil
			s.awaitAck(l, tx, res, viaTCP, l.dlg.inviteSeq)
			return
		case <-l.done:
			l.mu.Lock()
			cause, reason := l.cause, l.reason
			l.mu.Unlock()
			if cause == call.CauseCancelled {
				return // sipgo has answered 487
			}
			code, phrase := StatusForCause(cause)
			if reason != "" {
				phrase = reason
			}
			if err := s.reply(tx, req, code, phrase, toTag, nil); err != nil {
				l.log.Debug("respond", "status", code, "err", err)
			}
			l.log.Info("call refused", "status", code, "reason", phrase, "cause", cause.String())
			return
		case <-cancelled:
			l.log.Info("caller cancelled")
			l.end(call.CauseCancelled, "")
		case <-tx.Done():
			if _, ok := l.end(call.CauseCancelled, ""); ok {
				l.log.Info("invite transaction ended before answer", "err", tx.Err())
			}
			return
		}
	}
}

// awaitAck retransmits a 2xx over unreliable transports until the ACK
// with cseq arrives (RFC 3261 section 13.3.1.4), for at most 64*T1; a
// call that never gets its ACK is hung up.
func (s *Server) awaitAck(l *Leg, tx sip.ServerTransaction, res *sip.Response, reliable bool, cseq uint32) {
	interval := sip.T1
	retransmit := time.NewTimer(interval)
	defer retransmit.Stop()
	if reliable || sip.IsReliable(res.Transport()) {
		retransmit.Stop()
	}
	giveUp := time.NewTimer(64 * sip.T1)
	defer giveUp.Stop()
	for {
		select {
		case seq := <-l.dlg.acks:
			if seq == cseq {
				return
			}
		case <-retransmit.C:
			if err := tx.Respond(res); err != nil {
				l.log.Debug("retransmit 2xx", "err", err)
			}
			interval = min(2*interval, sip.T2)
			retransmit.Reset(interval)
		case <-giveUp.C:
			l.log.Warn("no ACK for 2xx, hanging up")
			l.hangup(context.Background(), call.CauseTimeout, "")
			return
		case <-l.done:
			return
		case <-s.ctx.Done():
			return
		}
	}
}

// serveCall runs the handler for one call and hangs up what it leaves
// up. A panic in the handler ends only this call.
func (s *Server) serveCall(l *Leg, c *call.Call) {
	ctx := s.ctx
	outcome := "failed"
	defer func() {
		if r := recover(); r != nil {
			c.Log.Error("handler panic", "panic", r)
			l.hangup(context.WithoutCancel(ctx), call.CauseFailure, "Server Internal Error")
		}
		cause := l.Cause()
		switch {
		case outcome == "failed":
		case cause == call.CauseTimeout && l.wasUp():
			outcome = "timeout"
		case l.wasUp():
			outcome = "completed"
		case cause == call.CauseCancelled:
			outcome = "cancelled"
		default:
			outcome = "rejected"
		}
		s.metrics.CallEnded(outcome)
		c.Log.Info("call ended", "cause", cause.String(), "outcome", outcome,
			"duration", time.Since(c.Start).Round(time.Millisecond))
		s.forget(l.callID, true)
	}()
	h := s.handler
	if l.serve != nil {
		h = l.serve
	}
	err := h.ServeCall(ctx, c)
	hctx := context.WithoutCancel(ctx)
	var rej *call.RejectError
	switch {
	case err == nil:
		outcome = ""
		if herr := l.hangup(hctx, call.CauseNormal, ""); herr != nil {
			c.Log.Warn("hangup", "err", herr)
		}
	case errors.As(err, &rej):
		outcome = ""
		l.hangup(hctx, rej.Cause, rej.Reason)
	case errors.Is(err, call.ErrHangup) || errors.Is(err, context.Canceled):
		outcome = ""
		l.hangup(hctx, call.CauseNormal, "")
	default:
		c.Log.Error("handler failed", "err", err)
		l.hangup(hctx, call.CauseFailure, "")
	}
}

func (l *Leg) wasUp() bool {
	select {
	case <-l.up:
		return true
	default:
		return false
	}
}

// forget removes a call from the table.
func (s *Server) forget(cid string, inbound bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.calls[cid]; !ok {
		return
	}
	delete(s.calls, cid)
	if inbound {
		s.inbound--
	}
	if len(s.calls) == 0 {
		close(s.idle)
		s.idle = make(chan struct{})
	}
}

// sdpReason is a reason phrase for an SDP error, without the package
// prefix.
func sdpReason(err error) string {
	var se *sdp.StatusError
	if errors.As(err, &se) {
		return capitalise(se.Reason)
	}
	var pe *sdp.ParseError
	if errors.As(err, &pe) {
		return "Malformed SDP: " + pe.Reason
	}
	return "Bad SDP"
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// callerNumber is the calling number: P-Asserted-Identity on a trusted
// trunk when present (RFC 3325 section 9.1), else the From user part.
func callerNumber(req *sip.Request, trusted bool) string {
	if trusted {
		if h := req.GetHeader("P-Asserted-Identity"); h != nil {
			if n := addressUser(h.Value()); n != "" {
				return n
			}
		}
	}
	if f := req.From(); f != nil {
		return f.Address.User
	}
	return ""
}

// addressUser extracts the user part (or the tel: number) of a name-addr
// or addr-spec: `"Alice" <sip:+33123@host;user=phone>`, `<tel:+33123>`.
func addressUser(v string) string {
	if i := strings.IndexByte(v, '<'); i >= 0 {
		v = v[i+1:]
		if j := strings.IndexByte(v, '>'); j >= 0 {
			v = v[:j]
		}
	}
	v = strings.TrimSpace(v)
	scheme, rest, ok := strings.Cut(v, ":")
	if !ok {
		return ""
	}
	switch strings.ToLower(scheme) {
	case "tel":
		rest, _, _ = strings.Cut(rest, ";")
		return rest
	case "sip", "sips":
		user, _, ok := strings.Cut(rest, "@")
		if !ok {
			return ""
		}
		user, _, _ = strings.Cut(user, ";")
		user, _, _ = strings.Cut(user, ":") // user:password
		return user
	}
	return ""
}
