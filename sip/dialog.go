package sip

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/emiago/sipgo/sip"
)

// dialogState is where a dialog is in its life (RFC 3261 section 12).
type dialogState int

const (
	// dialogEarly: the INVITE is sent or received, no 2xx yet.
	dialogEarly dialogState = iota
	// dialogConfirmed: a 2xx was sent or received.
	dialogConfirmed
	// dialogTerminated: BYE, a refusal, a CANCEL or a timeout ended it.
	dialogTerminated
)

func (s dialogState) String() string {
	switch s {
	case dialogEarly:
		return "early"
	case dialogConfirmed:
		return "confirmed"
	default:
		return "terminated"
	}
}

// Errors of in-dialog requests, with the status they are answered with.
var (
	// errDialogPending: a re-INVITE while another is in progress, or in
	// a dialog not confirmed (491, RFC 3261 section 14.2).
	errDialogPending = errors.New("sip: re-INVITE pending")
	// errDialogOrder: a request whose CSeq is below the last one from
	// the far end (500, RFC 3261 section 12.2.2).
	errDialogOrder = errors.New("sip: CSeq out of order")
)

// dialog is one SIP dialog (RFC 3261 section 12): its identity (Call-ID,
// our tag, theirs), the CSeq spaces, the route set and the remote
// target, and its state with the transitions between them. Inbound calls
// (newUASDialog) and outbound legs (newUACDialog) share it; the server
// matches every in-dialog request (ACK, BYE, re-INVITE, INFO, REFER)
// against it with matches, on the Call-ID and both tags.
//
// The identity fields are set when the dialog is made and not changed;
// the rest is guarded by mu.
type dialog struct {
	callID    string
	local     *sip.FromHeader // us: the From of our requests, with our tag
	remote    *sip.ToHeader   // them: the To of our requests, with their tag
	routes    []sip.Uri       // route set, in the order Route headers take
	dest      string          // host:port our requests go to
	transport string
	laddr     sip.Addr      // our listener, so requests leave from our SIP port
	inviteSeq uint32        // CSeq of the INVITE that made the dialog
	cseq      atomic.Uint32 // our last CSeq
	acks      chan uint32   // CSeq of ACKs for our 2xx, to awaitAck

	mu        sync.Mutex
	state     dialogState
	target    sip.Uri // their Contact: the Request-URI of our requests
	remoteSeq uint32  // highest CSeq the far end used
	reinvite  bool    // a re-INVITE is in progress (either side)
}

func newDialog() *dialog {
	return &dialog{acks: make(chan uint32, 4)}
}

// newUASDialog is the dialog an INVITE we answer makes (RFC 3261
// section 12.1.1): our tag localTag in To, the route set the
// Record-Route headers in order, the remote target the Contact, requests
// sent back to where the INVITE came from (symmetric signalling,
// RFC 3581).
func newUASDialog(req *sip.Request, localTag string, laddr sip.Addr) *dialog {
	d := newDialog()
	from, to := req.From(), req.To()
	d.callID = callIDOf(req)
	d.remote = &sip.ToHeader{DisplayName: from.DisplayName, Address: from.Address, Params: from.Params.Clone()}
	d.local = &sip.FromHeader{DisplayName: to.DisplayName, Address: to.Address, Params: to.Params.Clone()}
	d.local.Params.Add("tag", localTag)
	for _, h := range req.GetHeaders("Record-Route") {
		if rr, ok := h.(*sip.RecordRouteHeader); ok {
			d.routes = append(d.routes, rr.Address)
		}
	}
	if c := req.Contact(); c != nil {
		d.target = c.Address
	}
	d.dest = req.Source()
	d.transport = req.Transport()
	d.laddr = laddr
	d.inviteSeq = req.CSeq().SeqNo
	d.remoteSeq = d.inviteSeq
	d.cseq.Store(uint32(randUint63() & 0x7FFF))
	return d
}

// newUACDialog is the dialog a 2xx to our INVITE req makes (RFC 3261
// section 12.1.2): their tag from the 2xx's To, the route set its
// Record-Route headers reversed, the remote target its Contact (the
// Request-URI when it has none). It starts confirmed.
func newUACDialog(req *sip.Request, res *sip.Response) *dialog {
	d := newDialog()
	d.callID = callIDOf(req)
	f := req.From()
	d.local = &sip.FromHeader{DisplayName: f.DisplayName, Address: f.Address, Params: f.Params.Clone()}
	rto := res.To()
	d.remote = &sip.ToHeader{DisplayName: rto.DisplayName, Address: rto.Address, Params: rto.Params.Clone()}
	for _, h := range res.GetHeaders("Record-Route") {
		if rr, ok := h.(*sip.RecordRouteHeader); ok {
			d.routes = append(d.routes, rr.Address)
		}
	}
	slices.Reverse(d.routes)
	d.target = req.Recipient
	if c := res.Contact(); c != nil {
		d.target = c.Address
	}
	d.dest = req.Destination()
	d.transport = req.Transport()
	d.laddr = req.Laddr
	d.inviteSeq = req.CSeq().SeqNo
	d.cseq.Store(d.inviteSeq)
	d.state = dialogConfirmed
	return d
}

