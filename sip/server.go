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
const allowed = "INVITE, ACK, CANCEL, BYE, OPTIONS"

// Config configures a Server. The zero value accepts no calls (no trunks).
type Config struct {
	// Trunks allowed to send calls, tried in order.
	Trunks []Trunk `yaml:"trunks"`
	// MaxCalls refuses INVITEs with 503 while this many calls are up;
	// 0 means no limit.
	MaxCalls int `yaml:"max_calls"`
	// Codecs in our order of preference, among "PCMU" and "PCMA";
	// empty means PCMU then PCMA.
	Codecs []string `yaml:"codecs"`
	// Host is put in our Contact and Via headers; the listener's address
	// when empty.
	Host string `yaml:"host"`
	// MediaAddr is the address written in our SDP when the RTP socket is
	// bound to an unspecified address (0.0.0.0).
	MediaAddr string `yaml:"media_addr"`
	// UserAgent is the Server/User-Agent header value.
	UserAgent string `yaml:"user_agent"`
	// RetryAfter is the Retry-After of every 503 we send (RFC 3261
	// section 21.5.4), so a peer backs off or fails over; default
	// DefaultRetryAfter.
	RetryAfter time.Duration `yaml:"retry_after"`
	// RateLimit is how many initial INVITE, OPTIONS and REGISTER
	// requests per second one source address may send (twice that in
	// a burst); beyond it they get 503 with Retry-After, then nothing.
	// Sources in a trusted trunk's networks are not limited. Default
	// DefaultRateLimit; negative: no limit.
	RateLimit int `yaml:"rate_limit"`
	// TCPIdleTimeout closes a SIP/TCP connection on which nothing came
	// for this long (keep-alives count); default DefaultTCPIdleTimeout.
	TCPIdleTimeout time.Duration `yaml:"tcp_idle_timeout"`
	// TCPHeaderTimeout closes a SIP/TCP connection whose message, once
	// begun, is not whole this long after; default
	// DefaultTCPHeaderTimeout.
	TCPHeaderTimeout time.Duration `yaml:"tcp_header_timeout"`
	// TCPMaxPerAddr caps the SIP/TCP connections from one address;
	// more are closed at once. Default DefaultTCPMaxPerAddr.
	TCPMaxPerAddr int `yaml:"tcp_max_per_addr"`
	// Registrar configures REGISTER for agents' phones (on with
	// WithAccounts).
	Registrar RegistrarConfig `yaml:"registrar"`
}

// Defaults of the flood and slow-client limits.
const (
	DefaultRateLimit        = 50
	DefaultTCPIdleTimeout   = 10 * time.Minute
	DefaultTCPHeaderTimeout = 10 * time.Second
	DefaultTCPMaxPerAddr    = 32
)

// DefaultRetryAfter is Config.RetryAfter's default.
const DefaultRetryAfter = 30 * time.Second

// Metrics counts what a Server does; service implements it on
// Prometheus. Methods are called from many goroutines.
type Metrics interface {
	// Refused counts an INVITE refused before it became a call.
	Refused(status int)
	// CallStarted counts an INVITE that became a call.
	CallStarted()
	// Shed counts a message not served: "malformed" (answered 400/505
	// or dropped by the sanity checks), "rate-limited", "tcp-cap" (a
	// connection over the per-address cap), "tcp-timeout" (a connection
	// closed idle or half-sent).
	Shed(reason string)
	// CallEnded counts a call ending: "completed" (it was answered),
	// "timeout" (hung up on a media or signalling timeout: a silent
	// caller, a missing ACK), "cancelled", "rejected" (refused by the
	// handler) or "failed".
	CallEnded(outcome string)
}

type noMetrics struct{}

