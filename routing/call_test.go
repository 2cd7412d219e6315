package routing

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/call/calltest"
)

func salesConfig() Config {
	return Config{Queues: []QueueConfig{{Name: "sales"}}}
}

// joinEmpty lets cfg's queues take calls with no agent logged in.
func joinEmpty(cfg Config) Config {
	cfg.Queues = append([]QueueConfig(nil), cfg.Queues...)
	for i := range cfg.Queues {
		cfg.Queues[i].JoinEmpty = true
	}
	return cfg
}

// speech is a recognisable run of samples.
func speech(base int16, frames int) []int16 {
	s := make([]int16, frames*call.FrameSamples)
	for i := range s {
		s[i] = base + int16(i%50)
	}
	return s
}

func TestAnsweredCallIsBridgedThenWrapUp(t *testing.T) {
	tests := []struct {
		name        string
		end         func(h *harness, q *queuedCall, agentLeg *calltest.Leg)
		agentHungUp bool
	}{
		{"agent presses hang up", func(h *harness, q *queuedCall, _ *calltest.Leg) {
			if err := h.r.Hangup(h.ctx, "ann", "c1"); err != nil {
				h.t.Fatalf("Hangup: %v", err)
			}
		}, true},
		{"agent leg ends normally", func(h *harness, q *queuedCall, l *calltest.Leg) {
			_ = l.Hangup(h.ctx, call.CauseNormal)
		}, true},
		{"caller hangs up", func(h *harness, q *queuedCall, _ *calltest.Leg) {
			_ = q.leg.Hangup(h.ctx, call.CauseNormal)
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, salesConfig())
			h.available("ann", nil)
			q := h.enqueue("c1", Request{Queue: "sales"}, calltest.Event{Speech: speech(100, 10)})
			h.expectRing("ann", "c1")
			h.advance(4 * time.Second)
			if err := h.r.Answer(h.ctx, "ann", "c1"); err != nil {
				t.Fatalf("Answer: %v", err)
			}
			agentLeg := h.phones.leg(t, "ann", "c1")
			// Audio both ways: the caller's speech reaches the agent.
			deadline := time.Now().Add(5 * time.Second)
			for len(agentLeg.Written()) < 10*call.FrameSamples && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			got := agentLeg.Written()
			if len(got) < 10*call.FrameSamples {
				t.Fatalf("agent received %d samples", len(got))
			}
			want := speech(100, 10)
			// Announcements may precede; find the speech.
			idx := -1
			for i := 0; i+len(want) <= len(got) && idx < 0; i++ {
				if got[i] == want[0] && got[i+1] == want[1] && got[i+len(want)-1] == want[len(want)-1] {
					idx = i
				}
			}
			if idx < 0 {
				t.Fatalf("caller speech not found in agent audio")
			}
			for len(q.leg.Written()) == 0 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			h.advance(60 * time.Second) // talk
			tc.end(h, q, agentLeg)
			out, err := q.wait(t)
			if err != nil {
				t.Fatalf("Enqueue: %v", err)
			}
			if out.Result != ResultAnswered || out.Agent != "ann" || out.Wait != 4*time.Second || out.AgentHungUp != tc.agentHungUp {
				t.Fatalf("outcome %+v", out)
			}
			if tc.agentHungUp && q.leg.Cause() != call.CauseNormal {
				t.Fatalf("caller leg cause %v, want hung up by the router", q.leg.Cause())
			}
			if agentLeg.Cause() == call.CauseNone {
				t.Fatalf("agent leg left up")
			}
			h.expectState("ann", StateWrapUp, "")
			if a := h.agent("ann"); !a.Until.Equal(h.clock.Now().Add(10 * time.Second)) {
				t.Fatalf("wrap-up until %v, want the 10 s wrap-up from now %v", a.Until, h.clock.Now())
			}
			h.advance(10 * time.Second)
			h.expectState("ann", StateAvailable, "")
			if a := h.agent("ann"); !a.Until.IsZero() {
				t.Fatalf("available agent has a wrap-up end %v", a.Until)
			}
			qs := h.queue("sales")
			if qs.Answered != 1 || qs.AnsweredInSL != 1 || qs.AvgSpeedOfAnswer != 4*time.Second || qs.Waiting != 0 {
				t.Fatalf("stats %+v", qs)
			}
			// Handle time 60 s talk + 10 s wrap-up into the average from 180 s.
			if want := time.Duration(0.2*float64(70*time.Second) + 0.8*float64(180*time.Second)); qs.AvgHandleTime != want {
				t.Fatalf("average handle time %v, want %v", qs.AvgHandleTime, want)
			}
			if a := h.agent("ann"); a.Handled != 1 {
				t.Fatalf("handled %d", a.Handled)
			}
		})
	}
}

