package routing

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/call/calltest"
)

// syncBuffer is a log sink the router's goroutines may share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestNoAgentLoggedIn: a call is not queued where nobody could ever
// answer it; the IVR gets ErrNoAgents (its fail: way) and the log says
// why, with the call's id.
func TestNoAgentLoggedIn(t *testing.T) {
	fr := Config{Queues: []QueueConfig{{Name: "sales", Skills: []string{"french"}}}}
	tests := []struct {
		name   string
		cfg    Config
		agent  *AgentInfo // logged in (away) before the call
		queued bool
	}{
		{"nobody logged in", fr, nil, false},
		{"only agents without the queue's skills", fr, &AgentInfo{ID: "ann", Skills: map[string]int{"german": 1}}, false},
		{"an agent of the queue logged in but away", fr, &AgentInfo{ID: "ann", Skills: map[string]int{"french": 1}}, true},
		{"join_empty queues anyway", joinEmpty(fr), nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.cfg)
			if tc.agent != nil {
				if err := h.r.Login(h.ctx, *tc.agent); err != nil {
					t.Fatal(err)
				}
			}
			var logs syncBuffer
			leg := calltest.NewLeg()
			c := call.New("c1", leg, slog.New(slog.NewTextHandler(&logs, nil)))
			done := make(chan error, 1)
			go func() { done <- h.r.Queue(h.ctx, c, "sales", nil, 0, "") }()
			if !tc.queued {
				select {
				case err := <-done:
					var rej *call.RejectError
					if !errors.Is(err, ErrNoAgents) || !errors.As(err, &rej) || rej.Cause != call.CauseUnavailable {
						t.Fatalf("Queue = %v, want ErrNoAgents in a rejection (unavailable)", err)
					}
					if leg.Answered() {
						t.Fatal("a call that could not be queued was answered by the router")
					}
				case <-time.After(5 * time.Second):
					t.Fatal("Queue did not refuse the call")
				}
				if leg.Cause() != call.CauseNone {
					t.Fatal("caller hung up: the flow goes on to its fail: way")
				}
				if qs := h.queue("sales"); qs.Queued != 0 || qs.Waiting != 0 || qs.NoAgents != 1 {
					t.Fatalf("stats %+v", qs)
				}
				if l := logs.String(); !strings.Contains(l, "call_id=c1") || !strings.Contains(l, "no agent of the queue is logged in") {
					t.Fatalf("log %q", l)
				}
				return
			}
			deadline := time.Now().Add(5 * time.Second)
			for h.queue("sales").Waiting == 0 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if h.queue("sales").Waiting != 1 {
				t.Fatal("call not queued")
			}
			_ = leg.Hangup(h.ctx, call.CauseNormal)
			if err := <-done; !errors.Is(err, ErrAbandoned) {
				t.Fatalf("Queue = %v", err)
			}
		})
	}
}

// TestDefaultMaxWait: a queue with no max_wait lets a caller wait 10
// minutes, then the flow goes on; a negative one never times out.
func TestDefaultMaxWait(t *testing.T) {
	for _, tc := range []struct {
		name    string
		maxWait time.Duration
		timeout bool
	}{
		{"default ten minutes", 0, true},
		{"negative: no limit", -1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{Queues: []QueueConfig{{Name: "sales", MaxWait: tc.maxWait, JoinEmpty: true}}})
			leg := calltest.NewLeg()
			done := make(chan error, 1)
			go func() { done <- h.r.Queue(h.ctx, call.New("c1", leg, nil), "sales", nil, 0, "") }()
			deadline := time.Now().Add(5 * time.Second)
			for h.queue("sales").Waiting == 0 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			h.advance(DefaultMaxWait - time.Second)
			if h.queue("sales").Waiting != 1 {
				t.Fatal("left the queue before the maximum wait")
			}
			h.advance(time.Second)
			if !tc.timeout {
				h.advance(time.Hour)
				if h.queue("sales").Waiting != 1 {
					t.Fatal("left a queue without limit")
				}
				_ = leg.Hangup(h.ctx, call.CauseNormal)
				<-done
				return
			}
			select {
			case err := <-done:
				if !errors.Is(err, ErrMaxWait) {
					t.Fatalf("Queue = %v, want ErrMaxWait", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("still queued after the default maximum wait")
			}
			if qs := h.queue("sales"); qs.TimedOut != 1 || qs.Answered != 0 {
				t.Fatalf("stats %+v", qs)
			}
		})
	}
}

