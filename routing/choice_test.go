package routing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/call/calltest"
)

// step is one action or expectation of a routing scenario.
type step struct {
	avail   string         // log agent in with skills and set available
	skills  map[string]int // for avail
	away    string         // set agent away
	enqueue string         // queue a call with req
	req     Request
	advance time.Duration
	answer  [2]string // agent, call
	decline [2]string // agent, call
	ring    [2]string // expect the next phone event to ring agent with call
	cancel  [2]string // expect the next phone event to cancel agent's call
	quiet   bool      // expect no agent to be offered a call
	state   [3]string // expect agent, state, reason
	missed  [2]string // expect agent, offers missed in a row
}

func TestChoiceOfAgent(t *testing.T) {
	sales := Config{Queues: []QueueConfig{{Name: "sales"}}}
	maxMissed2 := Config{MaxMissed: 2, Queues: []QueueConfig{{Name: "sales"}}}
	tests := []struct {
		name  string
		cfg   Config
		steps []step
	}{
		{"longest idle agent gets the call", sales, []step{
			{avail: "ann"}, {advance: 10 * time.Second},
			{avail: "bob"}, {advance: 10 * time.Second},
			{avail: "cat"},
			{enqueue: "c1", req: Request{Queue: "sales"}}, {ring: [2]string{"ann", "c1"}},
			{enqueue: "c2", req: Request{Queue: "sales"}}, {ring: [2]string{"bob", "c2"}},
		}},
		{"preferred advisor first", sales, []step{
			{avail: "ann"}, {advance: 10 * time.Second}, {avail: "bob"},
			{enqueue: "c1", req: Request{Queue: "sales", Preferred: "bob"}}, {ring: [2]string{"bob", "c1"}},
		}},
		{"call held for busy preferred advisor, then longest idle", sales, []step{
			{avail: "bob"},
			{enqueue: "x", req: Request{Queue: "sales"}}, {ring: [2]string{"bob", "x"}},
			{answer: [2]string{"bob", "x"}}, {state: [3]string{"bob", "busy"}},
			{avail: "ann"},
			{enqueue: "c1", req: Request{Queue: "sales", Preferred: "bob"}},
			{quiet: true},
			{advance: 29 * time.Second}, {quiet: true},
			{advance: time.Second}, {ring: [2]string{"ann", "c1"}},
		}},
		{"preferred advisor not logged in: no hold", sales, []step{
			{avail: "ann"},
			{enqueue: "c1", req: Request{Queue: "sales", Preferred: "zoe"}}, {ring: [2]string{"ann", "c1"}},
		}},
		{"preferred advisor away: no hold", sales, []step{
			{avail: "ann"}, {avail: "bob"}, {away: "bob"},
			{enqueue: "c1", req: Request{Queue: "sales", Preferred: "bob"}}, {ring: [2]string{"ann", "c1"}},
		}},
		{"only agents with the skills at the level", Config{Queues: []QueueConfig{{Name: "fr", Skills: []string{"french:2"}}}}, []step{
			{avail: "ann"}, {advance: time.Second},
			{avail: "bob", skills: map[string]int{"french": 1}}, {advance: time.Second},
			{avail: "cat", skills: map[string]int{"french": 3}},
			{enqueue: "c1", req: Request{Queue: "fr"}}, {ring: [2]string{"cat", "c1"}},
			{enqueue: "c2", req: Request{Queue: "fr"}},
			{state: [3]string{"ann", "available"}}, {state: [3]string{"bob", "available"}},
		}},
		{"request skills add to the queue's", sales, []step{
			{avail: "ann"}, {advance: time.Second},
			{avail: "bob", skills: map[string]int{"vip": 1}},
			{enqueue: "c1", req: Request{Queue: "sales", Skills: []string{"vip"}}}, {ring: [2]string{"bob", "c1"}},
		}},
		{"higher priority first, then longest waiting", joinEmpty(Config{Queues: []QueueConfig{{Name: "sales"}, {Name: "gold", Priority: 5}}}), []step{
			{enqueue: "c1", req: Request{Queue: "sales"}}, {advance: time.Second},
			{enqueue: "c2", req: Request{Queue: "sales"}}, {advance: time.Second},
			{enqueue: "c3", req: Request{Queue: "sales", Priority: 3}}, {advance: time.Second},
			{enqueue: "c4", req: Request{Queue: "gold"}}, {advance: time.Second},
			{avail: "ann"}, {ring: [2]string{"ann", "c4"}},
			{avail: "bob"}, {ring: [2]string{"bob", "c3"}},
			{avail: "cat"}, {ring: [2]string{"cat", "c1"}},
			{avail: "dan"}, {ring: [2]string{"dan", "c2"}},
		}},
		{"missed offer goes to the next agent and sets the agent away", sales, []step{
			{avail: "ann"}, {advance: time.Second}, {avail: "bob"},
			{enqueue: "c1", req: Request{Queue: "sales"}}, {ring: [2]string{"ann", "c1"}},
			{advance: 14 * time.Second}, {state: [3]string{"ann", "offered"}},
			{advance: time.Second}, {cancel: [2]string{"ann", "c1"}}, {ring: [2]string{"bob", "c1"}},
			{state: [3]string{"ann", "away", ReasonMissedOffers}},
		}},
		{"missed by the only agent: not rung again until available and the back-off ends", sales, []step{
			{avail: "ann"},
			{enqueue: "c1", req: Request{Queue: "sales"}}, {ring: [2]string{"ann", "c1"}},
			{advance: 15 * time.Second}, {cancel: [2]string{"ann", "c1"}},
			{state: [3]string{"ann", "away", ReasonMissedOffers}}, {quiet: true},
			{avail: "ann"}, {quiet: true},
			{advance: 29 * time.Second}, {quiet: true},
			{advance: time.Second}, {ring: [2]string{"ann", "c1"}},
		}},
		{"max_missed 2: one miss keeps the agent available, the second sets away", maxMissed2, []step{
			{avail: "ann"},
			{enqueue: "c1", req: Request{Queue: "sales"}}, {ring: [2]string{"ann", "c1"}},
			{advance: 15 * time.Second}, {cancel: [2]string{"ann", "c1"}},
			{state: [3]string{"ann", "available"}}, {quiet: true},
			{advance: 30 * time.Second}, {ring: [2]string{"ann", "c1"}},
			{advance: 15 * time.Second}, {cancel: [2]string{"ann", "c1"}},
			{state: [3]string{"ann", "away", ReasonMissedOffers}}, {quiet: true},
		}},
		{"answering resets the missed count", maxMissed2, []step{
			{avail: "ann"},
			{enqueue: "c1", req: Request{Queue: "sales"}}, {ring: [2]string{"ann", "c1"}},
			{advance: 15 * time.Second}, {cancel: [2]string{"ann", "c1"}},
			{advance: 30 * time.Second}, {ring: [2]string{"ann", "c1"}},
			{answer: [2]string{"ann", "c1"}}, {state: [3]string{"ann", "busy"}}, {missed: [2]string{"ann", "0"}},
		}},
		{"decline goes to the next agent and is not a miss", sales, []step{
			{avail: "ann"}, {advance: time.Second}, {avail: "bob"},
			{enqueue: "c1", req: Request{Queue: "sales"}}, {ring: [2]string{"ann", "c1"}},
			{decline: [2]string{"ann", "c1"}}, {ring: [2]string{"bob", "c1"}},
			{state: [3]string{"ann", "available"}}, {missed: [2]string{"ann", "0"}},
		}},
		{"declined by everyone: nobody rung again before the back-off, then the first to decline", sales, []step{
			{avail: "ann"}, {advance: time.Second}, {avail: "bob"},
			{enqueue: "c1", req: Request{Queue: "sales"}}, {ring: [2]string{"ann", "c1"}},
			{decline: [2]string{"ann", "c1"}}, {ring: [2]string{"bob", "c1"}},
			{advance: 5 * time.Second},
			{decline: [2]string{"bob", "c1"}}, {quiet: true},
			{advance: 24 * time.Second}, {quiet: true},
			{advance: time.Second}, {ring: [2]string{"ann", "c1"}},
		}},
		{"declined by the only agent: not rung again within the back-off", sales, []step{
			{avail: "ann"},
			{enqueue: "c1", req: Request{Queue: "sales"}}, {ring: [2]string{"ann", "c1"}},
			{decline: [2]string{"ann", "c1"}}, {quiet: true},
			{advance: 29 * time.Second}, {quiet: true},
			{advance: time.Second}, {ring: [2]string{"ann", "c1"}},
		}},
		{"a decliner gets it again only when nobody else can take it", sales, []step{
			{avail: "ann"},
			{enqueue: "c1", req: Request{Queue: "sales"}}, {ring: [2]string{"ann", "c1"}},
			{decline: [2]string{"ann", "c1"}}, {advance: 40 * time.Second},
			{ring: [2]string{"ann", "c1"}}, {decline: [2]string{"ann", "c1"}},
			{avail: "bob"}, {ring: [2]string{"bob", "c1"}},
		}},
		{"overflow after max wait keeps the arrival order", joinEmpty(Config{Queues: []QueueConfig{
			{Name: "first", Skills: []string{"a"}, MaxWait: time.Minute, Overflow: "spill"},
			{Name: "spill", Skills: []string{"b"}}}}), []step{
			{enqueue: "old", req: Request{Queue: "first"}}, {advance: 30 * time.Second},
			{enqueue: "new", req: Request{Queue: "spill"}}, {advance: 30 * time.Second},
			{avail: "bob", skills: map[string]int{"b": 1}}, {ring: [2]string{"bob", "old"}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.cfg)
			calls := map[string]*queuedCall{}
			for i, s := range tc.steps {
				switch {
				case s.avail != "":
					h.available(s.avail, s.skills)
				case s.away != "":
					if err := h.r.SetState(h.ctx, s.away, StateAway, "lunch"); err != nil {
						t.Fatalf("step %d: away: %v", i, err)
					}
				case s.enqueue != "":
					calls[s.enqueue] = h.enqueue(s.enqueue, s.req)
				case s.advance != 0:
					h.advance(s.advance)
				case s.answer[0] != "":
					if err := h.r.Answer(h.ctx, s.answer[0], s.answer[1]); err != nil {
						t.Fatalf("step %d: answer: %v", i, err)
					}
				case s.decline[0] != "":
					if err := h.r.Decline(h.ctx, s.decline[0], s.decline[1]); err != nil {
						t.Fatalf("step %d: decline: %v", i, err)
					}
				case s.ring[0] != "":
					h.expectRing(s.ring[0], s.ring[1])
				case s.cancel[0] != "":
					h.expectCancel(s.cancel[0], s.cancel[1])
				case s.quiet:
					h.expectNothingRinging()
				case s.state[0] != "":
					h.expectState(s.state[0], State(s.state[1]), s.state[2])
				case s.missed[0] != "":
					if a := h.agent(s.missed[0]); fmt.Sprint(a.Missed) != s.missed[1] {
						t.Fatalf("step %d: %s missed %d in a row, want %s", i, a.ID, a.Missed, s.missed[1])
					}
				}
			}
		})
	}
}