func TestAbandon(t *testing.T) {
	tests := []struct {
		name      string
		agent     bool // an agent is ringing when the caller hangs up
		after     time.Duration
		wantSL    float64
		wantInSLA int
	}{
		{"caller hangs up while waiting, after the threshold", false, 30 * time.Second, 0, 0},
		{"caller hangs up while waiting, before the threshold", false, 5 * time.Second, 1, 1},
		{"caller hangs up while an agent is ringing", true, 5 * time.Second, 1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			h := newHarness(t, joinEmpty(salesConfig()), WithRegisterer(reg))
			if tc.agent {
				h.available("ann", nil)
			}
			q := h.enqueue("c1", Request{Queue: "sales"})
			if tc.agent {
				h.expectRing("ann", "c1")
			}
			h.advance(tc.after)
			_ = q.leg.Hangup(h.ctx, call.CauseNormal)
			out, err := q.wait(t)
			if err != nil || out.Result != ResultAbandoned || out.Wait != tc.after {
				t.Fatalf("outcome %+v %v", out, err)
			}
			if tc.agent {
				h.expectCancel("ann", "c1")
				h.expectState("ann", StateAvailable, "")
			}
			qs := h.queue("sales")
			if qs.Abandoned != 1 || qs.AbandonRate != 1 || qs.ServiceLevel != tc.wantSL || qs.Waiting != 0 {
				t.Fatalf("stats %+v", qs)
			}
			if got := testutil.ToFloat64(h.r.m.abandoned.WithLabelValues("sales")); got != 1 {
				t.Fatalf("abandoned metric %v", got)
			}
			if n, err := testutil.GatherAndCount(reg, "voxdesk_routing_queue_wait_seconds"); err != nil || n != 1 {
				t.Fatalf("wait histogram series %d %v", n, err)
			}
		})
	}
}

func TestAgentLostCallerRequeuedAtHead(t *testing.T) {
	tests := []struct {
		name    string
		talking bool
		lose    func(h *harness)
	}{
		{"browser closed while ringing", false, func(h *harness) {
			if err := h.r.Disconnected(h.ctx, "ann"); err != nil {
				h.t.Fatalf("Disconnected: %v", err)
			}
		}},
		{"agent leg fails while talking", true, func(h *harness) {
			_ = h.phones.leg(h.t, "ann", "c1").Hangup(h.ctx, call.CauseTimeout)
		}},
		{"browser closed while talking", true, func(h *harness) {
			h.phones.leg(h.t, "ann", "c1")
			if err := h.r.Disconnected(h.ctx, "ann"); err != nil {
				h.t.Fatalf("Disconnected: %v", err)
			}
		}},
		{"no media leg for the agent", true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, salesConfig())
			h.available("ann", nil)
			if tc.lose == nil {
				h.phones.legErr["ann"] = errors.New("peer connection failed")
			}
			q1 := h.enqueue("c1", Request{Queue: "sales"})
			h.expectRing("ann", "c1")
			h.advance(time.Second)
			q2 := h.enqueue("c2", Request{Queue: "sales", Priority: 9})
			if tc.talking {
				if err := h.r.Answer(h.ctx, "ann", "c1"); err != nil {
					t.Fatalf("Answer: %v", err)
				}
			}
			if tc.lose != nil {
				tc.lose(h)
			}
			h.expectState("ann", StateAway, ReasonConnectionLost)
			h.ann.waitHeard(t, q1.leg, AnnounceRequeued)
			// c1 is ahead of the later, higher-priority c2.
			qs := h.queue("sales")
			if len(qs.Calls) != 2 || qs.Calls[0].CallID != "c1" || qs.Calls[1].CallID != "c2" {
				t.Fatalf("queue order %+v", qs.Calls)
			}
			h.available("bob", nil)
			o := h.expectRing("bob", "c1")
			if !o.Requeued {
				t.Fatalf("offer.Requeued = %v", o.Requeued)
			}
			select {
			case <-q1.done:
				t.Fatalf("caller c1 lost: %+v %v", q1.out, q1.err)
			default:
			}
			_ = q1.leg.Hangup(h.ctx, call.CauseNormal)
			_ = q2.leg.Hangup(h.ctx, call.CauseNormal)
			q1.wait(t)
			q2.wait(t)
		})
	}
}

