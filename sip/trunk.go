package sip

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// Trunk is a carrier trunk or SBC allowed to send us calls, and the route
// our outbound calls take through it.
type Trunk struct {
	Name string `yaml:"name"`
	// Networks are the source networks (CIDR) calls may come from. Empty
	// means any source (then Username must be set).
	Networks []string `yaml:"networks"`
	// Username and Password, when set, require digest authentication
	// (RFC 3261 section 22.4) of every INVITE from this trunk.
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// Realm of the digest challenge; the trunk name when empty.
	Realm string `yaml:"realm"`
	// Trusted trunks assert the caller's identity: the caller number is
	// taken from P-Asserted-Identity when present (RFC 3325).
	Trusted bool `yaml:"trusted"`
	// Proxy is where outbound INVITEs through this trunk go
	// ("host:port"); the target URI's host when empty.
	Proxy string `yaml:"proxy"`
	// Transport for outbound requests: "udp" (default) or "tcp".
	Transport string `yaml:"transport"`

	nets []netip.Prefix
}

// nonceLifetime is how long a digest nonce is accepted.
const nonceLifetime = 5 * time.Minute

func (t *Trunk) init() error {
	if t.Name == "" {
		return errors.New("sip: trunk without a name")
	}
	if len(t.Networks) == 0 && t.Username == "" {
		return fmt.Errorf("sip: trunk %q: set networks, username or both", t.Name)
	}
	if (t.Username == "") != (t.Password == "") {
		return fmt.Errorf("sip: trunk %q: username and password go together", t.Name)
	}
	t.nets = t.nets[:0]
	for _, n := range t.Networks {
		p, err := netip.ParsePrefix(n)
		if err != nil {
			a, err2 := netip.ParseAddr(n)
			if err2 != nil {
				return fmt.Errorf("sip: trunk %q: network %q: %w", t.Name, n, err)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		t.nets = append(t.nets, p.Masked())
	}
	switch strings.ToLower(t.Transport) {
	case "", "udp", "tcp":
	default:
		return fmt.Errorf("sip: trunk %q: transport %q (want udp or tcp)", t.Name, t.Transport)
	}
	if t.Realm == "" {
		t.Realm = t.Name
	}
	return nil
}

func (t *Trunk) allows(src netip.Addr) bool {
	if len(t.nets) == 0 {
		return true
	}
	src = src.Unmap()
	for _, p := range t.nets {
		if p.Contains(src) {
			return true
		}
	}
	return false
}

// access is the outcome of matching a request to the trunks.
type access struct {
	trunk     *Trunk
	challenge *Trunk // set when the request must be (re)challenged
	stale     bool
}

// authenticator checks digest credentials with stateless nonces: a nonce
// is its issue time and an HMAC of it under a per-process key.
type authenticator struct {
	key [32]byte
	now func() time.Time
}

func newAuthenticator() *authenticator {
	a := &authenticator{now: time.Now}
	if _, err := rand.Read(a.key[:]); err != nil {
		panic("sip: no randomness: " + err.Error())
	}
	return a
}

func (a *authenticator) nonce() string {
	var b [8 + 16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(a.now().Unix()))
	m := hmac.New(sha256.New, a.key[:])
	m.Write(b[:8])
	copy(b[8:], m.Sum(nil))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// checkNonce reports whether n is one of ours (valid) and whether it has
// expired (stale, RFC 2617 section 3.2.1).
func (a *authenticator) checkNonce(n string) (valid, stale bool) {
	b, err := base64.RawURLEncoding.DecodeString(n)
	if err != nil || len(b) != 24 {
		return false, false
	}
	m := hmac.New(sha256.New, a.key[:])
	m.Write(b[:8])
	if !hmac.Equal(m.Sum(nil)[:16], b[8:]) {
		return false, false
	}
	issued := time.Unix(int64(binary.BigEndian.Uint64(b[:8])), 0)
	return true, a.now().Sub(issued) > nonceLifetime
}

// challenge returns the WWW-Authenticate value for t.
func (a *authenticator) challenge(t *Trunk, stale bool) string {
	c := digest.Challenge{Realm: t.Realm, Nonce: a.nonce(), Algorithm: "MD5", QOP: []string{"auth"}, Stale: stale}
	return c.String()
}

// verify checks an Authorization header value against trunk t.
func (a *authenticator) verify(t *Trunk, method, hdr string) (ok, stale bool) {
	cred, err := digest.ParseCredentials(hdr)
	if err != nil || cred.Username != t.Username || cred.Realm != t.Realm {
		return false, false
	}
	valid, stale := a.checkNonce(cred.Nonce)
	if !valid {
		return false, false
	}
	chal := &digest.Challenge{Realm: t.Realm, Nonce: cred.Nonce, Algorithm: cred.Algorithm}
	if cred.QOP != "" {
		chal.QOP = []string{cred.QOP}
	}
	want, err := digest.Digest(chal, digest.Options{
		Method: method, URI: cred.URI, Username: t.Username, Password: t.Password,
		Cnonce: cred.Cnonce, Count: cred.Nc,
	})
	if err != nil || !hmac.Equal([]byte(want.Response), []byte(cred.Response)) {
		return false, false
	}
	if stale {
		return false, true
	}
	return true, false
}

// match picks the trunk for a request from src. Trunks are tried in
// order; a trunk whose networks exclude src is skipped; a trunk without
// credentials accepts at once; a trunk with credentials accepts when the
// Authorization header verifies, else the first such trunk challenges.
func (a *authenticator) match(trunks []*Trunk, src netip.Addr, req *sip.Request) access {
	var out access
	var authz string
	if h := req.GetHeader("Authorization"); h != nil {
		authz = h.Value()
	}
	for _, t := range trunks {
		if !t.allows(src) {
			continue
		}
		if t.Username == "" {
			return access{trunk: t}
		}
		if authz != "" {
			ok, stale := a.verify(t, string(req.Method), authz)
			if ok {
				return access{trunk: t}
			}
			if stale && out.challenge == nil {
				out.challenge, out.stale = t, true
			}
		}
		if out.challenge == nil {
			out.challenge = t
		}
	}
	return out
}
