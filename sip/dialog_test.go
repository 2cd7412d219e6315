package sip

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/voxdesk/voxdesk/call"
	"go.uber.org/goleak"
)

// TestDialogTransitions pins the dialog's state machine: early ->
// confirmed -> terminated, one re-INVITE at a time and only when
// confirmed, nothing after the end.
func TestDialogTransitions(t *testing.T) {
	d := newDialog()
	if got := d.current(); got != dialogEarly {
		t.Fatalf("new dialog %v, want early", got)
	}
	if err := d.beginReinvite(); err != errDialogPending {
		t.Errorf("re-INVITE in an early dialog: %v, want errDialogPending", err)
	}
	if !d.confirm() || d.current() != dialogConfirmed {
		t.Fatalf("confirm: %v", d.current())
	}
	if err := d.beginReinvite(); err != nil {
		t.Fatalf("first re-INVITE: %v", err)
	}
	if err := d.beginReinvite(); err != errDialogPending {
		t.Errorf("second re-INVITE while the first is pending: %v, want errDialogPending", err)
	}
	d.endReinvite()
	if err := d.beginReinvite(); err != nil {
		t.Errorf("re-INVITE after the first ended: %v", err)
	}
	d.endReinvite()
	if prev, ok := d.terminate(); !ok || prev != dialogConfirmed {
		t.Errorf("terminate: %v %v, want confirmed true", prev, ok)
	}
	if _, ok := d.terminate(); ok {
		t.Error("terminated twice")
	}
	if d.confirm() {
		t.Error("a terminated dialog was confirmed")
	}
	if err := d.beginReinvite(); err != errDialogPending {
		t.Errorf("re-INVITE after the end: %v", err)
	}
}

// dialogPeer is a caller on a real UDP socket that writes its requests
// by hand, so they can carry wrong tags.
type dialogPeer struct {
	t      *testing.T
	conn   net.PacketConn
	srv    net.Addr
	callID string
	toTag  string // the server's tag, from its 200
	branch int
}

func (p *dialogPeer) send(method string, cseq int, fromTag, toTag, extra, body string) {
	p.t.Helper()
	p.branch++
	to := "<sip:1000@127.0.0.1>"
	if toTag != "" {
		to += ";tag=" + toTag
	}
	ctype := ""
	if body != "" {
		ctype = "Content-Type: application/sdp\r\n"
	}
	me := p.conn.LocalAddr().String()
	msg := fmt.Sprintf("%s sip:1000@%s SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP %s;branch=z9hG4bK-dlg-%d\r\n"+
		"From: <sip:caller@127.0.0.1>;tag=%s\r\n"+
		"To: %s\r\nCall-ID: %s\r\nCSeq: %d %s\r\n"+
		"Contact: <sip:caller@%s>\r\nMax-Forwards: 70\r\n%s%s"+
		"Content-Length: %d\r\n\r\n%s",
		method, p.srv.String(), me, p.branch, fromTag, to, p.callID, cseq, method, me, extra, ctype, len(body), body)
	if _, err := p.conn.WriteTo([]byte(msg), p.srv); err != nil {
		p.t.Fatal(err)
	}
}

// next returns the next response to method that arrives before end, nil
// when none does.
func (p *dialogPeer) next(method string, end time.Time) *sip.Response {
	p.t.Helper()
	buf := make([]byte, 8192)
	for time.Now().Before(end) {
		p.conn.SetReadDeadline(end)
		n, _, err := p.conn.ReadFrom(buf)
		if err != nil {
			return nil
		}
		m, err := sip.ParseMessage(buf[:n])
		if err != nil {
			p.t.Fatalf("unparseable from the server: %q", buf[:n])
		}
		if res, ok := m.(*sip.Response); ok && res.CSeq() != nil && string(res.CSeq().MethodName) == method {
			return res
		}
	}
	return nil
}

// responses collects the responses to method that arrive within d.
func (p *dialogPeer) responses(method string, d time.Duration) []*sip.Response {
	var out []*sip.Response
	end := time.Now().Add(d)
	for res := p.next(method, end); res != nil; res = p.next(method, end) {
		out = append(out, res)
	}
	return out
}

// final waits (up to 5 s) for the final response to method.
func (p *dialogPeer) final(method string) *sip.Response {
	p.t.Helper()
	end := time.Now().Add(5 * time.Second)
	for res := p.next(method, end); res != nil; res = p.next(method, end) {
		if res.StatusCode >= 200 {
			return res
		}
	}
	p.t.Fatalf("no final response to %s", method)
	return nil
}