func TestRingFailureMovesOn(t *testing.T) {
	h := newHarness(t, salesConfig())
	h.phones.ringErr["ann"] = errors.New("no socket")
	h.available("ann", nil)
	h.advance(time.Second)
	h.available("bob", nil)
	q := h.enqueue("c1", Request{Queue: "sales"})
	h.expectRing("bob", "c1")
	h.expectState("ann", StateAway, ReasonConnectionLost)
	_ = q.leg.Hangup(h.ctx, call.CauseNormal)
	q.wait(t)
}

func TestEstimatedWait(t *testing.T) {
	tests := []struct {
		name    string
		staffed int // agents busy on other calls
		calls   int
		want    []time.Duration // announced per call position
		known   bool
	}{
		{"nobody staffed: unknown", 0, 2, []time.Duration{0, 0}, false},
		{"one agent: position times handle time", 1, 3, []time.Duration{3 * time.Minute, 6 * time.Minute, 9 * time.Minute}, true},
		{"two agents share the queue", 2, 3, []time.Duration{90 * time.Second, 3 * time.Minute, 270 * time.Second}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{WrapUp: time.Hour, Queues: []QueueConfig{{Name: "sales", AnnounceInterval: time.Minute, JoinEmpty: true}}})
			var all []*queuedCall
			for i := range tc.staffed {
				id := string(rune('a' + i))
				h.available(id, nil)
				q := h.enqueue("busy-"+id, Request{Queue: "sales"})
				h.expectRing(id, "busy-"+id)
				if err := h.r.Answer(h.ctx, id, "busy-"+id); err != nil {
					t.Fatal(err)
				}
				h.phones.leg(t, id, "busy-"+id)
				all = append(all, q)
			}
			var waiting []*queuedCall
			for i := range tc.calls {
				waiting = append(waiting, h.enqueue("w"+string(rune('0'+i)), Request{Queue: "sales"}))
			}
			h.advance(time.Minute)
			for i, q := range waiting {
				var last Announcement
				deadline := time.Now().Add(5 * time.Second)
				for {
					heard := h.ann.heard(q.leg)
					n := 0
					for _, m := range heard {
						if m.Kind == AnnouncePosition {
							n++
							last = m
						}
					}
					if n >= 2 || time.Now().After(deadline) {
						break
					}
					time.Sleep(2 * time.Millisecond)
				}
				if last.Position != i+1 || last.WaitKnown != tc.known || last.EstimatedWait != tc.want[i] {
					t.Errorf("call %d heard %+v, want position %d wait %v known %v", i, last, i+1, tc.want[i], tc.known)
				}
			}
			if qs := h.queue("sales"); qs.WaitKnown != tc.known {
				t.Fatalf("snapshot wait known %v", qs.WaitKnown)
			}
			for _, q := range append(all, waiting...) {
				_ = q.leg.Hangup(h.ctx, call.CauseNormal)
				q.wait(t)
			}
		})
	}
}

