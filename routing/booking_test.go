package routing

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/call/calltest"
)

// The IVR's interfaces, as ivr/iface.go declares them: the Router fits
// them as it is.
var (
	_ interface {
		Queue(ctx context.Context, c *call.Call, queue string, skills []string, priority int, preferred string) error
	} = (*Router)(nil)
	_ interface {
		Request(ctx context.Context, callID, number, customer, queue string, at time.Time) error
	} = (*Router)(nil)
)

func waitStatus(t *testing.T, h *harness, id, state string) CallbackStatus {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := h.r.CallbackStatus(h.ctx, id)
		if err == nil && st.State == state {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("call-back %s is %+v (%v), want %s", id, st, err, state)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestBookedCallback(t *testing.T) {
	cfg := Config{CallbackAttempts: 2, CallbackRetry: time.Minute, WrapUp: -1, Queues: []QueueConfig{{Name: "sales"}}}
	tests := []struct {
		name      string
		failDials int
		cancel    bool
		want      string // final state
		attempts  int
	}{
		{"dialled at the booked time and bridged to the agent", 0, false, "done", 1},
		{"retried after no answer", 1, false, "done", 2},
		{"given up after the attempts", 2, false, "failed", 2},
		{"cancelled before it is dialled", 0, true, "cancelled", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := &fakeDialer{fail: tc.failDials}
			h := newHarness(t, cfg, WithDialer(d))
			h.available("ann", nil)
			at := h.clock.Now().Add(10 * time.Minute)
			id, err := h.r.BookCallback(h.ctx, CallbackRequest{Number: "+33140000000", Queue: "sales", Customer: "cust-9", At: at})
			if err != nil {
				t.Fatalf("BookCallback: %v", err)
			}
			st := waitStatus(t, h, id, "queued")
			if st.Position != 1 || !st.WaitKnown {
				t.Fatalf("status %+v", st)
			}
			h.expectNothingRinging()
			if tc.cancel {
				if err := h.r.CancelCallback(h.ctx, id); err != nil {
					t.Fatalf("CancelCallback: %v", err)
				}
				waitStatus(t, h, id, "cancelled")
				h.advance(10 * time.Minute)
				h.expectNothingRinging()
				if len(d.calls()) != 0 {
					t.Fatalf("cancelled call-back dialled %v", d.calls())
				}
				return
			}
			h.advance(10 * time.Minute)
			for attempt := 1; attempt <= tc.attempts; attempt++ {
				o := h.expectRing("ann", id)
				if !o.Callback || o.Customer != "cust-9" || o.Caller != "+33140000000" {
					t.Fatalf("offer %+v", o)
				}
				if err := h.r.Answer(h.ctx, "ann", id); err != nil {
					t.Fatal(err)
				}
				if attempt <= tc.failDials {
					// The agent's page is told: it stops showing the call-back.
					if e := h.expectCancel("ann", id); e.reason != ReasonCallbackNotReached {
						t.Fatalf("cancel reason %q, want %q", e.reason, ReasonCallbackNotReached)
					}
					h.expectState("ann", StateAvailable, "")
					if attempt < 2 {
						waitStatus(t, h, id, "queued")
						h.advance(time.Minute)
					}
					continue
				}
				leg := h.phones.leg(t, "ann", id)
				waitStatus(t, h, id, "connected")
				_ = leg.Hangup(h.ctx, call.CauseNormal) // the agent hangs up
			}
			st = waitStatus(t, h, id, tc.want)
			if st.Attempts != tc.attempts {
				t.Fatalf("attempts %d, want %d", st.Attempts, tc.attempts)
			}
			if got := d.calls(); len(got) != tc.attempts {
				t.Fatalf("dialled %v", got)
			}
			if tc.want == "done" {
				d.mu.Lock()
				cust := d.legs[0]
				d.mu.Unlock()
				deadline := time.Now().Add(5 * time.Second)
				for cust.Cause() == call.CauseNone && time.Now().Before(deadline) {
					time.Sleep(2 * time.Millisecond)
				}
				if cust.Cause() != call.CauseNormal {
					t.Fatalf("customer leg not hung up after the agent: %v", cust.Cause())
				}
			}
		})
	}
}

func TestBookCallbackBadInput(t *testing.T) {
	h := newHarness(t, salesConfig(), WithDialer(&fakeDialer{}))
	tests := []struct {
		name string
		req  CallbackRequest
		want string
	}{
		{"no number", CallbackRequest{Queue: "sales"}, "not a dialable"},
		{"letters", CallbackRequest{Queue: "sales", Number: "+33abc"}, "not a dialable"},
		{"too long", CallbackRequest{Queue: "sales", Number: "+" + strings.Repeat("1", 25)}, "not a dialable"},
		{"sip uri", CallbackRequest{Queue: "sales", Number: "sip:x@evil"}, "not a dialable"},
		{"unknown queue", CallbackRequest{Queue: "nope", Number: "+331400"}, "unknown queue"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := h.r.BookCallback(h.ctx, tc.req); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := h.r.CallbackStatus(h.ctx, "nope"); !errors.Is(err, ErrUnknownCallback) {
		t.Fatalf("status of unknown: %v", err)
	}
	if err := h.r.CancelCallback(h.ctx, "nope"); !errors.Is(err, ErrUnknownCallback) {
		t.Fatalf("cancel of unknown: %v", err)
	}
	noDialer, err := New(salesConfig())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := noDialer.BookCallback(h.ctx, CallbackRequest{Queue: "sales", Number: "+331400"}); err == nil {
		t.Fatalf("booked without a dialer")
	}
}

func TestAgentLostWhileCallbackDials(t *testing.T) {
	d := &fakeDialer{block: true}
	h := newHarness(t, Config{Queues: []QueueConfig{{Name: "sales"}}}, WithDialer(d))
	h.available("ann", nil)
	id, err := h.r.BookCallback(h.ctx, CallbackRequest{Number: "+33140000001", Queue: "sales"})
	if err != nil {
		t.Fatal(err)
	}
	h.expectRing("ann", id)
	if err := h.r.Answer(h.ctx, "ann", id); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, h, id, "dialling")
	if err := h.r.Disconnected(h.ctx, "ann"); err != nil {
		t.Fatal(err)
	}
	h.expectState("ann", StateAway, ReasonConnectionLost)
	st := waitStatus(t, h, id, "queued")
	if st.Attempts != 0 || st.Position != 1 {
		t.Fatalf("status %+v: the agent's loss must not cost the customer an attempt", st)
	}
	h.available("bob", nil)
	h.expectRing("bob", id)
}

func TestEnqueueCallWithoutLogger(t *testing.T) {
	h := newHarness(t, joinEmpty(salesConfig()))
	leg := calltest.NewLeg()
	c := &call.Call{ID: "bare", Leg: leg} // built without call.New
	done := make(chan error, 1)
	go func() { _, err := h.r.Enqueue(h.ctx, c, Request{Queue: "sales"}); done <- err }()
	deadline := time.Now().Add(5 * time.Second)
	for h.queue("sales").Waiting == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	h.advance(time.Minute)
	_ = leg.Hangup(h.ctx, call.CauseNormal)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