// TestVanishedCallerNeverAnswered: a caller whose leg ended (a hang-up,
// or the media timeout of a caller who went silent) before the router's
// goroutine for the call noticed is removed at once: not offered, not put
// through as dead air, counted abandoned.
func TestVanishedCallerNeverAnswered(t *testing.T) {
	tests := []struct {
		name string
		// gone runs on the loop right after the caller's leg ended.
		gone func(h *harness) error
		ring bool // the call rang ann before the leg ended
	}{
		{"agent answers the ringing offer", func(h *harness) error { return h.r.answer("ann", "c1") }, true},
		{"agent becomes free", func(h *harness) error {
			h.r.setState(h.r.agents["ann"], StateAvailable, "")
			h.r.dispatch()
			return nil
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, salesConfig())
			if tc.ring {
				h.available("ann", nil)
			} else if err := h.r.Login(h.ctx, AgentInfo{ID: "ann"}); err != nil {
				t.Fatal(err)
			}
			q := h.enqueue("c1", Request{Queue: "sales"})
			if tc.ring {
				h.expectRing("ann", "c1")
			}
			var err error
			if xerr := h.r.exec(h.ctx, func() {
				_ = q.leg.Hangup(h.ctx, call.CauseTimeout)
				err = tc.gone(h)
			}); xerr != nil {
				t.Fatal(xerr)
			}
			if tc.ring && !errors.Is(err, ErrCallerGone) {
				t.Fatalf("answer = %v, want ErrCallerGone", err)
			}
			out, qerr := q.wait(t)
			if qerr != nil || out.Result != ResultAbandoned {
				t.Fatalf("outcome %+v %v", out, qerr)
			}
			qs := h.queue("sales")
			if qs.Answered != 0 || qs.Abandoned != 1 || qs.Waiting != 0 {
				t.Fatalf("stats %+v", qs)
			}
			h.expectState("ann", StateAvailable, "")
			h.expectNothingRinging()
			if tc.ring {
				h.expectCancel("ann", "c1")
			}
			select {
			case ev := <-h.phones.events:
				t.Fatalf("phones got %v after the caller left", ev)
			default:
			}
		})
	}
}

// TestLastAgentLogsOut: callers waiting where the last agent able to take
// them logged out go back to their flow (ErrNoAgents) instead of waiting
// for nobody; a queue with join_empty keeps them.
func TestLastAgentLogsOut(t *testing.T) {
	cfg := Config{Queues: []QueueConfig{{Name: "sales"}, {Name: "night", JoinEmpty: true}}}
	h := newHarness(t, cfg)
	for _, id := range []string{"ann", "bob"} {
		if err := h.r.Login(h.ctx, AgentInfo{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	queue := func(id, q string) (*calltest.Leg, chan error) {
		leg := calltest.NewLeg()
		done := make(chan error, 1)
		go func() { done <- h.r.Queue(h.ctx, call.New(id, leg, nil), q, nil, 0, "") }()
		deadline := time.Now().Add(5 * time.Second)
		for h.queue(q).Waiting == 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		return leg, done
	}
	_, sales := queue("c1", "sales")
	nightLeg, night := queue("c2", "night")
	if err := h.r.Logout(h.ctx, "ann"); err != nil {
		t.Fatal(err)
	}
	if qs := h.queue("sales"); qs.Waiting != 1 {
		t.Fatalf("caller left while bob is still logged in: %+v", qs)
	}
	if err := h.r.Logout(h.ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-sales:
		if !errors.Is(err, ErrNoAgents) {
			t.Fatalf("Queue = %v, want ErrNoAgents", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("caller still waiting for nobody")
	}
	if qs := h.queue("sales"); qs.NoAgents != 1 || qs.Abandoned != 0 || qs.Waiting != 0 {
		t.Fatalf("stats %+v", qs)
	}
	if qs := h.queue("night"); qs.Waiting != 1 {
		t.Fatalf("join_empty queue lost its caller: %+v", qs)
	}
	_ = nightLeg.Hangup(h.ctx, call.CauseNormal)
	<-night
}
