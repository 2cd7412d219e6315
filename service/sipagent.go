package service

import (
	"context"
	"errors"
	"fmt"
	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/routing"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/voxdesk/voxdesk/sip"
)

// SIPAgent is an agent's SIP phone account (sip.agents[] in
// voxdesk.yaml): the agent registers a desk phone or softphone with its
// id as the user name.
type SIPAgent struct {
	// ID is the agent's id (agents.accounts[].id): the phone's user name.
	ID string `yaml:"id"`
	// HA1 is MD5("id:realm:secret") in hex, the form the registrar keeps
	// instead of the secret; `voxdesk agent sip-secret` prints it.
	HA1 string `yaml:"ha1"`
	// HA1SHA256 is SHA-256("id:realm:secret") in hex, for phones that
	// answer the registrar's SHA-256 challenge (RFC 8760); `voxdesk agent
	// sip-secret -sha256` prints it. Without it the agent's phone is
	// challenged with MD5 alone; without HA1, with SHA-256 alone. Some
	// phones fail on a challenge whose first algorithm they do not know
	// instead of taking the next one (baresip 1.0 on libre 1.1: "Register:
	// Function not implemented"): give their agents ha1 only.
	HA1SHA256 string `yaml:"ha1_sha256"`
	// Ring says where the agent's calls ring: "browser" (the page only),
	// "sip" (the registered phone only) or "both" (default "both"; with
	// no phone registered the page rings alone).
	Ring string `yaml:"ring"`
}

// Ring modes of SIPAgent.Ring.
const (
	RingBrowser = "browser"
	RingSIP     = "sip"
	RingBoth    = "both"
)

var (
	ha1Pattern       = regexp.MustCompile(`^[0-9a-f]{32}$`)
	ha1SHA256Pattern = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// sipAccounts looks agents' SIP credentials up for the registrar.
type sipAccounts map[string]SIPAgent

var _ sip.Accounts = sipAccounts(nil)

func (a sipAccounts) SIPHA1(user, algorithm string) (string, bool) {
	ag, ok := a[user]
	h := ag.HA1
	if algorithm == sip.AlgorithmSHA256 {
		h = ag.HA1SHA256
	}
	return h, ok && h != ""
}

// newSIPAccounts checks sip.agents and indexes them by id.
func newSIPAccounts(agents []SIPAgent) (sipAccounts, error) {
	out := sipAccounts{}
	for i, ag := range agents {
		switch {
		case ag.ID == "":
			return nil, fmt.Errorf("service: sip.agents[%d]: no id", i)
		case out[ag.ID].ID != "":
			return nil, fmt.Errorf("service: sip.agents: %q twice", ag.ID)
		case ag.HA1 == "" && ag.HA1SHA256 == "" && ag.Ring != RingBrowser:
			return nil, fmt.Errorf("service: sip.agents %q: no ha1 or ha1_sha256 (voxdesk agent sip-secret prints them)", ag.ID)
		case ag.HA1 != "" && !ha1Pattern.MatchString(strings.ToLower(ag.HA1)):
			return nil, fmt.Errorf("service: sip.agents %q: ha1 is not 32 hex digits", ag.ID)
		case ag.HA1SHA256 != "" && !ha1SHA256Pattern.MatchString(strings.ToLower(ag.HA1SHA256)):
			return nil, fmt.Errorf("service: sip.agents %q: ha1_sha256 is not 64 hex digits", ag.ID)
		}
		switch ag.Ring {
		case "":
			ag.Ring = RingBoth
		case RingBrowser, RingSIP, RingBoth:
		default:
			return nil, fmt.Errorf("service: sip.agents %q: ring %q (want browser, sip or both)", ag.ID, ag.Ring)
		}
		ag.HA1 = strings.ToLower(ag.HA1)
		ag.HA1SHA256 = strings.ToLower(ag.HA1SHA256)
		out[ag.ID] = ag
	}
	return out, nil
}

// SIPPhones returns the contacts the agent's phones registered, none when
// no phone is registered or the registrar is off.
func (s *Service) SIPPhones(ctx context.Context, agent string) []string {
	bs, err := s.sip.Contacts(ctx, agent)
	if err != nil {
		return nil
	}
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.Contact.String()
	}
	return out
}

