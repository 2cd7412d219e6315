package sip

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
	"go.uber.org/goleak"
)

// The digest example of RFC 2617 section 3.5, checked from HA1 alone.
func TestCheckDigestRFC2617(t *testing.T) {
	ha1 := HA1("Mufasa", "testrealm@host.com", "Circle Of Life")
	if ha1 != "939e7578ed9e3c518a452acee763bce9" {
		t.Fatalf("HA1 = %s", ha1)
	}
	cred := &digest.Credentials{Username: "Mufasa", Realm: "testrealm@host.com",
		Nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093", URI: "/dir/index.html", QOP: "auth", Nc: 1,
		Cnonce: "0a4f113b", Response: "6629fae49393a05397450978507c4ef1"}
	if !checkDigest(ha1, "GET", cred) {
		t.Error("RFC 2617 example refused")
	}
	for name, mutate := range map[string]func(c *digest.Credentials){
		"other method response": func(c *digest.Credentials) { c.Response = "6629fae49393a05397450978507c4ef2" },
		"other nonce count":     func(c *digest.Credentials) { c.Nc = 2 },
		"other URI":             func(c *digest.Credentials) { c.URI = "/" },
		"auth-int":              func(c *digest.Credentials) { c.QOP = "auth-int" },
		"SHA-256 claimed":       func(c *digest.Credentials) { c.Algorithm = "SHA-256" },
	} {
		c := *cred
		mutate(&c)
		if checkDigest(ha1, "GET", &c) {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestParseExpires(t *testing.T) {
	for in, want := range map[string]time.Duration{"0": 0, " 60 ": time.Minute, "4294967295": 4294967295 * time.Second} {
		if got, err := parseExpires(in); err != nil || got != want {
			t.Errorf("parseExpires(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "4294967296", "1e3", "60s", "0x10"} {
		if _, err := parseExpires(in); err == nil {
			t.Errorf("parseExpires(%q) accepted", in)
		}
	}
}

func TestContactKeyMatchesDefaultPort(t *testing.T) {
	var a, b sip.Uri
	sip.ParseUri("sip:alice@192.0.2.1", &a)
	sip.ParseUri("sip:alice@192.0.2.1:5060;transport=UDP", &b)
	b.UriParams = nil
	if contactKey(a) != contactKey(b) {
		t.Errorf("%s and %s differ", contactKey(a), contactKey(b))
	}
}

func TestMemoryBindingsExpire(t *testing.T) {
	m := NewMemoryBindings()
	ctx := context.Background()
	now := time.Unix(1000, 0)
	add := func(aor, host string, ttl time.Duration) {
		m.Update(ctx, aor, now, func(cur []Binding) ([]Binding, error) {
			return append(cur, Binding{AOR: aor, Contact: sip.Uri{Scheme: "sip", User: aor, Host: host}, Expires: now.Add(ttl)}), nil
		})
	}
	add("alice", "192.0.2.1", time.Minute)
	add("alice", "192.0.2.2", time.Hour)
	add("bob", "192.0.2.3", time.Minute)
	later := now.Add(2 * time.Minute)
	if bs, _ := m.Lookup(ctx, "alice", later); len(bs) != 1 || bs[0].Contact.Host != "192.0.2.2" {
		t.Errorf("alice after 2 min = %v, want the hour-long one", bs)
	}
	gone, _ := m.Expire(ctx, later)
	if len(gone) != 2 {
		t.Errorf("expired %d, want 2", len(gone))
	}
	if all, _ := m.All(ctx, later); len(all) != 1 {
		t.Errorf("left %d, want 1", len(all))
	}
}

// testAccounts maps "user" to an MD5 HA1 and "user/SHA-256" to a SHA-256
// one.
type testAccounts map[string]string

func (a testAccounts) SIPHA1(user, algorithm string) (string, bool) {
	if algorithm == AlgorithmSHA256 {
		user += "/" + AlgorithmSHA256
	}
	h, ok := a[user]
	return h, ok
}

// registerMessage is a REGISTER from alice at 127.0.0.1:5070 with the
// given Contact and Expires lines, authorised for srv when auth is set.
func registerMessage(srv *Server, cseq int, contact, expires string, auth bool) string {
	authz := ""
	if auth {
		chal := &digest.Challenge{Realm: DefaultRealm, Nonce: srv.auth.nonce(), Algorithm: "MD5", QOP: []string{"auth"}}
		cred, _ := digest.Digest(chal, digest.Options{Method: "REGISTER", URI: "sip:127.0.0.1",
			Username: "alice", Password: "alice-phone-secret", Cnonce: "c0ffee", Count: 1})
		authz = "Authorization: " + cred.String() + "\r\n"
	}
	return "REGISTER sip:127.0.0.1 SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-r1\r\n" +
		"From: <sip:alice@127.0.0.1>;tag=r1\r\n" +
		"To: <sip:alice@127.0.0.1>\r\n" +
		"Call-ID: reg-1@127.0.0.1\r\n" +
		"CSeq: " + strconv.Itoa(cseq) + " REGISTER\r\n" +
		contact + expires + authz +
		"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
}

func newRegistrarServer(t testing.TB) *Server {
	t.Helper()
	s, err := NewServer(Config{Trunks: []Trunk{{Name: "local", Networks: []string{"127.0.0.0/8"}}}}, rejecting,
		MediaOpenerFunc(func(string) (Media, error) { return newFakeMedia(), nil }),
		WithAccounts(testAccounts{"alice": HA1("alice", DefaultRealm, "alice-phone-secret")}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// FuzzRegister feeds authorised REGISTERs with arbitrary Contact and
// Expires headers: no panic, a final response that is not 500, and
// nothing registered beyond max_expires, at another public host or with
// more than max_contacts.
func FuzzRegister(f *testing.F) {
	f.Add("<sip:alice@127.0.0.1:5070>", "600")
	f.Add("<sip:alice@127.0.0.1:5070>;expires=0", "")
	f.Add("*", "0")
	f.Add("*", "60")
	f.Add("<sip:alice@192.0.2.1>", "99999999999")
	f.Add("<sip:alice@10.0.0.5:5060>, <sip:alice@10.0.0.6>;expires=30", "3600")
	f.Add("<tel:+331>", "600")
	f.Add("<sip:alice@phone.example>", "-1")
	srv := newRegistrarServer(f)
	f.Fuzz(func(t *testing.T, contact, expires string) {
		if strings.ContainsAny(contact+expires, "\r\n") {
			return
		}
		msg, err := sip.ParseMessage([]byte(registerMessage(srv, 1, "Contact: "+contact+"\r\n", "Expires: "+expires+"\r\n", true)))
		if err != nil {
			return
		}
		req := msg.(*sip.Request)
		req.SetSource("127.0.0.1:5070")
		req.SetTransport("UDP")
		tx := newFakeTx()
		srv.handle(req, tx)
		if n := srv.panics.Load(); n != 0 {
			t.Fatalf("%d panics", n)
		}
		codes := tx.codes()
		if len(codes) == 0 || codes[len(codes)-1] < 200 || codes[len(codes)-1] == 500 {
			t.Fatalf("responses %v to Contact %q Expires %q", codes, contact, expires)
		}
		now := time.Now()
		bs, _ := srv.bindings.Lookup(context.Background(), "alice", now)
		if len(bs) > DefaultMaxContacts {
			t.Fatalf("%d contacts", len(bs))
		}
		for _, b := range bs {
			if b.Expires.After(now.Add(DefaultMaxExpires + time.Second)) {
				t.Fatalf("%s registered until %v", b.Contact.String(), b.Expires)
			}
			if a, err := netip.ParseAddr(b.Contact.Host); err != nil || !(a.IsPrivate() || a.IsLoopback()) {
				t.Fatalf("contact %s registered from 127.0.0.1", b.Contact.String())
			}
		}
		srv.bindings.Update(context.Background(), "alice", now, func([]Binding) ([]Binding, error) { return nil, nil })
	})
}

// TestRegisterAnswers pins the registrar's answers to REGISTERs built by
// hand (the SIPp tests in service run a real phone's exchange).
func TestRegisterAnswers(t *testing.T) {
	srv := newRegistrarServer(t)
	for i, c := range []struct {
		name, contact, expires string
		auth                   bool
		want                   int
	}{
		{"no credentials: challenged", "Contact: <sip:alice@127.0.0.1:5070>\r\n", "", false, 401},
		{"registered", "Contact: <sip:alice@127.0.0.1:5070>\r\n", "Expires: 600\r\n", true, 200},
		{"fetch bindings without Contact", "", "", true, 200},
		{"wildcard without Expires 0", "Contact: *\r\n", "Expires: 60\r\n", true, 400},
		{"tel contact", "Contact: <tel:+331>\r\n", "", true, 400},
		{"host name without proxy", "Contact: <sip:alice@phone.example>\r\n", "", true, 403},
		{"wildcard unregisters all", "Contact: *\r\n", "Expires: 0\r\n", true, 200},
	} {
		if c.name == "wildcard unregisters all" {
			// the same Call-ID and an old CSeq: out of order (RFC 3261 section 10.3 step 6)
			if codes := handleRaw(t, srv, registerMessage(srv, 1, c.contact, c.expires, true)); len(codes) == 0 || codes[len(codes)-1] != 500 {
				t.Errorf("out-of-order wildcard: %v, want 500", codes)
			}
		}
		t.Run(c.name, func(t *testing.T) {
			codes := handleRaw(t, srv, registerMessage(srv, i+1, c.contact, c.expires, c.auth))
			if len(codes) == 0 || codes[len(codes)-1] != c.want {
				t.Fatalf("responses %v, want %d", codes, c.want)
			}
		})
	}
	if bs, _ := srv.bindings.Lookup(context.Background(), "alice", time.Now()); len(bs) != 0 {
		t.Errorf("after Contact: * Expires: 0, %d bindings left", len(bs))
	}
}

// handleRaw hands a request from 127.0.0.1:5070 over UDP to srv, as if
// from the wire, and returns the response codes.
func handleRaw(t testing.TB, srv *Server, text string) []int {
	t.Helper()
	msg, err := sip.ParseMessage([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	req := msg.(*sip.Request)
	req.SetSource("127.0.0.1:5070")
	req.SetTransport("UDP")
	tx := newFakeTx()
	srv.handle(req, tx)
	return tx.codes()
}

// TestKeepAliveDropsSilentPhone: a phone on a real UDP socket registers,
// answers the keep-alive OPTIONS twice, then goes silent (its NAT
// binding gone): it is unregistered after three unanswered ones.
func TestKeepAliveDropsSilentPhone(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	cfg := Config{Trunks: []Trunk{{Name: "local", Networks: []string{"127.0.0.0/8"}}},
		Registrar: RegistrarConfig{KeepAlive: time.Second}}
	var regs []int
	var mu sync.Mutex
	srv, err := NewServer(cfg, rejecting, MediaOpenerFunc(func(string) (Media, error) { return newFakeMedia(), nil }),
		WithAccounts(testAccounts{"alice": HA1("alice", DefaultRealm, "alice-phone-secret")}),
		WithRegistrationHook(func(agent string, n int) { mu.Lock(); regs = append(regs, n); mu.Unlock() }))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.ServeUDP(conn) }()
	defer func() {
		srv.Close()
		<-served
	}()
	phone, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer phone.Close()
	me := phone.LocalAddr().String()
	msg := strings.ReplaceAll(registerMessage(srv, 1, "Contact: <sip:alice@"+me+">\r\n", "Expires: 600\r\n", true), "127.0.0.1:5070", me)
	if _, err := phone.WriteTo([]byte(msg), conn.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	answered, start := 0, time.Now()
	for time.Since(start) < 15*time.Second {
		phone.SetReadDeadline(time.Now().Add(time.Second))
		n, from, err := phone.ReadFrom(buf)
		if err != nil {
			if bs, _ := srv.bindings.Lookup(context.Background(), "alice", time.Now()); answered == 2 && len(bs) == 0 {
				break
			}
			continue
		}
		m, err := sip.ParseMessage(buf[:n])
		if err != nil {
			t.Fatalf("unparseable %q", buf[:n])
		}
		req, ok := m.(*sip.Request)
		if !ok || req.Method != sip.OPTIONS || answered == 2 {
			continue
		}
		answered++
		phone.WriteTo([]byte(sip.NewResponseFromRequest(req, 200, "OK", nil).String()), from)
	}
	if answered != 2 {
		t.Fatalf("answered %d keep-alives, want 2", answered)
	}
	if bs, _ := srv.bindings.Lookup(context.Background(), "alice", time.Now()); len(bs) != 0 {
		t.Fatalf("silent phone still registered after %v", time.Since(start))
	}
	t.Logf("unregistered %v after the first REGISTER", time.Since(start).Round(100*time.Millisecond))
	mu.Lock()
	defer mu.Unlock()
	if len(regs) != 2 || regs[0] != 1 || regs[1] != 0 {
		t.Errorf("registration hook saw %v, want [1 0]", regs)
	}
}

// The SHA-256 digest example of RFC 7616 section 3.9.1, checked from the
// SHA-256 HA1 alone.
func TestCheckDigestRFC7616(t *testing.T) {
	ha1 := HA1SHA256("Mufasa", "http-auth@example.org", "Circle of Life")
	cred := &digest.Credentials{Username: "Mufasa", Realm: "http-auth@example.org", Algorithm: "SHA-256",
		Nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", URI: "/dir/index.html", QOP: "auth", Nc: 1,
		Cnonce:   "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
		Response: "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"}
	if !checkDigest(ha1, "GET", cred) {
		t.Fatal("RFC 7616 SHA-256 example refused")
	}
	for name, mutate := range map[string]func(c *digest.Credentials){
		"MD5 claimed":       func(c *digest.Credentials) { c.Algorithm = "MD5" },
		"no algorithm":      func(c *digest.Credentials) { c.Algorithm = "" },
		"SHA-256-sess":      func(c *digest.Credentials) { c.Algorithm = "SHA-256-sess" },
		"SHA-512-256":       func(c *digest.Credentials) { c.Algorithm = "SHA-512-256" },
		"other nonce count": func(c *digest.Credentials) { c.Nc = 2 },
	} {
		c := *cred
		mutate(&c)
		if checkDigest(ha1, "GET", &c) {
			t.Errorf("%s: accepted", name)
		}
	}
}

// sha256Authorization is an Authorization header for a REGISTER by user
// with password, answering a SHA-256 challenge with nonce, computed here
// from RFC 7616 section 3.4.1 (not by the digest package).
func sha256Authorization(user, password, nonce, claimed string) string {
	h := func(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }
	uri, cnonce := "sip:127.0.0.1", "c0ffee"
	ha1 := h(user + ":" + DefaultRealm + ":" + password)
	ha2 := h("REGISTER:" + uri)
	resp := h(ha1 + ":" + nonce + ":00000001:" + cnonce + ":auth:" + ha2)
	return fmt.Sprintf(`Authorization: Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=%s, qop=auth, nc=00000001, cnonce="%s"`+"\r\n",
		user, DefaultRealm, nonce, uri, resp, claimed, cnonce)
}

// TestRegisterSHA256: the registrar's challenge offers SHA-256 then MD5
// (RFC 8760) to an agent with both HA1s, MD5 alone to one with an MD5
// HA1 only (old configurations) and to unknown names, SHA-256 alone to
// one with only that; a
// REGISTER answered with either algorithm registers, a wrong secret or
// a SHA-256 response passed off as MD5 gets 403.
func TestRegisterSHA256(t *testing.T) {
	srv, err := NewServer(Config{Trunks: []Trunk{{Name: "local", Networks: []string{"127.0.0.0/8"}}}}, rejecting,
		MediaOpenerFunc(func(string) (Media, error) { return newFakeMedia(), nil }),
		WithAccounts(testAccounts{
			"alice":         HA1("alice", DefaultRealm, "alice-phone-secret"),
			"alice/SHA-256": HA1SHA256("alice", DefaultRealm, "alice-phone-secret"),
			"carol/SHA-256": HA1SHA256("carol", DefaultRealm, "carol-phone-secret"),
			"bob":           HA1("bob", DefaultRealm, "bob-phone-secret"),
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	register := func(user, authz string, cseq int) *sip.Response {
		t.Helper()
		msg := strings.ReplaceAll(registerMessage(srv, cseq, "Contact: <sip:alice@127.0.0.1:5070>\r\n", "Expires: 600\r\n", false), "alice", user)
		msg = strings.Replace(msg, "Max-Forwards", authz+"Max-Forwards", 1)
		m, err := sip.ParseMessage([]byte(msg))
		if err != nil {
			t.Fatal(err)
		}
		req := m.(*sip.Request)
		req.SetSource("127.0.0.1:5070")
		req.SetTransport("UDP")
		tx := newFakeTx()
		srv.handle(req, tx)
		if len(tx.resps) == 0 {
			t.Fatal("no response")
		}
		return tx.resps[len(tx.resps)-1]
	}
	for _, c := range []struct {
		user string
		want []string
	}{
		{"alice", []string{"SHA-256", "MD5"}},
		{"bob", []string{"MD5"}},
		{"carol", []string{"SHA-256"}},
		{"mallory", []string{"MD5"}},
	} {
		res := register(c.user, "", 1)
		var got []string
		for _, h := range res.GetHeaders("WWW-Authenticate") {
			chal, err := digest.ParseChallenge(h.Value())
			if err != nil {
				t.Fatalf("%s: challenge %q: %v", c.user, h.Value(), err)
			}
			got = append(got, chal.Algorithm)
		}
		if res.StatusCode != 401 || strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("%s challenged %d with %v, want 401 with %v", c.user, res.StatusCode, got, c.want)
		}
	}
	nonce := srv.auth.nonce()
	for i, c := range []struct {
		name, user, authz string
		want              int
	}{
		{"alice with SHA-256", "alice", sha256Authorization("alice", "alice-phone-secret", nonce, "SHA-256"), 200},
		{"carol with SHA-256", "carol", sha256Authorization("carol", "carol-phone-secret", nonce, "SHA-256"), 200},
		{"alice with a wrong secret", "alice", sha256Authorization("alice", "not-her-secret", nonce, "SHA-256"), 403},
		{"a SHA-256 response passed off as MD5", "alice", sha256Authorization("alice", "alice-phone-secret", nonce, "MD5"), 403},
		{"bob (no SHA-256 HA1) with SHA-256", "bob", sha256Authorization("bob", "bob-phone-secret", nonce, "SHA-256"), 403},
	} {
		if res := register(c.user, c.authz, 10+i); res.StatusCode != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, res.StatusCode, res.Reason, c.want)
		}
	}
	if codes := handleRaw(t, srv, registerMessage(srv, 30, "Contact: <sip:alice@127.0.0.1:5070>\r\n", "Expires: 600\r\n", true)); len(codes) == 0 || codes[len(codes)-1] != 200 {
		t.Errorf("alice with MD5: %v, want 200", codes)
	}
}
