package agentapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/routing"
	"github.com/voxdesk/voxdesk/rtc"
)

// ErrAgentOffline is returned by Ring and Leg when the agent has no page
// open (no live WebSocket).
var ErrAgentOffline = errors.New("agentapi: agent's softphone is not connected")

// ErrNotYourCall is the reply to a page acting on a call that is not
// offered or connected to its agent.
var ErrNotYourCall = errors.New("agentapi: not your call")

const (
	outQueue     = 64              // messages queued for a page before it counts as stuck
	writeTimeout = 5 * time.Second // one WebSocket write
	opTimeout    = 5 * time.Second // one router or directory call made for a page
)

// callPhase is where a call stands for its agent.
type callPhase int

const (
	phaseRinging callPhase = iota
	phaseTalking
	phaseWrapUp
)

// agentCall is one call offered to, connected to or being wrapped up by
// an agent.
type agentCall struct {
	offer     routing.Offer
	file      *CustomerFile
	phase     callPhase
	leg       *rtc.Leg
	offeredAt time.Time
	answered  time.Time
	ended     time.Time
	confirmed bool // "identity confirmed" pressed
	// cancelDial stops an outbound call's set-up (nil for calls routed
	// to the agent).
	cancelDial context.CancelFunc
	// handedTo is the agent this agent handed the call to (a completed
	// consultation): their wrap-up is their part of the interaction.
	handedTo string
}

// agentConn is one agent's open page: its WebSocket, its softphone's
// PeerConnection and its calls.
type agentConn struct {
	*sock
	s    *Server
	acct *Account
	sess *rtc.Session
	log  *slog.Logger

	mu        sync.Mutex
	calls     map[string]*agentCall
	state     string // last state sent to the page
	reason    string
	until     time.Time
	recent    []routing.Offer // the last offers rung, for missed-call notices
	loggedOut bool            // guarded by s.mu
}

func (c *agentConn) send(m ServerMessage) bool {
	ok := c.sendJSON(m)
	if !ok {
		c.log.Debug("agent page message dropped", "type", m.Type)
	}
	return ok
}

func (s *Server) handleAgentWS(w http.ResponseWriter, r *http.Request) {
	sess := s.authorized(w, r, RoleAgent, false)
	if sess == nil {
		return
	}
	if s.rtc == nil {
		writeError(w, http.StatusServiceUnavailable, "softphone not configured")
		return
	}
	// Accept checks that Origin names this host: a page of another site
	// cannot open an agent's socket with the agent's cookie.
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		s.log.Info("agent websocket refused", "agent", sess.acct.ID, "err", err)
		return
	}
	ws.SetReadLimit(MaxMessageBytes)
	c := &agentConn{
		sock: newSock(s.life, ws), s: s, acct: sess.acct,
		log:   s.log.With("agent", sess.acct.ID),
		calls: map[string]*agentCall{},
	}
	if !s.goTracked(func() { c.run(func() { s.serveAgent(c) }) }) {
		c.finish()
	}
}