// TestInDialogRequestsNeedTheDialogID: ACK, BYE, re-INVITE, INFO and
// REFER with the call's Call-ID but a wrong tag are refused with 481 (an
// ACK is ignored: the 200 keeps being retransmitted), one with an old
// CSeq with 500, a second re-INVITE before the first's ACK with 491; the
// call stays up through all of them and ends on the right BYE.
func TestInDialogRequestsNeedTheDialogID(t *testing.T) {
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) }) // after the server's cleanup
	up := make(chan call.Leg, 1)
	h := answering(up)
	srv := newTestServer(t, h, Config{})
	srvAddr := serveUDP(t, srv)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	p := &dialogPeer{t: t, conn: pc, srv: srvAddr, callID: "dlg-1@127.0.0.1"}

	p.send("INVITE", 10, "caller", "", "", seedSDP)
	ok := p.final("INVITE")
	if ok.StatusCode != 200 {
		t.Fatalf("INVITE: %d %s", ok.StatusCode, ok.Reason)
	}
	p.toTag, _ = ok.To().Params.Get("tag")
	var leg call.Leg
	select {
	case leg = <-up:
	case <-time.After(5 * time.Second):
		t.Fatal("handler never saw the call answered")
	}

	// An ACK with a wrong tag does not stop the 200's retransmissions
	// (T1, 2T1... after the first: two within 2.5 s).
	p.send("ACK", 10, "caller", "not-"+p.toTag, "", "")
	if n := len(p.responses("INVITE", 2500*time.Millisecond)); n < 2 {
		t.Fatalf("after an ACK with a wrong tag, %d retransmissions of the 200, want 2 or more", n)
	}
	p.send("ACK", 10, "caller", p.toTag, "", "")
	if n := len(p.responses("INVITE", 2500*time.Millisecond)); n > 1 {
		t.Fatalf("after the ACK, %d retransmissions of the 200", n)
	}

	for _, c := range []struct {
		name, method   string
		cseq           int
		fromTag, toTag string
		extra, body    string
		want           int
	}{
		{"BYE with a wrong To tag", "BYE", 20, "caller", "not-mine", "", "", 481},
		{"BYE with a wrong From tag", "BYE", 21, "someone-else", p.toTag, "", "", 481},
		{"re-INVITE with a wrong To tag", "INVITE", 22, "caller", "not-mine", "", seedSDP, 481},
		{"INFO with a wrong From tag", "INFO", 23, "someone-else", p.toTag, "", "", 481},
		{"REFER with a wrong To tag", "REFER", 24, "caller", "not-mine", "Refer-To: <sip:alice@127.0.0.1>\r\n", "", 481},
		{"BYE with an old CSeq", "BYE", 5, "caller", p.toTag, "", "", 500},
		{"INFO in the dialog", "INFO", 30, "caller", p.toTag, "", "", 200},
		{"INFO for an Info Package", "INFO", 31, "caller", p.toTag, "Info-Package: foo\r\n", "", 469},
	} {
		p.send(c.method, c.cseq, c.fromTag, c.toTag, c.extra, c.body)
		if res := p.final(c.method); res.StatusCode != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, res.StatusCode, res.Reason, c.want)
		}
		select {
		case <-leg.Done():
			t.Fatalf("%s ended the call", c.name)
		default:
		}
	}

	// A second re-INVITE while the first waits for its ACK: 491.
	p.send("INVITE", 40, "caller", p.toTag, "", strings.Replace(seedSDP, "t=0 0\r\n", "t=0 0\r\na=sendonly\r\n", 1))
	if res := p.final("INVITE"); res.StatusCode != 200 {
		t.Fatalf("re-INVITE: %d %s", res.StatusCode, res.Reason)
	}
	p.send("INVITE", 41, "caller", p.toTag, "", seedSDP)
	if res := p.final("INVITE"); res.StatusCode != 491 {
		t.Errorf("re-INVITE before the first's ACK: %d %s, want 491", res.StatusCode, res.Reason)
	}
	p.send("ACK", 40, "caller", p.toTag, "", "")

	p.send("BYE", 50, "caller", p.toTag, "", "")
	if res := p.final("BYE"); res.StatusCode != 200 {
		t.Fatalf("BYE: %d %s", res.StatusCode, res.Reason)
	}
	select {
	case <-leg.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the right BYE did not end the call")
	}
}

