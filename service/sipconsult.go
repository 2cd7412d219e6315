package service

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/routing"
	"github.com/voxdesk/voxdesk/sip"
)

// Attended transfer from a SIP phone (RFC 5589 section 7), mapped onto
// routing's consultation. Agent A's phone, talking to a caller, holds
// the caller (re-INVITE) and places a second call through the switch to
// agent B or a queue (an INVITE authenticated with A's account,
// sip.WithAgentCalls): that is router.Consult, the consultation ringing
// B's phone or page as any consultation does. The INVITE rings until B
// answers and is refused when B declines or does not answer (486, 480).
// A's two calls are one leg for routing (deskLeg): the owner's audio goes
// over the consultation call while it is up, so routing's bridge between
// the owner and B is A's second line. A then REFERs the caller's dialog to
// B with Replaces naming the consultation call: router.CompleteConsult,
// which puts the caller through to B (B's consultation leg becomes the
// call's agent leg) and ends both of A's calls, A going to wrap-up.
// A hanging up the consultation call instead is router.CancelConsult.

// deskLeg is an agent's SIP phone leg to a caller as routing has it,
// with the consultation call the phone placed, while there is one.
type deskLeg struct {
	call.Leg        // the dialog with the caller
	id       string // its SIP Call-ID

	mu      sync.Mutex
	consult call.Leg
}

func (d *deskLeg) CallID() string { return d.id }

// audio is the leg the agent talks on: the consultation call while it
// is up, else the caller's.
func (d *deskLeg) audio() call.Leg {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.consult != nil {
		return d.consult
	}
	return d.Leg
}

// setConsult makes l the agent's line (nil: back to the caller's), once
// old is the current one.
func (d *deskLeg) setConsult(old, l call.Leg) {
	d.mu.Lock()
	if d.consult == old {
		d.consult = l
	}
	d.mu.Unlock()
}

// lineGone reports whether l, one of the agent's lines, ended while the
// caller's dialog goes on: the agent is then back on the caller's line.
func (d *deskLeg) lineGone(ctx context.Context, l call.Leg, err error) bool {
	if err == nil || l == d.Leg || ctx.Err() != nil || d.Leg.Cause() != call.CauseNone {
		return false
	}
	d.setConsult(l, nil)
	return true
}

func (d *deskLeg) ReadAudio(ctx context.Context, dst []int16) (int, error) {
	for {
		l := d.audio()
		n, err := l.ReadAudio(ctx, dst)
		if !d.lineGone(ctx, l, err) {
			return n, err
		}
	}
}

func (d *deskLeg) WriteAudio(ctx context.Context, frame []int16) error {
	for {
		l := d.audio()
		err := l.WriteAudio(ctx, frame)
		if !d.lineGone(ctx, l, err) {
			return err
		}
	}
}

// Hangup ends both of the agent's calls.
func (d *deskLeg) Hangup(ctx context.Context, cause call.Cause) error {
	d.mu.Lock()
	c := d.consult
	d.mu.Unlock()
	if c != nil {
		_ = c.Hangup(ctx, cause)
	}
	return d.Leg.Hangup(ctx, cause)
}

// deskConsult is a consultation call placed by an agent's phone.
type deskConsult struct {
	agent, callID string      // the agent, routing's call id
	events        chan string // EventConsult reasons for the call
	leg           call.Leg    // the consultation call
	completing    atomic.Bool // a REFER with Replaces named it
	desk          *deskLeg    // the agent's leg with the caller
}

// consultEvent passes routing's consultation events to the phone's
// consultation call they concern (router.OnEvent).
func (p *sipPhones) consultEvent(ev routing.Event) {
	if ev.Type != routing.EventConsult {
		return
	}
	p.mu.Lock()
	dc := p.consults[ev.CallID]
	p.mu.Unlock()
	if dc == nil || dc.agent != ev.Agent {
		return
	}
	select {
	case dc.events <- ev.Reason:
	default:
		p.svc.log.Warn("consultation event dropped", "call_id", ev.CallID, "agent", ev.Agent, "reason", ev.Reason)
	}
}

// target resolves a transfer or consultation target: an agent logged in,
// or a queue.
func (p *sipPhones) target(target string) (queue, agent string, ok bool) {
	snap := p.svc.router.Snapshot()
	for _, a := range snap.Agents {
		if a.ID == target {
			return "", target, true
		}
	}
	for _, q := range snap.Queues {
		if q.Name == target {
			return target, "", true
		}
	}
	return "", "", false
}

// agentCall decides what an INVITE from agent's phone to target becomes
// (sip.WithAgentCalls): a consultation on the call the phone has with a
// caller. 403 when the phone has no caller, 404 for a target that is
// neither an agent logged in nor a queue.
func (p *sipPhones) agentCall(ctx context.Context, agent, target string) (call.Handler, error) {
	desk, pl := p.deskOf(agent)
	if desk == nil {
		return nil, &sip.Refusal{Code: 403, Reason: "No Call To Consult On"}
	}
	queue, toAgent, ok := p.target(target)
	if !ok {
		return nil, &sip.Refusal{Code: 404, Reason: "Not Found"}
	}
	return call.HandlerFunc(func(ctx context.Context, c *call.Call) error {
		return p.consult(ctx, c, &deskConsult{agent: agent, callID: pl.callID, desk: desk, leg: c.Leg,
			events: make(chan string, 16)}, queue, toAgent)
	}), nil
}

