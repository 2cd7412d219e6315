package agentapi

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/customer"
	"github.com/voxdesk/voxdesk/routing"
)

// fakeRouter records what the agent API asks of routing. Answer, when
// onAnswer is set, runs it on a goroutine the way the router obtains the
// agent leg after an answer.
type fakeRouter struct {
	mu       sync.Mutex
	calls    []string // "method agent call/arg"
	onAnswer func(agentID, callID string)
	onHangup func(agentID, callID string)
	wg       sync.WaitGroup
}

func (f *fakeRouter) record(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

func (f *fakeRouter) recorded() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeRouter) has(s string) bool {
	for _, c := range f.recorded() {
		if c == s {
			return true
		}
	}
	return false
}

func (f *fakeRouter) Login(ctx context.Context, info routing.AgentInfo) error {
	f.record("login %s", info.ID)
	return nil
}
func (f *fakeRouter) Logout(ctx context.Context, id string) error {
	f.record("logout %s", id)
	return nil
}
func (f *fakeRouter) SetState(ctx context.Context, id string, s routing.State, reason string) error {
	f.record("state %s %s", id, s)
	return nil
}
func (f *fakeRouter) Answer(ctx context.Context, id, callID string) error {
	f.record("answer %s %s", id, callID)
	if f.onAnswer != nil {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			f.onAnswer(id, callID)
		}()
	}
	return nil
}
func (f *fakeRouter) Decline(ctx context.Context, id, callID string) error {
	f.record("decline %s %s", id, callID)
	return nil
}
func (f *fakeRouter) Hangup(ctx context.Context, id, callID string) error {
	f.record("hangup %s %s", id, callID)
	if f.onHangup != nil {
		f.onHangup(id, callID)
	}
	return nil
}
func (f *fakeRouter) Transfer(ctx context.Context, id, callID, queue, toAgent string) error {
	f.record("transfer %s %s %s %s", id, callID, queue, toAgent)
	return nil
}
func (f *fakeRouter) Disconnected(ctx context.Context, id string) error {
	f.record("disconnected %s", id)
	return nil
}

// fakeDirectory serves fixed customer files and records wrap-ups.
type fakeDirectory struct {
	files map[string]CustomerFile
	mu    sync.Mutex
	wraps []WrapUp
}

func (d *fakeDirectory) File(ctx context.Context, id string) (CustomerFile, error) {
	f, ok := d.files[id]
	if !ok {
		return CustomerFile{}, ErrNoCustomer
	}
	return f, nil
}

func (d *fakeDirectory) Lookup(ctx context.Context, q string) ([]CustomerFile, error) {
	if f, ok := d.files[q]; ok {
		return []CustomerFile{f}, nil
	}
	return nil, nil
}

func (d *fakeDirectory) RecordWrapUp(ctx context.Context, w WrapUp) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.wraps = append(d.wraps, w)
	return nil
}

func (d *fakeDirectory) wrapUps() []WrapUp {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]WrapUp(nil), d.wraps...)
}

// fakeBio records enrolments and erasures.
type fakeBio struct {
	mu      sync.Mutex
	enrols  []string
	erasals []string
}

func (b *fakeBio) Enrol(ctx context.Context, customerID, callID, actor string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.enrols = append(b.enrols, customerID+" "+callID+" "+actor)
	return nil
}

func (b *fakeBio) Erase(ctx context.Context, customerID, actor string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if customerID == "missing" {
		// What the service's store answers for an unknown customer.
		return fmt.Errorf("customer: erase biometrics of %q: %w", customerID, fmt.Errorf("customer %q: %w", customerID, customer.ErrNotFound))
	}
	b.erasals = append(b.erasals, customerID+" "+actor)
	return nil
}

var _ call.Handler = call.HandlerFunc(nil)

func mustHash(t testing.TB, pw string) string {
	t.Helper()
	h, err := hashPassword(pw, 4) // bcrypt.MinCost: fast tests
	if err != nil {
		t.Fatal(err)
	}
	return h
}