// TestRealClockOfferTimeout runs the router on the system clock, with
// short timers, to cover the real timer path end to end.
func TestRealClockOfferTimeout(t *testing.T) {
	phones := newFakePhones()
	r, err := New(Config{OfferTimeout: 30 * time.Millisecond, Queues: []QueueConfig{{Name: "sales"}}}, WithPhones(phones))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- r.Run(ctx) }()
	for _, id := range []string{"ann", "bob"} {
		if err := r.Login(ctx, AgentInfo{ID: id}); err != nil {
			t.Fatal(err)
		}
		if err := r.SetState(ctx, id, StateAvailable, ""); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond) // ann idles longer
	}
	leg := calltest.NewLeg()
	done := make(chan error, 1)
	go func() { _, err := r.Enqueue(ctx, call.New("c1", leg, nil), Request{Queue: "sales"}); done <- err }()
	var got []string
	for len(got) < 3 {
		select {
		case e := <-phones.events:
			got = append(got, e.String())
		case <-ctx.Done():
			t.Fatalf("events so far %v", got)
		}
	}
	if want := []string{"ring ann c1 ", "cancel ann c1 " + ReasonNotAnswered, "ring bob c1 "}; !slices.Equal(got, want) {
		t.Fatalf("phones saw %q, want %q", got, want)
	}
	_ = leg.Hangup(ctx, call.CauseNormal)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-runErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	goleak.VerifyNone(t)
}

