package sip

import (
	"context"
	"net/netip"
	"sync"

	"github.com/emiago/sipgo/sip"
	"github.com/voxdesk/voxdesk/media/dtmf"
	"github.com/voxdesk/voxdesk/media/sdp"
)

// fakeMedia is a Media without sockets, for tests of the signalling.
type fakeMedia struct {
	mu      sync.Mutex
	updates []sdp.Media
	closed  chan struct{}
	once    sync.Once
	digits  chan dtmf.Digit
}

func newFakeMedia() *fakeMedia {
	return &fakeMedia{closed: make(chan struct{}), digits: make(chan dtmf.Digit)}
}

func (m *fakeMedia) LocalAddr() netip.AddrPort { return netip.MustParseAddrPort("127.0.0.1:40000") }
func (m *fakeMedia) Update(n sdp.Media) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.updates = append(m.updates, n)
	return nil
}
func (m *fakeMedia) ReadAudio(ctx context.Context, dst []int16) (int, error) {
	select {
	case <-m.closed:
		return 0, context.Canceled
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}
func (m *fakeMedia) WriteAudio(ctx context.Context, frame []int16) error {
	select {
	case <-m.closed:
		return context.Canceled
	case <-ctx.Done():
		return ctx.Err()
	}
}
func (m *fakeMedia) Digits() <-chan dtmf.Digit { return m.digits }
func (m *fakeMedia) Inactive() <-chan struct{} { return nil }
func (m *fakeMedia) Close() error {
	m.once.Do(func() { close(m.closed) })
	return nil
}

// fakeTx is a server transaction that records the responses.
type fakeTx struct {
	mu    sync.Mutex
	resps []*sip.Response
	done  chan struct{}
}

func newFakeTx() *fakeTx { return &fakeTx{done: make(chan struct{})} }

func (t *fakeTx) Respond(res *sip.Response) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.resps = append(t.resps, res)
	return nil
}
func (t *fakeTx) codes() []int {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []int
	for _, r := range t.resps {
		out = append(out, r.StatusCode)
	}
	return out
}
func (t *fakeTx) Acks() <-chan *sip.Request            { return nil }
func (t *fakeTx) OnCancel(f sip.FnTxCancel) bool       { return true }
func (t *fakeTx) Terminate()                           {}
func (t *fakeTx) OnTerminate(f sip.FnTxTerminate) bool { return true }
func (t *fakeTx) Done() <-chan struct{}                { return t.done }
func (t *fakeTx) Err() error                           { return nil }

var _ sip.ServerTransaction = (*fakeTx)(nil)
