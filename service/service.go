package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/voxdesk/voxdesk/agentapi"
	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/customer"
	"github.com/voxdesk/voxdesk/ivr"
	"github.com/voxdesk/voxdesk/media"
	"github.com/voxdesk/voxdesk/res"
	"github.com/voxdesk/voxdesk/routing"
	"github.com/voxdesk/voxdesk/rtc"
	"github.com/voxdesk/voxdesk/sip"
)

// Service is the whole switch in one process: SIP front end, media,
// the call handler, and the HTTP server for /healthz and /metrics.
// New binds every socket, so addresses are known before Run.
type Service struct {
	cfg         Config
	log         *slog.Logger
	prompts     *media.Prompts
	ports       *media.PortRange
	metrics     *metrics
	handler     call.Handler
	sip         *sip.Server
	flows       *ivr.Library     // nil without an ivr section
	db          *customer.DB     // nil without a customer section
	router      *routing.Router  // nil without routing queues
	rtc         *rtc.Engine      // agents' softphones and web calls
	api         *agentapi.Server // agent, wallboard, admin and web call-back pages, under HTTP /
	voice       *voice           // nil without the customer store or the speaker model
	keypad      *keypad          // agents' keypad keys as telephone-events on SIP legs
	sipAccounts sipAccounts      // sip.agents by id
	phones      *sipPhones       // nil without sip.agents and routing
	voiceKey    bool             // the customer store can seal voiceprints
	lock        *storeLock       // this instance's hold on a SQLite store; nil otherwise

	// recorder records told calls (recording.go); nil without a customer
	// store that can seal.
	recorder *recorder

	udp     net.PacketConn
	tcp     net.Listener
	httpL   net.Listener
	httpSrv *http.Server

	mu          sync.Mutex
	running     bool
	stop        chan struct{} // closed by Shutdown/Close to end Run
	stopped     bool
	stopWatch   context.CancelFunc
	partsClosed bool
	stopVoice   context.CancelFunc
	wg          sync.WaitGroup
}

// Option supplies a collaborator to New.
type Option func(*options)

type options struct {
	log        *slog.Logger
	handler    call.Handler
	middleware []func(call.Handler) call.Handler
	onDigit    func(*call.Call, call.Digit)
	ivrOpts    []ivr.Option
}

// WithIVROptions adds options to the IVR's runner (a clock for tests,
// step tracing).
func WithIVROptions(opts ...ivr.Option) Option {
	return func(o *options) { o.ivrOpts = append(o.ivrOpts, opts...) }
}

// WithLogger sets the logger (default: from the log section, on stderr).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithHandler serves calls with h instead of the configured handler
// (today the demo).
func WithHandler(h call.Handler) Option { return func(o *options) { o.handler = h } }

// WithMiddleware wraps the handler; the first given is the outermost.
func WithMiddleware(mw func(call.Handler) call.Handler) Option {
	return func(o *options) { o.middleware = append(o.middleware, mw) }
}

// WithDigitObserver is called with each digit the demo handler receives.
func WithDigitObserver(f func(*call.Call, call.Digit)) Option {
	return func(o *options) { o.onDigit = f }
}