// serveAgent runs one agent page's connection until it closes.
func (s *Server) serveAgent(c *agentConn) {
	id := c.acct.ID
	rs, err := s.rtc.NewSession(id, func(sig rtc.Signal) {
		c.send(ServerMessage{Type: "signal", Signal: &sig})
	})
	if err != nil {
		c.log.Error("softphone session", "err", err)
		c.close("softphone unavailable")
		return
	}
	c.sess = rs

	s.mu.Lock()
	old := s.agents[id]
	if old != nil && old.talking() {
		// A second window must not cut the call the first one carries.
		s.mu.Unlock()
		c.log.Info("second window refused during a call")
		c.send(ServerMessage{Type: "error", Error: "you are on a call in another window"})
		c.close("on a call in another window")
		rs.Close()
		return
	}
	s.agents[id] = c
	left := s.wrapsLeft[id] // wrap-ups of a page that went away
	delete(s.wrapsLeft, id)
	closing := s.closing
	s.mu.Unlock()
	if old != nil {
		old.close("opened in another window")
	}
	if closing { // Shutdown began before we registered
		c.close("switch shutting down")
	}

	defer func() {
		rs.Close() // ends a call in progress with call.CauseFailure
		s.mu.Lock()
		current := s.agents[id] == c
		if current {
			delete(s.agents, id)
		}
		loggedOut := c.loggedOut
		// Calls waiting for their wrap-up outlive the page: they go to
		// the window that replaced it, or wait for the agent's next one.
		wraps, heir := c.takeWrapUps(), s.agents[id]
		if !loggedOut && heir == nil && len(wraps) > 0 {
			s.wrapsLeft[id] = wraps
		}
		s.mu.Unlock()
		if !loggedOut && heir != nil {
			heir.adopt(wraps, s.now())
		}
		if current && !loggedOut && s.router != nil {
			// Ringing offers move on, a call in progress is re-queued.
			ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
			if err := s.router.Disconnected(ctx, id); err != nil && !errors.Is(err, errUnknownAgent) {
				c.log.Warn("router: disconnected", "err", err)
			}
			cancel()
		}
		c.log.Info("agent page closed")
	}()

	state, reason := string(routing.StateAway), "logged in"
	if s.router != nil {
		ctx, cancel := context.WithTimeout(s.life, opTimeout)
		err := s.router.Login(ctx, routing.AgentInfo{ID: id, Name: c.acct.Name, Skills: c.acct.Skills})
		cancel()
		if err != nil {
			c.log.Error("router: login", "err", err)
			c.close("routing unavailable")
			return
		}
	}
	c.mu.Lock()
	c.state, c.reason = state, reason
	c.mu.Unlock()
	hello := ServerMessage{Type: "hello", Agent: ptr(viewOf(c.acct)), State: state, Reason: reason, ICEServers: s.rtc.ICEServers(id)}
	hello.Queues, hello.Agents = s.transferTargets()
	hello.Ring, _ = s.RingMode(id)
	c.send(hello)
	c.adopt(left, s.now())
	c.log.Info("agent page connected")
	s.m.pages.WithLabelValues("agent").Inc()
	defer s.m.pages.WithLabelValues("agent").Dec()
	s.requestBoard()

	for {
		b, err := c.read()
		if err != nil {
			return
		}
		m, err := ParseClientMessage(b)
		if err != nil {
			s.m.badMessages.WithLabelValues("agent").Inc()
			c.send(ServerMessage{Type: "error", Error: err.Error()})
			continue
		}
		if err := s.handleAgentMessage(c, m); err != nil {
			c.send(ServerMessage{Type: "error", ID: m.ID, Error: err.Error()})
			continue
		}
		if m.ID != 0 {
			c.send(ServerMessage{Type: "ok", ID: m.ID})
		}
	}
}

func ptr[T any](v T) *T { return &v }

