package agentapi

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Role is what a logged-in user may do.
type Role string

// Roles. A supervisor also sees the wallboard; an admin also uses the
// admin API. Every role can take calls.
const (
	RoleAgent      Role = "agent"
	RoleSupervisor Role = "supervisor"
	RoleAdmin      Role = "admin"
)

func (r Role) atLeast(min Role) bool {
	rank := map[Role]int{RoleAgent: 1, RoleSupervisor: 2, RoleAdmin: 3}
	return rank[r] >= rank[min]
}

// Account is one user of the agent pages. Passwords are stored only as
// bcrypt hashes (HashPassword makes one).
type Account struct {
	ID           string         `yaml:"id" json:"id"` // also the routing agent id
	Name         string         `yaml:"name" json:"name"`
	Role         Role           `yaml:"role" json:"role"` // default agent
	PasswordHash string         `yaml:"password_hash" json:"-"`
	Skills       map[string]int `yaml:"skills" json:"-"` // nil: the router's profile for ID
}

// PasswordCost is the bcrypt cost HashPassword uses (about 0.25 s per
// check on a current server core, so guessing is slow).
const PasswordCost = 12

// HashPassword returns the bcrypt hash of password for Account.PasswordHash.
func HashPassword(password string) (string, error) {
	return hashPassword(password, PasswordCost)
}

func hashPassword(password string, cost int) (string, error) {
	if len(password) < 8 {
		return "", errors.New("agentapi: password shorter than 8 characters")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return "", fmt.Errorf("agentapi: hash password: %w", err)
	}
	return string(h), nil
}

// cookieName is the session cookie.
const cookieName = "voxdesk_session"

// csrfHeader carries the session's CSRF token on every POST after login.
const csrfHeader = "X-CSRF-Token"

// Login throttling. Failures are counted per (account, source address)
// and per source address, never per account alone: an attacker can slow
// down only their own address, and the agent logs in from theirs.
//
//   - a pair gets freeAttempts failures, then waits pairBackoff, doubled at
//     each further failure up to maxBackoff;
//   - an address gets Config.LoginFailuresPerAddress failures (any
//     account names; default addressBudget) per addressWindow, then its
//     logins are refused until the window ends.
//
// An attempt is counted before its password is hashed (as a failure until
// it succeeds), so parallel guesses cannot all be evaluated.
const (
	freeAttempts  = 3
	pairBackoff   = 2 * time.Second
	maxBackoff    = 15 * time.Minute
	addressBudget = 20
	addressWindow = 15 * time.Minute
	maxThrottled  = 100000 // pairs and addresses remembered; beyond, new ones are refused
)

type session struct {
	token   string
	csrf    string
	acct    *Account
	expires time.Time
}

// auth holds the accounts and the live sessions.
type auth struct {
	accounts map[string]*Account
	ttl      time.Duration
	budget   int    // failures per address and addressWindow
	dummy    []byte // hash compared for unknown users, so timing does not reveal them

	mu       sync.Mutex
	sessions map[string]*session
	pairs    map[pairKey]*failures // (account name, source address)
	addrs    map[string]*failures  // source address, over addressWindow
}

type pairKey struct{ user, addr string }

// failures counts the failed (and in-flight) attempts of a pair or an
// address.
type failures struct {
	n        int       // failures
	inflight int       // attempts being checked now
	until    time.Time // pair: refused until then; address: end of the window
}

func newAuth(accts []Account, ttl time.Duration, budget int) (*auth, error) {
	a := &auth{accounts: map[string]*Account{}, ttl: ttl, budget: budget, sessions: map[string]*session{},
		pairs: map[pairKey]*failures{}, addrs: map[string]*failures{}}
	cost := PasswordCost
	for i := range accts {
		acct := accts[i]
		if acct.ID == "" {
			return nil, fmt.Errorf("agentapi: account %d has no id", i+1)
		}
		if err := checkText("account id", acct.ID, maxIDLen, false); err != nil {
			return nil, err
		}
		if a.accounts[acct.ID] != nil {
			return nil, fmt.Errorf("agentapi: account %q listed twice", acct.ID)
		}
		c, err := bcrypt.Cost([]byte(acct.PasswordHash))
		if err != nil {
			return nil, fmt.Errorf("agentapi: account %q: password_hash is not a bcrypt hash (use HashPassword)", acct.ID)
		}
		if i == 0 || c > cost {
			cost = c
		}
		switch acct.Role {
		case "":
			acct.Role = RoleAgent
		case RoleAgent, RoleSupervisor, RoleAdmin:
		default:
			return nil, fmt.Errorf("agentapi: account %q: unknown role %q", acct.ID, acct.Role)
		}
		if acct.Name == "" {
			acct.Name = acct.ID
		}
		a.accounts[acct.ID] = &acct
	}
	// Unknown names are checked against a hash of the accounts' (highest)
	// cost, so they take as long as real ones.
	dummy, err := bcrypt.GenerateFromPassword([]byte(randomToken()), cost)
	if err != nil {
		return nil, fmt.Errorf("agentapi: dummy hash: %w", err)
	}
	a.dummy = dummy
	return a, nil
}