// New builds the switch from cfg (defaults filled for unset fields) and
// binds its sockets. Close it if Run is never called.
func New(cfg *Config, opts ...Option) (_ *Service, err error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	c := *cfg
	c.setDefaults()
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("service: %w", err)
	}
	if o.log == nil {
		o.log = c.Log.NewLogger(os.Stderr)
	}
	s := &Service{cfg: c, log: o.log, stop: make(chan struct{})}
	defer func() {
		if err != nil {
			if s.sip != nil {
				s.sip.Close()
			}
			s.closeSockets()
			s.closeParts(context.Background(), false)
			if s.db != nil {
				s.db.Close()
			}
			s.lock.release()
		}
	}()

	// Sockets and the store's lock first: a second instance fails here at
	// once, before anything reads or writes the database (see startup.go).
	if err := s.bindSockets(&c); err != nil {
		return nil, err
	}
	if s.lock, err = lockStore(c.Customer.DSN); err != nil {
		return nil, err
	}

	s.prompts, err = loadPrompts(c.Media.Prompts)
	if err != nil {
		return nil, err
	}
	s.ports, err = media.NewPortRange(c.Media.RTPPortMin, c.Media.RTPPortMax)
	if err != nil {
		return nil, fmt.Errorf("service: %w", err)
	}

	var sipSrv *sip.Server
	s.metrics = newMetrics(
		func() float64 {
			if sipSrv == nil {
				return 0
			}
			return float64(sipSrv.ActiveCalls())
		},
		func() float64 { return float64(s.ports.InUse()) })

	if err := s.buildParts(&c); err != nil {
		return nil, err
	}

	// The call handler: an explicit one (tests, bench), else the IVR
	// when flows are configured, else the demo.
	h := o.handler
	switch {
	case h != nil:
	case c.IVR.Enabled():
		if h, err = s.newIVR(&c, o.ivrOpts); err != nil {
			return nil, err
		}
	default:
		d := &Demo{IdleTimeout: c.Demo.IdleTimeout, RecordDir: c.Demo.RecordDir, OnDigit: func(cl *call.Call, dg call.Digit) {
			s.metrics.digits.Inc()
			if o.onDigit != nil {
				o.onDigit(cl, dg)
			}
		}}
		if d.Welcome, err = s.prompt(c.Demo.Welcome); err != nil {
			return nil, err
		}
		if d.Goodbye, err = s.prompt(c.Demo.Goodbye); err != nil {
			return nil, err
		}
		if d.RecordDir != "" {
			if err := os.MkdirAll(d.RecordDir, 0o700); err != nil {
				return nil, fmt.Errorf("service: demo.record_dir: %w", err)
			}
		}
		h = d
	}
	if s.voice != nil {
		h = s.voice.Middleware(h) // keeps recent caller audio for agents' "enrol"
	}
	for i := len(o.middleware) - 1; i >= 0; i-- {
		h = o.middleware[i](h)
	}
	s.handler = h

	opener := &rtpOpener{ports: s.ports, ip: netip.MustParseAddr(c.Media.RTPAddr), jitter: c.Media.JitterDelay,
		learn: c.Media.RTPLearnSource, timeout: c.Media.RTPTimeout, log: s.log, metrics: s.metrics}
	opener.marks = newFrameMarks() // calls' RTP media by call id: the voice tap's marks, the keypad
	if s.voice != nil {
		opener.marks = s.voice.marks
	}
	s.keypad.calls = opener.marks
	sopts := []sip.Option{sip.WithLogger(s.log), sip.WithMetrics(s.metrics)}
	if len(c.SIP.Agents) > 0 {
		sopts = append(sopts, sip.WithAccounts(s.sipAccounts), sip.WithRegistrationHook(s.registered))
		if s.phones != nil {
			sopts = append(sopts, sip.WithTransferHook(s.phones.transfer),
				sip.WithAgentCalls(s.phones.agentCall), sip.WithAttendedTransferHook(s.phones.attended))
			s.router.OnEvent(s.phones.consultEvent)
		}
	}
	sipSrv, err = sip.NewServer(c.SIP.Config, h, opener, sopts...)
	if err != nil {
		return nil, fmt.Errorf("service: %w", err)
	}
	s.sip = sipSrv

	if capped, ok := s.httpL.(*capListener); ok {
		s.metrics.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: "voxdesk", Subsystem: "http", Name: "refused_connections_total",
			Help: "HTTP connections closed at accept: their source address held http.max_conns_per_address.",
		}, func() float64 { return float64(capped.Refused()) }))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))
	mux.Handle("/", s.api)
	s.httpSrv = &http.Server{
		Handler:           guardHost(c.HTTP.Hosts, mux),
		ReadHeaderTimeout: c.HTTP.ReadHeaderTimeout,
		ReadTimeout:       c.HTTP.ReadTimeout,
		WriteTimeout:      c.HTTP.WriteTimeout,
		IdleTimeout:       c.HTTP.IdleTimeout,
		MaxHeaderBytes:    c.HTTP.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	return s, nil
}