// transferTargets lists the queues and agents a call can be transferred
// to, from the latest wallboard snapshot.
func (s *Server) transferTargets() ([]string, []AgentView) {
	if s.boarder == nil {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(s.life, opTimeout)
	defer cancel()
	b, err := s.boarder.Board(ctx)
	if err != nil {
		return nil, nil
	}
	var qs []string
	for _, q := range b.Queues {
		qs = append(qs, q.Name)
	}
	return qs, b.Agents
}

// call returns the agent's call id if it is in one of the phases.
func (c *agentConn) call(id string, phases ...callPhase) (*agentCall, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ac := c.calls[id]
	if ac == nil {
		return nil, fmt.Errorf("%w: %q", ErrNotYourCall, id)
	}
	for _, p := range phases {
		if ac.phase == p {
			return ac, nil
		}
	}
	return nil, fmt.Errorf("agentapi: call %q is not in a state that allows this", id)
}

// handleAgentMessage acts on one valid message from the agent's page.
func (s *Server) handleAgentMessage(c *agentConn, m ClientMessage) error {
	ctx, cancel := context.WithTimeout(s.life, opTimeout)
	defer cancel()
	id := c.acct.ID
	needRouter := func() error {
		if s.router == nil {
			return errors.New("agentapi: routing not configured")
		}
		return nil
	}
	switch m.Type {
	case MsgPing:
		return nil
	case MsgSignal:
		return c.sess.HandleSignal(*m.Signal)
	case MsgState:
		if err := needRouter(); err != nil {
			return err
		}
		if m.State == string(routing.StateAvailable) {
			select {
			case <-c.sess.Connected():
			default:
				// Calls offered now could not be answered with audio.
				return errors.New("agentapi: your softphone audio is not connected yet (microphone allowed?)")
			}
		}
		if err := s.router.SetState(ctx, id, routing.State(m.State), m.Reason); err != nil {
			return err
		}
		c.setState(m.State, m.Reason, time.Time{})
		s.requestBoard()
		return nil
	case MsgAnswer:
		if err := needRouter(); err != nil {
			return err
		}
		if _, err := c.call(m.Call, phaseRinging); err != nil {
			return err
		}
		return s.router.Answer(ctx, id, m.Call)
	case MsgDecline:
		if err := needRouter(); err != nil {
			return err
		}
		if _, err := c.call(m.Call, phaseRinging); err != nil {
			return err
		}
		if err := s.router.Decline(ctx, id, m.Call); err != nil {
			return err
		}
		c.forget(m.Call)
		return nil
	case MsgDial:
		return s.dial(ctx, c, m.Customer, m.Number)
	case MsgHangup:
		ac, err := c.call(m.Call, phaseRinging, phaseTalking)
		if err != nil {
			return err
		}
		if ac.cancelDial != nil { // the agent's own outbound call
			ac.cancelDial()
			if ac.leg != nil {
				_ = ac.leg.Hangup(ctx, call.CauseNormal)
			}
			return nil
		}
		if err := needRouter(); err != nil {
			return err
		}
		err = s.router.Hangup(ctx, id, m.Call)
		if ac.leg != nil {
			// The router hangs the leg up when it ends the call; make sure
			// of it even if the router no longer knew the call.
			_ = ac.leg.Hangup(ctx, call.CauseNormal)
		} else {
			c.forget(m.Call)
		}
		if err != nil && ac.leg == nil {
			return err
		}
		return nil
	case MsgHold, MsgMute:
		ac, err := c.call(m.Call, phaseTalking)
		if err != nil {
			return err
		}
		typ := "held"
		if m.Type == MsgHold {
			ac.leg.SetHold(m.On)
		} else {
			ac.leg.SetMute(m.On)
			typ = "muted"
		}
		c.log.Info(m.Type, "call_id", m.Call, "on", m.On)
		c.send(ServerMessage{Type: typ, Call: m.Call, On: ptr(m.On)})
		return nil
	case MsgTransfer:
		if err := needRouter(); err != nil {
			return err
		}
		ac, err := c.call(m.Call, phaseTalking)
		if err != nil {
			return err
		}
		if m.Agent == id {
			return errors.New("agentapi: cannot transfer a call to yourself")
		}
		if err := s.router.Transfer(ctx, id, m.Call, m.Queue, m.Agent); err != nil {
			return err
		}
		to := m.Agent
		if to == "" {
			to = "queue " + m.Queue
		}
		c.mu.Lock()
		ac.handedTo = to // the wrap-up is this agent's part of the call
		c.mu.Unlock()
		return nil
	case MsgConsult, MsgConsultComplete, MsgConsultCancel:
		if err := needRouter(); err != nil {
			return err
		}
		return s.handleConsult(ctx, c, m)
	case MsgDTMF:
		ac, err := c.call(m.Call, phaseTalking)
		if err != nil {
			return err
		}
		if ac.leg.Held() {
			return errors.New("agentapi: the call is on hold: resume it before using the keypad")
		}
		return s.pressKeys(ctx, c, ac, m.Call, m.Digits)
	case MsgRing:
		return s.setRingMode(c, m.Ring)
	case MsgPickCustomer:
		ac, err := c.call(m.Call, phaseRinging, phaseTalking, phaseWrapUp)
		if err != nil {
			return err
		}
		return s.pickCustomer(ctx, c, ac, m.Customer)
	case MsgConfirmIdentity:
		ac, err := c.call(m.Call, phaseTalking, phaseWrapUp)
		if err != nil {
			return err
		}
		if ac.offer.Customer == "" {
			return errors.New("agentapi: the caller was not identified: nothing to confirm")
		}
		c.mu.Lock()
		ac.confirmed = true
		c.mu.Unlock()
		c.log.Info("identity confirmed", "call_id", m.Call, "customer", ac.offer.Customer)
		return nil
	case MsgEnrol:
		ac, err := c.call(m.Call, phaseTalking, phaseWrapUp)
		if err != nil {
			return err
		}
		return s.enrol(ctx, c, m.Call, ac)
	case MsgWrapUp:
		ac, err := c.wrapUp(m.Call)
		if err != nil {
			return err
		}
		if s.dir != nil {
			c.mu.Lock()
			w := WrapUp{
				CallID: m.Call, CustomerID: ac.offer.Customer, Agent: id, Queue: ac.offer.Queue,
				Start: ac.offeredAt.Add(-ac.offer.Waited), Answered: ac.answered, Ended: ac.ended,
				Method: string(ac.offer.IdentMethod), Score: ac.offer.IdentScore, IdentityConfirmed: ac.confirmed,
				Disposition: m.Disposition, Notes: m.Notes, HandedTo: ac.handedTo,
			}
			c.mu.Unlock()
			if err := s.dir.RecordWrapUp(ctx, w); err != nil {
				return fmt.Errorf("agentapi: record wrap-up: %w", err)
			}
		}
		c.forget(m.Call)
		c.log.Info("wrap-up", "call_id", m.Call, "disposition", m.Disposition)
		return nil
	}
	return fmt.Errorf("%w: unhandled type %q", ErrBadMessage, m.Type)
}

// wrapUp returns the agent's call id waiting for its wrap-up, or why not:
// a call never theirs, already wrapped up, or lost when the page
// reconnected is not their call (nothing is recorded).
func (c *agentConn) wrapUp(id string) (*agentCall, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ac := c.calls[id]
	switch {
	case ac == nil:
		return nil, fmt.Errorf("%w: no wrap-up pending for call %q (never yours, or already saved); nothing recorded", ErrNotYourCall, id)
	case ac.phase != phaseWrapUp:
		return nil, fmt.Errorf("agentapi: call %q has not ended yet: hang up before the wrap-up", id)
	}
	return ac, nil
}

// pickCustomer records which of the customers sharing the caller's
// number is calling, as the agent picked it: the page gets their file and
// the wrap-up goes to their record. The identity stays "number only"
// until the agent confirms it. A customer not among the candidates is
// refused and nothing changes.
func (s *Server) pickCustomer(ctx context.Context, c *agentConn, ac *agentCall, cust string) error {
	c.mu.Lock()
	cands := candidates(ac.offer)
	c.mu.Unlock()
	if !slices.Contains(cands, cust) {
		if len(cands) == 0 {
			return fmt.Errorf("agentapi: call %q has no customers to pick from (not a number shared by several customers); nothing changed", ac.offer.CallID)
		}
		return fmt.Errorf("agentapi: %q is not one of the customers sharing this number (%s); nothing changed", cust, strings.Join(cands, ", "))
	}
	var file *CustomerFile
	if s.dir != nil {
		f, err := s.dir.File(ctx, cust)
		if err != nil {
			return fmt.Errorf("agentapi: customer file of %q: %w; nothing changed", cust, err)
		}
		file = &f
	}
	c.mu.Lock()
	ac.offer.Customer, ac.file, ac.confirmed = cust, file, false
	view := offerView(ac.offer, ac.file)
	c.mu.Unlock()
	c.send(ServerMessage{Type: "picked", Offer: view})
	c.log.Info("customer picked among the number's", "call_id", ac.offer.CallID, "customer", cust)
	return nil
}

// enrol checks what the agent API can (the call's customer, their recorded
// consent, a confirmed identity) and asks Biometrics to enrol.
func (s *Server) enrol(ctx context.Context, c *agentConn, callID string, ac *agentCall) error {
	if s.bio == nil || s.dir == nil {
		return errors.New("agentapi: voiceprint enrolment not configured")
	}
	cust := ac.offer.Customer
	if cust == "" {
		return errors.New("agentapi: enrol needs an identified customer")
	}
	c.mu.Lock()
	confirmed := ac.confirmed
	c.mu.Unlock()
	if !confirmed && ac.offer.IdentMethod != call.MethodPIN {
		return errors.New("agentapi: confirm the caller's identity before enrolling")
	}
	f, err := s.dir.File(ctx, cust)
	if err != nil {
		return fmt.Errorf("agentapi: enrol: %w", err)
	}
	if f.Consent == nil {
		return errors.New("agentapi: the customer has no recorded consent to voice identification")
	}
	if err := s.bio.Enrol(ctx, cust, callID, c.acct.ID); err != nil {
		return fmt.Errorf("agentapi: enrol: %w", err)
	}
	c.log.Info("voiceprint enrolled", "call_id", callID, "customer", cust)
	return nil
}

// pendingWrapUpTTL is how long a wrap-up waits for its agent's page to
// come back after the page went away; maxPendingWrapUps bounds them.
const (
	pendingWrapUpTTL  = time.Hour
	maxPendingWrapUps = 20
)

// takeWrapUps removes and returns the page's calls waiting for their
// wrap-up.
func (c *agentConn) takeWrapUps() []*agentCall {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*agentCall
	for id, ac := range c.calls {
		if ac.phase == phaseWrapUp {
			out = append(out, ac)
			delete(c.calls, id)
		}
	}
	return out
}

// adopt takes over wrap-ups of the agent's previous page (not older than
// pendingWrapUpTTL) and shows each on this one ("wrapup" messages).
func (c *agentConn) adopt(calls []*agentCall, now time.Time) {
	slices.SortFunc(calls, func(a, b *agentCall) int { return a.ended.Compare(b.ended) })
	n := 0
	for _, ac := range calls {
		c.mu.Lock()
		_, dup := c.calls[ac.offer.CallID]
		keep := !dup && now.Sub(ac.ended) < pendingWrapUpTTL && len(c.calls) < maxPendingWrapUps
		if keep {
			c.calls[ac.offer.CallID] = ac
		}
		c.mu.Unlock()
		if keep {
			n++
			c.send(ServerMessage{Type: "wrapup", Offer: offerView(ac.offer, ac.file)})
		}
	}
	if n > 0 {
		c.log.Info("wrap-ups carried over from the previous page", "count", n)
	}
}

// talking reports whether the page carries a call in progress.
func (c *agentConn) talking() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ac := range c.calls {
		if ac.phase == phaseTalking {
			return true
		}
	}
	return false
}