func (noMetrics) Refused(int)      {}
func (noMetrics) CallStarted()     {}
func (noMetrics) CallEnded(string) {}
func (noMetrics) Shed(string)      {}

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
	cfg        Config
	handler    call.Handler
	media      MediaOpener
	log        *slog.Logger
	metrics    Metrics
	auth       *authenticator
	trunks     []*Trunk
	codecs     []sdp.Codec
	mediaAddr  netip.Addr
	userAgent  string
	retryAfter string // seconds
	badLog     *rateLog
	pike       *pike    // nil: no rate limit
	accounts   Accounts // nil: no registrar
	bindings   Bindings
	onReg      func(agent string, phones int)
	onTransfer func(ctx context.Context, legID, target string) (func(), error)
	allow      string // Allow header

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
	if s.onTransfer != nil {
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
	for _, m := range []sip.RequestMethod{sip.INVITE, sip.ACK, sip.BYE, sip.CANCEL, sip.OPTIONS, sip.REGISTER, sip.REFER} {
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

// refuse answers an INVITE that does not become a call.
func (s *Server) refuse(tx sip.ServerTransaction, req *sip.Request, log *slog.Logger, code int, reason string, hdrs ...sip.Header) {
	s.metrics.Refused(code)
	log.Info("invite refused", "status", code, "reason", reason, "source", req.Source())
	if err := s.reply(tx, req, code, reason, "", nil, hdrs...); err != nil {
		log.Debug("respond", "status", code, "err", err)
	}
}

func (s *Server) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	cid := callIDOf(req)
	log := s.log.With("call_id", cid)
	from, to := req.From(), req.To()
	if cid == "" || from == nil || to == nil || req.CSeq() == nil {
		s.refuse(tx, req, log, 400, "Missing Call-ID, From, To or CSeq")
		return
	}
	if tag, ok := to.Params.Get("tag"); ok && tag != "" {
		s.onReinvite(req, tx, log, tag)
		return
	}
	if tag, ok := from.Params.Get("tag"); !ok || tag == "" {
		s.refuse(tx, req, log, 400, "From tag missing")
		return
	}
	if s.draining.Load() {
		s.refuse(tx, req, log, 503, "Draining")
		return
	}
	src, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		s.refuse(tx, req, log, 400, "Bad source address")
		return
	}
	acc := s.auth.match(s.trunks, src.Addr(), req)
	if acc.trunk == nil {
		if acc.challenge != nil {
			s.metrics.Refused(401)
			log.Info("invite challenged", "trunk", acc.challenge.Name, "source", req.Source(), "stale", acc.stale)
			s.reply(tx, req, 401, "Unauthorized", "", nil,
				sip.NewHeader("WWW-Authenticate", s.auth.challenge(acc.challenge, acc.stale)))
			return
		}
		s.refuse(tx, req, log, 403, "Source not allowed")
		return
	}
	trunk := acc.trunk
	log = log.With("trunk", trunk.Name)
	contact := req.Contact()
	if contact == nil {
		s.refuse(tx, req, log, 400, "Missing Contact header")
		return
	}
	body := req.Body()
	if len(body) == 0 {
		s.refuse(tx, req, log, 488, "INVITE without SDP offer not supported")
		return
	}
	if ct := req.ContentType(); ct != nil && !strings.EqualFold(strings.TrimSpace(strings.Split(ct.Value(), ";")[0]), "application/sdp") {
		s.refuse(tx, req, log, 415, "Only application/sdp accepted", sip.NewHeader("Accept", "application/sdp"))
		return
	}
	offer, err := sdp.Parse(body)
	if err != nil {
		s.refuse(tx, req, log, sdp.StatusCode(err), sdpReason(err))
		return
	}

	// Admission: a slot under MaxCalls, then a port for RTP.
	s.mu.Lock()
	if _, dup := s.calls[cid]; dup {
		s.mu.Unlock()
		s.refuse(tx, req, log, 482, "Loop Detected")
		return
	}
	if s.cfg.MaxCalls > 0 && s.inbound >= s.cfg.MaxCalls {
		s.mu.Unlock()
		s.refuse(tx, req, log, 503, "Max calls reached")
		return
	}
	s.inbound++
	s.calls[cid] = nil // reserve the Call-ID while we set up
	s.mu.Unlock()
	admitted := false
	defer func() {
		if !admitted {
			s.forget(cid, true)
		}
	}()

	// Watch for CANCEL from now on (sipgo answers it 200 and the INVITE 487).
	cancelled := make(chan struct{})
	var cancelOnce sync.Once
	tx.OnCancel(func(*sip.Request) { cancelOnce.Do(func() { close(cancelled) }) })
	if err := s.reply(tx, req, 100, "Trying", "", nil); err != nil {
		log.Debug("respond 100", "err", err)
		return
	}

	m, err := s.media.OpenMedia(cid)
	if err != nil {
		log.Warn("no RTP port for the call", "err", err)
		s.refuse(tx, req, log, 503, "No media port available")
		return
	}
	local := sdp.Local{Addr: s.advertised(m.LocalAddr()), Codecs: s.codecs, SessionID: randUint63(), SessionVersion: 1}
	answer, neg, err := sdp.Answer(offer, local)
	if err != nil {
		m.Close()
		s.refuse(tx, req, log, sdp.StatusCode(err), sdpReason(err))
		return
	}

	toTag := sip.GenerateTagN(16)
	l := newLeg(s, cid, m, log)
	l.trunk = trunk
	l.inbound = true
	l.local = local
	toHdr := &sip.ToHeader{DisplayName: from.DisplayName, Address: from.Address, Params: from.Params.Clone()}
	fromHdr := &sip.FromHeader{DisplayName: to.DisplayName, Address: to.Address, Params: to.Params.Clone()}
	fromHdr.Params.Add("tag", toTag)
	l.from, l.to = fromHdr, toHdr
	l.target = contact.Address
	l.dest = req.Source()
	l.transport = req.Transport()
	l.laddr = s.laddr(l.transport)
	l.inviteSeq = req.CSeq().SeqNo
	l.cseq.Store(uint32(randUint63() & 0x7FFF))

	c := call.New(cid, l, s.log)
	c.Channel = call.ChannelSIP
	c.Trunk = trunk.Name
	c.Caller = callerNumber(req, trunk.Trusted)
	c.Callee = req.Recipient.User
	c.Log = c.Log.With("trunk", trunk.Name)
	l.log = c.Log

	s.mu.Lock()
	s.calls[cid] = l
	s.mu.Unlock()
	admitted = true
	s.metrics.CallStarted()
	c.Log.Info("call arriving", "caller", c.Caller, "callee", c.Callee, "source", req.Source(),
		"transport", l.transport, "codec", neg.Codec.Name)

	if err := s.reply(tx, req, 180, "Ringing", toTag, nil); err != nil {
		c.Log.Debug("respond 180", "err", err)
	}
	s.goLeg(func() { s.serveCall(l, c) })
	s.ring(l, req, tx, toTag, answer, neg, cancelled)
}

