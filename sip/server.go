package sip

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/media/sdp"
)

// ErrServerClosed is returned by the Serve methods after Shutdown or Close.
var ErrServerClosed = errors.New("sip: server closed")

// allowed is the Allow header of our responses.
const allowed = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO"

// Option configures a Server's collaborators.
type Option func(*Server)

// WithLogger sets the logger; calls log with call_id = the SIP Call-ID.
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// WithMetrics sets the metrics sink.
func WithMetrics(m Metrics) Option { return func(s *Server) { s.metrics = m } }

// WithAccounts turns the registrar on: agents' phones REGISTER with the
// credentials a looks up.
func WithAccounts(a Accounts) Option { return func(s *Server) { s.accounts = a } }

// WithRegistrationHook sets f, told each time an agent's registered
// phones change (phones 0: the agent has none left, by Expires 0, expiry
// or unanswered keep-alives). f should return promptly.
func WithRegistrationHook(f func(agent string, phones int)) Option {
	return func(s *Server) { s.onReg = f }
}

// WithBindings sets where registrations are kept (default: a
// MemoryBindings).
func WithBindings(b Bindings) Option { return func(s *Server) { s.bindings = b } }

// Server is a SIP user agent server for trunks: it turns INVITEs into
// calls served by a call.Handler.
type Server struct {
	cfg         Config
	handler     call.Handler
	media       MediaOpener
	log         *slog.Logger
	metrics     Metrics
	auth        *authenticator
	trunks      []*Trunk
	codecs      []sdp.Codec
	mediaAddr   netip.Addr
	userAgent   string
	retryAfter  string // seconds
	badLog      *rateLog
	pike        *pike    // nil: no rate limit
	accounts    Accounts // nil: no registrar
	bindings    Bindings
	onReg       func(agent string, phones int)
	onTransfer  func(ctx context.Context, legID, target string) (func(), error)
	onAttended  func(ctx context.Context, legID, replaces string) (func() error, error)
	onAgentCall func(ctx context.Context, agent, target string) (call.Handler, error)
	allow       string // Allow header

	ua     *sipgo.UserAgent
	srv    *sipgo.Server
	client *sipgo.Client

	ctx    context.Context // handlers' context, cancelled by Close
	cancel context.CancelFunc

	draining atomic.Bool
	closing  atomic.Bool

	mu        sync.Mutex
	calls     map[string]*Leg // by Call-ID
	inbound   int             // inbound calls counted against MaxCalls
	listeners []io.Closer
	addrs     map[string]sip.Addr       // "udp"/"tcp" -> bound address
	udpConns  map[string]net.PacketConn // by local address, for sanity replies
	idle      chan struct{}             // closed and replaced when calls drop to 0

	wg     sync.WaitGroup // goroutines the server started
	panics atomic.Int64   // recovered panics, for tests
}