func TestCallbackKeepsThePlace(t *testing.T) {
	d := &fakeDialer{fail: 1}
	cfg := Config{WrapUp: time.Hour, CallbackFrom: "+442000000000", CallbackRetry: time.Minute,
		Queues: []QueueConfig{{Name: "sales", CallbackAfter: time.Minute}}}
	h := newHarness(t, cfg, WithDialer(d))
	// ann is on a call, so the wait is one handle time per position.
	h.available("ann", nil)
	busy := h.enqueue("busy", Request{Queue: "sales"})
	h.expectRing("ann", "busy")
	if err := h.r.Answer(h.ctx, "ann", "busy"); err != nil {
		t.Fatal(err)
	}
	h.phones.leg(t, "ann", "busy")
	// c1 presses 1 after the position and call-back announcements.
	c1 := h.enqueue("c1", Request{Queue: "sales"}, calltest.Event{At: 40 * time.Millisecond, Digit: '1'})
	h.advance(time.Second)
	c2 := h.enqueue("c2", Request{Queue: "sales"})
	out, err := c1.wait(t)
	if err != nil || out.Result != ResultCallback {
		t.Fatalf("c1 outcome %+v %v", out, err)
	}
	heard := h.ann.heard(c1.leg)
	if len(heard) != 3 || heard[1].Kind != AnnounceCallbackOffer || heard[2].Kind != AnnounceCallbackBooked {
		t.Fatalf("c1 heard %+v", heard)
	}
	if c1.leg.Cause() != call.CauseNormal {
		t.Fatalf("c1 not released after booking")
	}
	// The booked call-back stays ahead of c2.
	qs := h.queue("sales")
	if len(qs.Calls) != 2 || qs.Calls[0].CallID != "c1" || !qs.Calls[0].Callback || qs.Calls[1].CallID != "c2" {
		t.Fatalf("queue %+v", qs.Calls)
	}
	// ann finishes; the call-back is offered before c2.
	if err := h.r.Hangup(h.ctx, "ann", "busy"); err != nil {
		t.Fatal(err)
	}
	busy.wait(t)
	if err := h.r.SetState(h.ctx, "ann", StateAvailable, ""); err != nil {
		t.Fatal(err)
	}
	o := h.expectRing("ann", "c1")
	if !o.Callback || o.Caller != c1.c.Caller {
		t.Fatalf("offer %+v", o)
	}
	// First dial fails: ann is free again, the call-back waits for the retry.
	if err := h.r.Answer(h.ctx, "ann", "c1"); err != nil {
		t.Fatal(err)
	}
	h.expectCancel("ann", "c1") // ann's page stops showing the call-back
	h.expectRing("ann", "c2")   // ann is free again and c1 waits for its retry
	if err := h.r.Decline(h.ctx, "ann", "c2"); err != nil {
		t.Fatal(err)
	}
	h.advance(30 * time.Second) // nobody else: c2 rings ann again after the back-off
	h.expectRing("ann", "c2")
	if err := h.r.SetState(h.ctx, "ann", StateAway, "coffee"); err != nil {
		t.Fatal(err)
	}
	h.expectCancel("ann", "c2")
	h.advance(time.Minute)
	if err := h.r.SetState(h.ctx, "ann", StateAvailable, ""); err != nil {
		t.Fatal(err)
	}
	h.expectRing("ann", "c1")
	if err := h.r.Answer(h.ctx, "ann", "c1"); err != nil {
		t.Fatal(err)
	}
	agentLeg := h.phones.leg(t, "ann", "c1")
	if got := d.calls(); len(got) != 2 || got[0] != c1.c.Caller || got[1] != c1.c.Caller {
		t.Fatalf("dialled %v", got)
	}
	d.mu.Lock()
	cust := d.legs[0]
	d.mu.Unlock()
	h.ann.waitHeard(t, cust, AnnounceCallbackAnswered)
	_ = cust.Hangup(h.ctx, call.CauseNormal)
	h.expectState("ann", StateWrapUp, "")
	if agentLeg.Cause() == call.CauseNone {
		deadline := time.Now().Add(5 * time.Second)
		for agentLeg.Cause() == call.CauseNone && time.Now().Before(deadline) {
			time.Sleep(2 * time.Millisecond)
		}
		if agentLeg.Cause() == call.CauseNone {
			t.Fatalf("agent leg left up after the call-back")
		}
	}
	_ = c2.leg.Hangup(h.ctx, call.CauseNormal)
	c2.wait(t)
}