func (c *agentConn) forget(callID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.calls, callID)
}

// setState tells the page its agent's state; until is when a wrap-up
// ends (zero otherwise).
func (c *agentConn) setState(state, reason string, until time.Time) {
	c.mu.Lock()
	changed := state != c.state || reason != c.reason || !until.Equal(c.until)
	c.state, c.reason, c.until = state, reason, until
	c.mu.Unlock()
	if changed {
		m := ServerMessage{Type: "state", State: state, Reason: reason}
		if !until.IsZero() {
			m.Until = &until
		}
		c.send(m)
	}
}

func (s *Server) agent(id string) *agentConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.agents[id]
}

// Ring shows a ringing call with its customer file on the agent's page
// (routing.Phones).
func (s *Server) Ring(ctx context.Context, agentID string, o routing.Offer) error {
	c := s.agent(agentID)
	if c == nil {
		return ErrAgentOffline
	}
	var file *CustomerFile
	if o.Customer != "" && s.dir != nil {
		fctx, cancel := context.WithTimeout(ctx, s.cfg.OfferFileTimeout)
		f, err := s.dir.File(fctx, o.Customer)
		cancel()
		if err != nil {
			c.log.Warn("customer file for offer", "call_id", o.CallID, "customer", o.Customer, "err", err)
		} else {
			file = &f
		}
	}
	c.mu.Lock()
	c.calls[o.CallID] = &agentCall{offer: o, file: file, phase: phaseRinging, offeredAt: s.now()}
	c.recent = append(c.recent, o)
	if len(c.recent) > maxRecentOffers {
		c.recent = c.recent[1:]
	}
	c.mu.Unlock()
	if !c.send(ServerMessage{Type: "offer", Offer: offerView(o, file)}) {
		c.forget(o.CallID)
		return ErrAgentOffline
	}
	c.log.Info("ringing", "call_id", o.CallID, "customer", o.Customer, "ident", o.IdentMethod)
	return nil
}