// ring holds the INVITE transaction until the handler answers or the
// leg ends, sends the final response, and retransmits a 200 until ACK.
func (s *Server) ring(l *Leg, req *sip.Request, tx sip.ServerTransaction, toTag string, answer []byte, neg sdp.Media, cancelled <-chan struct{}) {
	for {
		select {
		case reply := <-l.answer:
			res, viaTCP, err := s.finalResponse(req, toTag, answer)
			if err != nil {
				l.log.Warn("answer not sent", "err", err)
				l.end(call.CauseFailure, responseTooLarge)
				reply <- fmt.Errorf("sip: answer %s: %w", l.callID, err)
				continue // the done case sends the refusal, which fits
			}
			if err := l.setUp(neg); err != nil {
				if !errors.Is(err, call.ErrHangup) {
					l.log.Error("answer", "err", err)
					l.end(call.CauseFailure, "Media failure")
				}
				reply <- err
				continue // the done case sends the refusal
			}
			if viaTCP {
				err = s.sendOverTCP(res, l.target)
				tx.Terminate() // the caller has its final response
			} else {
				err = tx.Respond(res)
			}
			if err != nil {
				l.log.Warn("send 200", "err", err, "over_tcp", viaTCP)
				l.end(call.CauseFailure, "")
				reply <- fmt.Errorf("sip: answer %s: %w", l.callID, err)
				return
			}
			l.log.Info("call answered", "codec", neg.Codec.Name, "remote_rtp", neg.Remote, "local_rtp", l.local.Addr)
			reply <- nil
			s.awaitAck(l, tx, res, viaTCP, l.inviteSeq)
			return
		case <-l.done:
			l.mu.Lock()
			cause, reason := l.cause, l.reason
			l.mu.Unlock()
			if cause == call.CauseCancelled {
				return // sipgo has answered 487
			}
			code, phrase := StatusForCause(cause)
			if reason != "" {
				phrase = reason
			}
			if err := s.reply(tx, req, code, phrase, toTag, nil); err != nil {
				l.log.Debug("respond", "status", code, "err", err)
			}
			l.log.Info("call refused", "status", code, "reason", phrase, "cause", cause.String())
			return
		case <-cancelled:
			l.log.Info("caller cancelled")
			l.end(call.CauseCancelled, "")
		case <-tx.Done():
			if _, ok := l.end(call.CauseCancelled, ""); ok {
				l.log.Info("invite transaction ended before answer", "err", tx.Err())
			}
			return
		}
	}
}

