package routing

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/voxdesk/voxdesk/call"
)

// CallbackRequest books a call-back without a caller waiting on the line
// (the web page's "call me back", the IVR's call-back step).
type CallbackRequest struct {
	ID       string            // call id to use; generated when empty
	Number   string            // E.164 number to dial
	Queue    string            // queue whose agents call back
	Customer string            // customer id, when known
	Vars     map[string]string // call variables shown with the offer
	Priority int               // added to the queue's priority
	At       time.Time         // not before this time; zero: as soon as an agent is free
}

// CallbackStatus is where a booked call-back stands.
type CallbackStatus struct {
	// State is queued, dialling, connected, done, failed or cancelled.
	State         string        `json:"state"`
	Position      int           `json:"position,omitempty"` // while queued, 1 = next
	EstimatedWait time.Duration `json:"estimated_wait"`
	WaitKnown     bool          `json:"wait_known"`
	Attempts      int           `json:"attempts"`
}

// ErrUnknownCallback is returned for a call-back id the router does not
// know (or has forgotten: only the last finished ones are kept).
var ErrUnknownCallback = errors.New("routing: unknown call-back")

// keepFinished is how many finished call-backs CallbackStatus remembers.
const keepFinished = 1024

// validNumber accepts what the trunk can dial: an optional + and 3 to 20
// digits.
func validNumber(s string) bool {
	if len(s) > 0 && s[0] == '+' {
		s = s[1:]
	}
	if len(s) < 3 || len(s) > 20 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// BookCallback queues a call-back. It takes its place in the queue like a
// call arriving now (or at At); when an agent answers its offer the
// customer is dialled and bridged to the agent.
func (r *Router) BookCallback(ctx context.Context, req CallbackRequest) (string, error) {
	if r.dialer == nil {
		return "", errors.New("routing: call-backs need a Dialer")
	}
	if !validNumber(req.Number) {
		return "", fmt.Errorf("routing: call-back number %q is not a dialable E.164 number", req.Number)
	}
	if req.ID == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		req.ID = "cb-" + hex.EncodeToString(b[:])
	}
	c := call.New(req.ID, nil, r.log)
	c.Caller, c.Channel = req.Number, call.ChannelSIP
	for k, v := range req.Vars {
		c.SetVar(k, v)
	}
	if req.Customer != "" {
		c.SetVar(call.VarCustomer, req.Customer)
	}
	e := &entry{c: c, log: c.Log, entryData: entryData{id: req.ID, basePrio: req.Priority, cbNumber: req.Number, booked: true,
		wasCallback: true, notBefore: req.At}}
	var err error
	if xerr := r.exec(ctx, func() {
		if err = r.enqueue(e, req.Queue, nil); err != nil {
			return
		}
		r.queues[req.Queue].callbacks++
		r.m.callbacks.WithLabelValues(req.Queue, "booked").Inc()
		if now := r.clock.Now(); req.At.After(now) {
			e.wakeTimer = r.after(req.At.Sub(now), func() {})
		}
		r.emit(Event{Type: EventCallback, Queue: req.Queue, CallID: e.id, Customer: req.Customer, Reason: "booked"})
	}); xerr != nil {
		return "", xerr
	}
	if err != nil {
		return "", err
	}
	return req.ID, nil
}

// Request books a call-back; it fits the IVR's Callbacks interface.
func (r *Router) Request(ctx context.Context, callID, number, customer, queue string, at time.Time) error {
	_, err := r.BookCallback(ctx, CallbackRequest{ID: callID, Number: number, Customer: customer, Queue: queue, At: at})
	return err
}

// CallbackStatus reports where the call-back id stands.
func (r *Router) CallbackStatus(ctx context.Context, id string) (CallbackStatus, error) {
	var st CallbackStatus
	err := ErrUnknownCallback
	if xerr := r.exec(ctx, func() {
		if e := r.entries[id]; e != nil && e.wasCallback {
			err = nil
			st.Attempts = e.cbAttempts
			switch {
			case e.state == callDialling:
				st.State = "dialling"
			case e.state == callTalking || !e.booked:
				st.State = "connected"
			default:
				st.State = "queued"
				st.Position = r.position(e)
				st.EstimatedWait, st.WaitKnown = r.estimatedWait(r.queueOf(e), st.Position)
			}
			return
		}
		if s, ok := r.cbDone[id]; ok {
			err = nil
			st = s
		}
	}); xerr != nil {
		return st, xerr
	}
	return st, err
}

// CancelCallback withdraws a call-back that has not been dialled yet.
func (r *Router) CancelCallback(ctx context.Context, id string) error {
	err := ErrUnknownCallback
	if xerr := r.exec(ctx, func() {
		e := r.entries[id]
		if e == nil || !e.booked {
			if _, ok := r.cbDone[id]; ok || (e != nil && e.wasCallback) {
				err = fmt.Errorf("routing: call-back %s already dialled or finished", id)
			}
			return
		}
		if e.state == callDialling {
			err = fmt.Errorf("routing: call-back %s is being dialled", id)
			return
		}
		if e.state == callOffered {
			a := r.endOffer(e, "call-back cancelled", true)
			r.setState(a, StateAvailable, "")
		}
		e.log.Info("call-back cancelled")
		r.finish(e, ResultAbandoned)
		r.rememberCallback(id, CallbackStatus{State: "cancelled", Attempts: e.cbAttempts})
		err = nil
	}); xerr != nil {
		return xerr
	}
	return err
}

// rememberCallback keeps a finished call-back's status (loop).
func (r *Router) rememberCallback(id string, st CallbackStatus) {
	if _, ok := r.cbDone[id]; !ok {
		r.cbOrder = append(r.cbOrder, id)
	}
	r.cbDone[id] = st
	for len(r.cbOrder) > keepFinished {
		delete(r.cbDone, r.cbOrder[0])
		r.cbOrder = r.cbOrder[1:]
	}
}
