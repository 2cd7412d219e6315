package service_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
	"github.com/voxdesk/voxdesk/routing"
	"github.com/voxdesk/voxdesk/service"
	sipx "github.com/voxdesk/voxdesk/sip"
)

// bobWithSHA256 gives bob both HA1s of his secret: the registrar then
// challenges SHA-256 first, then MD5 (RFC 8760).
func bobWithSHA256(c *service.Config) {
	c.SIP.Agents = []service.SIPAgent{{ID: "bob", Ring: service.RingSIP,
		HA1:       sipx.HA1("bob", sipx.DefaultRealm, "bob-phone-secret"),
		HA1SHA256: sipx.HA1SHA256("bob", sipx.DefaultRealm, "bob-phone-secret")}}
}

// TestRegisterSHA256Wire: a phone written here registers bob over UDP:
// the 401 carries two WWW-Authenticate, SHA-256 then MD5; the REGISTER
// answered with a SHA-256 digest (computed from RFC 7616 section 3.4.1,
// not by a library) gets 200 and bob becomes available; the same with a
// wrong secret gets 403.
func TestRegisterSHA256Wire(t *testing.T) {
	sw := phoneSwitch(t, bobWithSHA256)
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	me := conn.LocalAddr().String()
	dst := sw.SIPAddr("udp")
	exchange := func(cseq int, authz string) *sip.Response {
		t.Helper()
		msg := "REGISTER sip:127.0.0.1 SIP/2.0\r\n" +
			fmt.Sprintf("Via: SIP/2.0/UDP %s;branch=z9hG4bK-sha-%d;rport\r\n", me, cseq) +
			"From: <sip:bob@127.0.0.1>;tag=sha\r\nTo: <sip:bob@127.0.0.1>\r\n" +
			fmt.Sprintf("Call-ID: sha-reg@127.0.0.1\r\nCSeq: %d REGISTER\r\n", cseq) +
			"Contact: <sip:bob@" + me + ">\r\nExpires: 300\r\n" + authz +
			"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
		if _, err := conn.WriteTo([]byte(msg), dst); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 8192)
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			n, _, err := conn.ReadFrom(buf)
			if err != nil {
				t.Fatalf("REGISTER %d: %v", cseq, err)
			}
			m, err := sip.ParseMessage(buf[:n])
			if err != nil {
				t.Fatalf("unparseable answer %q", buf[:n])
			}
			if res, ok := m.(*sip.Response); ok && res.StatusCode >= 200 {
				return res
			}
		}
	}
	res := exchange(1, "")
	var algs []string
	var nonce string
	for _, h := range res.GetHeaders("WWW-Authenticate") {
		chal, err := digest.ParseChallenge(h.Value())
		if err != nil {
			t.Fatalf("challenge %q: %v", h.Value(), err)
		}
		algs = append(algs, chal.Algorithm)
		nonce = chal.Nonce
	}
	if res.StatusCode != 401 || strings.Join(algs, ",") != "SHA-256,MD5" {
		t.Fatalf("first REGISTER: %d with algorithms %v, want 401 with [SHA-256 MD5]", res.StatusCode, algs)
	}
	h := func(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }
	authz := func(secret string) string {
		ha1 := h("bob:" + sipx.DefaultRealm + ":" + secret)
		resp := h(ha1 + ":" + nonce + ":00000001:5ca1ab1e:auth:" + h("REGISTER:sip:127.0.0.1"))
		return fmt.Sprintf(`Authorization: Digest username="bob", realm="%s", nonce="%s", uri="sip:127.0.0.1", `+
			`response="%s", algorithm=SHA-256, qop=auth, nc=00000001, cnonce="5ca1ab1e"`+"\r\n", sipx.DefaultRealm, nonce, resp)
	}
	if res := exchange(2, authz("not-bobs-secret")); res.StatusCode != 403 {
		t.Errorf("SHA-256 digest of a wrong secret: %d %s, want 403", res.StatusCode, res.Reason)
	}
	if res := exchange(3, authz("bob-phone-secret")); res.StatusCode != 200 {
		t.Fatalf("SHA-256 digest: %d %s, want 200", res.StatusCode, res.Reason)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := waitFor(ctx, "bob available", func() bool { return agentState(sw, "bob") == routing.StateAvailable }); err != nil {
		t.Fatal(err)
	}
}

// TestSIPAgentBadHA1SHA256: an ha1_sha256 that is not 64 hex digits (an
// MD5 HA1 pasted there, say) stops New with an error naming it.
func TestSIPAgentBadHA1SHA256(t *testing.T) {
	for _, bad := range []string{sipx.HA1("bob", sipx.DefaultRealm, "s"), strings.Repeat("g", 64), "x"} {
		err := newPhoneServiceErr(func(c *service.Config) { c.SIP.Agents[0].HA1SHA256 = bad })
		if err == nil || !strings.Contains(err.Error(), "ha1_sha256") {
			t.Errorf("ha1_sha256 %q: error %v, want one naming ha1_sha256", bad, err)
		}
	}
}
