package routing

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/call"
)

// consistent checks the router's state on the loop: every call that
// rings or talks names an agent who holds it, and the other way round;
// no state change went outside the tables of state.go.
func (r *Router) consistent() error {
	for id, e := range r.entries {
		if e.id != id {
			return fmt.Errorf("entry %s filed as %s", e.id, id)
		}
		switch e.state {
		case callWaiting:
			if e.agentID != "" {
				return fmt.Errorf("waiting call %s names agent %s", id, e.agentID)
			}
		case callOffered, callDialling, callTalking:
			a := r.agents[e.agentID]
			want := StateBusy
			if e.state == callOffered {
				want = StateOffered
			}
			if a == nil || a.callID != id || a.state != want {
				return fmt.Errorf("call %s is %s with agent %q, who is %+v", id, e.state, e.agentID, a)
			}
		default:
			return fmt.Errorf("call %s in state %s is still filed", id, e.state)
		}
		if r.queues[e.queue] == nil {
			return fmt.Errorf("call %s in unknown queue %q", id, e.queue)
		}
	}
	for id, a := range r.agents {
		switch a.state {
		case StateOffered, StateBusy:
			e := r.entries[a.callID]
			if e == nil || e.agentID != id {
				return fmt.Errorf("agent %s is %s with call %q, which is %+v", id, a.state, a.callID, e)
			}
		default:
			if a.callID != "" {
				return fmt.Errorf("agent %s is %s but holds call %s", id, a.state, a.callID)
			}
		}
	}
	if n := r.badMoves.Load(); n != 0 {
		return fmt.Errorf("%d state changes outside the tables", n)
	}
	return nil
}

// TestRandomOperationsKeepStateConsistent drives the router with random
// agent buttons, callers arriving and hanging up, and time passing, and
// checks after each step that calls and agents agree.
func TestRandomOperationsKeepStateConsistent(t *testing.T) {
	agents := []string{"ann", "bob", "cat"}
	for seed := range uint64(12) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			h := newHarness(t, Config{WrapUp: 5 * time.Second, Queues: []QueueConfig{{Name: "sales", JoinEmpty: true, MaxWait: 3 * time.Minute}}})
			var calls []*queuedCall
			var log []string
			pick := func(s []string) string { return s[rng.IntN(len(s))] }
			offered := func(state State) (string, string, bool) {
				for _, a := range h.sync().Agents {
					if a.State == state {
						return a.ID, a.CallID, true
					}
				}
				return "", "", false
			}
			for step := range 80 {
				var op string
				switch rng.IntN(10) {
				case 0:
					id := pick(agents)
					op = "login+available " + id
					_ = h.r.Login(h.ctx, AgentInfo{ID: id})
					_ = h.r.SetState(h.ctx, id, StateAvailable, "")
				case 1:
					id := pick(agents)
					op = "away " + id
					_ = h.r.SetState(h.ctx, id, StateAway, "break")
				case 2, 3:
					id := fmt.Sprintf("c%d", len(calls))
					op = "enqueue " + id
					calls = append(calls, h.enqueue(id, Request{Queue: "sales"}))
				case 4:
					if a, c, ok := offered(StateOffered); ok {
						op = "answer " + a + " " + c
						if err := h.r.Answer(h.ctx, a, c); err != nil && !errors.Is(err, ErrNoOffer) && !errors.Is(err, ErrCallerGone) {
							t.Fatalf("answer: %v", err)
						}
					}
				case 5:
					if a, c, ok := offered(StateOffered); ok {
						op = "decline " + a + " " + c
						_ = h.r.Decline(h.ctx, a, c)
					}
				case 6:
					d := []time.Duration{time.Second, 10 * time.Second, 15 * time.Second, 31 * time.Second}[rng.IntN(4)]
					op = fmt.Sprint("advance ", d)
					h.advance(d)
				case 7:
					if len(calls) > 0 {
						q := calls[rng.IntN(len(calls))]
						op = "caller hangs up " + q.c.ID
						_ = q.leg.Hangup(h.ctx, call.CauseNormal)
					}
				case 8:
					if a, c, ok := offered(StateBusy); ok {
						op = "agent hangs up " + a + " " + c
						_ = h.r.Hangup(h.ctx, a, c)
					}
				case 9:
					id := pick(agents)
					if rng.IntN(2) == 0 {
						op = "logout " + id
						_ = h.r.Logout(h.ctx, id)
					} else {
						op = "disconnected " + id
						_ = h.r.Disconnected(h.ctx, id)
					}
				}
				if op != "" {
					log = append(log, op)
				}
				for drained := false; !drained; {
					select {
					case <-h.phones.events:
					default:
						drained = true
					}
				}
				var err error
				if xerr := h.r.exec(h.ctx, func() { err = h.r.consistent() }); xerr != nil {
					t.Fatal(xerr)
				}
				if err != nil {
					t.Fatalf("step %d: %v\nops: %q", step, err, log)
				}
			}
			for _, q := range calls {
				_ = q.leg.Hangup(h.ctx, call.CauseNormal)
				q.wait(t)
			}
			if s := h.sync(); s.Queues[0].Waiting != 0 {
				t.Fatalf("calls left in the queue: %+v", s.Queues[0].Calls)
			}
		})
	}
}