// ring is where agent's calls ring.
func (a sipAccounts) ring(agent string) string {
	if ag, ok := a[agent]; ok {
		return ag.Ring
	}
	return RingBrowser
}

// sipPhones rings agents on the page (the agent API), on their
// registered SIP phone, or both, as sip.agents[].ring says
// (routing.Phones). A phone that answers answers the offer in the router,
// which then takes the phone's leg from Leg; a page that answers first
// stops the phone ringing, and the other way round.
type sipPhones struct {
	web      routing.Phones
	svc      *Service
	accounts sipAccounts
	fileURL  func(customer string) string
	alert    func(customer string) string // Alert-Info

	mu    sync.Mutex
	rings map[string]*phoneRing // by call id
	legs  map[string]phoneLeg   // answered phones' legs, by the leg's SIP Call-ID
	// consults are the consultation calls agents' phones placed, by
	// routing's call id (sipconsult.go).
	consults map[string]*deskConsult
	wg       sync.WaitGroup
}

// phoneLeg is a phone talking to a caller.
type phoneLeg struct {
	agent, callID string
	desk          *deskLeg // the leg routing has
}

// phoneRing is one offer ringing on a SIP phone.
type phoneRing struct {
	agent  string
	cancel context.CancelFunc
	leg    call.Leg // set once the phone answered
}

var _ routing.Phones = (*sipPhones)(nil)

func (p *sipPhones) Ring(ctx context.Context, agent string, o routing.Offer) error {
	mode := p.ringMode(agent)
	var webErr error
	if mode != RingSIP || p.svc.api != nil {
		webErr = p.web.Ring(ctx, agent, o)
	}
	if mode == RingBrowser {
		return webErr
	}
	// Every phone the agent has registered rings at once (sip forks the
	// INVITE); the first to answer takes the call.
	contacts, err := p.svc.sip.Contacts(ctx, agent)
	if err != nil || len(contacts) == 0 {
		if mode == RingBoth {
			return webErr
		}
		return fmt.Errorf("service: ring %s: %w", agent, sip.ErrNotRegistered)
	}
	pres := sip.Presentation{Number: o.Caller, RingTimeout: time.Until(o.Expires) + time.Second}
	if o.Customer != "" {
		pres.Name = p.customerName(ctx, o.Customer)
		if p.fileURL != nil {
			pres.InfoURL = p.fileURL(o.Customer)
		}
		if p.alert != nil {
			pres.AlertInfo = p.alert(o.Customer)
		}
	}
	rctx, cancel := context.WithCancel(context.Background())
	r := &phoneRing{agent: agent, cancel: cancel}
	p.mu.Lock()
	p.rings[o.CallID] = r
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.dialPhone(rctx, r, o.CallID, contacts, pres)
	}()
	return nil
}

// dialPhone rings the phones and, when one answers, answers the offer;
// when all of them decline, it declines the offer.
func (p *sipPhones) dialPhone(ctx context.Context, r *phoneRing, callID string, contacts []sip.Binding, pres sip.Presentation) {
	log := p.svc.log.With("call_id", callID, "agent", r.agent)
	leg, err := p.svc.sip.DialContacts(ctx, r.agent, contacts, pres)
	if err != nil {
		p.forget(callID, r)
		var rej *call.RejectError
		if errors.As(err, &rej) && (rej.Cause == call.CauseBusy || rej.Cause == call.CauseRejected) {
			log.Info("phone declined the call", "reason", rej.Reason)
			dctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if err := p.svc.router.Decline(dctx, r.agent, callID); err != nil {
				log.Debug("decline", "err", err)
			}
			return
		}
		if ctx.Err() == nil {
			log.Info("phone did not answer", "err", err)
		}
		return
	}
	p.mu.Lock()
	r.leg = leg
	p.mu.Unlock()
	actx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.web.Cancel(actx, r.agent, callID, "answered on the phone"); err != nil {
		log.Debug("cancel the page's offer", "err", err)
	}
	if err := p.svc.router.Answer(actx, r.agent, callID); err != nil {
		log.Info("phone answered too late", "err", err)
		p.forget(callID, r)
		_ = leg.Hangup(actx, call.CauseCancelled)
		return
	}
	log.Info("answered on the phone")
}