// maxRecentOffers is how many offers a page remembers for missed-call
// notices.
const maxRecentOffers = 8

// RoutingEvent forwards the router's events an agent's page shows: a
// missed offer (routing.EventOfferMissed) becomes a "missed" notice with
// the caller and the agent's state after it. The agents' state changes
// also make the wallboard's occupancy over time (Occupancy). Subscribe it
// with routing.Router.OnEvent.
func (s *Server) RoutingEvent(ev routing.Event) {
	s.occ.observe(ev) // the wallboard's occupancy over time
	if ev.Type != routing.EventOfferMissed {
		return
	}
	c := s.agent(ev.Agent)
	if c == nil {
		return
	}
	mv := &MissedView{Call: ev.CallID, Queue: ev.Queue, Customer: ev.Customer, At: ev.Time}
	if ev.AgentStatus != nil {
		mv.State, mv.Reason = string(ev.AgentStatus.State), ev.AgentStatus.Reason
	}
	c.mu.Lock()
	for _, o := range c.recent {
		if o.CallID == ev.CallID {
			mv.Caller = o.Caller
		}
	}
	c.mu.Unlock()
	c.send(ServerMessage{Type: "missed", Missed: mv})
	c.log.Info("missed offer", "call_id", ev.CallID, "state", mv.State)
}

