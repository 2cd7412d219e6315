package agentapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/rtc"
	"github.com/voxdesk/voxdesk/web"
)

// Config configures the agent API. The zero value serves nobody (no
// accounts) but is valid.
type Config struct {
	// Accounts are the users of the agent, wallboard and admin pages.
	Accounts []Account `yaml:"accounts"`
	// InsecureCookies drops the Secure flag of the session cookie, for
	// demos served over plain http on another host than localhost.
	InsecureCookies bool `yaml:"insecure_cookies"`
	// SessionTTL is how long a login lasts (default 12 h).
	SessionTTL time.Duration `yaml:"session_ttl"`
	// LoginFailuresPerAddress is how many failed logins one source
	// address may make per 15 minutes, whatever the names (default 20);
	// raise it for an office of agents behind one NAT address.
	LoginFailuresPerAddress int `yaml:"login_failures_per_address"`
	// OfferFileTimeout bounds the customer-file lookup made when a call
	// rings (default 1 s); on timeout the offer is shown without the file.
	OfferFileTimeout time.Duration `yaml:"offer_file_timeout"`
	// BoardInterval is how often the wallboard is refreshed (default 1 s).
	BoardInterval time.Duration `yaml:"board_interval"`
	// WebCall configures the website's "call now" and "call me back".
	WebCall WebCallConfig `yaml:"webcall"`
}

func (c *Config) fill() {
	if c.SessionTTL <= 0 {
		c.SessionTTL = 12 * time.Hour
	}
	if c.LoginFailuresPerAddress <= 0 {
		c.LoginFailuresPerAddress = addressBudget
	}
	if c.OfferFileTimeout <= 0 {
		c.OfferFileTimeout = time.Second
	}
	if c.BoardInterval <= 0 {
		c.BoardInterval = time.Second
	}
	c.WebCall.fill()
}

// Server is the agent API: an http.Handler serving the embedded pages
// (package web), the login API, the agents' and supervisors' WebSockets,
// the admin API and the website's call-back API. It has no listener of its
// own; service mounts it. It implements routing.Phones.
//
// Shutdown (or Close) must be called to end its WebSockets and calls:
// http.Server.Shutdown does not close hijacked connections.
type Server struct {
	cfg       Config
	log       *slog.Logger
	auth      *auth
	router    Router
	dir       Directory
	bio       Biometrics
	boarder   Boarder
	rtc       *rtc.Engine
	handler   call.Handler
	callback  Callbacks
	hold      []int16 // music on hold, 8 kHz
	voicemail *VoicemailFolder
	dialer    call.Dialer // outbound calls from the customer file
	dialFrom  string      // calling number shown to the customer
	keypad    Keypad      // keypad keys as telephone-events (keypad.go)
	now       func() time.Time
	mux       *http.ServeMux

	// rec serves the call recordings (recording.go).
	rec *recordingAPI

	// life is cancelled by Close: the lifetime of the goroutines the
	// server starts (WebSocket loops, web calls, the wallboard poller).
	life   context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // pages' sockets and their calls
	loopWG sync.WaitGroup // the wallboard poller

	mu       sync.Mutex
	closing  bool
	agents   map[string]*agentConn
	boards   map[*boardConn]struct{}
	webcalls map[*webCall]struct{}
	// wrapsLeft are the wrap-ups of agents' pages that went away, for
	// their next page.
	wrapsLeft map[string][]*agentCall
	// webByAddr counts "call now" sockets per source; pendingWeb those
	// upgraded but not yet in webcalls.
	webByAddr  map[string]int
	pendingWeb int
	tickets    map[string]*ticket
	refresh    chan struct{} // asks the board loop for an early refresh
	ring       ringChoices   // where agents' calls ring (ringmode.go)
	occ        occupancyLog  // agents' time on calls, for the wallboard (occupancy.go)
	mon        monitors      // supervisors on calls (monitor.go)

	replay  *replayCache
	started time.Time // tokens issued before it are refused without a replay file
	web     webGuard
	m       *metrics
	reg     prometheus.Registerer
}

// Option sets one of the server's collaborators.
type Option func(*Server)

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// WithRouter sets the routing side agents' buttons act on.
func WithRouter(r Router) Option { return func(s *Server) { s.router = r } }

// WithDirectory sets the customer directory.
func WithDirectory(d Directory) Option { return func(s *Server) { s.dir = d } }

// WithBiometrics sets the voiceprint actions (enrol, erase).
func WithBiometrics(b Biometrics) Option { return func(s *Server) { s.bio = b } }

// WithBoard sets the source of wallboard figures.
func WithBoard(b Boarder) Option { return func(s *Server) { s.boarder = b } }

// WithRTC sets the WebRTC engine for agents' softphones and web calls.
func WithRTC(e *rtc.Engine) Option { return func(s *Server) { s.rtc = e } }

