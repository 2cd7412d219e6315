package sip

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// RegistrarConfig configures REGISTER for agents' SIP phones. The
// registrar is on when the server has Accounts (WithAccounts).
type RegistrarConfig struct {
	// Realm of the digest challenge; DefaultRealm when empty. An
	// account's HA1 is MD5(user:realm:secret), so changing the realm
	// invalidates every secret.
	Realm string `yaml:"realm"`
	// MinExpires: shorter registrations get 423 Interval Too Brief
	// (RFC 3261 section 10.3 step 7); default DefaultMinExpires.
	MinExpires time.Duration `yaml:"min_expires"`
	// MaxExpires: longer ones are granted this much; default
	// DefaultMaxExpires.
	MaxExpires time.Duration `yaml:"max_expires"`
	// MaxContacts per agent; a REGISTER adding more gets 403; default
	// DefaultMaxContacts.
	MaxContacts int `yaml:"max_contacts"`
	// Proxies are the networks (CIDR) of SIP proxies or SBCs allowed to
	// register contacts on other hosts than their own, with a Path
	// header (RFC 3327). Phones elsewhere may only register themselves.
	Proxies []string `yaml:"proxies"`
	// KeepAlive is how often registered contacts are sent OPTIONS, which
	// keeps NAT bindings open and drops a contact that stops answering;
	// default DefaultKeepAlive, negative: never.
	KeepAlive time.Duration `yaml:"keep_alive"`

	proxies []netip.Prefix
}

// Registrar defaults.
const (
	DefaultRealm       = "voxdesk"
	DefaultMinExpires  = 60 * time.Second
	DefaultMaxExpires  = time.Hour
	DefaultExpires     = 600 * time.Second // when the phone names none
	DefaultMaxContacts = 5
	DefaultKeepAlive   = 30 * time.Second
)

func (c *RegistrarConfig) init() error {
	if c.Realm == "" {
		c.Realm = DefaultRealm
	}
	if c.MinExpires <= 0 {
		c.MinExpires = DefaultMinExpires
	}
	if c.MaxExpires <= 0 {
		c.MaxExpires = DefaultMaxExpires
	}
	if c.MaxExpires < c.MinExpires {
		return fmt.Errorf("sip: registrar: max_expires %v is below min_expires %v", c.MaxExpires, c.MinExpires)
	}
	if c.MaxContacts <= 0 {
		c.MaxContacts = DefaultMaxContacts
	}
	if c.KeepAlive == 0 {
		c.KeepAlive = DefaultKeepAlive
	}
	c.proxies = c.proxies[:0]
	for _, n := range c.Proxies {
		p, err := netip.ParsePrefix(n)
		if err != nil {
			return fmt.Errorf("sip: registrar: proxies: %w", err)
		}
		c.proxies = append(c.proxies, p.Masked())
	}
	return nil
}

// Digest algorithms of the registrar (RFC 8760): its challenge offers
// SHA-256 first, then MD5, and a phone answers with the first it
// supports.
const (
	AlgorithmSHA256 = "SHA-256"
	AlgorithmMD5    = "MD5"
)

// HA1 is the stored form of an agent's SIP secret for MD5 digests: hex
// MD5 of "user:realm:secret" (RFC 2617 section 3.2.2.2), what the
// registrar needs to check a digest without knowing the secret.
func HA1(user, realm, secret string) string {
	return md5hex(user + ":" + realm + ":" + secret)
}

// HA1SHA256 is HA1 for SHA-256 digests (RFC 8760, RFC 7616 section
// 3.4.2): hex SHA-256 of "user:realm:secret".
func HA1SHA256(user, realm, secret string) string {
	return sha256hex(user + ":" + realm + ":" + secret)
}

// Accounts looks agents' SIP credentials up for the registrar.
type Accounts interface {
	// SIPHA1 returns the agent's HA1 for a digest algorithm
	// (AlgorithmMD5: see HA1; AlgorithmSHA256: see HA1SHA256) in the
	// registrar's realm; ok is false for an unknown agent or one without
	// a secret for that algorithm.
	SIPHA1(user, algorithm string) (ha1 string, ok bool)
}