func (p *sipPhones) forget(callID string, r *phoneRing) {
	p.mu.Lock()
	if p.rings[callID] == r {
		delete(p.rings, callID)
	}
	p.mu.Unlock()
	r.cancel()
}

func (p *sipPhones) Cancel(ctx context.Context, agent, callID, reason string) error {
	p.mu.Lock()
	r := p.rings[callID]
	if r != nil && r.agent == agent && r.leg == nil {
		delete(p.rings, callID)
	} else {
		r = nil
	}
	p.mu.Unlock()
	if r != nil {
		r.cancel()
	}
	if p.ringMode(agent) == RingSIP {
		_ = p.web.Cancel(ctx, agent, callID, reason)
		return nil
	}
	return p.web.Cancel(ctx, agent, callID, reason)
}

func (p *sipPhones) Leg(ctx context.Context, agent, callID string) (call.Leg, error) {
	p.mu.Lock()
	r := p.rings[callID]
	if r != nil && r.agent == agent {
		delete(p.rings, callID)
	}
	p.mu.Unlock()
	if r != nil && r.agent == agent {
		if r.leg != nil {
			desk := &deskLeg{Leg: r.leg}
			if id, ok := r.leg.(interface{ CallID() string }); ok {
				desk.id = id.CallID()
			}
			p.track(desk, phoneLeg{agent: agent, callID: callID, desk: desk})
			return desk, nil
		}
		r.cancel() // the page answered first: stop the phone
	}
	return p.web.Leg(ctx, agent, callID)
}

// track remembers an answered phone's leg until it ends, for REFER, and
// relays the keys pressed on the phone to the caller.
func (p *sipPhones) track(leg call.Leg, pl phoneLeg) {
	id, ok := leg.(interface{ CallID() string })
	if !ok {
		return
	}
	p.mu.Lock()
	p.legs[id.CallID()] = pl
	p.mu.Unlock()
	p.wg.Add(2)
	go func() {
		defer p.wg.Done()
		<-leg.Done()
		p.mu.Lock()
		delete(p.legs, id.CallID())
		p.mu.Unlock()
	}()
	go func() {
		defer p.wg.Done()
		p.relayKeys(leg, pl)
	}()
}

// transfer is a REFER from a phone (blind transfer): the target is an
// agent or a queue, by name, as the page's transfer button.
func (p *sipPhones) transfer(ctx context.Context, legID, target string) (func(), error) {
	p.mu.Lock()
	pl, ok := p.legs[legID]
	p.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("service: transfer: %w: not an agent's call", sip.ErrTransferRefused)
	}
	queue, toAgent, ok := p.target(target)
	if !ok {
		return nil, fmt.Errorf("service: transfer to %q: %w: no such agent or queue", target, sip.ErrTransferRefused)
	}
	return func() {
		tctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := p.svc.router.Transfer(tctx, pl.agent, pl.callID, queue, toAgent); err != nil {
			p.svc.log.Warn("transfer from the phone", "call_id", pl.callID, "agent", pl.agent, "target", target, "err", err)
		}
	}, nil
}

