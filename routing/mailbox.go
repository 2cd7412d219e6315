package routing

import "sync"

// mailbox is an unbounded FIFO with a wake-up channel, so the loop can
// hand work to another goroutine without ever blocking on it.
type mailbox[T any] struct {
	mu  sync.Mutex
	q   []T
	sig chan struct{}
}

func newMailbox[T any]() *mailbox[T] { return &mailbox[T]{sig: make(chan struct{}, 1)} }

func (m *mailbox[T]) put(v T) {
	m.mu.Lock()
	m.q = append(m.q, v)
	m.mu.Unlock()
	select {
	case m.sig <- struct{}{}:
	default:
	}
}

// take returns everything queued so far.
func (m *mailbox[T]) take() []T {
	m.mu.Lock()
	defer m.mu.Unlock()
	q := m.q
	m.q = nil
	return q
}