var (
	errBadCredentials = errors.New("agentapi: wrong user name or password")
	errLockedOut      = errors.New("agentapi: too many failed logins, try again later")
)

// login checks the password of user, from source address addr, and
// opens a session.
func (a *auth) login(user, password, addr string, now time.Time) (*session, error) {
	pk := pairKey{user, addr}
	a.mu.Lock()
	pair, src, err := a.admit(pk, addr, now)
	acct := a.accounts[user]
	a.mu.Unlock()
	if err != nil {
		return nil, err
	}

	hash := a.dummy
	if acct != nil {
		hash = []byte(acct.PasswordHash)
	}
	err = bcrypt.CompareHashAndPassword(hash, []byte(password))

	a.mu.Lock()
	defer a.mu.Unlock()
	pair.inflight--
	src.inflight--
	if err != nil || acct == nil {
		pair.n++
		src.n++
		if pair.n >= freeAttempts {
			backoff := min(pairBackoff<<min(pair.n-freeAttempts, 20), maxBackoff)
			pair.until = now.Add(backoff)
		}
		return nil, errBadCredentials
	}
	if pair.inflight == 0 {
		delete(a.pairs, pk)
	}
	s := &session{token: randomToken(), csrf: randomToken(), acct: acct, expires: now.Add(a.ttl)}
	a.sessions[s.token] = s
	for t, old := range a.sessions { // drop expired sessions
		if now.After(old.expires) {
			delete(a.sessions, t)
		}
	}
	return s, nil
}

// admit counts an attempt of pk from addr before its password is checked,
// or refuses it. In-flight attempts count as failures. Called with a.mu.
func (a *auth) admit(pk pairKey, addr string, now time.Time) (*failures, *failures, error) {
	src := a.addrs[addr]
	if src != nil && !now.Before(src.until) && src.inflight == 0 {
		delete(a.addrs, addr) // the window is over
		src = nil
	}
	if src != nil && src.n+src.inflight >= a.budget {
		return nil, nil, errLockedOut
	}
	pair := a.pairs[pk]
	if pair != nil && now.Before(pair.until) {
		return nil, nil, errLockedOut
	}
	if pair != nil && pair.n >= freeAttempts && pair.inflight > 0 {
		return nil, nil, errLockedOut // past its free attempts: one at a time
	}
	if pair != nil && pair.n < freeAttempts && pair.n+pair.inflight >= freeAttempts {
		return nil, nil, errLockedOut
	}
	if (src == nil || pair == nil) && len(a.addrs)+len(a.pairs) >= maxThrottled {
		a.prune(now)
		if len(a.addrs)+len(a.pairs) >= maxThrottled {
			return nil, nil, errLockedOut
		}
	}
	if src == nil {
		src = &failures{until: now.Add(addressWindow)}
		a.addrs[addr] = src
	}
	if pair == nil {
		pair = &failures{}
		a.pairs[pk] = pair
	}
	pair.inflight++
	src.inflight++
	return pair, src, nil
}

// prune forgets pairs and addresses with nothing left to hold against
// them. Called with a.mu.
func (a *auth) prune(now time.Time) {
	for k, f := range a.pairs {
		if f.inflight == 0 && !now.Before(f.until.Add(maxBackoff)) {
			delete(a.pairs, k)
		}
	}
	for k, f := range a.addrs {
		if f.inflight == 0 && !now.Before(f.until) {
			delete(a.addrs, k)
		}
	}
}

// session returns the live session named by the request's cookie.
func (a *auth) session(r *http.Request, now time.Time) *session {
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.sessions[c.Value]
	if s == nil || now.After(s.expires) {
		return nil
	}
	return s
}

func (a *auth) logout(s *session) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.sessions, s.token)
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux (Go 1.24+ panics instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

// sameOrigin reports whether a browser request comes from a page of this
// server: its Origin header (or, lacking one, Sec-Fetch-Site) must name
// the request's own host. Requests with neither header are not from a
// browser page and pass (the session cookie is SameSite=Strict anyway).
func sameOrigin(r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		return err == nil && strings.EqualFold(u.Host, r.Host)
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
		return true
	}
	return false
}

// checkCSRF accepts a state-changing request only from this server's own
// pages carrying the session's CSRF token.
func checkCSRF(r *http.Request, s *session) bool {
	if !sameOrigin(r) {
		return false
	}
	got := r.Header.Get(csrfHeader)
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) == 1
}
