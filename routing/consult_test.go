package routing

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/call/calltest"
)

// Each party of the consultation tests says one constant sample value,
// so what reaches a leg tells who it heard.
const (
	callerSays int16 = 1111
	annSays    int16 = 2222
	bobSays    int16 = 3333
)

// saying is a script that says v for a minute.
func saying(v int16) []calltest.Event {
	s := make([]int16, 60*call.SampleRate)
	for i := range s {
		s[i] = v
	}
	return []calltest.Event{{Speech: s}}
}

// heard counts the samples of value v a leg received from index from on.
func heard(l *calltest.Leg, from int, v int16) int {
	w := l.Written()
	if from > len(w) {
		return 0
	}
	n := 0
	for _, x := range w[from:] {
		if x == v {
			n++
		}
	}
	return n
}

// waitHears waits until l received at least 200 ms of v after index
// from.
func waitHears(t *testing.T, l *calltest.Leg, from int, v int16, who string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for heard(l, from, v) < call.SampleRate/5 {
		if time.Now().After(deadline) {
			t.Fatalf("%s never heard %d (%d samples of it)", who, v, heard(l, from, v))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// consultEvents collects the reasons of EventConsult, in order.
type consultEvents struct {
	mu      sync.Mutex
	reasons []string
}

func watchConsults(h *harness) *consultEvents {
	ce := &consultEvents{}
	cancel := h.r.OnEvent(func(ev Event) {
		if ev.Type == EventConsult {
			ce.mu.Lock()
			ce.reasons = append(ce.reasons, fmt.Sprintf("%s %s->%s %s", ev.CallID, ev.Agent, ev.Peer, ev.Reason))
			ce.mu.Unlock()
		}
	})
	h.t.Cleanup(cancel)
	return ce
}

// wait waits until the events include want.
func (ce *consultEvents) wait(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ce.mu.Lock()
		got := slices.Clone(ce.reasons)
		ce.mu.Unlock()
		if slices.Contains(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("consultation events %q, want %q among them", got, want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// consultSetup: ann answers caller c1 (all three speaking), bob and cat
// are available.
func consultSetup(t *testing.T, cfg Config) (*harness, *queuedCall, *calltest.Leg, *consultEvents) {
	t.Helper()
	h := newHarness(t, cfg)
	h.phones.scripts["ann"] = saying(annSays)
	h.phones.scripts["bob"] = saying(bobSays)
	ce := watchConsults(h)
	h.available("ann", nil)
	h.advance(time.Second)
	h.available("bob", map[string]int{"billing": 1})
	h.advance(time.Second)
	h.available("cat", map[string]int{"billing": 1})
	q := h.enqueue("c1", Request{Queue: "sales"}, saying(callerSays)...)
	h.expectRing("ann", "c1")
	if err := h.r.Answer(h.ctx, "ann", "c1"); err != nil {
		t.Fatal(err)
	}
	annLeg := h.phones.leg(t, "ann", "c1")
	waitHears(t, annLeg, 0, callerSays, "ann")
	waitHears(t, q.leg, 0, annSays, "the caller")
	return h, q, annLeg, ce
}

func consultConfig() Config {
	return Config{Queues: []QueueConfig{{Name: "sales"}, {Name: "billing", Skills: []string{"billing"}}}}
}

// consultBob has ann consult bob and bob answer; it returns bob's leg.
func consultBob(t *testing.T, h *harness, q *queuedCall, annLeg *calltest.Leg) *calltest.Leg {
	t.Helper()
	if err := h.r.Consult(h.ctx, "ann", "c1", "", "bob"); err != nil {
		t.Fatal(err)
	}
	o := h.expectRing("bob", "c1")
	if o.ConsultFrom != "ann" || o.Caller != q.c.Caller {
		t.Fatalf("bob's offer %+v: want the caller's offer marked as a consultation from ann", o)
	}
	h.expectState("bob", StateOffered, "")
	h.expectState("ann", StateBusy, "")
	if err := h.r.Answer(h.ctx, "bob", "c1"); err != nil {
		t.Fatal(err)
	}
	bobLeg := h.phones.leg(t, "bob", "c1")
	h.expectState("bob", StateBusy, "")
	return bobLeg
}

// startConsult has ann consult bob; when answer, bob answers and his leg
// is returned, else it rings (nil).
func startConsult(t *testing.T, h *harness, q *queuedCall, annLeg *calltest.Leg, answer bool) *calltest.Leg {
	t.Helper()
	if answer {
		return consultBob(t, h, q, annLeg)
	}
	if err := h.r.Consult(h.ctx, "ann", "c1", "", "bob"); err != nil {
		t.Fatal(err)
	}
	h.expectRing("bob", "c1")
	return nil
}

// TestConsultThenComplete: ann consults bob; while they talk the caller
// hears neither of them; on completing, caller and bob talk both ways,
// ann goes to wrap-up, and bob owns the call to its end.
func TestConsultThenComplete(t *testing.T) {
	h, q, annLeg, ce := consultSetup(t, consultConfig())
	bobLeg := consultBob(t, h, q, annLeg)
	held := len(q.leg.Written()) // the caller's bridge to ann stopped before bob's leg was asked for
	a0 := len(annLeg.Written())
	waitHears(t, bobLeg, 0, annSays, "bob")
	waitHears(t, annLeg, a0, bobSays, "ann")
	ce.wait(t, "c1 ann->bob connected")
	if n, m := heard(q.leg, held, annSays), heard(q.leg, held, bobSays); n+m != 0 {
		t.Fatalf("the caller on hold heard the agents' consultation: %d samples of ann, %d of bob", n, m)
	}
	if n := heard(bobLeg, 0, callerSays); n != 0 {
		t.Fatalf("bob heard the caller during the consultation (%d samples)", n)
	}
	if s := h.sync(); s.Queues[0].Waiting != 0 {
		t.Fatalf("the held caller is counted waiting in the queue: %+v", s.Queues[0])
	}

	if err := h.r.CompleteConsult(h.ctx, "ann", "c1"); err != nil {
		t.Fatal(err)
	}
	ce.wait(t, "c1 ann->bob completed")
	h.expectState("ann", StateWrapUp, "")
	h.expectState("bob", StateBusy, "")
	waitEnded(t, annLeg, "ann's leg after completing")
	c0, b0 := len(q.leg.Written()), len(bobLeg.Written())
	waitHears(t, q.leg, c0, bobSays, "the caller")
	waitHears(t, bobLeg, b0, callerSays, "bob")
	if err := h.r.Hangup(h.ctx, "bob", "c1"); err != nil {
		t.Fatal(err)
	}
	out, err := q.wait(t)
	if err != nil || out.Result != ResultAnswered || out.Agent != "bob" || !out.AgentHungUp {
		t.Fatalf("outcome %+v, %v: want answered, last agent bob who hung up", out, err)
	}
	h.expectState("bob", StateWrapUp, "")
	if qs := h.queue("sales"); qs.Answered != 1 || qs.Queued != 1 {
		t.Fatalf("queue counts one call answered once, got %+v", qs)
	}
	if n := testutil.ToFloat64(h.r.m.consults.WithLabelValues("sales", ConsultCompleted)); n != 1 {
		t.Fatalf("consultations_total{result=completed} = %v, want 1", n)
	}
}

func waitEnded(t *testing.T, l *calltest.Leg, what string) {
	t.Helper()
	select {
	case <-l.Done():
	case <-time.After(5 * time.Second):
		t.Fatalf("%s is still up", what)
	}
}

// TestConsultEnds: every way a consultation ends without the caller going
// over puts the caller back with ann, who is told why; bob is free (or
// away, for a missed or lost consultation).
func TestConsultEnds(t *testing.T) {
	cancel := func(h *harness, _ *calltest.Leg) error { return h.r.CancelConsult(h.ctx, "ann", "c1") }
	tests := []struct {
		name     string
		answer   bool                                      // bob answers first
		end      func(h *harness, bob *calltest.Leg) error // ends the consultation
		reason   string
		bobState State
	}{
		{"ann cancels while bob rings", false, cancel, ConsultCancelled, StateAvailable},
		{"ann cancels after bob answered", true, cancel, ConsultCancelled, StateAvailable},
		{"bob declines", false, func(h *harness, _ *calltest.Leg) error { return h.r.Decline(h.ctx, "bob", "c1") },
			ConsultDeclined, StateAvailable},
		{"bob does not answer", false, func(h *harness, _ *calltest.Leg) error {
			h.advance(15 * time.Second) // the default offer timeout
			return nil
		}, ReasonNotAnswered, StateAway},
		{"bob hangs up", true, func(h *harness, _ *calltest.Leg) error { return h.r.Hangup(h.ctx, "bob", "c1") },
			ConsultEnded, StateAvailable},
		{"bob's leg ends", true, func(h *harness, bob *calltest.Leg) error { return bob.Hangup(h.ctx, call.CauseNormal) },
			ConsultEnded, StateAvailable},
		{"bob's page goes away", true, func(h *harness, _ *calltest.Leg) error { return h.r.Disconnected(h.ctx, "bob") },
			ReasonConnectionLost, StateAway},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, q, annLeg, ce := consultSetup(t, consultConfig())
			bobLeg := startConsult(t, h, q, annLeg, tc.answer)
			if bobLeg != nil {
				waitHears(t, bobLeg, 0, annSays, "bob")
			}
			if err := tc.end(h, bobLeg); err != nil {
				t.Fatal(err)
			}
			ce.wait(t, "c1 ann->bob "+tc.reason)
			h.expectState("bob", tc.bobState, "")
			if n := testutil.ToFloat64(h.r.m.consults.WithLabelValues("sales", tc.reason)); n != 1 {
				t.Errorf("consultations_total{result=%q} = %v, want 1", tc.reason, n)
			}
			h.expectState("ann", StateBusy, "")
			if bobLeg != nil {
				waitEnded(t, bobLeg, "bob's leg")
			}
			c0, a0 := len(q.leg.Written()), len(annLeg.Written())
			waitHears(t, q.leg, c0, annSays, "the caller back with ann")
			waitHears(t, annLeg, a0, callerSays, "ann back with the caller")
			// Ann can consult again, and finish the call as usual.
			if err := h.r.Consult(h.ctx, "ann", "c1", "billing", ""); err != nil {
				t.Fatalf("second consultation: %v", err)
			}
			if err := h.r.CancelConsult(h.ctx, "ann", "c1"); err != nil {
				t.Fatal(err)
			}
			if err := h.r.Hangup(h.ctx, "ann", "c1"); err != nil {
				t.Fatal(err)
			}
			if out, _ := q.wait(t); out.Result != ResultAnswered || out.Agent != "ann" {
				t.Fatalf("outcome %+v", out)
			}
			h.expectState("ann", StateWrapUp, "")
		})
	}
}

// TestConsultCallerHangsUp: a caller who hangs up on hold ends the call
// and the consultation: ann goes to wrap-up, bob is free.
func TestConsultCallerHangsUp(t *testing.T) {
	for _, answered := range []bool{false, true} {
		t.Run(fmt.Sprintf("bob answered %v", answered), func(t *testing.T) {
			h, q, annLeg, ce := consultSetup(t, consultConfig())
			bobLeg := startConsult(t, h, q, annLeg, answered)
			_ = q.leg.Hangup(h.ctx, call.CauseNormal)
			out, err := q.wait(t)
			if err != nil || out.Result != ResultAnswered || out.Agent != "ann" {
				t.Fatalf("outcome %+v, %v", out, err)
			}
			ce.wait(t, "c1 ann->bob "+ConsultCallerGone)
			h.expectState("ann", StateWrapUp, "")
			h.expectState("bob", StateAvailable, "")
			waitEnded(t, annLeg, "ann's leg")
			if bobLeg != nil {
				waitEnded(t, bobLeg, "bob's leg")
			} else {
				h.expectCancel("bob", "c1")
			}
		})
	}
}

// TestConsultAskingAgentLeaves: ann hanging up (or losing her page)
// during the consultation never drops the caller: after bob answered,
// the caller goes to bob at once; while bob rings, the call is
// transferred to him blind.
func TestConsultAskingAgentLeaves(t *testing.T) {
	tests := []struct {
		name     string
		answered bool
		leave    func(h *harness) error
		annState State
	}{
		{"ann hangs up after bob answered", true, func(h *harness) error { return h.r.Hangup(h.ctx, "ann", "c1") }, StateWrapUp},
		{"ann's page goes away after bob answered", true, func(h *harness) error { return h.r.Disconnected(h.ctx, "ann") }, StateAway},
		{"ann hangs up while bob rings", false, func(h *harness) error { return h.r.Hangup(h.ctx, "ann", "c1") }, StateWrapUp},
		{"ann's page goes away while bob rings", false, func(h *harness) error { return h.r.Disconnected(h.ctx, "ann") }, StateAway},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, q, annLeg, ce := consultSetup(t, consultConfig())
			bobLeg := startConsult(t, h, q, annLeg, tc.answered)
			if err := tc.leave(h); err != nil {
				t.Fatal(err)
			}
			h.expectState("ann", tc.annState, "")
			if tc.answered {
				ce.wait(t, "c1 ann->bob completed")
			} else {
				ce.wait(t, "c1 ann->bob "+ConsultTransferred)
				h.expectCancel("bob", "c1")
				o := h.expectRing("bob", "c1") // as a transferred call now
				if o.ConsultFrom != "" {
					t.Fatalf("the transferred call rings bob as a consultation: %+v", o)
				}
				h.ann.waitHeard(t, q.leg, AnnounceTransferred)
				if err := h.r.Answer(h.ctx, "bob", "c1"); err != nil {
					t.Fatal(err)
				}
				bobLeg = h.phones.leg(t, "bob", "c1")
			}
			c0 := len(q.leg.Written())
			waitHears(t, q.leg, c0, bobSays, "the caller")
			waitHears(t, bobLeg, 0, callerSays, "bob")
			_ = q.leg.Hangup(h.ctx, call.CauseNormal)
			if out, _ := q.wait(t); out.Result != ResultAnswered || out.Agent != "bob" {
				t.Fatalf("outcome %+v", out)
			}
			h.expectState("bob", StateWrapUp, "")
		})
	}
}

// TestConsultQueuePicksFirstAvailable: consulting a queue rings its
// longest-idle available agent with the queue's skills, never the asking
// agent.
func TestConsultQueuePicksFirstAvailable(t *testing.T) {
	h, _, _, _ := consultSetup(t, consultConfig())
	if err := h.r.Consult(h.ctx, "ann", "c1", "billing", ""); err != nil {
		t.Fatal(err)
	}
	if o := h.expectRing("bob", "c1"); o.ConsultFrom != "ann" {
		t.Fatalf("offer %+v", o)
	}
	h.advance(time.Second)
	if err := h.r.CancelConsult(h.ctx, "ann", "c1"); err != nil {
		t.Fatal(err)
	}
	h.expectCancel("bob", "c1")
	// bob is now the most recently idle: cat is first.
	if err := h.r.Consult(h.ctx, "ann", "c1", "billing", ""); err != nil {
		t.Fatal(err)
	}
	h.expectRing("cat", "c1")
}

// routingState is the loop's whole state as text, to check that a
// refused request changed nothing.
func (h *harness) routingState() string {
	h.t.Helper()
	var s string
	if err := h.r.exec(h.ctx, func() {
		for _, id := range sortedKeys(h.r.entries) {
			s += fmt.Sprintf("%+v\n", h.r.entries[id].entryData)
		}
		for _, id := range sortedKeys(h.r.agents) {
			s += fmt.Sprintf("%+v\n", h.r.agents[id].agentData)
		}
	}); err != nil {
		h.t.Fatal(err)
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// TestConsultBadRequests: each is refused with a clear error and changes
// nothing.
func TestConsultBadRequests(t *testing.T) {
	cfg := consultConfig()
	cfg.Queues = append(cfg.Queues, QueueConfig{Name: "vip", Skills: []string{"vip"}, JoinEmpty: true})
	h, _, _, _ := consultSetup(t, cfg)
	// bob takes a second call: busy.
	q2 := h.enqueue("c2", Request{Queue: "sales"})
	h.expectRing("bob", "c2")
	if err := h.r.Answer(h.ctx, "bob", "c2"); err != nil {
		t.Fatal(err)
	}
	h.phones.leg(t, "bob", "c2")
	h.available("dan", nil)
	if err := h.r.SetState(h.ctx, "dan", StateAway, "lunch"); err != nil {
		t.Fatal(err)
	}
	type req struct {
		name                       string
		op                         string // consult, complete, cancel, transfer
		agent, call, queue, target string
		want                       error
	}
	check := func(t *testing.T, tests []req) {
		t.Helper()
		for _, tc := range tests {
			before := h.routingState()
			var err error
			switch tc.op {
			case "consult":
				err = h.r.Consult(h.ctx, tc.agent, tc.call, tc.queue, tc.target)
			case "complete":
				err = h.r.CompleteConsult(h.ctx, tc.agent, tc.call)
			case "cancel":
				err = h.r.CancelConsult(h.ctx, tc.agent, tc.call)
			case "transfer":
				err = h.r.Transfer(h.ctx, tc.agent, tc.call, tc.queue, tc.target)
			}
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Errorf("%s: error %v, want %v", tc.name, err, tc.want)
				continue
			}
			t.Logf("%s: %v", tc.name, err)
			if after := h.routingState(); after != before {
				t.Errorf("%s changed the routing state:\nbefore %s\nafter  %s", tc.name, before, after)
			}
		}
	}
	check(t, []req{
		{"an unknown agent", "consult", "ann", "c1", "", "zed", ErrUnknownAgent},
		{"an unknown queue", "consult", "ann", "c1", "nope", "", ErrUnknownQueue},
		{"an agent who is away", "consult", "ann", "c1", "", "dan", ErrNotAvailable},
		{"an agent on a call", "consult", "ann", "c1", "", "bob", ErrNotAvailable},
		{"a queue whose agents are all busy or absent", "consult", "ann", "c1", "vip", "", ErrNotAvailable},
		{"oneself", "consult", "ann", "c1", "", "ann", ErrState},
		{"both an agent and a queue", "consult", "ann", "c1", "billing", "cat", nil},
		{"neither agent nor queue", "consult", "ann", "c1", "", "", nil},
		{"while not on a call", "consult", "cat", "c1", "", "ann", ErrNotYourCall},
		{"on an unknown call", "consult", "ann", "c9", "", "cat", ErrNotYourCall},
		{"by an agent not logged in", "consult", "zed", "c1", "", "cat", ErrUnknownAgent},
		{"complete without a consultation", "complete", "ann", "c1", "", "", ErrNoConsult},
		{"cancel without a consultation", "cancel", "ann", "c1", "", "", ErrNoConsult},
	})
	if err := h.r.Consult(h.ctx, "ann", "c1", "", "cat"); err != nil {
		t.Fatal(err)
	}
	h.expectRing("cat", "c1")
	check(t, []req{
		{"two consultations at once", "consult", "ann", "c1", "billing", "", ErrConsulting},
		{"complete before the consulted agent answered", "complete", "ann", "c1", "", "", ErrState},
		{"blind transfer during a consultation", "transfer", "ann", "c1", "billing", "", ErrConsulting},
		{"the consulted agent consults", "consult", "cat", "c1", "", "dan", ErrNotYourCall},
		{"the consulted agent completes", "complete", "cat", "c1", "", "", ErrNotYourCall},
		{"another agent cancels", "cancel", "bob", "c1", "", "", ErrNotYourCall},
	})
	_ = q2.leg.Hangup(h.ctx, call.CauseNormal)
	q2.wait(t)
}

// TestConsultEndsWithTheConversation: when the caller's goroutine ends
// the conversation without asking the loop first (the caller's hang-up
// seen as its context ending), the consultation ends with it: the
// consulted agent is free, not left busy on a call that is gone.
func TestConsultEndsWithTheConversation(t *testing.T) {
	cfg := consultConfig()
	cfg.WrapUp = -1
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ann := &agent{agentData: agentData{info: AgentInfo{ID: "ann"}, state: StateBusy, callID: "c1"}}
	bob := &agent{agentData: agentData{info: AgentInfo{ID: "bob"}, state: StateBusy, callID: "c1"}}
	r.agents["ann"], r.agents["bob"] = ann, bob
	leg := calltest.NewLeg()
	e := &entry{c: call.New("c1", leg, nil), w: newWaiter(slog.New(slog.DiscardHandler)), log: slog.New(slog.DiscardHandler),
		entryData: entryData{id: "c1", queue: "sales", state: callTalking, agentID: "ann",
			consult: consultData{state: consultTalking, from: "ann", to: "bob"}}}
	r.entries["c1"] = e
	v := r.callEnded(e, observation{callerGone: true})
	if !v.finish || v.out.Agent != "ann" {
		t.Fatalf("verdict %+v", v)
	}
	if bob.state != StateAvailable || bob.callID != "" || ann.state != StateAvailable {
		t.Fatalf("after the call: bob %s (call %q), ann %s; want both free", bob.state, bob.callID, ann.state)
	}
	if e.consult.state != consultNone || r.badMoves.Load() != 0 {
		t.Fatalf("consultation %+v, %d moves outside the tables", e.consult, r.badMoves.Load())
	}
}