// Cancel withdraws a ringing call from the agent's page (routing.Phones).
func (s *Server) Cancel(ctx context.Context, agentID, callID, reason string) error {
	c := s.agent(agentID)
	if c == nil {
		return nil
	}
	c.mu.Lock()
	ac := c.calls[callID]
	ringing := ac != nil && ac.phase == phaseRinging
	if ringing {
		delete(c.calls, callID)
	}
	c.mu.Unlock()
	if ringing {
		c.send(ServerMessage{Type: "cancel", Call: callID, Reason: reason})
		c.log.Info("offer cancelled", "call_id", callID, "reason", reason)
	}
	return nil
}

// Leg returns the agent's media leg for an answered call
// (routing.Phones): a view of the agent's PeerConnection for this call.
// The leg ends with call.CauseFailure if the agent's page goes away.
func (s *Server) Leg(ctx context.Context, agentID, callID string) (call.Leg, error) {
	c := s.agent(agentID)
	if c == nil {
		return nil, ErrAgentOffline
	}
	if _, err := c.call(callID, phaseRinging); err != nil {
		return nil, err
	}
	if err := c.sess.WaitConnected(ctx); err != nil {
		return nil, fmt.Errorf("agentapi: %s's softphone media: %w", agentID, err)
	}
	leg, err := c.sess.Attach(callID)
	if err != nil {
		return nil, fmt.Errorf("agentapi: %s's softphone: %w", agentID, err)
	}
	leg.SetHoldAudio(s.hold)
	c.mu.Lock()
	ac := c.calls[callID]
	if ac == nil { // cancelled meanwhile
		c.mu.Unlock()
		_ = leg.Hangup(ctx, call.CauseCancelled)
		return nil, fmt.Errorf("%w: %q was withdrawn", ErrNotYourCall, callID)
	}
	ac.phase, ac.leg, ac.answered = phaseTalking, leg, s.now()
	c.mu.Unlock()
	c.send(ServerMessage{Type: "connected", Call: callID})
	c.log.Info("connected", "call_id", callID, "codec", c.sess.Codec())
	watch := func() {
		<-leg.Done()
		c.mu.Lock()
		from := ac.offer.ConsultFrom
		if from != "" && c.calls[callID] == ac {
			// A consultation over without the caller: nothing to wrap up.
			delete(c.calls, callID)
		}
		ac.phase, ac.ended = phaseWrapUp, s.now()
		c.mu.Unlock()
		if from != "" {
			c.send(ServerMessage{Type: "consult", Call: callID, State: "over", Peer: from, Cause: leg.Cause().String()})
			c.log.Info("consultation over", "call_id", callID, "from", from)
			return
		}
		c.send(ServerMessage{Type: "ended", Call: callID, Cause: leg.Cause().String()})
		c.log.Info("call ended", "call_id", callID, "cause", leg.Cause().String())
	}
	if !s.goTracked(watch) {
		_ = leg.Hangup(ctx, call.CauseUnavailable)
		return nil, errors.New("agentapi: shutting down")
	}
	return leg, nil
}

