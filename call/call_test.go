package call_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/call/calltest"
)

func TestRejectError(t *testing.T) {
	base := errors.New("port range exhausted")
	err := error(&call.RejectError{Cause: call.CauseUnavailable, Reason: "busy here", Err: base})
	var rej *call.RejectError
	if !errors.As(err, &rej) || rej.Cause != call.CauseUnavailable {
		t.Fatalf("errors.As = %v", err)
	}
	if !errors.Is(err, base) {
		t.Fatalf("Unwrap lost the cause")
	}
	if got, want := err.Error(), "call: rejected (unavailable): busy here: port range exhausted"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
}

func TestCauseString(t *testing.T) {
	for c, want := range map[call.Cause]string{call.CauseNormal: "normal", call.CauseCancelled: "cancelled", call.Cause(99): "cause(99)"} {
		if got := c.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(c), got, want)
		}
	}
}

func TestVars(t *testing.T) {
	c := call.New("c1", calltest.NewLeg(), nil)
	c.SetVar(call.VarCustomer, "42")
	if v, ok := c.Var(call.VarCustomer); !ok || v != "42" {
		t.Fatalf("Var = %q %v", v, ok)
	}
	vars := c.Vars()
	vars[call.VarCustomer] = "changed"
	if v, _ := c.Var(call.VarCustomer); v != "42" {
		t.Fatalf("Vars() is not a copy")
	}
}

func TestBridgeCopiesBothWaysUntilHangup(t *testing.T) {
	speechA := make([]int16, 5*call.FrameSamples)
	for i := range speechA {
		speechA[i] = int16(i%100 + 1)
	}
	a := calltest.NewLeg(calltest.Event{Speech: speechA}, calltest.Event{At: 300 * time.Millisecond, Hangup: true})
	b := calltest.NewLeg(calltest.Event{At: 3 * time.Second, Hangup: true})
	a.Pace, b.Pace = true, true
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ended, err := call.Bridge(ctx, a, b)
	if err != nil {
		t.Fatalf("Bridge: %v", err)
	}
	if ended != a {
		t.Fatalf("ended = %v, want leg a", ended)
	}
	got := b.Written()
	if len(got) < len(speechA) {
		t.Fatalf("b received %d samples, want at least %d", len(got), len(speechA))
	}
	for i, s := range speechA {
		if got[i] != s {
			t.Fatalf("sample %d = %d, want %d", i, got[i], s)
		}
	}
}

func TestHandlerFunc(t *testing.T) {
	var served string
	h := call.HandlerFunc(func(ctx context.Context, c *call.Call) error { served = c.ID; return call.Reject(call.CauseBusy, "") })
	err := h.ServeCall(context.Background(), call.New("x", calltest.NewLeg(), nil))
	var rej *call.RejectError
	if served != "x" || !errors.As(err, &rej) || rej.Cause != call.CauseBusy {
		t.Fatalf("served %q err %v", served, err)
	}
}

// A tap sees each direction's frames and may change them on their way:
// here it adds 1000 to what goes to the agent (a whisper would add a
// voice) and records what the agent said; after remove it sees nothing.
func TestTapsSeeAndChangeFramesEachWay(t *testing.T) {
	speechA := make([]int16, 5*call.FrameSamples)
	for i := range speechA {
		speechA[i] = 7
	}
	speechB := make([]int16, 3*call.FrameSamples)
	for i := range speechB {
		speechB[i] = -5
	}
	a := calltest.NewLeg(calltest.Event{Speech: speechA}, calltest.Event{At: 400 * time.Millisecond, Hangup: true})
	b := calltest.NewLeg(calltest.Event{Speech: speechB}, calltest.Event{At: 3 * time.Second, Hangup: true})
	a.Pace, b.Pace = true, true
	var mu sync.Mutex
	seen := map[call.Direction][]int16{}
	var ts call.Taps
	remove := ts.Add(call.TapFunc(func(dir call.Direction, f []int16) {
		mu.Lock()
		seen[dir] = append(seen[dir], f...)
		mu.Unlock()
		if dir == call.FromCaller {
			for i := range f {
				f[i] += 1000
			}
		}
	}))
	if ts.Len() != 1 {
		t.Fatalf("Len = %d, want 1", ts.Len())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := ts.Bridge(ctx, a, b); err != nil {
		t.Fatalf("Bridge: %v", err)
	}
	got := b.Written()
	if len(got) < len(speechA) || got[0] != 1007 || got[len(speechA)-1] != 1007 {
		t.Fatalf("agent heard %d samples starting %v, want the caller's 7 plus 1000", len(got), got[:min(3, len(got))])
	}
	mu.Lock()
	heard := seen[call.ToCaller]
	mu.Unlock()
	if len(heard) < len(speechB) || heard[0] != -5 {
		t.Fatalf("tap saw %d samples from the agent starting %v, want -5", len(heard), heard[:min(3, len(heard))])
	}
	remove()
	remove()
	if ts.Len() != 0 {
		t.Fatalf("Len after remove = %d, want 0", ts.Len())
	}
}

// An observer sees frames as the leg sent them, before a tap added
// earlier with Add changed them.
func TestObserversSeeFramesBeforeChangers(t *testing.T) {
	var ts call.Taps
	var mu sync.Mutex
	var order []string
	var seen []int16
	ts.Add(call.TapFunc(func(dir call.Direction, f []int16) {
		if dir == call.FromCaller {
			mu.Lock()
			order = append(order, "change")
			mu.Unlock()
			f[0] = 99
		}
	}))
	ts.Observe(call.TapFunc(func(dir call.Direction, f []int16) {
		if dir == call.FromCaller {
			mu.Lock()
			order, seen = append(order, "observe"), append(seen, f[0])
			mu.Unlock()
		}
	}))
	speech := make([]int16, call.FrameSamples)
	speech[0] = 5
	a := calltest.NewLeg(calltest.Event{Speech: speech}, calltest.Event{At: 100 * time.Millisecond, Hangup: true})
	b := calltest.NewLeg(calltest.Event{At: 3 * time.Second, Hangup: true})
	a.Pace, b.Pace = true, true
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := ts.Bridge(ctx, a, b); err != nil {
		t.Fatalf("Bridge: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(order) < 2 || order[0] != "observe" || order[1] != "change" || seen[0] != 5 {
		t.Fatalf("order %v, observer saw %v; want the observer first, seeing the caller's 5", order, seen)
	}
	if got := b.Written(); len(got) == 0 || got[0] != 99 {
		t.Fatalf("agent heard %v, want the changed 99 first", got[:min(1, len(got))])
	}
}