func (d *dialog) localTag() string {
	t, _ := d.local.Params.Get("tag")
	return t
}

func (d *dialog) remoteTag() string {
	t, _ := d.remote.Params.Get("tag")
	return t
}

// matches reports whether req, from the far end, belongs to this
// dialog: same Call-ID, their tag in From, ours in To.
func (d *dialog) matches(req *sip.Request) bool {
	from, to := req.From(), req.To()
	if from == nil || to == nil || callIDOf(req) != d.callID {
		return false
	}
	ft, _ := from.Params.Get("tag")
	tt, _ := to.Params.Get("tag")
	return ft == d.remoteTag() && tt == d.localTag()
}

// receive checks the CSeq of a request from the far end (not ACK or
// CANCEL, which reuse the INVITE's) and records it: errDialogOrder when
// it is below the last one (RFC 3261 section 12.2.2).
func (d *dialog) receive(req *sip.Request) error {
	cs := req.CSeq()
	if cs == nil {
		return errDialogOrder
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.remoteSeq != 0 && cs.SeqNo < d.remoteSeq {
		return errDialogOrder
	}
	d.remoteSeq = cs.SeqNo
	return nil
}

// current reports where the dialog is.
func (d *dialog) current() dialogState {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.state
}

// confirm moves an early dialog to confirmed (our 2xx sent or theirs
// received); it reports false when the dialog has already terminated.
func (d *dialog) confirm() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.state == dialogTerminated {
		return false
	}
	d.state = dialogConfirmed
	return true
}

// terminate ends the dialog, reporting the state it was in and false if
// it had already ended.
func (d *dialog) terminate() (dialogState, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	prev := d.state
	if prev == dialogTerminated {
		return prev, false
	}
	d.state = dialogTerminated
	return prev, true
}

// beginReinvite marks a re-INVITE in progress: errDialogPending when the
// dialog is not confirmed or another one is (RFC 3261 section 14.2).
// endReinvite clears it once the exchange is over (ACK or failure).
func (d *dialog) beginReinvite() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.state != dialogConfirmed || d.reinvite {
		return errDialogPending
	}
	d.reinvite = true
	return nil
}

func (d *dialog) endReinvite() {
	d.mu.Lock()
	d.reinvite = false
	d.mu.Unlock()
}

// refreshTarget takes a target refresh request's Contact as the new
// remote target (RFC 3261 section 12.2.2).
func (d *dialog) refreshTarget(req *sip.Request) {
	if c := req.Contact(); c != nil {
		d.mu.Lock()
		d.target = c.Address
		d.mu.Unlock()
	}
}

// remoteTarget is where our requests are addressed.
func (d *dialog) remoteTarget() sip.Uri {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.target
}

// acked passes the CSeq of an ACK for our 2xx to the goroutine waiting
// for it; extra ACKs (retransmissions) are dropped.
func (d *dialog) acked(seq uint32) {
	select {
	case d.acks <- seq:
	default:
	}
}

// newRequest builds a request in the dialog with the next CSeq (RFC 3261
// section 12.2.1.1); ACK takes the INVITE's via ack instead.
func (d *dialog) newRequest(method sip.RequestMethod) *sip.Request {
	return d.request(method, d.cseq.Add(1))
}

// ack builds the ACK for a 2xx to the INVITE with CSeq seq (RFC 3261
// section 13.2.2.4).
func (d *dialog) ack(seq uint32) *sip.Request {
	return d.request(sip.ACK, seq)
}

func (d *dialog) request(method sip.RequestMethod, seq uint32) *sip.Request {
	req := sip.NewRequest(method, d.remoteTarget())
	from := *d.local
	from.Params = d.local.Params.Clone()
	to := *d.remote
	to.Params = d.remote.Params.Clone()
	cid := sip.CallIDHeader(d.callID)
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&from)
	req.AppendHeader(&to)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: method})
	req.AppendHeader(&mf)
	for _, r := range d.routes {
		req.AppendHeader(&sip.RouteHeader{Address: r})
	}
	req.SetTransport(d.transport)
	req.SetDestination(d.dest)
	if d.laddr.IP != nil {
		req.Laddr = d.laddr
	}
	return req
}
