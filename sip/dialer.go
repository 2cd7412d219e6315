package sip

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/media/sdp"
)

// Dialer places outbound calls through one trunk: call-backs to
// customers and transfers to SIP URIs. It implements call.Dialer.
type Dialer struct {
	s     *Server
	trunk *Trunk
	// RingTimeout gives up (CANCEL) on a far end that does not answer;
	// zero means 60 s.
	RingTimeout time.Duration
}

var _ call.Dialer = (*Dialer)(nil)

// Dialer returns a dialer for the named trunk.
func (s *Server) Dialer(trunk string) (*Dialer, error) {
	for _, t := range s.trunks {
		if t.Name == trunk {
			return &Dialer{s: s, trunk: t}, nil
		}
	}
	return nil, fmt.Errorf("sip: no trunk named %q", trunk)
}

// Dial sends an INVITE with our SDP offer to target, a SIP URI
// ("sip:agent@192.0.2.5:5060") or a number routed to the trunk's proxy,
// presenting from as the calling number. It returns the answered leg, a
// *call.RejectError for a final failure status (cause from
// CauseForStatus), or ctx's error after cancelling the INVITE.
func (d *Dialer) Dial(ctx context.Context, target, from string) (call.Leg, error) {
	s := d.s
	if s.draining.Load() {
		return nil, &call.RejectError{Cause: call.CauseUnavailable, Reason: "switch is draining"}
	}
	uri, dest, err := d.route(target)
	if err != nil {
		return nil, err
	}
	transport := "UDP"
	if strings.EqualFold(d.trunk.Transport, "tcp") {
		transport = "TCP"
	}
	if v, ok := uri.UriParams.Get("transport"); ok && strings.EqualFold(v, "tcp") {
		transport = "TCP"
	}

	fromHdr := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: from}, Params: sip.NewParams()}
	return s.place(ctx, outbound{uri: uri, dest: dest, transport: transport, from: fromHdr, trunk: d.trunk,
		ringTimeout: d.RingTimeout, target: target})
}

// outbound is one INVITE to place: to uri via dest, presenting from
// (whose host place fills in), with extra headers; through trunk when set
// (its credentials answer a challenge).
type outbound struct {
	uri         sip.Uri
	dest        string
	transport   string
	from        *sip.FromHeader
	headers     []sip.Header
	trunk       *Trunk
	ringTimeout time.Duration
	target      string // for errors and logs
	logAttrs    []any
}