// WithCallHandler sets the handler web "call now" calls are given to (the
// IVR).
func WithCallHandler(h call.Handler) Option { return func(s *Server) { s.handler = h } }

// WithCallbacks sets the call-back booking of "call me back".
func WithCallbacks(c Callbacks) Option { return func(s *Server) { s.callback = c } }

// SetRouter sets the routing side after New, for wiring where the router
// itself needs the Server (as its routing.Phones). Call it before the
// server handles requests.
func (s *Server) SetRouter(r Router) { s.router = r }

// WithHoldAudio sets the 8 kHz PCM a caller hears, in a loop, while the
// agent holds the call (default: silence).
func WithHoldAudio(pcm []int16) Option { return func(s *Server) { s.hold = pcm } }

// WithVoicemail serves the voicemail inbox of the agent page from the
// IVR's voicemail folder (ivr.voicemail).
func WithVoicemail(v VoicemailFolder) Option { return func(s *Server) { s.voicemail = &v } }

// WithDialer lets agents call a customer from their file: d places the
// call (through the SIP trunk), from is the number the customer sees.
func WithDialer(d call.Dialer, from string) Option {
	return func(s *Server) { s.dialer, s.dialFrom = d, from }
}

// withClock sets the clock (tests).
func withClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// New checks cfg and returns a Server. It starts the wallboard poller when
// a Boarder is set; Shutdown or Close stops it.
func New(cfg Config, opts ...Option) (*Server, error) {
	cfg.fill()
	a, err := newAuth(cfg.Accounts, cfg.SessionTTL, cfg.LoginFailuresPerAddress)
	if err != nil {
		return nil, err
	}
	if err := cfg.WebCall.check(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg: cfg, auth: a, log: slog.New(slog.DiscardHandler), now: time.Now,
		agents: map[string]*agentConn{}, boards: map[*boardConn]struct{}{},
		webcalls: map[*webCall]struct{}{}, wrapsLeft: map[string][]*agentCall{}, webByAddr: map[string]int{}, tickets: map[string]*ticket{},
		refresh: make(chan struct{}, 1), m: newMetrics(),
	}
	for _, o := range opts {
		o(s)
	}
	s.started = s.now()
	if s.web, err = newWebGuard(s.cfg.WebCall); err != nil {
		return nil, err
	}
	if s.replay, err = newReplayCache(s.cfg.WebCall.ReplayFile, s.started); err != nil {
		return nil, err
	}
	s.m.register(s.reg)
	s.log = s.log.With("component", "agentapi")
	s.life, s.cancel = context.WithCancel(context.Background())
	s.routes()
	if s.boarder != nil {
		s.loopWG.Add(1)
		go func() {
			defer s.loopWG.Done()
			s.boardLoop()
		}()
	}
	return s, nil
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.Handle("GET /", web.Handler())
	m.HandleFunc("POST /api/login", s.handleLogin)
	m.HandleFunc("POST /api/logout", s.handleLogout)
	m.HandleFunc("GET /api/session", s.handleSession)
	m.HandleFunc("GET /api/agent/ws", s.handleAgentWS)
	m.HandleFunc("GET /api/board/ws", s.handleBoardWS)
	m.HandleFunc("GET /api/admin/customers", s.handleAdminLookup)
	m.HandleFunc("GET /api/voicemail", s.handleVoicemailList)
	m.HandleFunc("GET /api/customers", s.handleAgentLookup)
	m.HandleFunc("GET /api/voicemail/{box}/{name}", s.handleVoicemailPlay)
	m.HandleFunc("POST /api/admin/customers/{id}/erase-biometrics", s.handleAdminErase)
	m.HandleFunc("POST /api/monitor", s.handleMonitor)
	m.HandleFunc("DELETE /api/monitor", s.handleMonitorLeave)
	m.HandleFunc("GET /api/webcall/ws", s.handleWebCallWS)
	m.HandleFunc("POST /api/webcall/callback", s.handleCallbackBook)
	m.HandleFunc("GET /api/webcall/callback/{ticket}", s.handleCallbackStatus)
	m.HandleFunc("DELETE /api/webcall/callback/{ticket}", s.handleCallbackCancel)
	s.recordingRoutes(m)
	s.mux = m
}

// ServeHTTP serves the pages and the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	// Only the call-back widget may be framed, by the configured website.
	if r.URL.Path == "/callback.html" {
		h.Add("Content-Security-Policy", "frame-ancestors "+strings.Join(append([]string{"'self'"}, s.cfg.WebCall.FrameOrigins...), " "))
	} else {
		h.Add("Content-Security-Policy", "frame-ancestors 'none'")
		h.Set("X-Frame-Options", "DENY")
	}
	s.mux.ServeHTTP(w, r)
}

