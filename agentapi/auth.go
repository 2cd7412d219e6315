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

// Login throttling: after maxFailures failed logins in a row, a user name
// is refused for lockout.
const (
	maxFailures = 5
	lockout     = 30 * time.Second
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
	dummy    []byte // hash compared for unknown users, so timing does not reveal them

	mu       sync.Mutex
	sessions map[string]*session
	failures map[string]*failure
}

type failure struct {
	n     int
	until time.Time
}

func newAuth(accts []Account, ttl time.Duration) (*auth, error) {
	a := &auth{accounts: map[string]*Account{}, ttl: ttl, sessions: map[string]*session{}, failures: map[string]*failure{}}
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
		if _, err := bcrypt.Cost([]byte(acct.PasswordHash)); err != nil {
			return nil, fmt.Errorf("agentapi: account %q: password_hash is not a bcrypt hash (use HashPassword)", acct.ID)
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
	a.dummy, _ = bcrypt.GenerateFromPassword([]byte("not a password of anyone"), bcrypt.MinCost)
	return a, nil
}

var (
	errBadCredentials = errors.New("agentapi: wrong user name or password")
	errLockedOut      = errors.New("agentapi: too many failed logins, try again later")
)

// login checks the password and opens a session.
func (a *auth) login(user, password string, now time.Time) (*session, error) {
	a.mu.Lock()
	if f := a.failures[user]; f != nil && now.Before(f.until) {
		a.mu.Unlock()
		return nil, errLockedOut
	}
	acct := a.accounts[user]
	a.mu.Unlock()

	hash := a.dummy
	if acct != nil {
		hash = []byte(acct.PasswordHash)
	}
	err := bcrypt.CompareHashAndPassword(hash, []byte(password))

	a.mu.Lock()
	defer a.mu.Unlock()
	if err != nil || acct == nil {
		f := a.failures[user]
		if f == nil {
			if len(a.failures) > 10000 { // bound memory under a spray of names
				clear(a.failures)
			}
			f = &failure{}
			a.failures[user] = f
		}
		f.n++
		if f.n >= maxFailures {
			f.n, f.until = 0, now.Add(lockout)
		}
		return nil, errBadCredentials
	}
	delete(a.failures, user)
	s := &session{token: randomToken(), csrf: randomToken(), acct: acct, expires: now.Add(a.ttl)}
	a.sessions[s.token] = s
	for t, old := range a.sessions { // drop expired sessions
		if now.After(old.expires) {
			delete(a.sessions, t)
		}
	}
	return s, nil
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