// Binding is one registered contact of an agent.
type Binding struct {
	AOR       string    // the agent: the To user of the REGISTER
	Contact   sip.Uri   // as the phone wrote it
	Source    string    // "ip:port" the REGISTER came from: where requests go (RFC 3581)
	Transport string    // "UDP" or "TCP"
	Path      []string  // Path header values (RFC 3327), outermost first
	CallID    string    // of the REGISTER, with CSeq for ordering
	CSeq      uint32    //
	Expires   time.Time // when the binding ends
}

// Bindings stores registrations. Implementations must be safe for
// concurrent use; MemoryBindings keeps them in the process, a shared
// store lets several nodes see each other's phones.
type Bindings interface {
	// Update runs f on the agent's current bindings (unexpired at now)
	// and stores what it returns, atomically for that agent.
	Update(ctx context.Context, aor string, now time.Time, f func([]Binding) ([]Binding, error)) ([]Binding, error)
	// Lookup returns the agent's bindings unexpired at now.
	Lookup(ctx context.Context, aor string, now time.Time) ([]Binding, error)
	// Expire removes the bindings expired at now, returning them.
	Expire(ctx context.Context, now time.Time) ([]Binding, error)
	// All returns every binding unexpired at now.
	All(ctx context.Context, now time.Time) ([]Binding, error)
}

// Errors of the registrar.
var (
	ErrNotRegistered = errors.New("sip: agent has no registered phone")
)

// registerError is a REGISTER refused with a status.
type registerError struct {
	code   int
	reason string
	hdrs   []sip.Header
}

func (e *registerError) Error() string { return fmt.Sprintf("%d %s", e.code, e.reason) }

func refused(code int, reason string, hdrs ...sip.Header) error {
	return &registerError{code: code, reason: reason, hdrs: hdrs}
}

// onRegister serves REGISTER (RFC 3261 section 10.3).
func (s *Server) onRegister(req *sip.Request, tx sip.ServerTransaction) {
	cid := callIDOf(req)
	log := s.log.With("call_id", cid, "source", req.Source())
	user, ok := s.authorizeRegister(req, tx, log)
	if !ok {
		return
	}
	log = log.With("agent", user)
	now := time.Now()
	bs, err := s.register(req, user, now, log)
	if err != nil {
		var re *registerError
		if !errors.As(err, &re) {
			log.Warn("register", "err", err)
			re = &registerError{code: 500, reason: "Registration Store Failed"}
		}
		s.metrics.Refused(re.code)
		log.Info("register refused", "status", re.code, "reason", re.reason)
		s.reply(tx, req, re.code, re.reason, "", nil, re.hdrs...)
		return
	}
	hdrs := []sip.Header{sip.NewHeader("Date", now.UTC().Format(time.RFC1123))}
	for _, b := range bs {
		c := &sip.ContactHeader{Address: b.Contact, Params: sip.NewParams()}
		c.Params.Add("expires", strconv.Itoa(int(b.Expires.Sub(now).Round(time.Second)/time.Second)))
		hdrs = append(hdrs, c)
	}
	for _, h := range req.GetHeaders("Path") {
		hdrs = append(hdrs, sip.NewHeader("Path", h.Value()))
	}
	s.reply(tx, req, 200, "OK", "", nil, hdrs...)
}

