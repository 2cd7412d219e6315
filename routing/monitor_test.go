package routing

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/call/calltest"
)

// TalkingCall finds an agent's call only while the agent talks on it,
// and a tap on the call it returns sees the conversation's audio.
func TestTalkingCall(t *testing.T) {
	h := newHarness(t, salesConfig())
	if _, err := h.r.TalkingCall(h.ctx, "nobody"); !errors.Is(err, ErrUnknownAgent) {
		t.Fatalf("unknown agent: %v, want ErrUnknownAgent", err)
	}
	h.available("ann", nil)
	if _, err := h.r.TalkingCall(h.ctx, "ann"); !errors.Is(err, ErrNotTalking) {
		t.Fatalf("available agent: %v, want ErrNotTalking", err)
	}
	q := h.enqueue("c1", Request{Queue: "sales"}, calltest.Event{Speech: speech(100, 50)})
	h.expectRing("ann", "c1")
	if _, err := h.r.TalkingCall(h.ctx, "ann"); !errors.Is(err, ErrNotTalking) {
		t.Fatalf("ringing agent: %v, want ErrNotTalking", err)
	}
	if err := h.r.Answer(h.ctx, "ann", "c1"); err != nil {
		t.Fatalf("Answer: %v", err)
	}
	h.phones.leg(t, "ann", "c1")
	c, err := h.r.TalkingCall(h.ctx, "ann")
	if err != nil || c != q.c {
		t.Fatalf("talking agent: %v, %v; want the queued call", c, err)
	}
	var heard atomic.Int64
	remove := c.Taps.Add(call.TapFunc(func(dir call.Direction, f []int16) {
		if dir == call.FromCaller && len(f) > 0 && f[0] >= 100 && f[0] < 150 {
			heard.Add(1)
		}
	}))
	defer remove()
	deadline := time.Now().Add(10 * time.Second)
	for heard.Load() < 5 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if heard.Load() < 5 {
		t.Fatalf("the tap heard %d frames of the caller's speech", heard.Load())
	}
	if err := h.r.Hangup(h.ctx, "ann", "c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := q.wait(t); err != nil {
		t.Fatal(err)
	}
	if _, err := h.r.TalkingCall(h.ctx, "ann"); !errors.Is(err, ErrNotTalking) {
		t.Fatalf("agent in wrap-up: %v, want ErrNotTalking", err)
	}
}