// place sends an INVITE with our SDP offer and returns the answered
// leg, a *call.RejectError for a final failure status (cause from
// CauseForStatus), or ctx's error after cancelling the INVITE.
func (s *Server) place(ctx context.Context, o outbound) (call.Leg, error) {
	uri, dest, transport, target := o.uri, o.dest, o.transport, o.target
	cid := sip.GenerateTagN(24) + "@voxdesk"
	log := s.log.With("call_id", cid, "direction", "outbound")
	if o.trunk != nil {
		log = log.With("trunk", o.trunk.Name)
	}
	log = log.With(o.logAttrs...)
	m, err := s.media.OpenMedia(cid)
	if err != nil {
		log.Warn("no RTP port for the outbound call", "err", err)
		return nil, &call.RejectError{Cause: call.CauseUnavailable, Reason: "no media port", Err: err}
	}
	local := sdp.Local{Addr: s.advertised(m.LocalAddr()), Codecs: s.codecs, SessionID: randUint63(), SessionVersion: 1}
	offer, err := sdp.Offer(local)
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("sip: dial %s: %w", target, err)
	}

	contact := s.contact(transport)
	fromHdr := o.from
	fromHdr.Address.Host = contact.Address.Host
	fromHdr.Params.Add("tag", sip.GenerateTagN(16))
	toHdr := &sip.ToHeader{Address: uri, Params: sip.NewParams()}
	toHdr.Address.UriParams = nil
	req := sip.NewRequest(sip.INVITE, uri)
	cidHdr := sip.CallIDHeader(cid)
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(fromHdr)
	req.AppendHeader(toHdr)
	req.AppendHeader(&cidHdr)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.INVITE})
	req.AppendHeader(&mf)
	req.AppendHeader(contact)
	req.AppendHeader(sip.NewHeader("User-Agent", s.userAgent))
	for _, h := range o.headers {
		req.AppendHeader(h)
	}
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(offer)
	req.SetTransport(transport)
	req.SetDestination(dest)
	if a := s.laddr(transport); a.IP != nil {
		req.Laddr = a
	}
	log.Info("dialling", "target", uri.String(), "via", dest)

	ringTimeout := o.ringTimeout
	if ringTimeout <= 0 {
		ringTimeout = 60 * time.Second
	}
	rctx, cancel := context.WithTimeout(ctx, ringTimeout)
	defer cancel()
	res, req, err := s.invite(rctx, req, o.trunk)
	if err != nil {
		m.Close()
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return nil, &call.RejectError{Cause: call.CauseNoAnswer, Reason: "no answer", Err: err}
		}
		return nil, fmt.Errorf("sip: dial %s: %w", target, err)
	}
	if !res.IsSuccess() {
		m.Close()
		cause := CauseForStatus(res.StatusCode)
		log.Info("outbound call refused", "status", res.StatusCode, "reason", res.Reason)
		return nil, &call.RejectError{Cause: cause, Reason: fmt.Sprintf("%d %s", res.StatusCode, res.Reason),
			Err: &ResponseError{StatusCode: res.StatusCode, Reason: res.Reason}}
	}

	l := newLeg(s, newUACDialog(req, res), m, log)
	l.trunk = o.trunk
	l.local = local
	if err := s.writeAck(l.dlg); err != nil {
		log.Warn("ACK", "err", err)
	}
	if rctx.Err() != nil {
		// The 2xx crossed our CANCEL (ctx's end, the ring timeout, or
		// another phone of a fork answered): acknowledged, now ended
		// (RFC 3261 section 15).
		log.Info("answered after the call was given up: hanging up")
		l.hangup(context.WithoutCancel(ctx), call.CauseCancelled, "")
		if ctx.Err() == nil {
			return nil, &call.RejectError{Cause: call.CauseNoAnswer, Reason: "no answer", Err: rctx.Err()}
		}
		return nil, fmt.Errorf("sip: dial %s: %w", target, ctx.Err())
	}
	answer, err := sdp.Parse(res.Body())
	var neg sdp.Media
	if err == nil {
		neg, err = sdp.Accept(answer, local)
	}
	if err != nil {
		log.Warn("unusable SDP answer, hanging up", "err", err)
		l.hangup(context.WithoutCancel(ctx), call.CauseNotAcceptable, "")
		return nil, &call.RejectError{Cause: call.CauseNotAcceptable, Reason: "unusable SDP answer", Err: err}
	}
	s.mu.Lock()
	s.calls[cid] = l
	s.mu.Unlock()
	if err := l.setUp(neg); err != nil {
		s.forget(cid, false)
		l.hangup(context.WithoutCancel(ctx), call.CauseFailure, "")
		return nil, err
	}
	s.goLeg(func() {
		<-l.done
		s.forget(cid, false)
	})
	log.Info("outbound call answered", "codec", neg.Codec.Name, "remote_rtp", neg.Remote)
	return l, nil
}

// ResponseError is a final failure response to one of our requests; a
// refused Dial's *call.RejectError wraps it.
type ResponseError struct {
	StatusCode int
	Reason     string
}

func (e *ResponseError) Error() string { return fmt.Sprintf("sip: %d %s", e.StatusCode, e.Reason) }

// route turns a target into a Request-URI and the address to send to.
func (d *Dialer) route(target string) (sip.Uri, string, error) {
	var uri sip.Uri
	if strings.HasPrefix(target, "sip:") || strings.HasPrefix(target, "sips:") {
		if err := sip.ParseUri(target, &uri); err != nil {
			return uri, "", fmt.Errorf("sip: dial %q: %w", target, err)
		}
	} else {
		if d.trunk.Proxy == "" {
			return uri, "", fmt.Errorf("sip: dial %q: trunk %q has no proxy for numbers", target, d.trunk.Name)
		}
		host, port, _ := strings.Cut(d.trunk.Proxy, ":")
		uri = sip.Uri{Scheme: "sip", User: target, Host: host}
		if port != "" {
			fmt.Sscanf(port, "%d", &uri.Port)
		}
	}
	if uri.Host == "" {
		return uri, "", fmt.Errorf("sip: dial %q: no host", target)
	}
	dest := d.trunk.Proxy
	if dest == "" {
		port := uri.Port
		if port == 0 {
			port = 5060
		}
		dest = fmt.Sprintf("%s:%d", uri.Host, port)
	}
	return uri, dest, nil
}

