package agentapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/customer"
	"github.com/voxdesk/voxdesk/rtc"
)

// MethodWebToken is the identification method of a web caller vouched
// for by a signed website token (call.VarIdentMethod).
const MethodWebToken call.Method = "web-token"

// Call variables set on web calls, besides call.VarCustomer and
// call.VarIdentMethod for token callers.
const (
	VarWebName    = "web.name"    // name given by the token or typed
	VarWebPhone   = "web.phone"   // phone given by the token or typed
	VarWebAccount = "web.account" // account number typed (not verified)
)

// WebCallConfig configures the website's call-back widget.
type WebCallConfig struct {
	// TokenKey is the HMAC-SHA256 key shared with the website (at least 32
	// bytes). Empty: tokens are refused.
	TokenKey string `yaml:"token_key"`
	// AllowAnonymous accepts callers without a token, who type their name
	// and number (a demo, or a site without logins). Off by default: every
	// "call now" and "call me back" needs a token signed by the website.
	AllowAnonymous bool `yaml:"allow_anonymous"`
	// ReplayFile keeps the ids of used tokens across restarts (one line
	// per token until it expires). Empty: a restarted switch refuses every
	// token issued before it started instead.
	ReplayFile string `yaml:"replay_file"`
	// FrameOrigins are the website origins allowed to embed the widget in
	// an iframe (CSP frame-ancestors), e.g. "https://www.example.com".
	FrameOrigins []string `yaml:"frame_origins"`
	// MaxCalls bounds concurrent "call now" calls (default 20).
	MaxCalls int `yaml:"max_calls"`
	// MaxCallbacks bounds pending "call me back" tickets (default 200).
	MaxCallbacks int `yaml:"max_callbacks"`
	// Queue is the queue call-backs wait in (default "callback").
	Queue string `yaml:"queue"`
	// TicketTTL is how long the page's ticket for a booked call-back
	// answers its status and cancel (default 2 h).
	TicketTTL time.Duration `yaml:"ticket_ttl"`
	// AddressRate bounds bookings and "call now" sockets per source
	// address (IPv6: per /64), attempts included (default 5 per 10m).
	AddressRate Rate `yaml:"address_rate"`
	// NumberRate bounds bookings per phone number (default 2 per 1h) and
	// NumberDailyCap per number and UTC day (default 3); typed numbers and
	// each token customer's are counted apart, so strangers cannot spend
	// a customer's quota.
	NumberRate     Rate `yaml:"number_rate"`
	NumberDailyCap int  `yaml:"number_daily_cap"`
	// AllowPrefixes, when set, are the only number prefixes call-backs
	// dial (the operator's home country, e.g. ["+33"]); DenyPrefixes add
	// to DefaultDenyPrefixes (premium-rate and international networks).
	// The longest matching prefix decides.
	AllowPrefixes []string `yaml:"allow_prefixes"`
	DenyPrefixes  []string `yaml:"deny_prefixes"`
	// MaxCallsPerAddress bounds concurrent "call now" sockets per source
	// address (default 2); MaxAnonymousCalls bounds the calls of callers
	// without a token (default half of MaxCalls), so anonymous sockets
	// cannot take every slot.
	MaxCallsPerAddress int `yaml:"max_calls_per_address"`
	MaxAnonymousCalls  int `yaml:"max_anonymous_calls"`
	// NumberPlan reads the numbers visitors type without their country
	// code. The zero value takes international numbers only.
	NumberPlan NumberPlan `yaml:"number_plan"`
}

// NumberPlan is the configuration form of customer.NumberPlan: how a
// phone number typed in national form is read. {country_code: "33",
// trunk_prefix: "0"} reads "06 39 98 01 01" as +33639980101.
type NumberPlan struct {
	CountryCode         string `yaml:"country_code"`         // "33"; empty: international numbers only
	TrunkPrefix         string `yaml:"trunk_prefix"`         // "0" in France, "" in Italy
	InternationalPrefix string `yaml:"international_prefix"` // stands for "+"; default "00"
}

func (p NumberPlan) plan() customer.NumberPlan {
	return customer.NumberPlan{CountryCode: p.CountryCode, TrunkPrefix: p.TrunkPrefix, InternationalPrefix: p.InternationalPrefix}
}