// Shutdown closes every WebSocket (agents are told the switch is going
// away), hangs up web calls and waits for the server's goroutines, or
// until ctx is done.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	var conns []interface{ close(reason string) }
	for _, c := range s.agents {
		conns = append(conns, c)
	}
	for b := range s.boards {
		conns = append(conns, b)
	}
	for w := range s.webcalls {
		conns = append(conns, w)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.close("switch shutting down")
	}
	// Pages get the closing handshake (or are dropped after closeGrace);
	// the server's own lifetime ends after that, or when ctx does.
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("agentapi: shutdown: %w", ctx.Err())
	}
	s.cancel()
	<-done
	s.loopWG.Wait()
	s.replay.close()
	return err
}

// Close stops everything now and waits for the server's goroutines.
func (s *Server) Close() error {
	s.cancel()
	return s.Shutdown(context.Background())
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// go runs f on a goroutine the server waits for on shutdown; it refuses
// once shutdown has begun.
func (s *Server) goTracked(f func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
	return true
}

type apiError struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, apiError{Error: msg})
}

// maxBodyBytes bounds the JSON body of an API request.
const maxBodyBytes = 16 << 10

// readJSON decodes a small JSON body strictly; a longer body is refused
// and its connection closed (http.MaxBytesReader).
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/json" {
		return errors.New("content type must be application/json")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("bad JSON body: %v", err)
	}
	return nil
}

type loginRequest struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

type sessionReply struct {
	Agent AgentView `json:"agent"`
	CSRF  string    `json:"csrf"`
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		writeError(w, http.StatusForbidden, "cross-origin login refused")
		return
	}
	var req loginRequest
	if err := readJSON(w, r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if len(req.User) > maxIDLen || len(req.Password) > 256 {
		writeError(w, http.StatusBadRequest, "user name or password too long")
		return
	}
	sess, err := s.auth.login(req.User, req.Password, sourceKey(r.RemoteAddr), s.now())
	switch {
	case errors.Is(err, errLockedOut):
		s.m.logins.WithLabelValues("locked").Inc()
		// Refused before any work, so unbounded under attack: debug only
		// (logins_total{result="locked"} counts them).
		s.log.Debug("login throttled", "user", req.User, "remote", r.RemoteAddr)
		writeError(w, http.StatusTooManyRequests, err.Error())
		return
	case err != nil:
		s.m.logins.WithLabelValues("failed").Inc()
		s.log.Info("login failed", "user", req.User, "remote", r.RemoteAddr)
		writeError(w, http.StatusUnauthorized, err.Error())
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: sess.token, Path: "/", HttpOnly: true,
		Secure: !s.cfg.InsecureCookies, SameSite: http.SameSiteStrictMode,
		MaxAge: int(s.cfg.SessionTTL / time.Second),
	})
	s.m.logins.WithLabelValues("ok").Inc()
	s.log.Info("login", "agent", sess.acct.ID)
	writeJSON(w, http.StatusOK, sessionReply{Agent: viewOf(sess.acct), CSRF: sess.csrf})
}

func viewOf(a *Account) AgentView { return AgentView{ID: a.ID, Name: a.Name, Role: a.Role} }

// authorized returns the request's session if it has one with at least
// role min (and, for state changes, a valid CSRF token); otherwise it
// writes the refusal and returns nil.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request, min Role, csrf bool) *session {
	sess := s.auth.session(r, s.now())
	if sess == nil {
		writeError(w, http.StatusUnauthorized, "log in first")
		return nil
	}
	if csrf && !checkCSRF(r, sess) {
		writeError(w, http.StatusForbidden, "missing or wrong CSRF token")
		return nil
	}
	if !sess.acct.Role.atLeast(min) {
		writeError(w, http.StatusForbidden, "your role may not do this")
		return nil
	}
	return sess
}

func (s *Server) handleSession(w http.ResponseWriter, r *http.Request) {
	sess := s.authorized(w, r, RoleAgent, false)
	if sess == nil {
		return
	}
	writeJSON(w, http.StatusOK, sessionReply{Agent: viewOf(sess.acct), CSRF: sess.csrf})
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	sess := s.authorized(w, r, RoleAgent, true)
	if sess == nil {
		return
	}
	if s.router != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		err := s.router.Logout(ctx, sess.acct.ID)
		cancel()
		if err != nil && !errors.Is(err, errUnknownAgent) {
			writeError(w, http.StatusConflict, err.Error())
			return
		}
	}
	s.auth.logout(sess)
	s.mu.Lock()
	c := s.agents[sess.acct.ID]
	if c != nil {
		c.loggedOut = true
	}
	delete(s.wrapsLeft, sess.acct.ID)
	s.mu.Unlock()
	if c != nil {
		c.close("logged out")
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: !s.cfg.InsecureCookies, SameSite: http.SameSiteStrictMode})
	s.log.Info("logout", "agent", sess.acct.ID)
	writeJSON(w, http.StatusOK, struct{}{})
}
