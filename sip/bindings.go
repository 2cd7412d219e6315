package sip

import (
	"context"
	"sort"
	"sync"
	"time"
)

// MemoryBindings keeps registrations in the process (Bindings).
type MemoryBindings struct {
	mu  sync.Mutex
	aor map[string][]Binding
}

var _ Bindings = (*MemoryBindings)(nil)

// NewMemoryBindings returns an empty store.
func NewMemoryBindings() *MemoryBindings { return &MemoryBindings{aor: map[string][]Binding{}} }

func live(bs []Binding, now time.Time) []Binding {
	var out []Binding
	for _, b := range bs {
		if b.Expires.After(now) {
			out = append(out, b)
		}
	}
	return out
}

// Update implements Bindings.
func (m *MemoryBindings) Update(_ context.Context, aor string, now time.Time, f func([]Binding) ([]Binding, error)) ([]Binding, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out, err := f(live(m.aor[aor], now))
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		delete(m.aor, aor)
		return nil, nil
	}
	m.aor[aor] = append([]Binding(nil), out...)
	return out, nil
}

// Lookup implements Bindings.
func (m *MemoryBindings) Lookup(_ context.Context, aor string, now time.Time) ([]Binding, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return live(m.aor[aor], now), nil
}

// Expire implements Bindings.
func (m *MemoryBindings) Expire(_ context.Context, now time.Time) ([]Binding, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var gone []Binding
	for aor, bs := range m.aor {
		keep := live(bs, now)
		for _, b := range bs {
			if !b.Expires.After(now) {
				gone = append(gone, b)
			}
		}
		if len(keep) == 0 {
			delete(m.aor, aor)
		} else {
			m.aor[aor] = keep
		}
	}
	return gone, nil
}

// All implements Bindings, sorted by agent.
func (m *MemoryBindings) All(_ context.Context, now time.Time) ([]Binding, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Binding
	for _, bs := range m.aor {
		out = append(out, live(bs, now)...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].AOR < out[j].AOR })
	return out, nil
}