func (p NumberPlan) check() error {
	for _, f := range []struct {
		name, v string
		max     int
	}{{"country_code", p.CountryCode, 3}, {"trunk_prefix", p.TrunkPrefix, 2}, {"international_prefix", p.InternationalPrefix, 4}} {
		if len(f.v) > f.max || strings.Trim(f.v, "0123456789") != "" {
			return fmt.Errorf("agentapi: webcall.number_plan.%s %q: want at most %d digits", f.name, f.v, f.max)
		}
	}
	if p.CountryCode != "" && p.CountryCode[0] == '0' {
		return fmt.Errorf("agentapi: webcall.number_plan.country_code %q: a country code does not start with 0", p.CountryCode)
	}
	return nil
}

func (c *WebCallConfig) fill() {
	if c.MaxCalls <= 0 {
		c.MaxCalls = 20
	}
	if c.MaxCallbacks <= 0 {
		c.MaxCallbacks = 200
	}
	if c.Queue == "" {
		c.Queue = "callback"
	}
	if c.TicketTTL <= 0 {
		c.TicketTTL = 2 * time.Hour
	}
	c.AddressRate.fill(Rate{Count: 5, Per: 10 * time.Minute})
	c.NumberRate.fill(Rate{Count: 2, Per: time.Hour})
	if c.NumberDailyCap <= 0 {
		c.NumberDailyCap = 3
	}
	if c.MaxCallsPerAddress <= 0 {
		c.MaxCallsPerAddress = 2
	}
	if c.MaxAnonymousCalls <= 0 {
		c.MaxAnonymousCalls = max(1, c.MaxCalls/2)
	}
}

func (c *WebCallConfig) check() error {
	if c.TokenKey != "" && len(c.TokenKey) < minKeyLen {
		return fmt.Errorf("agentapi: webcall.token_key must be at least %d bytes", minKeyLen)
	}
	for _, o := range c.FrameOrigins {
		if !strings.HasPrefix(o, "https://") && !strings.HasPrefix(o, "http://") || strings.ContainsAny(o, " ;,'\"") {
			return fmt.Errorf("agentapi: webcall.frame_origins: %q is not an origin like https://www.example.com", o)
		}
	}
	for _, r := range []struct {
		name string
		r    Rate
	}{{"webcall.address_rate", c.AddressRate}, {"webcall.number_rate", c.NumberRate}} {
		if err := r.r.check(r.name); err != nil {
			return err
		}
	}
	if err := c.NumberPlan.check(); err != nil {
		return err
	}
	_, err := newNumberPolicy(c.AllowPrefixes, c.DenyPrefixes)
	return err
}

// webGuard holds the limits on the website's anonymous side.
type webGuard struct {
	addr, number, daily *limiter
	policy              numberPolicy
}

func newWebGuard(c WebCallConfig) (webGuard, error) {
	p, err := newNumberPolicy(c.AllowPrefixes, c.DenyPrefixes)
	if err != nil {
		return webGuard{}, err
	}
	return webGuard{
		addr: newLimiter(c.AddressRate), number: newLimiter(c.NumberRate),
		daily: newLimiter(Rate{Count: c.NumberDailyCap, Per: 24 * time.Hour}), policy: p,
	}, nil
}

// Callbacks books "call me back" requests; the routing side implements it
// (the call-back keeps a place in the queue and is dialled out through the
// SIP trunk when an agent is free).
type Callbacks interface {
	Book(ctx context.Context, r CallbackRequest) (id string, err error)
	Status(ctx context.Context, id string) (CallbackStatus, error)
	Cancel(ctx context.Context, id string) error
}

// CallbackRequest is one "call me back".
type CallbackRequest struct {
	Phone    string            // E.164 number to dial
	Name     string            // as given
	Customer string            // customer id when vouched for by a token
	Queue    string            // WebCallConfig.Queue
	Vars     map[string]string // call variables for the call-back's call
}

// CallbackStatus is where a call-back stands.
type CallbackStatus struct {
	State         string  `json:"state"`    // queued, dialling, connected, done, failed, cancelled
	Position      int     `json:"position"` // 1 = next, while queued
	EstimatedWait float64 `json:"estimated_wait_s"`
	WaitKnown     bool    `json:"wait_known"`
}

// identity is who a web caller says they are.
type identity struct {
	customer, name, phone, account string
	vouched                        bool // from a valid token
}