// newIVR loads the flow library and returns the handler that picks a
// flow by the number dialled. Collaborators not wired yet are nil: the
// runner takes the steps' fail: ways (see ivr.Config).
func (s *Service) newIVR(c *Config, opts []ivr.Option) (call.Handler, error) {
	fopts, err := c.FlowOptions()
	if err != nil {
		return nil, err
	}
	lib, err := ivr.NewLibrary(c.IVR.Dir, fopts, ivr.WithLibraryLogger(s.log))
	if err != nil {
		return nil, fmt.Errorf("service: ivr.dir %s: %w", c.IVR.Dir, err)
	}
	for _, name := range append([]string{c.IVR.Default}, slices.Collect(maps.Values(c.IVR.Routes))...) {
		if name != "" && lib.Flow(name) == nil {
			return nil, fmt.Errorf("service: ivr: no flow named %q in %s (have %v)", name, c.IVR.Dir, lib.Names())
		}
	}
	if err := s.metrics.reg.Register(lib); err != nil {
		return nil, fmt.Errorf("service: ivr metrics: %w", err)
	}
	s.flows = lib
	rc := ivr.Config{Dialer: dialerFunc(s.dial)}
	if s.router != nil {
		rc.Router = s.router
		rc.Callbacks = s.router // a caller's "call me back" keeps their place
	}
	if s.db != nil {
		rc.Directory = directory{s.db}
	}
	if s.voice != nil {
		rc.Identifier, rc.Verifier, rc.Enroller = s.voice, s.voice, s.voice
	}
	if s.recorder != nil {
		rc.Recorder = s.recorder
	}
	c.IVR.Apply(&rc)
	return lib.Dispatch(c.IVR.Routes, c.IVR.Default, rc, append([]ivr.Option{ivr.WithLogger(s.log)}, opts...)...), nil
}

// dialerFunc adapts a function to call.Dialer.
type dialerFunc func(ctx context.Context, target, from string) (call.Leg, error)

func (f dialerFunc) Dial(ctx context.Context, target, from string) (call.Leg, error) {
	return f(ctx, target, from)
}

// dial places outbound calls through the first trunk.
func (s *Service) dial(ctx context.Context, target, from string) (call.Leg, error) {
	if len(s.cfg.SIP.Trunks) == 0 {
		return nil, errors.New("service: no SIP trunk to dial out through")
	}
	d, err := s.sip.Dialer(s.cfg.SIP.Trunks[0].Name)
	if err != nil {
		return nil, err
	}
	return d.Dial(ctx, target, from)
}

func loadPrompts(dir string) (*media.Prompts, error) {
	ps, err := media.LoadPrompts(res.Prompts, "prompts")
	if err != nil {
		return nil, fmt.Errorf("service: embedded prompts: %w", err)
	}
	if dir == "" {
		return ps, nil
	}
	extra, err := media.LoadPrompts(os.DirFS(dir), ".")
	if err != nil {
		return nil, fmt.Errorf("service: media.prompts %s: %w", dir, err)
	}
	for _, n := range extra.Names() {
		ps.Add(extra.Get(n))
	}
	return ps, nil
}

func (s *Service) prompt(name string) (*media.Prompt, error) {
	p, ok := s.prompts.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("service: prompt %q not found (embedded prompts or media.prompts)", name)
	}
	return p, nil
}

// Prompts are the loaded prompts.
func (s *Service) Prompts() *media.Prompts { return s.prompts }

// Router is the router of routing.queues; nil when none is configured.
func (s *Service) Router() *routing.Router { return s.router }

// Handler is the call handler in use.
func (s *Service) Handler() call.Handler { return s.handler }

// SIPAddr is the bound SIP address for "udp" or "tcp"; nil when off.
func (s *Service) SIPAddr(network string) net.Addr {
	switch network {
	case "udp":
		if s.udp != nil {
			return s.udp.LocalAddr()
		}
	case "tcp":
		if s.tcp != nil {
			return s.tcp.Addr()
		}
	}
	return nil
}

// HTTPAddr is the bound HTTP address; nil when off.
func (s *Service) HTTPAddr() net.Addr {
	if s.httpL == nil {
		return nil
	}
	return s.httpL.Addr()
}

// Dialer returns a call.Dialer placing outbound calls (call-backs,
// transfers) through the named SIP trunk.
func (s *Service) Dialer(trunk string) (call.Dialer, error) { return s.sip.Dialer(trunk) }

// ActiveCalls is the number of calls in progress.
func (s *Service) ActiveCalls() int { return s.sip.ActiveCalls() }