func TestOfferCarriesIdentification(t *testing.T) {
	h := newHarness(t, salesConfig())
	h.available("ann", nil)
	leg := calltest.NewLeg()
	c := call.New("c1", leg, nil)
	c.Caller, c.Callee, c.Channel = "+33612345678", "+33140000099", call.ChannelSIP
	c.Start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	c.SetVar(call.VarCustomer, "cust-42")
	c.SetVar(call.VarIdentMethod, string(call.MethodVoice))
	c.SetVar(call.VarIdentScore, "0.93")
	c.SetVar(call.VarQueue, "sales")
	done := make(chan error, 1)
	go func() { _, err := h.r.Enqueue(h.ctx, c, Request{}); done <- err }()
	o := h.expectRing("ann", "c1")
	if o.Customer != "cust-42" || o.IdentMethod != call.MethodVoice || o.IdentScore != 0.93 ||
		o.Caller != "+33612345678" || o.Queue != "sales" || o.Vars[call.VarCustomer] != "cust-42" ||
		o.Called != "+33140000099" || !o.Arrived.Equal(c.Start) {
		t.Fatalf("offer %+v", o)
	}
	if !o.Expires.Equal(h.clock.Now().Add(15 * time.Second)) {
		t.Fatalf("expires %v", o.Expires)
	}
	_ = leg.Hangup(h.ctx, call.CauseNormal)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

type dirFunc func(ctx context.Context, customer string) (string, error)

func (f dirFunc) PreferredAgent(ctx context.Context, c string) (string, error) { return f(ctx, c) }

func TestDirectoryGivesLastAdvisor(t *testing.T) {
	h := newHarness(t, salesConfig(), WithDirectory(dirFunc(func(_ context.Context, c string) (string, error) {
		if c == "cust-7" {
			return "bob", nil
		}
		return "", nil
	})))
	h.available("ann", nil)
	h.advance(time.Second)
	h.available("bob", nil)
	leg := calltest.NewLeg()
	c := call.New("c1", leg, nil)
	c.SetVar(call.VarCustomer, "cust-7")
	done := make(chan error, 1)
	go func() { _, err := h.r.Enqueue(h.ctx, c, Request{Queue: "sales"}); done <- err }()
	if o := h.expectRing("bob", "c1"); !o.Preferred {
		t.Fatalf("offer not marked preferred: %+v", o)
	}
	_ = leg.Hangup(h.ctx, call.CauseNormal)
	<-done
}

func TestAgentCannotActOnAnotherAgentsCall(t *testing.T) {
	h := newHarness(t, Config{Queues: []QueueConfig{{Name: "sales"}, {Name: "night", Skills: []string{"night"}}}})
	h.available("ann", nil)
	h.available("bob", nil)
	q := h.enqueue("c1", Request{Queue: "sales"})
	h.expectRing("ann", "c1")
	tests := []struct {
		name string
		do   func() error
		want error
	}{
		{"answer another's offer", func() error { return h.r.Answer(h.ctx, "bob", "c1") }, ErrNoOffer},
		{"decline another's offer", func() error { return h.r.Decline(h.ctx, "bob", "c1") }, ErrNoOffer},
		{"hang up another's call", func() error { return h.r.Hangup(h.ctx, "bob", "c1") }, ErrNotYourCall},
		{"transfer another's call", func() error { return h.r.Transfer(h.ctx, "bob", "c1", "sales", "") }, ErrNotYourCall},
		{"answer an unknown call", func() error { return h.r.Answer(h.ctx, "ann", "nope") }, ErrNoOffer},
		{"unknown agent", func() error { return h.r.Answer(h.ctx, "zed", "c1") }, ErrUnknownAgent},
		{"agent may not set busy", func() error { return h.r.SetState(h.ctx, "ann", StateBusy, "") }, ErrState},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.do(); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if err := h.r.Answer(h.ctx, "ann", "c1"); err != nil {
		t.Fatal(err)
	}
	if err := h.r.Logout(h.ctx, "ann"); !errors.Is(err, ErrAgentBusy) {
		t.Fatalf("logout on a call: %v", err)
	}
	// Transfers nobody could take are refused; the call stays with ann.
	for _, tc := range []struct {
		name         string
		queue, agent string
		want         error
	}{
		{"to an unknown queue", "nowhere", "", ErrUnknownQueue},
		{"to an agent not logged in", "", "zed", ErrUnknownAgent},
		{"to oneself", "", "ann", ErrState},
		{"to a queue no logged-in agent can serve", "night", "", ErrNoAgents},
	} {
		if err := h.r.Transfer(h.ctx, "ann", "c1", tc.queue, tc.agent); !errors.Is(err, tc.want) {
			t.Errorf("transfer %s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if a := h.agent("ann"); a.State != StateBusy || a.CallID != "c1" {
		t.Fatalf("after refused transfers ann is %+v", a)
	}
	_ = q.leg.Hangup(h.ctx, call.CauseNormal)
	q.wait(t)
}

func TestTransferToAnotherAgent(t *testing.T) {
	h := newHarness(t, Config{Queues: []QueueConfig{{Name: "sales"}, {Name: "billing", Skills: []string{"billing"}}}})
	h.available("ann", nil)
	h.available("bob", map[string]int{"billing": 1})
	h.advance(time.Second)
	h.available("cat", map[string]int{"billing": 1})
	q := h.enqueue("c1", Request{Queue: "sales"})
	h.expectRing("ann", "c1")
	if err := h.r.Answer(h.ctx, "ann", "c1"); err != nil {
		t.Fatal(err)
	}
	h.phones.leg(t, "ann", "c1")
	if err := h.r.Transfer(h.ctx, "ann", "c1", "billing", "cat"); err != nil {
		t.Fatal(err)
	}
	o := h.expectRing("cat", "c1")
	if o.Queue != "billing" {
		t.Fatalf("offer %+v", o)
	}
	h.expectState("ann", StateWrapUp, "")
	h.ann.waitHeard(t, q.leg, AnnounceTransferred)
	_ = q.leg.Hangup(h.ctx, call.CauseNormal)
	q.wait(t)
}

func TestMaxWaitWithoutOverflow(t *testing.T) {
	h := newHarness(t, Config{Queues: []QueueConfig{{Name: "sales", MaxWait: 2 * time.Minute, JoinEmpty: true}}})
	leg := calltest.NewLeg()
	c := call.New("c1", leg, nil)
	done := make(chan error, 1)
	go func() { done <- h.r.Queue(h.ctx, c, "sales", nil, 0, "") }()
	deadline := time.Now().Add(5 * time.Second)
	for h.queue("sales").Waiting == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	h.advance(2 * time.Minute)
	if err := <-done; !errors.Is(err, ErrMaxWait) {
		t.Fatalf("Queue = %v, want ErrMaxWait", err)
	}
	if leg.Cause() != call.CauseNone {
		t.Fatalf("caller hung up on max wait: the flow goes on")
	}
	if qs := h.queue("sales"); qs.TimedOut != 1 || qs.Waiting != 0 {
		t.Fatalf("stats %+v", qs)
	}
}

func TestQueueReportsAbandonForIVR(t *testing.T) {
	h := newHarness(t, joinEmpty(salesConfig()))
	leg := calltest.NewLeg()
	c := call.New("c1", leg, nil)
	done := make(chan error, 1)
	go func() { done <- h.r.Queue(h.ctx, c, "sales", []string{"english"}, 2, "") }()
	deadline := time.Now().Add(5 * time.Second)
	for h.queue("sales").Waiting == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	_ = leg.Hangup(h.ctx, call.CauseNormal)
	if err := <-done; !errors.Is(err, ErrAbandoned) || !errors.Is(err, call.ErrHangup) {
		t.Fatalf("Queue = %v", err)
	}
}

func TestEventsInOrder(t *testing.T) {
	h := newHarness(t, salesConfig())
	var mu sync.Mutex
	var got []string
	stop := h.r.OnEvent(func(e Event) {
		mu.Lock()
		defer mu.Unlock()
		if e.CallID == "c1" || e.Type == EventAgentState {
			got = append(got, string(e.Type)+":"+e.Agent)
		}
	})
	defer stop()
	h.available("ann", nil)
	q := h.enqueue("c1", Request{Queue: "sales"})
	h.expectRing("ann", "c1")
	if err := h.r.Answer(h.ctx, "ann", "c1"); err != nil {
		t.Fatal(err)
	}
	_ = q.leg.Hangup(h.ctx, call.CauseNormal)
	q.wait(t)
	h.expectState("ann", StateWrapUp, "")
	want := "agent.state:ann agent.state:ann call.queued: agent.state:ann offer:ann agent.state:ann call.answered:ann agent.state:ann call.ended:"
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		s := strings.Join(got, " ")
		mu.Unlock()
		if s == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("events\n got %s\nwant %s", s, want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestCloseReleasesQueuedCallers(t *testing.T) {
	h := newHarness(t, salesConfig())
	h.available("ann", nil)
	talking := h.enqueue("c1", Request{Queue: "sales"})
	h.expectRing("ann", "c1")
	if err := h.r.Answer(h.ctx, "ann", "c1"); err != nil {
		t.Fatal(err)
	}
	h.phones.leg(t, "ann", "c1")
	waiting := h.enqueue("c2", Request{Queue: "sales"})
	if err := h.r.Close(); err != nil {
		t.Fatal(err)
	}
	for _, q := range []*queuedCall{talking, waiting} {
		if _, err := q.wait(t); !errors.Is(err, ErrClosed) {
			t.Fatalf("%s: err %v, want ErrClosed", q.c.ID, err)
		}
	}
	if err := h.r.Login(h.ctx, AgentInfo{ID: "bob"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Login after Close: %v", err)
	}
	if s := h.r.Snapshot(); len(s.Queues) != 0 {
		t.Fatalf("snapshot after close %+v", s)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"unnamed queue", Config{Queues: []QueueConfig{{}}}, "no name"},
		{"duplicate queue", Config{Queues: []QueueConfig{{Name: "a"}, {Name: "a"}}}, "defined twice"},
		{"unknown overflow", Config{Queues: []QueueConfig{{Name: "a", MaxWait: time.Second, Overflow: "b"}}}, "unknown queue"},
		{"overflow without max wait", Config{Queues: []QueueConfig{{Name: "a", MaxWait: -1, Overflow: "b"}, {Name: "b"}}}, "no max_wait"},
		{"overflow cycle", Config{Queues: []QueueConfig{{Name: "a", MaxWait: 1, Overflow: "b"}, {Name: "b", MaxWait: 1, Overflow: "a"}}}, "cycle"},
		{"bad skill level", Config{Queues: []QueueConfig{{Name: "a", Skills: []string{"fr:x"}}}}, "bad skill level"},
		{"empty skill", Config{Queues: []QueueConfig{{Name: "a", Skills: []string{":2"}}}}, "empty skill"},
		{"agent without id", Config{Agents: []AgentInfo{{Name: "x"}}}, "without id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, want error with %q", err, tc.want)
			}
		})
	}
}

func TestEnqueueBadInput(t *testing.T) {
	h := newHarness(t, salesConfig())
	tests := []struct {
		name string
		c    *call.Call
		req  Request
		want string
	}{
		{"nil call", nil, Request{Queue: "sales"}, "needs a call"},
		{"no queue", call.New("x1", calltest.NewLeg(), nil), Request{}, "no queue"},
		{"unknown queue", call.New("x2", calltest.NewLeg(), nil), Request{Queue: "nope"}, "unknown queue"},
		{"bad skill", call.New("x3", calltest.NewLeg(), nil), Request{Queue: "sales", Skills: []string{"fr:-1"}}, "bad skill"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.r.Enqueue(h.ctx, tc.c, tc.req)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
	c := call.New("x4", calltest.NewLeg(), nil)
	c.SetVar(call.VarQueue, "sales")
	c.SetVar(call.VarPriority, "high")
	if _, err := h.r.Enqueue(h.ctx, c, Request{}); err == nil || !strings.Contains(err.Error(), "queue.priority") {
		t.Fatalf("bad priority var: %v", err)
	}
}

func TestMetricsRegistered(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := newHarness(t, salesConfig(), WithRegisterer(reg))
	h.available("ann", nil)
	q := h.enqueue("c1", Request{Queue: "sales"})
	h.expectRing("ann", "c1")
	h.advance(25 * time.Second) // ann missed the offer at 15 s and was set away
	if err := h.r.SetState(h.ctx, "ann", StateAvailable, ""); err != nil {
		t.Fatal(err)
	}
	h.advance(20 * time.Second) // rung again 30 s after she missed it, nobody else being there
	for {
		e := h.next()
		if e.kind == "ring" {
			break
		}
	}
	if err := h.r.Answer(h.ctx, "ann", "c1"); err != nil {
		t.Fatal(err)
	}
	_ = q.leg.Hangup(h.ctx, call.CauseNormal)
	q.wait(t)
	h.advance(10 * time.Second)
	for name, want := range map[string]float64{
		"voxdesk_routing_calls_queued_total":   1,
		"voxdesk_routing_calls_answered_total": 1,
		"voxdesk_routing_service_level_ratio":  0, // answered after 45 s > 20 s
	} {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
			found = true
			m := mf.GetMetric()[0]
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
			if v != want {
				t.Errorf("%s = %v, want %v", name, v, want)
			}
		}
		if !found {
			t.Errorf("metric %s not registered", name)
		}
	}
	if got := testutil.ToFloat64(h.r.m.agents.WithLabelValues("available")); got != 1 {
		t.Errorf("agents{available} = %v", got)
	}
	if n := testutil.CollectAndCount(h.r.m.handle); n != 1 {
		t.Errorf("handle time series %d", n)
	}
}

func TestServeCallQueuesByVariables(t *testing.T) {
	h := newHarness(t, Config{Queues: []QueueConfig{{Name: "sales"}, {Name: "vip", Skills: []string{"vip"}}}})
	h.available("ann", nil)
	h.advance(time.Second)
	h.available("bob", map[string]int{"vip": 1, "german": 2})
	tests := []struct {
		name  string
		vars  map[string]string
		agent string
	}{
		{"queue and skills from the IVR", map[string]string{call.VarQueue: "vip", call.VarSkills: "german:2"}, "bob"},
		{"preferred advisor from the IVR", map[string]string{call.VarQueue: "sales", call.VarPreferredAgent: "bob"}, "bob"},
		{"plain queue", map[string]string{call.VarQueue: "sales"}, "ann"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			leg := calltest.NewLeg()
			c := call.New(fmt.Sprint("s", i), leg, nil)
			for k, v := range tc.vars {
				c.SetVar(k, v)
			}
			done := make(chan error, 1)
			go func() { done <- h.r.ServeCall(h.ctx, c) }()
			h.expectRing(tc.agent, c.ID)
			_ = leg.Hangup(h.ctx, call.CauseNormal)
			h.expectCancel(tc.agent, c.ID)
			if err := <-done; err != nil {
				t.Fatalf("ServeCall: %v", err)
			}
		})
	}
}

func TestLoginBadInput(t *testing.T) {
	h := newHarness(t, salesConfig())
	tests := []struct {
		name string
		info AgentInfo
		want string
	}{
		{"no id", AgentInfo{}, "without agent id"},
		{"negative skill level", AgentInfo{ID: "eve", Skills: map[string]int{"fr": -1}}, "bad skill"},
		{"empty skill name", AgentInfo{ID: "eve", Skills: map[string]int{"": 1}}, "bad skill"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := h.r.Login(h.ctx, tc.info); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Login = %v, want %q", err, tc.want)
			}
		})
	}
	if a := h.agent("eve"); a.State != StateLoggedOut {
		t.Fatalf("eve logged in anyway: %+v", a)
	}
}

// TestSnapshotCarriesIdentity: the wallboard's waiting calls say how each
// caller was identified and whether the voice matched the fraud
// watchlist, as the IVR left them in the call's variables.
func TestSnapshotCarriesIdentity(t *testing.T) {
	h := newHarness(t, salesConfig())
	h.available("ann", nil)
	q := h.enqueue("c1", Request{Queue: "sales"})
	q.c.SetVar(call.VarCustomer, "C-1001")
	q.c.SetVar(call.VarIdentMethod, string(call.MethodNumber))
	q.c.SetVar(call.VarWatchlist, "W-7")
	qs := h.queue("sales")
	if len(qs.Calls) != 1 {
		t.Fatalf("queue %+v", qs.Calls)
	}
	if c := qs.Calls[0]; c.Customer != "C-1001" || c.Method != "number" || c.Watchlist != "W-7" {
		t.Errorf("waiting call %+v: want customer C-1001, method number, watchlist W-7", c)
	}
}
