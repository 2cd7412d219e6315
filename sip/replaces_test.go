package sip

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/voxdesk/voxdesk/call"
)

// TestParseReplacesFromReferTo: a Refer-To as phones send it (RFC 5589
// section 7.1, the Replaces escaped as a URI header) gives the dialog's
// Call-ID and tags; a Replaces missing a tag or the Call-ID is refused.
func TestParseReplacesFromReferTo(t *testing.T) {
	var u sip.Uri
	var params sip.HeaderParams
	v := `<sip:carol@127.0.0.1:5060?Replaces=consult%2F%2F%2F1-2%40h%3Bto-tag%3Dours%3Bfrom-tag%3Dtheirs>`
	if _, err := sip.ParseAddressValue(v, &u, &params); err != nil {
		t.Fatal(err)
	}
	raw, ok := u.Headers.Get("Replaces")
	if !ok {
		t.Fatalf("no Replaces in %v", u)
	}
	r, err := parseReplaces(raw)
	if err != nil {
		t.Fatal(err)
	}
	if want := (replaces{callID: "consult///1-2@h", toTag: "ours", fromTag: "theirs"}); r != want {
		t.Errorf("parsed %+v, want %+v", r, want)
	}
	for _, bad := range []string{"", "cid", "cid;to-tag=a", "cid;from-tag=b", ";to-tag=a;from-tag=b", "cid%3Bto-tag%3Da"} {
		if r, err := parseReplaces(bad); err == nil {
			t.Errorf("parseReplaces(%q) = %+v, want an error", bad, r)
		}
	}
}

// notified waits (up to 5 s) for a NOTIFY from the server, answers it
// 200 and returns its body (the sipfrag).
func (p *dialogPeer) notified() string {
	p.t.Helper()
	buf := make([]byte, 8192)
	end := time.Now().Add(5 * time.Second)
	for time.Now().Before(end) {
		p.conn.SetReadDeadline(end)
		n, from, err := p.conn.ReadFrom(buf)
		if err != nil {
			break
		}
		m, err := sip.ParseMessage(buf[:n])
		if err != nil {
			p.t.Fatalf("unparseable from the server: %q", buf[:n])
		}
		req, ok := m.(*sip.Request)
		if !ok || req.Method != sip.NOTIFY {
			continue
		}
		res := sip.NewResponseFromRequest(req, 200, "OK", nil)
		if _, err := p.conn.WriteTo([]byte(res.String()), from); err != nil {
			p.t.Fatal(err)
		}
		return string(req.Body())
	}
	p.t.Fatal("no NOTIFY")
	return ""
}