// NewServer returns a server that hands each accepted call to h, opening
// its RTP session with m.
func NewServer(cfg Config, h call.Handler, m MediaOpener, opts ...Option) (*Server, error) {
	if h == nil || m == nil {
		return nil, errors.New("sip: NewServer needs a handler and a media opener")
	}
	s := &Server{
		cfg: cfg, handler: h, media: m,
		log: slog.New(slog.DiscardHandler), metrics: noMetrics{},
		auth:  newAuthenticator(),
		calls: map[string]*Leg{}, addrs: map[string]sip.Addr{}, udpConns: map[string]net.PacketConn{},
		badLog: newRateLog(5, time.Second),
		idle:   make(chan struct{}),
	}
	for _, o := range opts {
		o(s)
	}
	names := map[string]bool{}
	for i := range cfg.Trunks {
		t := cfg.Trunks[i] // copy: the config stays the caller's
		if err := t.init(); err != nil {
			return nil, err
		}
		if names[t.Name] {
			return nil, fmt.Errorf("sip: two trunks named %q", t.Name)
		}
		names[t.Name] = true
		s.trunks = append(s.trunks, &t)
	}
	s.allow = allowed
	if s.onTransfer != nil || s.onAttended != nil {
		s.allow += ", REFER"
	}
	if s.accounts != nil {
		if err := s.cfg.Registrar.init(); err != nil {
			return nil, err
		}
		if s.bindings == nil {
			s.bindings = NewMemoryBindings()
		}
		s.allow += ", REGISTER"
	}
	for _, name := range cfg.Codecs {
		switch strings.ToUpper(name) {
		case "PCMU":
			s.codecs = append(s.codecs, sdp.PCMU)
		case "PCMA":
			s.codecs = append(s.codecs, sdp.PCMA)
		default:
			return nil, fmt.Errorf("sip: codec %q not supported (want PCMU or PCMA)", name)
		}
	}
	if cfg.MediaAddr != "" {
		a, err := netip.ParseAddr(cfg.MediaAddr)
		if err != nil {
			return nil, fmt.Errorf("sip: media_addr: %w", err)
		}
		s.mediaAddr = a
	}
	if cfg.MaxCalls < 0 {
		return nil, fmt.Errorf("sip: max_calls %d is negative", cfg.MaxCalls)
	}
	s.userAgent = cfg.UserAgent
	if s.userAgent == "" {
		s.userAgent = "voxdesk"
	}
	switch {
	case cfg.RateLimit == 0:
		s.pike = newPike(DefaultRateLimit)
	case cfg.RateLimit > 0:
		s.pike = newPike(cfg.RateLimit)
	}
	if s.cfg.TCPIdleTimeout <= 0 {
		s.cfg.TCPIdleTimeout = DefaultTCPIdleTimeout
	}
	if s.cfg.TCPHeaderTimeout <= 0 {
		s.cfg.TCPHeaderTimeout = DefaultTCPHeaderTimeout
	}
	if s.cfg.TCPMaxPerAddr <= 0 {
		s.cfg.TCPMaxPerAddr = DefaultTCPMaxPerAddr
	}
	if cfg.RetryAfter < 0 {
		return nil, fmt.Errorf("sip: retry_after %v is negative", cfg.RetryAfter)
	}
	s.retryAfter = strconv.Itoa(int((cfg.RetryAfter + time.Second - 1) / time.Second))
	if cfg.RetryAfter == 0 {
		s.retryAfter = strconv.Itoa(int(DefaultRetryAfter / time.Second))
	}
	sipLog := slog.New(newBoundedHandler(s.log.Handler())).With("component", "sipgo")
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgent(s.userAgent),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(sipLog),
			sip.WithTransportLayerReadFilter(s.readFilter)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(sipLog)),
	)
	if err != nil {
		return nil, fmt.Errorf("sip: user agent: %w", err)
	}
	s.ua = ua
	s.srv, err = sipgo.NewServer(ua, sipgo.WithServerLogger(sipLog))
	if err != nil {
		ua.Close()
		return nil, fmt.Errorf("sip: server: %w", err)
	}
	s.client, err = sipgo.NewClient(ua, sipgo.WithClientLogger(sipLog))
	if err != nil {
		ua.Close()
		return nil, fmt.Errorf("sip: client: %w", err)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	for _, m := range []sip.RequestMethod{sip.INVITE, sip.ACK, sip.BYE, sip.CANCEL, sip.OPTIONS, sip.REGISTER, sip.REFER, sip.INFO} {
		s.srv.OnRequest(m, s.handle)
	}
	s.srv.OnNoRoute(s.handle)
	if s.accounts != nil {
		s.wg.Add(1)
		go s.registrarLoop()
	}
	return s, nil
}