func (s *Service) healthz(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	stopped := s.stopped
	s.mu.Unlock()
	if stopped {
		http.Error(w, "draining\n", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintf(w, "ok %d calls\n", s.sip.ActiveCalls())
}

// Run serves SIP and HTTP until Shutdown or Close (it then returns nil),
// until ctx is done (it closes the service and returns ctx's error), or
// until a listener fails.
func (s *Service) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.running || s.stopped {
		s.mu.Unlock()
		return errors.New("service: Run called twice or after Close")
	}
	s.running = true
	s.mu.Unlock()

	errc := make(chan error, 3)
	serve := func(name string, f func() error) {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := f(); err != nil && !errors.Is(err, sip.ErrServerClosed) && !errors.Is(err, http.ErrServerClosed) &&
				!errors.Is(err, net.ErrClosed) {
				errc <- fmt.Errorf("service: %s: %w", name, err)
			}
		}()
	}
	if s.udp != nil {
		serve("sip udp", func() error { return s.sip.ServeUDP(s.udp) })
	}
	if s.tcp != nil {
		serve("sip tcp", func() error { return s.sip.ServeTCP(s.tcp) })
	}
	if s.httpL != nil {
		serve("http", func() error { return s.httpSrv.Serve(s.httpL) })
	}
	if s.router != nil {
		serve("routing", func() error { return s.router.Run(context.Background()) })
	}
	if s.voice != nil {
		vctx, cancel := context.WithCancel(context.Background())
		s.mu.Lock()
		s.stopVoice = cancel
		s.mu.Unlock()
		serve("voiceprint", func() error { return s.voice.Run(vctx) })
	}
	if s.flows != nil {
		wctx, cancel := context.WithCancel(context.Background())
		s.mu.Lock()
		s.stopWatch = cancel
		s.mu.Unlock()
		serve("ivr watch", func() error {
			if err := s.flows.Watch(wctx, s.cfg.IVR.Poll); !errors.Is(err, context.Canceled) {
				return err
			}
			return nil
		})
	}
	s.log.Info("voxdesk running", "sip_udp", s.SIPAddr("udp"), "sip_tcp", s.SIPAddr("tcp"), "http", s.HTTPAddr(),
		"rtp_ports", fmt.Sprintf("%d-%d", s.cfg.Media.RTPPortMin, s.cfg.Media.RTPPortMax))
	select {
	case <-s.stop:
		return nil
	case err := <-errc:
		s.Close()
		return err
	case <-ctx.Done():
		s.Close()
		return ctx.Err()
	}
}

// Shutdown drains: new INVITEs get 503 and live calls run to their end;
// then everything stops. If ctx ends first the remaining calls are hung
// up and ctx's error returned.
func (s *Service) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	err := s.sip.Shutdown(ctx)
	s.closeParts(ctx, true)
	if cerr := s.finish(); err == nil {
		err = cerr
	}
	return err
}

// Close stops now: calls are hung up, sockets closed. It waits for the
// service's goroutines.
func (s *Service) Close() error {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	err := s.sip.Close()
	s.closeParts(context.Background(), false)
	if cerr := s.finish(); err == nil {
		err = cerr
	}
	return err
}

func (s *Service) finish() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var err error
	if s.httpL != nil {
		err = s.httpSrv.Shutdown(ctx)
		if err != nil {
			s.httpSrv.Close()
		}
	}
	s.closeSockets()
	s.mu.Lock()
	if s.stopWatch != nil {
		s.stopWatch()
	}
	if s.stopVoice != nil {
		s.stopVoice()
	}
	s.mu.Unlock()
	s.wg.Wait()
	if s.db != nil {
		s.db.Close()
	}
	s.lock.release()
	s.mu.Lock()
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	s.mu.Unlock()
	return err
}

func (s *Service) closeSockets() {
	if s.udp != nil {
		s.udp.Close()
	}
	if s.tcp != nil {
		s.tcp.Close()
	}
	if s.httpL != nil {
		s.httpL.Close()
	}
}

// What the IVR needs, provided by the other packages as they are.
var (
	_ ivr.Router    = (*routing.Router)(nil)
	_ ivr.Callbacks = (*routing.Router)(nil)
	_ ivr.Voicemail = (*ivr.VoicemailDir)(nil)
	_ call.Dialer   = dialerFunc(nil)

	_ agentapi.VoicemailAudit = (*customer.DB)(nil)
)