// TestReferWithReplaces: a REFER whose Refer-To carries Replaces reaches
// the attended-transfer hook only when the Replaces names another
// confirmed dialog of the server, with its tags as the server sees it
// (to-tag ours, from-tag the phone's): then 202, NOTIFY 200 and the
// completion. A Replaces missing a tag gets 400; one naming no dialog
// (unknown Call-ID, swapped tags, the REFER's own dialog) 202 and a
// NOTIFY 481; a refusal of the hook 403. None ends a call.
func TestReferWithReplaces(t *testing.T) {
	up := make(chan call.Leg, 2)
	h := answering(up)
	srv := newTestServer(t, h, Config{})
	var (
		mu        sync.Mutex
		hooked    []string
		refuse    bool
		completed = make(chan struct{}, 1)
	)
	srv.onAttended = func(ctx context.Context, legID, replaces string) (func() error, error) {
		mu.Lock()
		defer mu.Unlock()
		hooked = append(hooked, legID+" replaces "+replaces)
		if refuse {
			return nil, ErrTransferRefused
		}
		return func() error { completed <- struct{}{}; return nil }, nil
	}
	addr := serveUDP(t, srv)
	var peers [2]*dialogPeer
	var legs [2]call.Leg
	for i := range peers {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		p := &dialogPeer{t: t, conn: pc, srv: addr, callID: fmt.Sprintf("rep-%d@127.0.0.1", i)}
		p.send("INVITE", 1, "caller", "", "", seedSDP)
		ok := p.final("INVITE")
		if ok.StatusCode != 200 {
			t.Fatalf("INVITE %d: %d %s", i, ok.StatusCode, ok.Reason)
		}
		p.toTag, _ = ok.To().Params.Get("tag")
		p.send("ACK", 1, "caller", p.toTag, "", "")
		select {
		case legs[i] = <-up:
		case <-time.After(5 * time.Second):
			t.Fatal("handler never saw the call answered")
		}
		peers[i] = p
	}
	a, b := peers[0], peers[1]
	referTo := func(callID, toTag, fromTag string) string {
		v := url.QueryEscape(callID + ";to-tag=" + toTag + ";from-tag=" + fromTag)
		return "Refer-To: <sip:carol@127.0.0.1?Replaces=" + v + ">\r\n"
	}
	cseq := 10
	for _, c := range []struct {
		name, referTo string
		refuse        bool
		want          int
		frag          string // the NOTIFY's sipfrag after a 202
	}{
		{"Replaces without from-tag", "Refer-To: <sip:carol@127.0.0.1?Replaces=" + url.QueryEscape(b.callID+";to-tag="+b.toTag) + ">\r\n", false, 400, ""},
		{"Replaces naming an unknown Call-ID", referTo("nobody@127.0.0.1", b.toTag, "caller"), false, 202, "SIP/2.0 481"},
		{"Replaces with the tags swapped", referTo(b.callID, "caller", b.toTag), false, 202, "SIP/2.0 481"},
		{"Replaces naming the REFER's own dialog", referTo(a.callID, a.toTag, "caller"), false, 202, "SIP/2.0 481"},
		{"a transfer the hook refuses", referTo(b.callID, b.toTag, "caller"), true, 403, ""},
	} {
		mu.Lock()
		refuse = c.refuse
		mu.Unlock()
		cseq++
		a.send("REFER", cseq, "caller", a.toTag, c.referTo, "")
		if res := a.final("REFER"); res.StatusCode != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, res.StatusCode, res.Reason, c.want)
			continue
		}
		if c.frag != "" {
			if frag := a.notified(); !strings.HasPrefix(frag, c.frag) {
				t.Errorf("%s: NOTIFY sipfrag %q, want %q", c.name, frag, c.frag)
			}
		}
		for i, l := range legs {
			select {
			case <-l.Done():
				t.Fatalf("%s ended call %d", c.name, i)
			default:
			}
		}
	}
	mu.Lock()
	refuse = false
	if len(hooked) != 1 {
		t.Errorf("the hook was called for %v, want once (the refused transfer)", hooked)
	}
	hooked = nil
	mu.Unlock()

	cseq++
	a.send("REFER", cseq, "caller", a.toTag, referTo(b.callID, b.toTag, "caller"), "")
	if res := a.final("REFER"); res.StatusCode != 202 {
		t.Fatalf("attended transfer: %d %s, want 202", res.StatusCode, res.Reason)
	}
	if frag := a.notified(); !strings.HasPrefix(frag, "SIP/2.0 200 OK") {
		t.Errorf("attended transfer: NOTIFY sipfrag %q, want 200", frag)
	}
	select {
	case <-completed:
	case <-time.After(5 * time.Second):
		t.Fatal("the transfer was not completed")
	}
	mu.Lock()
	if want := a.callID + " replaces " + b.callID; len(hooked) != 1 || hooked[0] != want {
		t.Errorf("the hook was called for %v, want [%s]", hooked, want)
	}
	mu.Unlock()
	for _, p := range peers {
		cseq++
		p.send("BYE", cseq, "caller", p.toTag, "", "")
		if res := p.final("BYE"); res.StatusCode != 200 {
			t.Errorf("BYE %s: %d %s", p.callID, res.StatusCode, res.Reason)
		}
	}
}

// answering is a handler that answers each call, passes its leg on up
// and holds it until it ends.
func answering(up chan<- call.Leg) call.Handler {
	return call.HandlerFunc(func(ctx context.Context, c *call.Call) error {
		if err := c.Leg.Answer(ctx); err != nil {
			return err
		}
		up <- c.Leg
		<-c.Leg.Done()
		return call.ErrHangup
	})
}