// serveUDP serves srv on a UDP socket of 127.0.0.1 until the test ends,
// and returns its address.
func serveUDP(t *testing.T, srv *Server) net.Addr {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.ServeUDP(conn) }()
	t.Cleanup(func() {
		srv.Close()
		<-served
	})
	return conn.LocalAddr()
}

// TestDialogRouteSet: requests in a dialog carry its route set (RFC 3261
// section 12.1): the INVITE's Record-Route in order for the dialog we
// answered, the 2xx's reversed for the one we placed; both go to the
// remote target (their Contact) with the next CSeq, and ACK reuses the
// INVITE's.
func TestDialogRouteSet(t *testing.T) {
	parse := func(text string) sip.Message {
		t.Helper()
		m, err := sip.ParseMessage([]byte(text))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	routes := func(req *sip.Request) []string {
		var out []string
		for _, h := range req.GetHeaders("Route") {
			out = append(out, h.Value())
		}
		return out
	}
	invite := parse("INVITE sip:1000@127.0.0.1 SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bK-rr\r\n" +
		"Record-Route: <sip:p2.example;lr>\r\nRecord-Route: <sip:p1.example;lr>\r\n" +
		"From: <sip:caller@192.0.2.9>;tag=theirs\r\nTo: <sip:1000@127.0.0.1>\r\n" +
		"Call-ID: rr-1\r\nCSeq: 7 INVITE\r\nContact: <sip:caller@192.0.2.9:5062>\r\nContent-Length: 0\r\n\r\n").(*sip.Request)
	invite.SetSource("192.0.2.9:5060")
	invite.SetTransport("UDP")
	uas := newUASDialog(invite, "ours", sip.Addr{})
	bye := uas.newRequest(sip.BYE)
	if got := routes(bye); strings.Join(got, ",") != "<sip:p2.example;lr>,<sip:p1.example;lr>" {
		t.Errorf("answered dialog's BYE routes %v, want p2 then p1", got)
	}
	if bye.Recipient.Port != 5062 || bye.Destination() != "192.0.2.9:5060" {
		t.Errorf("BYE to %s via %s, want their Contact via the INVITE's source", bye.Recipient.String(), bye.Destination())
	}
	if ft, _ := bye.From().Params.Get("tag"); ft != "ours" {
		t.Errorf("BYE From tag %q, want ours", ft)
	}
	if tt, _ := bye.To().Params.Get("tag"); tt != "theirs" {
		t.Errorf("BYE To tag %q, want theirs", tt)
	}

	ours := parse("INVITE sip:bob@192.0.2.20:5060 SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-out\r\n" +
		"From: <sip:+331@127.0.0.1>;tag=mine\r\nTo: <sip:bob@192.0.2.20>\r\n" +
		"Call-ID: rr-2\r\nCSeq: 2 INVITE\r\nContent-Length: 0\r\n\r\n").(*sip.Request)
	ours.SetDestination("192.0.2.20:5060")
	ours.SetTransport("UDP")
	ok := parse("SIP/2.0 200 OK\r\n" +
		"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-out\r\n" +
		"Record-Route: <sip:p2.example;lr>\r\nRecord-Route: <sip:p1.example;lr>\r\n" +
		"From: <sip:+331@127.0.0.1>;tag=mine\r\nTo: <sip:bob@192.0.2.20>;tag=phone\r\n" +
		"Call-ID: rr-2\r\nCSeq: 2 INVITE\r\nContact: <sip:bob@192.0.2.20:5070>\r\nContent-Length: 0\r\n\r\n").(*sip.Response)
	uac := newUACDialog(ours, ok)
	if uac.current() != dialogConfirmed {
		t.Errorf("placed dialog %v after its 2xx, want confirmed", uac.current())
	}
	ack, bye := uac.ack(uac.inviteSeq), uac.newRequest(sip.BYE)
	if got := routes(bye); strings.Join(got, ",") != "<sip:p1.example;lr>,<sip:p2.example;lr>" {
		t.Errorf("placed dialog's BYE routes %v, want p1 then p2", got)
	}
	if ack.CSeq().SeqNo != 2 || bye.CSeq().SeqNo != 3 {
		t.Errorf("ACK CSeq %d, BYE CSeq %d, want 2 and 3", ack.CSeq().SeqNo, bye.CSeq().SeqNo)
	}
	if bye.Recipient.Port != 5070 {
		t.Errorf("BYE to %s, want the 2xx's Contact", bye.Recipient.String())
	}
	if tt, _ := bye.To().Params.Get("tag"); tt != "phone" {
		t.Errorf("BYE To tag %q, want the phone's", tt)
	}
}