// authorizeRegister checks the digest credentials of a REGISTER and
// returns the agent's name. Unknown agents and wrong secrets get the same
// 403 after the same work, so the answers do not tell which names exist.
//
// The challenge has one WWW-Authenticate per algorithm, SHA-256 first
// (RFC 8760 section 2.4), both with the same nonce; an agent whose
// account has no SHA-256 HA1 (configurations from before it) is offered
// MD5 alone, or a phone choosing SHA-256 could never register. Unknown
// names are offered MD5 alone too, as most phones know it and some fail
// on an algorithm they don't know instead of skipping it (SIPp 3.6,
// baresip 1.0), and the 403 tells them the name or secret is wrong.
// (Where every agent has a SHA-256 HA1, the challenge thus tells a real
// name from an unknown one; agent ids are not secrets.)
func (s *Server) authorizeRegister(req *sip.Request, tx sip.ServerTransaction, log *slog.Logger) (string, bool) {
	to := req.To()
	if to == nil || to.Address.User == "" {
		s.reply(tx, req, 400, "Bad Request: To without a user", "", nil)
		return "", false
	}
	return s.authorizeAgent(req, tx, log, to.Address.User)
}

// authorizeAgent checks the digest credentials of a request from agent
// user's phone (REGISTER, or an INVITE it places) as authorizeRegister
// describes: 401 without credentials or with an old nonce, 403 with
// wrong ones.
func (s *Server) authorizeAgent(req *sip.Request, tx sip.ServerTransaction, log *slog.Logger, user string) (string, bool) {
	realm := s.cfg.Registrar.Realm
	algorithms := s.algorithms(user)
	challenge := func(stale bool) {
		nonce := s.auth.nonce()
		hdrs := make([]sip.Header, len(algorithms))
		for i, alg := range algorithms {
			c := digest.Challenge{Realm: realm, Nonce: nonce, Algorithm: alg, QOP: []string{"auth"}, Stale: stale}
			hdrs[i] = sip.NewHeader("WWW-Authenticate", c.String())
		}
		s.reply(tx, req, 401, "Unauthorized", "", nil, hdrs...)
	}
	h := req.GetHeader("Authorization")
	if h == nil {
		challenge(false)
		return "", false
	}
	cred, err := digest.ParseCredentials(h.Value())
	if err != nil {
		s.reply(tx, req, 400, "Bad Request: Malformed Authorization", "", nil)
		return "", false
	}
	valid, stale := s.auth.checkNonce(cred.Nonce)
	if !valid || cred.Realm != realm {
		challenge(false)
		return "", false
	}
	alg := AlgorithmMD5
	if strings.EqualFold(cred.Algorithm, AlgorithmSHA256) {
		alg = AlgorithmSHA256
	}
	ha1, known := s.accounts.SIPHA1(user, alg)
	if !known {
		ha1 = HA1(user, realm, s.auth.nonce()) // same work, never matches
	}
	if cred.Username != user || !checkDigest(ha1, string(req.Method), cred) || !known {
		s.metrics.Refused(403)
		log.Info("request refused", "method", req.Method, "status", 403, "reason", "bad credentials", "user", user)
		s.reply(tx, req, 403, "Forbidden", "", nil)
		return "", false
	}
	if stale {
		challenge(true)
		return "", false
	}
	return user, true
}

// algorithms are the digest algorithms offered to user, in order.
func (s *Server) algorithms(user string) []string {
	_, md5ok := s.accounts.SIPHA1(user, AlgorithmMD5)
	_, shaok := s.accounts.SIPHA1(user, AlgorithmSHA256)
	switch {
	case shaok && md5ok:
		return []string{AlgorithmSHA256, AlgorithmMD5}
	case shaok:
		return []string{AlgorithmSHA256}
	}
	return []string{AlgorithmMD5}
}