// handle is the entry point of every request sipgo passes up: it routes
// by method, recovering a panic (the request gets 500 and only that call
// is affected).
func (s *Server) handle(req *sip.Request, tx sip.ServerTransaction) {
	defer func() {
		if r := recover(); r != nil {
			s.panics.Add(1)
			s.log.Error("sip handler panic", "call_id", callIDOf(req), "method", req.Method, "panic", r)
			if !req.IsAck() {
				s.reply(tx, req, 500, "Server Internal Error", "", nil)
			}
		}
	}()
	switch req.Method {
	case sip.INVITE:
		s.onInvite(req, tx)
	case sip.ACK:
		s.onAck(req, tx)
	case sip.BYE:
		s.onBye(req, tx)
	case sip.CANCEL:
		s.onCancel(req, tx)
	case sip.OPTIONS:
		s.onOptions(req, tx)
	case sip.REFER:
		s.onRefer(req, tx)
	case sip.INFO:
		s.onInfo(req, tx)
	case sip.REGISTER:
		if s.accounts == nil {
			s.onOther(req, tx)
			return
		}
		s.onRegister(req, tx)
	default:
		s.onOther(req, tx)
	}
}

// ServeUDP serves SIP on a bound UDP socket until Close; it returns
// ErrServerClosed then.
func (s *Server) ServeUDP(conn net.PacketConn) error {
	if err := s.track("udp", conn.LocalAddr(), conn); err != nil {
		return err
	}
	s.mu.Lock()
	s.udpConns[conn.LocalAddr().String()] = conn
	s.mu.Unlock()
	err := s.srv.ServeUDP(conn)
	if s.closing.Load() {
		return ErrServerClosed
	}
	return err
}

// ServeTCP serves SIP on a TCP listener until Close; it returns
// ErrServerClosed then.
func (s *Server) ServeTCP(l net.Listener) error {
	if err := s.track("tcp", l.Addr(), l); err != nil {
		return err
	}
	err := s.srv.ServeTCP(s.guardTCP(l))
	if s.closing.Load() {
		return ErrServerClosed
	}
	return err
}

func (s *Server) track(network string, a net.Addr, c io.Closer) error {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return fmt.Errorf("sip: listener address %v: %w", a, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		c.Close()
		return ErrServerClosed
	}
	s.listeners = append(s.listeners, c)
	s.addrs[network] = sip.Addr{IP: net.IP(ap.Addr().AsSlice()), Port: int(ap.Port())}
	return nil
}

// ActiveCalls is the number of calls in progress (ringing or up).
func (s *Server) ActiveCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

// Shutdown drains: new INVITEs get 503 and live calls run to their end.
// When they all have ended, or ctx is done, it closes the server; it
// returns ctx's error in the latter case.
func (s *Server) Shutdown(ctx context.Context) error {
	s.draining.Store(true)
	s.log.Info("sip draining", "calls", s.ActiveCalls())
	for {
		s.mu.Lock()
		n, idle := len(s.calls), s.idle
		s.mu.Unlock()
		if n == 0 {
			return s.Close()
		}
		select {
		case <-idle:
		case <-ctx.Done():
			s.Close()
			return ctx.Err()
		}
	}
}

// Close stops at once: live calls are hung up (BYE, or 503 before the
// answer), handlers' contexts are cancelled and the listeners closed. It
// waits for the server's goroutines.
func (s *Server) Close() error {
	if s.closing.Swap(true) {
		s.wg.Wait()
		return nil
	}
	s.draining.Store(true)
	s.mu.Lock()
	legs := make([]*Leg, 0, len(s.calls))
	for _, l := range s.calls {
		legs = append(legs, l)
	}
	s.mu.Unlock()
	var hung sync.WaitGroup
	for _, l := range legs {
		hung.Add(1)
		go func() {
			defer hung.Done()
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			if err := l.hangup(ctx, call.CauseUnavailable, "shutting down"); err != nil {
				l.log.Debug("hangup on close", "err", err)
			}
		}()
	}
	hung.Wait()
	s.cancel()
	s.mu.Lock()
	for _, c := range s.listeners {
		c.Close()
	}
	s.mu.Unlock()
	err := withoutClosed(s.ua.Close())
	s.wg.Wait()
	return err
}