func (id identity) vars() map[string]string {
	v := map[string]string{}
	if id.vouched {
		v[call.VarCustomer] = id.customer
		v[call.VarIdentMethod] = string(MethodWebToken)
		v[call.VarIdentScore] = "1"
	}
	for k, x := range map[string]string{VarWebName: id.name, VarWebPhone: id.phone, VarWebAccount: id.account} {
		if x != "" {
			v[k] = x
		}
	}
	return v
}

// webIdentity checks a token or typed details.
type webIdentityRequest struct {
	Token   string `json:"token,omitempty"`
	Name    string `json:"name,omitempty"`
	Phone   string `json:"phone,omitempty"`
	Account string `json:"account,omitempty"`
}

func (s *Server) identify(r webIdentityRequest) (identity, error) {
	now := s.now()
	if r.Token != "" {
		c, err := VerifyWebToken([]byte(s.cfg.WebCall.TokenKey), r.Token, now)
		if err != nil {
			return identity{}, err
		}
		if s.cfg.WebCall.ReplayFile == "" && c.IssuedAt < s.started.Unix() {
			// Used tokens are remembered in memory only: one issued
			// before this start may have been used before it.
			return identity{}, fmt.Errorf("%w: issued before the switch restarted, reload the page", ErrBadToken)
		}
		if err := s.replay.use(c.Nonce, time.Unix(c.Expires, 0), now); err != nil {
			return identity{}, err
		}
		return identity{customer: c.Customer, name: c.Name, phone: c.Phone, vouched: true}, nil
	}
	if !s.cfg.WebCall.AllowAnonymous {
		return identity{}, fmt.Errorf("%w: a token from the website is required (log in on the website first)", ErrBadToken)
	}
	for _, f := range []struct{ name, v string }{{"name", r.Name}, {"phone", r.Phone}, {"account", r.Account}} {
		if err := checkText(f.name, f.v, 100, false); err != nil {
			return identity{}, err
		}
	}
	phone := r.Phone
	if phone != "" {
		// Typed as people write numbers: national form (the number
		// plan's), separators, a bracketed trunk prefix.
		e164, err := s.cfg.WebCall.NumberPlan.plan().Normalise(phone)
		if err != nil {
			hint := "e.g. +441632960001"
			if s.cfg.WebCall.NumberPlan.CountryCode == "" {
				hint = "give it in international form, " + hint
			}
			return identity{}, badf("%s (%s)", strings.TrimPrefix(err.Error(), customer.ErrInvalid.Error()+": "), hint)
		}
		phone = e164
	}
	return identity{name: r.Name, phone: phone, account: r.Account}, nil
}

// WebMessage is one message from the "call now" page:
// {"type":"start", token or name/phone/account}, {"type":"signal",...},
// {"type":"hangup"}.
type WebMessage struct {
	Type string `json:"type"`
	webIdentityRequest
	Signal *rtc.Signal `json:"signal,omitempty"`
}