// deskOf returns the agent's phone leg with a caller, nil when none.
func (p *sipPhones) deskOf(agent string) (*deskLeg, phoneLeg) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pl := range p.legs {
		if pl.agent == agent && pl.desk != nil {
			return pl.desk, pl
		}
	}
	return nil, phoneLeg{}
}

// consult serves a consultation call from an agent's phone.
func (p *sipPhones) consult(ctx context.Context, c *call.Call, dc *deskConsult, queue, toAgent string) error {
	log := p.svc.log.With("call_id", dc.callID, "agent", dc.agent, "consult_call_id", c.ID)
	p.mu.Lock()
	if p.consults == nil {
		p.consults = map[string]*deskConsult{}
	}
	if p.consults[dc.callID] != nil {
		p.mu.Unlock()
		return &call.RejectError{Cause: call.CauseBusy, Reason: "Consultation Under Way"}
	}
	p.consults[dc.callID] = dc
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.consults, dc.callID)
		p.mu.Unlock()
		dc.desk.setConsult(dc.leg, nil)
	}()
	if err := p.svc.router.Consult(ctx, dc.agent, dc.callID, queue, toAgent); err != nil {
		log.Info("consultation from the phone refused", "queue", queue, "to_agent", toAgent, "err", err)
		cause := call.CauseRejected
		if errors.Is(err, routing.ErrNotAvailable) || errors.Is(err, routing.ErrConsulting) {
			cause = call.CauseBusy
		}
		return &call.RejectError{Cause: cause, Err: err}
	}
	log.Info("consultation from the phone", "queue", queue, "to_agent", toAgent)
	cancel := func() {
		cctx, stop := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer stop()
		if err := p.svc.router.CancelConsult(cctx, dc.agent, dc.callID); err != nil && !errors.Is(err, routing.ErrNoConsult) {
			log.Info("cancel the consultation", "err", err)
		}
	}
	answered := false
	for {
		select {
		case why := <-dc.events:
			switch why {
			case routing.ConsultRinging:
				continue
			case routing.ConsultConnected:
				if answered {
					continue
				}
				if err := c.Leg.Answer(ctx); err != nil {
					cancel()
					return fmt.Errorf("service: answer the consultation call: %w", err)
				}
				answered = true
				dc.desk.setConsult(nil, c.Leg)
				log.Info("consultation connected on the phone")
				continue
			}
			log.Info("consultation over", "reason", why)
			if answered {
				return nil // hangs the consultation call up
			}
			cause := call.CauseNoAnswer
			if why == routing.ConsultDeclined {
				cause = call.CauseBusy
			}
			return &call.RejectError{Cause: cause, Reason: "Consultation " + why}
		case <-c.Leg.Done():
			if !dc.completing.Load() {
				log.Info("the phone ended its consultation call")
				cancel()
			}
			return call.ErrHangup
		case <-dc.desk.Done():
			return nil
		case <-ctx.Done():
			cancel()
			return ctx.Err()
		}
	}
}

// attended is a REFER with Replaces from an agent's phone
// (sip.WithAttendedTransferHook): legID is its call with the caller,
// replaces its consultation call.
func (p *sipPhones) attended(ctx context.Context, legID, replaces string) (func() error, error) {
	p.mu.Lock()
	pl, ok := p.legs[legID]
	var dc *deskConsult
	if ok {
		dc = p.consults[pl.callID]
	}
	p.mu.Unlock()
	switch {
	case !ok:
		return nil, fmt.Errorf("service: attended transfer: %w: not an agent's call", sip.ErrTransferRefused)
	case dc == nil || dc.agent != pl.agent:
		return nil, fmt.Errorf("service: attended transfer: %w: no consultation on the call", sip.ErrTransferRefused)
	}
	id, _ := dc.leg.(interface{ CallID() string })
	if id == nil || id.CallID() != replaces {
		return nil, fmt.Errorf("service: attended transfer: %w: Replaces names another call than the consultation", sip.ErrTransferRefused)
	}
	dc.completing.Store(true)
	return func() error {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := p.svc.router.CompleteConsult(cctx, dc.agent, dc.callID)
		if errors.Is(err, routing.ErrNotYourCall) {
			// The phone hung the caller up first, once told 200 (which
			// completes an answered consultation too), or the caller
			// left: nothing is left to complete.
			p.svc.log.Info("attended transfer: the call had already left the agent", "call_id", dc.callID, "agent", dc.agent)
			return nil
		}
		if err != nil {
			dc.completing.Store(false)
			return fmt.Errorf("service: attended transfer: %w", err)
		}
		p.svc.log.Info("attended transfer from the phone", "call_id", dc.callID, "agent", dc.agent)
		return nil
	}, nil
}
