package call

import (
	"context"
	"errors"
)

// Bridge copies audio both ways between a and b until either leg ends or
// ctx is done, then returns the leg that ended first (nil when ctx ended
// it). It hangs up neither leg: the caller decides what happens next.
func Bridge(ctx context.Context, a, b Leg) (ended Leg, err error) {
	return (*Taps)(nil).Bridge(ctx, a, b)
}

// Bridge is the package's Bridge with the taps in ts seeing every frame:
// a is the customer (FromCaller frames are read from a), b the agent.
func (ts *Taps) Bridge(ctx context.Context, a, b Leg) (ended Leg, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	go func() { errc <- ts.pump(ctx, FromCaller, a, b) }()
	go func() { errc <- ts.pump(ctx, ToCaller, b, a) }()
	select {
	case <-a.Done():
		ended = a
	case <-b.Done():
		ended = b
	case <-ctx.Done():
	}
	cancel()
	for range 2 {
		if e := <-errc; e != nil && !errors.Is(e, context.Canceled) && !errors.Is(e, ErrHangup) {
			err = e
		}
	}
	return ended, err
}

func (ts *Taps) pump(ctx context.Context, dir Direction, from, to Leg) error {
	buf := make([]int16, FrameSamples)
	for {
		n, err := from.ReadAudio(ctx, buf)
		if err != nil {
			return err
		}
		ts.frame(dir, buf[:n])
		if err := to.WriteAudio(ctx, buf[:n]); err != nil {
			return err
		}
	}
}