// checkDigest compares a digest response with the one HA1 gives, hashing
// with the credentials' algorithm: MD5 (also when absent, RFC 2617) or
// SHA-256 (RFC 7616 section 3.4.1, for SIP RFC 8760), whose HA1 ha1 must
// be. The -sess variants and qop=auth-int are refused.
func checkDigest(ha1, method string, cred *digest.Credentials) bool {
	var h func(string) string
	switch {
	case cred.Algorithm == "" || strings.EqualFold(cred.Algorithm, AlgorithmMD5):
		h = md5hex
	case strings.EqualFold(cred.Algorithm, AlgorithmSHA256):
		h = sha256hex
	default:
		return false
	}
	ha2 := h(method + ":" + cred.URI)
	var want string
	switch cred.QOP {
	case "":
		want = h(ha1 + ":" + cred.Nonce + ":" + ha2)
	case "auth":
		want = h(fmt.Sprintf("%s:%s:%08x:%s:auth:%s", ha1, cred.Nonce, cred.Nc, cred.Cnonce, ha2))
	default:
		return false
	}
	return hmac.Equal([]byte(want), []byte(strings.ToLower(cred.Response)))
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func sha256hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// register applies a REGISTER's contacts to the agent's bindings and
// returns them.
func (s *Server) register(req *sip.Request, user string, now time.Time, log *slog.Logger) ([]Binding, error) {
	rc := &s.cfg.Registrar
	src, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return nil, refused(400, "Bad Request: Unknown Source")
	}
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	defExpires := DefaultExpires
	if h := req.GetHeader("Expires"); h != nil {
		d, err := parseExpires(h.Value())
		if err != nil {
			return nil, refused(400, "Bad Request: Expires")
		}
		defExpires = d
	}
	var paths []string
	for _, h := range req.GetHeaders("Path") {
		paths = append(paths, h.Value())
	}
	viaProxy := len(paths) > 0 && inPrefixes(rc.proxies, src.Addr())
	cseq := req.CSeq()
	if cseq == nil {
		return nil, refused(400, "Bad Request: CSeq")
	}
	callID := callIDOf(req)

	type change struct {
		uri     sip.Uri
		expires time.Duration
	}
	var changes []change
	wildcard := false
	for _, h := range req.GetHeaders("Contact") {
		ch, ok := h.(*sip.ContactHeader)
		if !ok {
			return nil, refused(400, "Bad Request: Contact")
		}
		if ch.Address.Wildcard {
			wildcard = true
			continue
		}
		exp := defExpires
		if e, ok := ch.Params.Get("expires"); ok {
			d, err := parseExpires(e)
			if err != nil {
				return nil, refused(400, "Bad Request: Contact expires")
			}
			exp = d
		}
		if exp > 0 {
			if err := s.checkContact(ch.Address, src, viaProxy); err != nil {
				return nil, err
			}
		}
		changes = append(changes, change{uri: ch.Address, expires: exp})
	}
	if wildcard && (len(changes) > 0 || defExpires != 0 || req.GetHeader("Expires") == nil) {
		return nil, refused(400, "Bad Request: Contact * only with Expires: 0")
	}
	for _, c := range changes {
		if c.expires > 0 && c.expires < rc.MinExpires {
			return nil, refused(423, "Interval Too Brief",
				sip.NewHeader("Min-Expires", strconv.Itoa(int(rc.MinExpires/time.Second))))
		}
	}
	update := func(cur []Binding) ([]Binding, error) {
		if wildcard {
			for _, b := range cur {
				if b.CallID == callID && cseq.SeqNo <= b.CSeq {
					return nil, refused(500, "Out of Order Request") // RFC 3261 10.3 step 6
				}
			}
			return nil, nil
		}
		out := append([]Binding(nil), cur...)
		for _, c := range changes {
			i := findBinding(out, c.uri)
			if i >= 0 && out[i].CallID == callID && cseq.SeqNo <= out[i].CSeq {
				return nil, refused(500, "Out of Order Request")
			}
			if c.expires == 0 {
				if i >= 0 {
					out = append(out[:i], out[i+1:]...)
				}
				continue
			}
			b := Binding{AOR: user, Contact: c.uri, Source: src.String(), Transport: strings.ToUpper(req.Transport()),
				Path: paths, CallID: callID, CSeq: cseq.SeqNo, Expires: now.Add(min(c.expires, rc.MaxExpires))}
			if i >= 0 {
				out[i] = b
			} else {
				out = append(out, b)
			}
		}
		if len(out) > rc.MaxContacts && len(out) > len(cur) {
			return nil, refused(403, "Too Many Contacts")
		}
		return out, nil
	}
	ctx, cancel := context.WithTimeout(s.ctx, 2*time.Second)
	defer cancel()
	before, _ := s.bindings.Lookup(ctx, user, now)
	bs, err := s.bindings.Update(ctx, user, now, update)
	if err != nil {
		return nil, err
	}
	if len(bs) != len(before) || len(changes) > 0 || wildcard {
		log.Info("registered", "contacts", len(bs), "was", len(before))
	}
	s.registrationChanged(user, len(bs))
	return bs, nil
}