// awaitAck retransmits a 2xx over unreliable transports until the ACK
// with cseq arrives (RFC 3261 section 13.3.1.4), for at most 64*T1; a
// call that never gets its ACK is hung up.
func (s *Server) awaitAck(l *Leg, tx sip.ServerTransaction, res *sip.Response, reliable bool, cseq uint32) {
	interval := sip.T1
	retransmit := time.NewTimer(interval)
	defer retransmit.Stop()
	if reliable || sip.IsReliable(res.Transport()) {
		retransmit.Stop()
	}
	giveUp := time.NewTimer(64 * sip.T1)
	defer giveUp.Stop()
	for {
		select {
		case seq := <-l.acks:
			if seq == cseq {
				return
			}
		case <-retransmit.C:
			if err := tx.Respond(res); err != nil {
				l.log.Debug("retransmit 2xx", "err", err)
			}
			interval = min(2*interval, sip.T2)
			retransmit.Reset(interval)
		case <-giveUp.C:
			l.log.Warn("no ACK for 2xx, hanging up")
			l.hangup(context.Background(), call.CauseTimeout, "")
			return
		case <-l.done:
			return
		case <-s.ctx.Done():
			return
		}
	}
}

// serveCall runs the handler for one call and hangs up what it leaves
// up. A panic in the handler ends only this call.
func (s *Server) serveCall(l *Leg, c *call.Call) {
	ctx := s.ctx
	outcome := "failed"
	defer func() {
		if r := recover(); r != nil {
			c.Log.Error("handler panic", "panic", r)
			l.hangup(context.WithoutCancel(ctx), call.CauseFailure, "Server Internal Error")
		}
		cause := l.Cause()
		switch {
		case outcome == "failed":
		case cause == call.CauseTimeout && l.wasUp():
			outcome = "timeout"
		case l.wasUp():
			outcome = "completed"
		case cause == call.CauseCancelled:
			outcome = "cancelled"
		default:
			outcome = "rejected"
		}
		s.metrics.CallEnded(outcome)
		c.Log.Info("call ended", "cause", cause.String(), "outcome", outcome,
			"duration", time.Since(c.Start).Round(time.Millisecond))
		s.forget(l.callID, true)
	}()
	err := s.handler.ServeCall(ctx, c)
	hctx := context.WithoutCancel(ctx)
	var rej *call.RejectError
	switch {
	case err == nil:
		outcome = ""
		if herr := l.hangup(hctx, call.CauseNormal, ""); herr != nil {
			c.Log.Warn("hangup", "err", herr)
		}
	case errors.As(err, &rej):
		outcome = ""
		l.hangup(hctx, rej.Cause, rej.Reason)
	case errors.Is(err, call.ErrHangup) || errors.Is(err, context.Canceled):
		outcome = ""
		l.hangup(hctx, call.CauseNormal, "")
	default:
		c.Log.Error("handler failed", "err", err)
		l.hangup(hctx, call.CauseFailure, "")
	}
}

func (l *Leg) wasUp() bool {
	select {
	case <-l.up:
		return true
	default:
		return false
	}
}

// forget removes a call from the table.
func (s *Server) forget(cid string, inbound bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.calls[cid]; !ok {
		return
	}
	delete(s.calls, cid)
	if inbound {
		s.inbound--
	}
	if len(s.calls) == 0 {
		close(s.idle)
		s.idle = make(chan struct{})
	}
}

func (s *Server) lookup(cid string) *Leg {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[cid]
}

// onReinvite handles an INVITE inside a dialog: hold, resume, or a new
// remote address (RFC 3264 section 8).
func (s *Server) onReinvite(req *sip.Request, tx sip.ServerTransaction, log *slog.Logger, toTag string) {
	l := s.lookup(callIDOf(req))
	if l == nil || l.localTag() != toTag {
		s.reply(tx, req, 481, "Call/Transaction Does Not Exist", "", nil)
		return
	}
	l.mu.Lock()
	st := l.state
	local := l.local
	l.mu.Unlock()
	if st != stateUp {
		s.reply(tx, req, 491, "Request Pending", "", nil)
		return
	}
	local.SessionVersion++
	var body []byte
	var neg sdp.Media
	if len(req.Body()) == 0 {
		// An offerless re-INVITE: we offer in the 200, the answer comes
		// in the ACK; media stays as it is.
		b, err := sdp.Offer(local)
		if err != nil {
			s.reply(tx, req, 500, "Server Internal Error", toTag, nil)
			return
		}
		body, neg = b, l.Negotiated()
	} else {
		offer, err := sdp.Parse(req.Body())
		if err != nil {
			s.reply(tx, req, sdp.StatusCode(err), sdpReason(err), toTag, nil)
			return
		}
		b, m, err := sdp.Answer(offer, local)
		if err != nil {
			s.reply(tx, req, sdp.StatusCode(err), sdpReason(err), toTag, nil)
			return
		}
		if err := l.media.Update(m); err != nil {
			l.log.Error("re-INVITE media update", "err", err)
			s.reply(tx, req, 500, "Media update failed", toTag, nil)
			return
		}
		body, neg = b, m
	}
	l.mu.Lock()
	l.local = local
	l.negotiated = neg
	if c := req.Contact(); c != nil {
		l.target = c.Address // target refresh, RFC 3261 section 12.2.2
	}
	l.mu.Unlock()
	l.log.Info("re-INVITE", "direction", neg.Direction.String(), "remote_rtp", neg.Remote, "codec", neg.Codec.Name)
	res := s.response(req, 200, "OK", toTag, body)
	if err := tx.Respond(res); err != nil {
		l.log.Warn("respond re-INVITE", "err", err)
		if errors.Is(err, sip.ErrUDPMTUCongestion) {
			s.reply(tx, req, 500, responseTooLarge, toTag, nil)
		}
		return
	}
	s.awaitAck(l, tx, res, false, req.CSeq().SeqNo)
}

