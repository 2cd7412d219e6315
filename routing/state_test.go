package routing

import (
	"context"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestStateIsPlainData keeps the calls' and agents' routing state free of
// pointers, channels and functions, so it can move to a store shared by
// several switches.
func TestStateIsPlainData(t *testing.T) {
	var check func(path string, tp reflect.Type)
	check = func(path string, tp reflect.Type) {
		switch tp.Kind() {
		case reflect.Pointer, reflect.Chan, reflect.Func, reflect.Interface, reflect.UnsafePointer:
			t.Errorf("%s is a %s: state must be plain data", path, tp)
		case reflect.Struct:
			if tp == reflect.TypeOf(time.Time{}) {
				return // a value; its zone pointer is shared, read-only data
			}
			for i := range tp.NumField() {
				f := tp.Field(i)
				check(path+"."+f.Name, f.Type)
			}
		case reflect.Slice, reflect.Array:
			check(path+"[]", tp.Elem())
		case reflect.Map:
			check(path+"[key]", tp.Key())
			check(path+"[]", tp.Elem())
		}
	}
	check("entryData", reflect.TypeOf(entryData{}))
	check("agentData", reflect.TypeOf(agentData{}))
}

func TestStateMoves(t *testing.T) {
	tests := []struct {
		name    string
		from    callState
		to      callState
		allowed bool
	}{
		{"waiting call is offered", callWaiting, callOffered, true},
		{"declined offer waits again", callOffered, callWaiting, true},
		{"answered offer talks", callOffered, callTalking, true},
		{"answered call-back dials", callOffered, callDialling, true},
		{"dialled customer talks", callDialling, callTalking, true},
		{"lost agent re-queues", callTalking, callWaiting, true},
		{"caller hangs up while waiting", callWaiting, callEnded, true},
		{"waiting call cannot talk without an offer", callWaiting, callTalking, false},
		{"waiting call cannot dial without an offer", callWaiting, callDialling, false},
		{"ended call stays ended", callEnded, callWaiting, false},
		{"talking call is not offered", callTalking, callOffered, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := New(salesConfig())
			if err != nil {
				t.Fatal(err)
			}
			e := &entry{log: slog.New(slog.DiscardHandler), entryData: entryData{id: "c1", state: tc.from}}
			r.setCall(e, tc.to, "ann")
			if bad := r.badMoves.Load() != 0; bad == tc.allowed {
				t.Fatalf("%s -> %s: flagged %v, want allowed %v", tc.from, tc.to, bad, tc.allowed)
			}
			if e.state != tc.to {
				t.Fatalf("state %s, want %s", e.state, tc.to)
			}
		})
	}
	t.Run("agent moves", func(t *testing.T) {
		for _, m := range []struct {
			from, to State
			allowed  bool
		}{
			{StateAvailable, StateOffered, true},
			{StateOffered, StateBusy, true},
			{StateBusy, StateWrapUp, true},
			{StateAway, StateOffered, false},
			{StateWrapUp, StateBusy, false},
			{StateLoggedOut, StateAvailable, false},
			{StateBusy, StateAvailable, true}, // a consultation over without the caller
		} {
			r, err := New(salesConfig())
			if err != nil {
				t.Fatal(err)
			}
			a := &agent{agentData: agentData{info: AgentInfo{ID: "ann"}, state: m.from}}
			r.agents["ann"] = a
			r.setState(a, m.to, "")
			if bad := r.badMoves.Load() != 0; bad == m.allowed {
				t.Errorf("%s -> %s: flagged %v, want allowed %v", m.from, m.to, bad, m.allowed)
			}
		}
	})
}

func TestConsultMoves(t *testing.T) {
	for _, m := range []struct {
		name     string
		from, to consultState
		allowed  bool
	}{
		{"an agent asks for a consultation", consultNone, consultRinging, true},
		{"the consulted agent answers", consultRinging, consultTalking, true},
		{"declined, missed or cancelled while ringing", consultRinging, consultNone, true},
		{"completed, cancelled or ended after answering", consultTalking, consultNone, true},
		{"nobody talks before being rung", consultNone, consultTalking, false},
		{"an answered consultation does not ring again", consultTalking, consultRinging, false},
	} {
		r, err := New(salesConfig())
		if err != nil {
			t.Fatal(err)
		}
		e := &entry{log: slog.New(slog.DiscardHandler), entryData: entryData{id: "c1", consult: consultData{state: m.from}}}
		r.setConsult(e, m.to)
		if bad := r.badMoves.Load() != 0; bad == m.allowed {
			t.Errorf("%s: %s -> %s flagged %v, want allowed %v", m.name, m.from, m.to, bad, m.allowed)
		}
	}
}

// TestSetPhones: the phones can be plugged in after New (the agent API is
// built with the Router, then becomes its Phones), never once Run started.
func TestSetPhones(t *testing.T) {
	r, err := New(salesConfig())
	if err != nil {
		t.Fatal(err)
	}
	phones := newFakePhones()
	if err := r.SetPhones(phones); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- r.Run(ctx) }()
	if err := r.Login(ctx, AgentInfo{ID: "ann"}); err != nil { // the loop runs: Run had its phones
		t.Fatal(err)
	}
	if err := r.SetPhones(newFakePhones()); err == nil {
		t.Fatal("SetPhones after Run accepted")
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-ran; err != nil {
		t.Fatalf("Run = %v", err)
	}
	goleak.VerifyNone(t)
}