// close stops the phones still ringing and waits for them.
func (p *sipPhones) close() {
	p.mu.Lock()
	for id, r := range p.rings {
		r.cancel()
		delete(p.rings, id)
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *sipPhones) customerName(ctx context.Context, id string) string {
	if p.svc.db == nil {
		return ""
	}
	fctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	f, err := directory{p.svc.db}.Fields(fctx, id)
	if err != nil {
		return ""
	}
	return f["name"]
}

// registered logs an agent who rings only on the phone in when the phone
// registers (available) and out when the last registration goes (by
// Expires 0, expiry or unanswered keep-alives), so an unregistered
// phone is offered no calls.
func (s *Service) registered(agent string, phones int) {
	if s.router == nil || s.sipAccounts.ring(agent) != RingSIP {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	log := s.log.With("agent", agent)
	if phones == 0 {
		if err := s.router.Logout(ctx, agent); err != nil && !errors.Is(err, routing.ErrUnknownAgent) {
			log.Warn("logout on unregister", "err", err)
		}
		return
	}
	snap := s.router.Snapshot()
	for _, a := range snap.Agents {
		if a.ID == agent {
			return // already logged in
		}
	}
	if err := s.router.Login(ctx, routing.AgentInfo{ID: agent}); err != nil {
		log.Warn("login on register", "err", err)
		return
	}
	if err := s.router.SetState(ctx, agent, routing.StateAvailable, ""); err != nil {
		log.Warn("available on register", "err", err)
	}
}

// DefaultAlertInfo is SIPConfig.AlertInfo's default: the customer file's
// address, with a ring hint phones can map to a distinctive ring.
const DefaultAlertInfo = "<{url}>;info=voxdesk-customer"

// alertInfo checks the sip.alert_info template and returns what builds a
// customer's Alert-Info from it ("" for none).
func alertInfo(tmpl string, fileURL func(id string) string) (func(id string) string, error) {
	switch tmpl {
	case "off":
		return func(string) string { return "" }, nil
	case "":
		tmpl = DefaultAlertInfo
	}
	expand := func(url, id string) string {
		return strings.NewReplacer("{url}", url, "{id}", id).Replace(tmpl)
	}
	if err := sip.ValidAlertInfo(expand("http://192.0.2.1/customers?q=C-1", "C-1")); err != nil {
		return nil, fmt.Errorf("service: sip.alert_info: %w", err)
	}
	return func(id string) string {
		u := ""
		if strings.Contains(tmpl, "{url}") {
			if u = fileURL(id); u == "" {
				return "" // no HTTP address yet
			}
		}
		return expand(u, url.QueryEscape(id))
	}, nil
}

// customerFileURL returns the Call-Info address of a customer's file.
func (s *Service) customerFileURL(tmpl string) func(id string) string {
	return func(id string) string {
		id = url.QueryEscape(id)
		if tmpl != "" {
			return strings.ReplaceAll(tmpl, "{id}", id)
		}
		a := s.HTTPAddr()
		if a == nil {
			return ""
		}
		return "http://" + a.String() + "/api/admin/customers?q=" + id
	}
}

// relayKeys passes the keys an agent presses on the phone (RFC 4733) to
// the caller as the page's keypad does, until the phone's leg ends: as
// telephone-events where the caller's leg negotiated them; otherwise the
// key is not passed on (logged), since in-band tones from the phone reach
// the caller as audio anyway.
func (p *sipPhones) relayKeys(leg call.Leg, pl phoneLeg) {
	log := p.svc.log.With("call_id", pl.callID, "agent", pl.agent)
	for d := range leg.Digits() {
		if p.svc.keypad == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := p.svc.keypad.SendDigit(ctx, pl.callID, d.Key, min(max(d.Duration, minRelayedKey), maxRelayedKey))
		cancel()
		if err != nil {
			log.Warn("key from the agent's phone not passed to the caller", "key", string(d.Key), "err", err)
			continue
		}
		log.Info("key from the agent's phone passed to the caller", "key", string(d.Key), "method", "rfc4733")
	}
}

// A relayed key lasts as long as it was held on the phone, within
// bounds a receiver reliably detects and a caller does not wait on.
const minRelayedKey, maxRelayedKey = 60 * time.Millisecond, time.Second