func (l *Leg) localTag() string {
	t, _ := l.from.Params.Get("tag")
	return t
}

func (l *Leg) remoteTag() string {
	t, _ := l.to.Params.Get("tag")
	return t
}

func (s *Server) onAck(req *sip.Request, tx sip.ServerTransaction) {
	l := s.lookup(callIDOf(req))
	if l == nil || req.CSeq() == nil {
		return
	}
	select {
	case l.acks <- req.CSeq().SeqNo:
	default:
	}
}

func (s *Server) onBye(req *sip.Request, tx sip.ServerTransaction) {
	l := s.lookup(callIDOf(req))
	if l == nil || !l.inDialog(req) {
		s.reply(tx, req, 481, "Call/Transaction Does Not Exist", "", nil)
		return
	}
	if err := s.reply(tx, req, 200, "OK", "", nil); err != nil {
		l.log.Debug("respond BYE", "err", err)
	}
	if !l.ended() {
		l.log.Info("far end hung up")
	}
	l.end(call.CauseNormal, "")
}

// inDialog checks a request's tags against the leg's dialog: their tag in
// From, ours in To.
func (l *Leg) inDialog(req *sip.Request) bool {
	from, to := req.From(), req.To()
	if from == nil || to == nil {
		return false
	}
	ft, _ := from.Params.Get("tag")
	tt, _ := to.Params.Get("tag")
	return ft == l.remoteTag() && tt == l.localTag()
}

// onCancel sees only CANCELs that match no INVITE transaction (sipgo
// handles the others).
func (s *Server) onCancel(req *sip.Request, tx sip.ServerTransaction) {
	s.reply(tx, req, 481, "Call/Transaction Does Not Exist", "", nil)
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

// sdpReason is a reason phrase for an SDP error, without the package
// prefix.
func sdpReason(err error) string {
	var se *sdp.StatusError
	if errors.As(err, &se) {
		return capitalise(se.Reason)
	}
	var pe *sdp.ParseError
	if errors.As(err, &pe) {
		return "Malformed SDP: " + pe.Reason
	}
	return "Bad SDP"
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func randUint63() uint64 {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return uint64(time.Now().UnixNano()) & (1<<63 - 1)
	}
	return binary.BigEndian.Uint64(b[:]) & (1<<63 - 1)
}

// callerNumber is the calling number: P-Asserted-Identity on a trusted
// trunk when present (RFC 3325 section 9.1), else the From user part.
func callerNumber(req *sip.Request, trusted bool) string {
	if trusted {
		if h := req.GetHeader("P-Asserted-Identity"); h != nil {
			if n := addressUser(h.Value()); n != "" {
				return n
			}
		}
	}
	if f := req.From(); f != nil {
		return f.Address.User
	}
	return ""
}

// addressUser extracts the user part (or the tel: number) of a name-addr
// or addr-spec: `"Alice" <sip:+33123@host;user=phone>`, `<tel:+33123>`.
func addressUser(v string) string {
	if i := strings.IndexByte(v, '<'); i >= 0 {
		v = v[i+1:]
		if j := strings.IndexByte(v, '>'); j >= 0 {
			v = v[:j]
		}
	}
	v = strings.TrimSpace(v)
	scheme, rest, ok := strings.Cut(v, ":")
	if !ok {
		return ""
	}
	switch strings.ToLower(scheme) {
	case "tel":
		rest, _, _ = strings.Cut(rest, ";")
		return rest
	case "sip", "sips":
		user, _, ok := strings.Cut(rest, "@")
		if !ok {
			return ""
		}
		user, _, _ = strings.Cut(user, ";")
		user, _, _ = strings.Cut(user, ":") // user:password
		return user
	}
	return ""
}