// TestMissedOfferNotice checks the notice an agent who let a call ring
// out gets (EventOfferMissed, for the agent API to forward), and that the
// call moved on to the next agent.
func TestMissedOfferNotice(t *testing.T) {
	h := newHarness(t, Config{Queues: []QueueConfig{{Name: "sales"}}})
	evs := make(chan Event, 64)
	defer h.r.OnEvent(func(e Event) {
		if e.Type == EventOfferMissed {
			evs <- e
		}
	})()
	h.available("ann", nil)
	h.advance(time.Second)
	h.available("bob", nil)
	q := h.enqueue("c1", Request{Queue: "sales"})
	h.expectRing("ann", "c1")
	h.advance(15 * time.Second)
	if c := h.expectCancel("ann", "c1"); c.reason != ReasonNotAnswered {
		t.Fatalf("cancel reason %q", c.reason)
	}
	h.expectRing("bob", "c1")
	if got := testutil.ToFloat64(h.r.m.offers.WithLabelValues("sales", "missed")); got != 1 {
		t.Errorf("offers_total{result=missed} = %v", got)
	}
	if err := h.r.Decline(h.ctx, "bob", "c1"); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(h.r.m.offers.WithLabelValues("sales", "declined")); got != 1 {
		t.Errorf("offers_total{result=declined} = %v", got)
	}
	select {
	case e := <-evs:
		if e.Agent != "ann" || e.CallID != "c1" || e.Queue != "sales" || e.AgentStatus == nil ||
			e.AgentStatus.State != StateAway || e.AgentStatus.Reason != ReasonMissedOffers || e.AgentStatus.Missed != 1 {
			t.Fatalf("missed-call notice %+v %+v", e, e.AgentStatus)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no missed-call notice")
	}
	_ = q.leg.Hangup(h.ctx, call.CauseNormal)
	q.wait(t)
}
