package routing

import (
	"context"
	"time"

	"github.com/voxdesk/voxdesk/call"
)

// bookCallback turns a waiting call into a call-back that keeps its place
// (loop). It reports whether it did, and the queue.
func (r *Router) bookCallback(e *entry) (bool, string) {
	if r.entries[e.id] != e || !e.unanswered() || e.w == nil {
		return false, ""
	}
	if e.state == callOffered {
		a := r.endOffer(e, "call-back booked", true)
		delete(e.tried, a.info.ID)
		r.setState(a, StateAvailable, "")
	}
	e.w, e.booked, e.wasCallback = nil, true, true
	r.stopTimer(&e.announceTimer)
	r.stopTimer(&e.maxWaitTimer)
	r.queueOf(e).callbacks++
	r.m.callbacks.WithLabelValues(e.queue, "booked").Inc()
	e.log.Info("call-back booked", "queue", e.queue, "number", e.cbNumber, "position", r.position(e))
	r.emit(Event{Type: EventCallback, Queue: e.queue, CallID: e.id, Reason: "booked"})
	return true, e.queue
}

// startCallback dials a booked call-back once its agent answered the
// offer (loop). The dialling runs in a goroutine the router waits for.
func (r *Router) startCallback(e *entry, a *agent) {
	e.cbAttempts++
	number, stop, orig, agentID := e.cbNumber, e.stop, e.c, a.info.ID
	ctx := r.runCtx
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.runCallback(ctx, e, orig, agentID, number, stop)
	}()
}

func (r *Router) runCallback(ctx context.Context, e *entry, orig *call.Call, agentID, number string, stop chan struct{}) {
	dctx, cancel := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case <-stop:
		case <-dctx.Done():
		}
		cancel()
	}()
	leg, err := r.dialer.Dial(dctx, number, r.cfg.CallbackFrom)
	cancel()
	<-watched
	if err != nil {
		r.post(func() { r.callbackFailed(e, err) })
		return
	}
	cc := call.New(orig.ID, leg, r.log)
	cc.Channel, cc.Trunk, cc.Caller, cc.Callee = call.ChannelSIP, orig.Trunk, number, orig.Callee
	for k, v := range orig.Vars() {
		cc.SetVar(k, v)
	}
	w := newWaiter(cc.Log)
	ok := false
	if err := r.exec(ctx, func() { ok = r.callbackAnswered(e, cc, w) }); err != nil || !ok {
		_ = leg.Hangup(context.WithoutCancel(ctx), call.CauseNormal)
		return
	}
	if r.ann != nil {
		actx, acancel := context.WithTimeout(ctx, 30*time.Second)
		if err := r.ann.Announce(actx, leg, Announcement{Kind: AnnounceCallbackAnswered, Queue: e.queue}); err != nil {
			cc.Log.Debug("call-back greeting", "err", err)
		}
		acancel()
	}
	out, err := r.serve(ctx, e, cc, w)
	cc.Log.Info("call-back ended", "result", string(out.Result), "agent", out.Agent, "err", err)
	_ = leg.Hangup(context.WithoutCancel(ctx), call.CauseNormal)
}

// callbackAnswered makes the customer's new leg the call's leg, served
// like an inbound caller from now on (loop).
func (r *Router) callbackAnswered(e *entry, cc *call.Call, w *waiter) bool {
	if r.entries[e.id] != e || e.state != callDialling {
		return false
	}
	r.setCall(e, callTalking, e.agentID)
	e.c, e.w, e.booked, e.log = cc, w, false, cc.Log
	r.m.callbacks.WithLabelValues(e.queue, "connected").Inc()
	e.log.Info("call-back answered", "agent", e.agentID, "attempt", e.cbAttempts)
	r.emit(Event{Type: EventCallback, Queue: e.queue, CallID: e.id, Agent: e.agentID, Reason: "connected"})
	// The stop channel may already be closed (agent hung up while the
	// customer's phone rang): talk sees it at once.
	w.put(waiterMsg{kind: msgConnect, agent: e.agentID, stop: e.stop})
	return true
}

// callbackFailed puts a call-back whose dialling failed back in its place
// for a later attempt, or gives it up (loop).
func (r *Router) callbackFailed(e *entry, err error) {
	if r.entries[e.id] != e || e.state != callDialling {
		return
	}
	a, why := r.agentOf(e), e.stopWhy
	agentID := ""
	if a != nil && why == stopNone {
		// The customer was not reached: the agent's page, which shows
		// the call-back it answered, is told before the agent is free
		// for the next call.
		agentID = a.info.ID
		cid := e.id
		r.phoneq.put(func(ctx context.Context) {
			if err := r.phones.Cancel(ctx, agentID, cid, ReasonCallbackNotReached); err != nil {
				r.log.Debug("cancel call-back", "agent", agentID, "call_id", cid, "err", err)
			}
		})
	}
	r.setCall(e, callWaiting, "")
	e.stop, e.stopWhy = nil, stopNone
	if a != nil {
		if why == stopAgentLost {
			r.setState(a, StateAway, ReasonConnectionLost)
		} else {
			r.setState(a, StateAvailable, "")
		}
	}
	if why != stopNone {
		// The agent hung up or went away while it rang: not the
		// customer's failure, so no attempt is spent and no delay.
		e.cbAttempts--
		e.head = true
		e.log.Info("call-back dialling stopped by the agent", "agent", a.info.ID)
		return
	}
	r.m.callbacks.WithLabelValues(e.queue, "failed").Inc()
	r.emit(Event{Type: EventCallback, Queue: e.queue, CallID: e.id, Agent: agentID, Reason: "not-reached"})
	if e.cbAttempts >= r.cfg.CallbackAttempts {
		e.log.Warn("call-back given up", "attempts", e.cbAttempts, "err", err)
		r.finish(e, ResultAbandoned)
		return
	}
	e.log.Info("call-back not reached, will retry", "attempt", e.cbAttempts, "err", err, "retry_in", r.cfg.CallbackRetry)
	e.notBefore = r.clock.Now().Add(r.cfg.CallbackRetry)
	r.stopTimer(&e.wakeTimer)
	e.wakeTimer = r.after(r.cfg.CallbackRetry, func() {})
}