// checkContact refuses a contact that would send the agent's calls
// elsewhere than the phone that registered it: to another public host
// (unless registered through a trusted proxy with Path) or to this switch
// (a loop). A contact on a private address behind the phone's NAT is
// accepted: requests go to the REGISTER's source anyway (RFC 3581).
func (s *Server) checkContact(u sip.Uri, src netip.AddrPort, viaProxy bool) error {
	if !strings.EqualFold(u.Scheme, "sip") && !strings.EqualFold(u.Scheme, "sips") {
		return refused(400, "Bad Request: Contact must be a SIP URI")
	}
	host := strings.Trim(u.Host, "[]")
	a, err := netip.ParseAddr(host)
	if err != nil {
		if viaProxy {
			return nil
		}
		return refused(403, "Contact Host Must Be The Phone's Address")
	}
	a = a.Unmap()
	port := u.Port
	if port == 0 {
		port = 5060
	}
	if s.isSelf(a, port) {
		return refused(403, "Contact Points At This Switch")
	}
	if viaProxy || a == src.Addr() {
		return nil
	}
	if a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() {
		if !src.Addr().IsLoopback() || a.IsLoopback() {
			return nil // behind a NAT: we answer the source
		}
	}
	return refused(403, "Contact Host Must Be The Phone's Address")
}

// isSelf reports whether a:port is one of our SIP listeners.
func (s *Server) isSelf(a netip.Addr, port int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.addrs {
		if l.Port != port {
			continue
		}
		la, ok := netip.AddrFromSlice(l.IP)
		if !ok {
			continue
		}
		la = la.Unmap()
		if la == a || la.IsUnspecified() || (s.cfg.Host != "" && s.cfg.Host == a.String()) {
			return true
		}
	}
	return false
}