// withoutClosed drops, from the errors sipgo joins when it closes its
// transports, those of connections already closed (the sanity layer ends
// a TCP connection whose framing it cannot trust; peers hang up): there
// is nothing left to close. Any other error is kept.
func withoutClosed(err error) error {
	var kept []error
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		if e != nil && !errors.Is(e, net.ErrClosed) {
			kept = append(kept, e)
		}
	}
	walk(err)
	return errors.Join(kept...)
}

// goLeg runs f in a goroutine the server waits for on Close.
func (s *Server) goLeg(f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}

func callIDOf(req *sip.Request) string {
	if h := req.CallID(); h != nil {
		return h.Value()
	}
	return ""
}

// reply sends a response built from req. toTag, when set, is our dialog
// tag. SDP bodies get their Content-Type.
func (s *Server) reply(tx sip.ServerTransaction, req *sip.Request, code int, reason, toTag string, body []byte, hdrs ...sip.Header) error {
	res := s.response(req, code, reason, toTag, body, hdrs...)
	return tx.Respond(res)
}

func (s *Server) response(req *sip.Request, code int, reason, toTag string, body []byte, hdrs ...sip.Header) *sip.Response {
	res := sip.NewResponseFromRequest(req, code, reason, body)
	if toTag != "" && code > 100 {
		if to := res.To(); to != nil {
			to.Params.Add("tag", toTag)
		}
	}
	if body != nil {
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	if req.IsInvite() && code > 100 && code < 300 {
		res.AppendHeader(s.contact(req.Transport()))
	}
	res.AppendHeader(sip.NewHeader("Server", s.userAgent))
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	if code == 503 && res.GetHeader("Retry-After") == nil {
		res.AppendHeader(sip.NewHeader("Retry-After", s.retryAfter))
	}
	return res
}

// contact is our Contact header for a transport.
func (s *Server) contact(transport string) *sip.ContactHeader {
	network := strings.ToLower(transport)
	s.mu.Lock()
	a, ok := s.addrs[network]
	s.mu.Unlock()
	u := sip.Uri{Scheme: "sip", User: "voxdesk", Host: s.cfg.Host}
	if ok {
		if u.Host == "" {
			u.Host = a.IP.String()
		}
		u.Port = a.Port
	}
	if u.Host == "" {
		u.Host = "127.0.0.1"
	}
	if network == "tcp" {
		u.UriParams = sip.NewParams()
		u.UriParams.Add("transport", "tcp")
	}
	return &sip.ContactHeader{Address: u}
}

// laddr is the listener address to send from on transport, so requests
// leave from our SIP port (symmetric signalling).
func (s *Server) laddr(transport string) sip.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addrs[strings.ToLower(transport)]
}

func (s *Server) onOptions(req *sip.Request, tx sip.ServerTransaction) {
	code, reason := 200, "OK"
	if s.draining.Load() {
		code, reason = 503, "Draining" // lets an SBC route elsewhere
	}
	s.reply(tx, req, code, reason, "", nil,
		sip.NewHeader("Allow", s.allow), sip.NewHeader("Accept", "application/sdp"))
}

func (s *Server) onOther(req *sip.Request, tx sip.ServerTransaction) {
	if req.IsAck() {
		return
	}
	s.reply(tx, req, 405, "Method Not Allowed", "", nil, sip.NewHeader("Allow", s.allow))
}

// advertised is the RTP address for our SDP.
func (s *Server) advertised(a netip.AddrPort) netip.AddrPort {
	if a.Addr().IsUnspecified() && s.mediaAddr.IsValid() {
		return netip.AddrPortFrom(s.mediaAddr, a.Port())
	}
	return a
}

func randUint63() uint64 {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return uint64(time.Now().UnixNano()) & (1<<63 - 1)
	}
	return binary.BigEndian.Uint64(b[:]) & (1<<63 - 1)
}