// invite runs the INVITE transaction until a final response, answering
// one digest challenge with the trunk's credentials. It CANCELs when ctx
// ends first. It returns the request finally sent.
func (s *Server) invite(ctx context.Context, req *sip.Request, trunk *Trunk) (*sip.Response, *sip.Request, error) {
	for attempt := 0; ; attempt++ {
		tx, err := s.client.TransactionRequest(ctx, req)
		if err != nil {
			return nil, req, err
		}
		res, err := waitFinal(ctx, tx)
		if err != nil {
			if ctx.Err() != nil {
				// CANCEL, then let the transaction take the 487 and ACK
				// it (RFC 3261 section 17.1.1.3) before it goes. A 2xx
				// that crossed the CANCEL is returned: the caller, seeing
				// ctx done, ACKs it and hangs up.
				s.cancelInvite(req)
				wctx, stop := context.WithTimeout(context.Background(), 4*time.Second)
				late, _ := waitFinal(wctx, tx)
				stop()
				if late != nil && late.IsSuccess() {
					tx.Terminate()
					return late, req, nil
				}
			}
			tx.Terminate()
			return nil, req, err
		}
		tx.Terminate()
		if (res.StatusCode == 401 || res.StatusCode == 407) && attempt == 0 && trunk != nil && trunk.Username != "" {
			next, err := authorize(trunk, req, res)
			if err != nil {
				return res, req, nil
			}
			req = next
			continue
		}
		return res, req, nil
	}
}

func waitFinal(ctx context.Context, tx sip.ClientTransaction) (*sip.Response, error) {
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				continue
			}
			return res, nil
		case <-tx.Done():
			return nil, tx.Err()
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// authorize builds the INVITE again with credentials for a 401/407.
func authorize(trunk *Trunk, req *sip.Request, res *sip.Response) (*sip.Request, error) {
	hdrName, authName := "WWW-Authenticate", "Authorization"
	if res.StatusCode == 407 {
		hdrName, authName = "Proxy-Authenticate", "Proxy-Authorization"
	}
	h := res.GetHeader(hdrName)
	if h == nil {
		return nil, errors.New("sip: challenge without " + hdrName)
	}
	chal, err := digest.ParseChallenge(h.Value())
	if err != nil {
		return nil, err
	}
	cred, err := digest.Digest(chal, digest.Options{Method: string(req.Method), URI: req.Recipient.Addr(),
		Username: trunk.Username, Password: trunk.Password})
	if err != nil {
		return nil, err
	}
	next := req.Clone()
	next.RemoveHeader("Via")
	next.RemoveHeader(authName)
	next.AppendHeader(sip.NewHeader(authName, cred.String()))
	next.CSeq().SeqNo++
	return next, nil
}

// cancel sends CANCEL for a pending INVITE (RFC 3261 section 9.1).
func (s *Server) cancelInvite(inv *sip.Request) {
	c := sip.NewRequest(sip.CANCEL, inv.Recipient)
	if v := inv.Via(); v != nil {
		c.AppendHeader(v.Clone())
	}
	for _, name := range []string{"From", "To", "Call-ID"} {
		if h := inv.GetHeader(name); h != nil {
			c.AppendHeader(sip.HeaderClone(h))
		}
	}
	c.AppendHeader(&sip.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: sip.CANCEL})
	mf := sip.MaxForwardsHeader(70)
	c.AppendHeader(&mf)
	c.SetTransport(inv.Transport())
	c.SetDestination(inv.Destination())
	c.Laddr = inv.Laddr
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	prebuilt := func(*sipgo.Client, *sip.Request) error { return nil } // keep the INVITE's Via
	if _, err := s.client.Do(ctx, c, prebuilt); err != nil {
		s.log.Debug("CANCEL", "err", err)
	}
}

// writeAck acknowledges the 2xx to the INVITE that made d; it is a
// request of its own, outside the INVITE transaction (RFC 3261 section
// 13.2.2.4).
func (s *Server) writeAck(d *dialog) error {
	return s.client.WriteRequest(d.ack(d.inviteSeq))
}