// ParseWebMessage decodes and validates one message of the "call now"
// page.
func ParseWebMessage(b []byte) (WebMessage, error) {
	var m WebMessage
	if len(b) > MaxMessageBytes {
		return m, badf("message of %d bytes exceeds %d", len(b), MaxMessageBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return WebMessage{}, badf("%v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return WebMessage{}, badf("trailing data after the JSON object")
	}
	switch m.Type {
	case "start":
		if len(m.Token) > maxTokenLen {
			return WebMessage{}, badf("token too long")
		}
	case "signal":
		if m.Signal == nil {
			return WebMessage{}, badf("signal message without signal")
		}
		if err := m.Signal.Validate(); err != nil {
			return WebMessage{}, fmt.Errorf("%w: %w", ErrBadMessage, err)
		}
	case "hangup":
	default:
		return WebMessage{}, badf("unknown type %q", m.Type)
	}
	return m, nil
}

// webStatus is what the "call now" page is told.
type webStatus struct {
	Type   string          `json:"type"` // status, signal, error
	State  string          `json:"state,omitempty"`
	Cause  string          `json:"cause,omitempty"`
	Error  string          `json:"error,omitempty"`
	Signal *rtc.Signal     `json:"signal,omitempty"`
	ICE    []rtc.ICEServer `json:"iceServers,omitempty"`
}

// webCall is one "call now" page.
type webCall struct {
	*sock
	anonymous bool // no token: counts against MaxAnonymousCalls (guarded by Server.mu)
	// The call and the caller's leg once media is up, for the agent's
	// keypad (guarded by Server.mu).
	callID string
	leg    *rtc.Leg
}

func (w *webCall) send(m webStatus) { w.sendJSON(m) }

func newCallID(prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func (s *Server) handleWebCallWS(w http.ResponseWriter, r *http.Request) {
	if s.rtc == nil || s.handler == nil {
		writeError(w, http.StatusServiceUnavailable, "web calls are not configured")
		return
	}
	src := sourceKey(r.RemoteAddr)
	if ok, retry, first := s.web.addr.allow(src, s.now()); !ok {
		if first {
			s.log.Warn("web calls refused: address over its rate (logged once per window)", "remote", src, "rate", s.cfg.WebCall.AddressRate)
		}
		tooMany(w, retry, "too many calls from your address, please try again later")
		return
	}
	// The slot is taken before the upgrade, so parallel sockets of one
	// address cannot all pass the check.
	s.mu.Lock()
	full := len(s.webcalls)+s.pendingWeb >= s.cfg.WebCall.MaxCalls
	mine := s.webByAddr[src] >= s.cfg.WebCall.MaxCallsPerAddress
	if !full && !mine {
		s.webByAddr[src]++
		s.pendingWeb++
	}
	s.mu.Unlock()
	switch {
	case full:
		writeError(w, http.StatusServiceUnavailable, "too many web calls, please try again shortly")
		return
	case mine:
		tooMany(w, time.Minute, "your address already has a call in progress")
		return
	}
	release := func() {
		s.mu.Lock()
		if s.webByAddr[src]--; s.webByAddr[src] <= 0 {
			delete(s.webByAddr, src)
		}
		s.mu.Unlock()
	}
	// Only the switch's own widget page (same origin, possibly framed by
	// the website) may open the socket.
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		s.mu.Lock()
		s.pendingWeb--
		s.mu.Unlock()
		release()
		return
	}
	ws.SetReadLimit(MaxMessageBytes)
	wc := &webCall{sock: newSock(s.life, ws)}
	if !s.goTracked(func() {
		defer release()
		wc.run(func() { s.serveWebCall(wc) })
	}) {
		s.mu.Lock()
		s.pendingWeb--
		s.mu.Unlock()
		release()
		wc.finish()
	}
}

// serveWebCall runs one "call now" call: identify, negotiate, hand the
// call to the handler, and hang up when either side ends.
func (s *Server) serveWebCall(wc *webCall) {
	s.mu.Lock()
	s.webcalls[wc] = struct{}{}
	s.pendingWeb--
	closing := s.closing
	s.mu.Unlock()
	if closing {
		wc.close("switch shutting down")
	}
	s.m.pages.WithLabelValues("webcall").Inc()
	defer s.m.pages.WithLabelValues("webcall").Dec()
	var callWG sync.WaitGroup
	ctx, cancel := context.WithCancel(s.life)
	var leg *rtc.Leg
	var legMu sync.Mutex
	var sess *rtc.Session
	defer func() {
		legMu.Lock()
		if leg != nil {
			_ = leg.Hangup(context.Background(), call.CauseNormal) // the page went away: the caller hung up
		}
		legMu.Unlock()
		cancel()
		callWG.Wait()
		if sess != nil {
			_ = sess.Close()
		}
		s.mu.Lock()
		delete(s.webcalls, wc)
		s.mu.Unlock()
	}()

	// The first message says who is calling.
	first := time.AfterFunc(30*time.Second, func() { wc.close("no start message") })
	b, err := wc.read()
	first.Stop()
	if err != nil {
		return
	}
	m, err := ParseWebMessage(b)
	if err == nil && m.Type != "start" {
		err = badf("the first message must be start")
	}
	var id identity
	if err == nil {
		id, err = s.identify(m.webIdentityRequest)
	}
	if err == nil && !id.vouched {
		s.mu.Lock()
		n := 0
		for o := range s.webcalls {
			if o.anonymous {
				n++
			}
		}
		if n < s.cfg.WebCall.MaxAnonymousCalls {
			wc.anonymous = true
		} else {
			err = errors.New("agentapi: all lines for callers without a website login are busy, please try again shortly")
		}
		s.mu.Unlock()
	}
	if err != nil {
		wc.send(webStatus{Type: "error", Error: err.Error()})
		return
	}
	callID := newCallID("web-")
	log := s.log.With("call_id", callID)
	sess, err = s.rtc.NewSession(callID, func(sig rtc.Signal) { wc.send(webStatus{Type: "signal", Signal: &sig}) })
	if err != nil {
		wc.send(webStatus{Type: "error", Error: "call could not be set up"})
		log.Error("web call session", "err", err)
		return
	}
	wc.send(webStatus{Type: "status", State: "connecting", ICE: s.rtc.ICEServers(callID)})
	log.Info("web call started", "vouched", id.vouched, "customer", id.customer)

	// Media up -> the call goes to the handler.
	callWG.Add(1)
	go func() {
		defer callWG.Done()
		cctx, ccancel := context.WithTimeout(ctx, 20*time.Second)
		err := sess.WaitConnected(cctx)
		ccancel()
		if err != nil {
			wc.send(webStatus{Type: "error", Error: "no media connection"})
			wc.close("no media")
			return
		}
		l, err := sess.Attach(callID)
		if err != nil {
			wc.close("attach failed")
			return
		}
		legMu.Lock()
		leg = l
		legMu.Unlock()
		s.mu.Lock()
		wc.callID, wc.leg = callID, l
		s.mu.Unlock()
		l.OnAnswer(func(context.Context) error {
			wc.send(webStatus{Type: "status", State: "answered"})
			return nil
		})
		c := call.New(callID, l, s.log)
		c.Channel, c.Callee = call.ChannelWebRTC, "webcall"
		if id.vouched {
			// Only a number the website vouched for is the caller's
			// number: a typed one would let anyone pass the IVR's
			// number identification as someone else (it stays in
			// VarWebPhone, marked as typed).
			c.Caller = id.phone
		}
		for k, v := range id.vars() {
			c.SetVar(k, v)
		}
		err = s.serveCall(ctx, c)
		_ = l.Hangup(ctx, call.CauseNormal)
		cause := l.Cause().String()
		var rej *call.RejectError
		if errors.As(err, &rej) {
			cause = rej.Cause.String()
		}
		log.Info("web call ended", "cause", cause, "err", err)
		s.m.webcalls.WithLabelValues(cause).Inc()
		wc.send(webStatus{Type: "status", State: "ended", Cause: cause})
		wc.close("call ended")
	}()

	for {
		b, err := wc.read()
		if err != nil {
			return
		}
		m, err := ParseWebMessage(b)
		if err == nil && m.Type == "start" {
			err = badf("already started")
		}
		if err != nil {
			s.m.badMessages.WithLabelValues("webcall").Inc()
			wc.send(webStatus{Type: "error", Error: err.Error()})
			continue
		}
		switch m.Type {
		case "hangup":
			return
		case "signal":
			if err := sess.HandleSignal(*m.Signal); err != nil {
				wc.send(webStatus{Type: "error", Error: err.Error()})
			}
		}
	}
}

// serveCall runs the handler, turning a panic into an error that ends
// only this call.
func (s *Server) serveCall(ctx context.Context, c *call.Call) (err error) {
	defer func() {
		if p := recover(); p != nil {
			c.Log.Error("call handler panicked", "panic", p)
			err = fmt.Errorf("agentapi: handler panic: %v", p)
		}
	}()
	return s.handler.ServeCall(ctx, c)
}

// ticket maps an unguessable ticket given to the page to a call-back id.
type ticket struct {
	id      string
	phone   string
	expires time.Time
}

type bookReply struct {
	Ticket string `json:"ticket"`
}

func (s *Server) handleCallbackBook(w http.ResponseWriter, r *http.Request) {
	if s.callback == nil {
		writeError(w, http.StatusServiceUnavailable, "call-back is not configured")
		return
	}
	if !sameOrigin(r) {
		writeError(w, http.StatusForbidden, "cross-origin request refused")
		return
	}
	now := s.now()
	src := sourceKey(r.RemoteAddr)
	// Every attempt counts, before any work: a flood costs one map look-up
	// per request.
	if ok, retry, first := s.web.addr.allow(src, now); !ok {
		s.m.callbacks.WithLabelValues("limited").Inc()
		if first {
			s.log.Warn("call-backs refused: address over its rate (logged once per window)", "remote", src, "rate", s.cfg.WebCall.AddressRate)
		}
		tooMany(w, retry, "too many call-back requests from your address, please try again later")
		return
	}
	var req webIdentityRequest
	if err := readJSON(w, r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	id, err := s.identify(req)
	if errors.Is(err, ErrBadToken) {
		writeError(w, http.StatusForbidden, err.Error())
		return
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if id.phone == "" {
		writeError(w, http.StatusBadRequest, "a phone number to call back is needed")
		return
	}
	if err := s.web.policy.check(id.phone); err != nil {
		s.m.callbacks.WithLabelValues("denied").Inc()
		s.log.Warn("call-back refused: number not allowed", "phone", id.phone, "remote", src)
		writeError(w, http.StatusForbidden, err.Error())
		return
	}
	// Anonymous bookings and a vouched customer's are counted apart: a
	// stranger spending a number's quota does not stop its owner, logged
	// in on the website, from booking.
	quota := "typed " + id.phone
	if id.vouched {
		quota = "customer " + id.customer + " " + id.phone
	}
	if ok, retry, _ := s.web.number.allow(quota, now); !ok {
		s.m.callbacks.WithLabelValues("limited").Inc()
		tooMany(w, retry, "too many call-backs to this number, please try again later")
		return
	}
	if ok, retry, _ := s.web.daily.allow(quota, now); !ok {
		s.m.callbacks.WithLabelValues("limited").Inc()
		tooMany(w, retry, "this number had its call-backs for today")
		return
	}
	s.mu.Lock()
	for t, tk := range s.tickets {
		if now.After(tk.expires) {
			delete(s.tickets, t)
		}
	}
	dup, full := false, len(s.tickets) >= s.cfg.WebCall.MaxCallbacks
	for _, tk := range s.tickets {
		dup = dup || tk.phone == id.phone
	}
	s.mu.Unlock()
	switch {
	case dup:
		writeError(w, http.StatusConflict, "a call-back to this number is already booked")
		return
	case full:
		writeError(w, http.StatusServiceUnavailable, "too many call-backs booked, please try later")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), opTimeout)
	defer cancel()
	cbID, err := s.callback.Book(ctx, CallbackRequest{Phone: id.phone, Name: id.name, Customer: id.customer, Queue: s.cfg.WebCall.Queue, Vars: id.vars()})
	if err != nil {
		s.m.callbacks.WithLabelValues("refused").Inc()
		s.log.Warn("call-back booking", "err", err)
		writeError(w, http.StatusServiceUnavailable, "the call-back could not be booked")
		return
	}
	t := randomToken()
	s.mu.Lock()
	s.tickets[t] = &ticket{id: cbID, phone: id.phone, expires: now.Add(s.cfg.WebCall.TicketTTL)}
	s.mu.Unlock()
	s.m.callbacks.WithLabelValues("booked").Inc()
	s.log.Info("call-back booked", "callback", cbID, "vouched", id.vouched)
	writeJSON(w, http.StatusOK, bookReply{Ticket: t})
}

// ticket returns the live ticket named in the path, or writes why not
// (call-back not configured, foreign origin for changes, unknown ticket).
func (s *Server) ticket(w http.ResponseWriter, r *http.Request, change bool) *ticket {
	if s.callback == nil {
		writeError(w, http.StatusServiceUnavailable, "call-back is not configured")
		return nil
	}
	if change && !sameOrigin(r) {
		writeError(w, http.StatusForbidden, "cross-origin request refused")
		return nil
	}
	s.mu.Lock()
	t := s.tickets[r.PathValue("ticket")]
	s.mu.Unlock()
	if t == nil || s.now().After(t.expires) {
		writeError(w, http.StatusNotFound, "no such call-back")
		return nil
	}
	return t
}

func (s *Server) handleCallbackStatus(w http.ResponseWriter, r *http.Request) {
	t := s.ticket(w, r, false)
	if t == nil {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), opTimeout)
	defer cancel()
	st, err := s.callback.Status(ctx, t.id)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "status unavailable")
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) handleCallbackCancel(w http.ResponseWriter, r *http.Request) {
	t := s.ticket(w, r, true)
	if t == nil {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), opTimeout)
	defer cancel()
	if err := s.callback.Cancel(ctx, t.id); err != nil {
		writeError(w, http.StatusConflict, err.Error())
		return
	}
	s.mu.Lock()
	delete(s.tickets, r.PathValue("ticket"))
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, struct{}{})
}