func inPrefixes(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func findBinding(bs []Binding, u sip.Uri) int {
	key := contactKey(u)
	for i, b := range bs {
		if contactKey(b.Contact) == key {
			return i
		}
	}
	return -1
}

// contactKey compares contact URIs (RFC 3261 section 19.1.4, simplified:
// scheme, user, host, port and transport).
func contactKey(u sip.Uri) string {
	t := ""
	if u.UriParams != nil {
		t, _ = u.UriParams.Get("transport")
	}
	port := u.Port
	if port == 0 {
		port = 5060
	}
	return strings.ToLower(u.Scheme) + ":" + u.User + "@" + strings.ToLower(u.Host) + ":" + strconv.Itoa(port) + ";" + strings.ToLower(t)
}

// parseExpires reads delta-seconds; values beyond 2^32-1 are absurd and
// refused rather than wrapped.
func parseExpires(v string) (time.Duration, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
	if err != nil {
		return 0, err
	}
	return time.Duration(n) * time.Second, nil
}

// keepAliveMisses is how many keep-alive OPTIONS in a row a contact may
// leave unanswered before it is unregistered.
const keepAliveMisses = 3

// registrarLoop unregisters expired contacts each second and sends the
// keep-alive OPTIONS, until the server closes.
func (s *Server) registrarLoop() {
	defer s.wg.Done()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	ka := s.cfg.Registrar.KeepAlive
	lastKA := time.Now()
	misses := map[string]int{}
	for {
		select {
		case <-s.ctx.Done():
			return
		case now := <-tick.C:
			gone, err := s.bindings.Expire(s.ctx, now)
			if err != nil {
				s.log.Warn("registrations: expire", "err", err)
			}
			for _, b := range gone {
				s.log.Info("unregistered", "agent", b.AOR, "contact", b.Contact.String(), "reason", "expired")
				s.recount(b.AOR, now)
			}
			if ka > 0 && now.Sub(lastKA) >= ka {
				lastKA = now
				s.keepAlive(now, misses)
			}
		}
	}
}

// keepAlive pings every registered contact once, concurrently, and
// unregisters those that missed keepAliveMisses pings in a row.
func (s *Server) keepAlive(now time.Time, misses map[string]int) {
	bs, err := s.bindings.All(s.ctx, now)
	if err != nil {
		s.log.Warn("registrations: keep-alive", "err", err)
		return
	}
	answered := make([]bool, len(bs))
	var wg sync.WaitGroup
	for i, b := range bs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answered[i] = s.ping(b)
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, b := range bs {
		k := b.AOR + " " + contactKey(b.Contact)
		seen[k] = true
		if answered[i] {
			delete(misses, k)
			continue
		}
		misses[k]++
		if misses[k] < keepAliveMisses {
			continue
		}
		delete(misses, k)
		_, err := s.bindings.Update(s.ctx, b.AOR, now, func(cur []Binding) ([]Binding, error) {
			if i := findBinding(cur, b.Contact); i >= 0 {
				cur = append(cur[:i], cur[i+1:]...)
			}
			return cur, nil
		})
		if err != nil {
			s.log.Warn("registrations: unregister", "agent", b.AOR, "err", err)
			continue
		}
		s.log.Info("unregistered", "agent", b.AOR, "contact", b.Contact.String(), "reason", "keep-alive unanswered")
		s.recount(b.AOR, now)
	}
	for k := range misses {
		if !seen[k] {
			delete(misses, k)
		}
	}
}

// ping sends OPTIONS to a contact through its NAT binding and reports
// whether any response came (even an error status: the phone is there).
func (s *Server) ping(b Binding) bool {
	req := sip.NewRequest(sip.OPTIONS, b.Contact)
	transport := b.Transport
	if transport == "" {
		transport = "UDP"
	}
	contact := s.contact(transport)
	from := &sip.FromHeader{Address: contact.Address, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: b.Contact, Params: sip.NewParams()})
	cid := sip.CallIDHeader(sip.GenerateTagN(24) + "@voxdesk")
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.OPTIONS})
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	req.SetTransport(transport)
	req.SetDestination(b.Source)
	if a := s.laddr(transport); a.IP != nil {
		req.Laddr = a
	}
	ctx, cancel := context.WithTimeout(s.ctx, min(2*time.Second, s.cfg.Registrar.KeepAlive))
	defer cancel()
	tx, err := s.client.TransactionRequest(ctx, req)
	if err != nil {
		return false
	}
	defer tx.Terminate()
	select {
	case <-tx.Responses():
		return true
	case <-tx.Done():
		return false
	case <-ctx.Done():
		return false
	}
}

// Contacts returns where to ring an agent's phones: its registered
// bindings, or ErrNotRegistered.
func (s *Server) Contacts(ctx context.Context, agent string) ([]Binding, error) {
	if s.bindings == nil {
		return nil, ErrNotRegistered
	}
	bs, err := s.bindings.Lookup(ctx, agent, time.Now())
	if err != nil {
		return nil, fmt.Errorf("sip: contacts of %s: %w", agent, err)
	}
	if len(bs) == 0 {
		return nil, ErrNotRegistered
	}
	return bs, nil
}

func (s *Server) registrationChanged(agent string, phones int) {
	if s.onReg != nil {
		s.onReg(agent, phones)
	}
}

// recount tells the hook how many phones agent has left.
func (s *Server) recount(agent string, now time.Time) {
	bs, err := s.bindings.Lookup(s.ctx, agent, now)
	if err == nil {
		s.registrationChanged(agent, len(bs))
	}
}