var _ routing.Phones = (*Server)(nil)

// varIVRPath is ivr.VarPath (agentapi does not import ivr, which sits at
// the same level).
const varIVRPath = "ivr.path"

// maxCandidates bounds the candidates shown.
const maxCandidates = 10

// candidates lists the customers sharing the number, when more than one
// and the caller was not identified beyond the number.
func candidates(o routing.Offer) []string {
	if o.IdentMethod == call.MethodVoice || o.IdentMethod == call.MethodPIN {
		return nil
	}
	var out []string
	for _, id := range strings.Split(o.Vars[call.VarCandidates], ",") {
		if id = strings.TrimSpace(id); id != "" && len(out) < maxCandidates {
			out = append(out, id)
		}
	}
	if len(out) < 2 {
		return nil
	}
	return out
}

// offerView is the offer as the page shows it.
func offerView(o routing.Offer, f *CustomerFile) *OfferView {
	method := o.IdentMethod
	if method == "" {
		method = call.MethodNone
	}
	return &OfferView{
		Call: o.CallID, Queue: o.Queue, Caller: o.Caller, Called: o.Called, Channel: string(o.Channel), Arrived: o.Arrived,
		Path: o.Vars[varIVRPath], Candidates: candidates(o),
		Waited: o.Waited.Seconds(), Preferred: o.Preferred, Callback: o.Callback, Requeued: o.Requeued,
		Expires: o.Expires, ConsultFrom: o.ConsultFrom, Ident: IdentView{Method: string(method), Score: o.IdentScore, Customer: o.Customer,
			Voice: o.Vars[call.VarVoice], Warning: o.Vars[call.VarIdentWarning], Watchlist: o.Vars[call.VarWatchlist]},
		Customer: f, GivenName: o.Vars[VarWebName],
	}
}

// OfferView is a ringing call as the agent's page shows it.
type OfferView struct {
	Call    string    `json:"call"`
	Queue   string    `json:"queue"`
	Caller  string    `json:"caller"`
	Called  string    `json:"called,omitempty"` // the dialled line
	Channel string    `json:"channel"`
	Arrived time.Time `json:"arrived,omitzero"` // when the call reached the switch
	Path    string    `json:"path,omitempty"`   // the IVR steps run, space-separated
	// Candidates are the customers sharing the caller's number when the
	// caller was not told apart from them (number only or not identified).
	Candidates []string `json:"candidates,omitempty"`
	Waited     float64  `json:"waited_s"`
	Preferred  bool     `json:"preferred"`
	Callback   bool     `json:"callback"`
	Requeued   bool     `json:"requeued"`
	// ConsultFrom: a consultation the named agent asks for; they hold
	// the caller and talk to this agent first.
	ConsultFrom string        `json:"consult_from,omitempty"`
	Expires     time.Time     `json:"expires"`
	Ident       IdentView     `json:"ident"`
	Customer    *CustomerFile `json:"customer,omitempty"`
	GivenName   string        `json:"given_name,omitempty"` // typed on the website, not verified
}

// IdentView says how the caller was identified.
type IdentView struct {
	Method   string  `json:"method"` // voice, pin, number, none (call.Method) or web-token
	Score    float64 `json:"score"`
	Customer string  `json:"customer,omitempty"`
	// Voice is what the voice said (call.VarVoice): verified, unknown
	// or not_sure; empty when no voice decision was made.
	Voice string `json:"voice,omitempty"`
	// Warning is for the agent, in plain words (call.VarIdentWarning):
	// the voice does not match the number's customer, or was not
	// heard long enough to confirm them.
	Warning string `json:"warning,omitempty"`
	// Watchlist is the fraud watchlist entry the voice matched
	// (call.VarWatchlist).
	Watchlist string `json:"watchlist,omitempty"`
}
