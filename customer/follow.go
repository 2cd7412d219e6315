package customer

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
)

// notifyChannel is the PostgreSQL channel every committed change is
// announced on (payload empty: listeners re-read the feed).
const notifyChannel = "voxdesk_changes"

// ChangeFeed is the part of Store that Follow reads.
type ChangeFeed interface {
	Changes(ctx context.Context, since int64, limit int) ([]Change, error)
}

// Follow calls fn for every change after since, in order, until ctx is
// done or fn fails. It returns the sequence number of the last change fn
// accepted, so a caller can resume from there, and the error that stopped
// it (ctx.Err() when cancelled). A failed poll is retried later.
//
// The feed is polled every interval (default 1 s). When feed is a *DB on
// PostgreSQL, Follow also LISTENs for the notification each change sends
// on commit and polls at once when one arrives, so other nodes learn of an
// enrolment within milliseconds; the polling stays as the fallback (a
// connection pooler without LISTEN, a lost listening connection).
//
// To keep an in-memory index in step: note LastChange, load
// AllVoiceprints, then Follow from the noted sequence number. Changes that
// landed in between are applied twice, which is harmless: every change
// says to re-read or to drop.
func Follow(ctx context.Context, feed ChangeFeed, since int64, interval time.Duration, fn func(Change) error) (int64, error) {
	if interval <= 0 {
		interval = time.Second
	}
	var wake <-chan struct{}
	if d, ok := feed.(*DB); ok && d.dialect.name == "postgres" {
		lctx, stop := context.WithCancel(ctx)
		w, done := d.listen(lctx)
		defer func() { stop(); <-done }()
		wake = w
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		cs, err := feed.Changes(ctx, since, 1000)
		if err != nil && ctx.Err() != nil {
			return since, ctx.Err()
		}
		for _, c := range cs {
			if err := fn(c); err != nil {
				return since, err
			}
			since = c.Seq
		}
		if err == nil && len(cs) == 1000 {
			continue // more are waiting
		}
		select {
		case <-ctx.Done():
			return since, ctx.Err()
		case <-t.C:
		case <-wake:
		}
	}
}

// listen holds one connection LISTENing on notifyChannel until ctx ends.
// It returns once the LISTEN is in place (or has failed: then wake never
// fires and Follow just polls), with a channel that receives when a
// notification arrives and one closed when the listener has stopped.
func (d *DB) listen(ctx context.Context) (wake <-chan struct{}, done <-chan struct{}) {
	w := make(chan struct{}, 1)
	stopped := make(chan struct{})
	ready := make(chan struct{})
	isReady := sync.OnceFunc(func() { close(ready) })
	go func() {
		defer close(stopped)
		defer isReady() // on every early return
		conn, err := d.db.Conn(ctx)
		if err != nil {
			d.log.Warn("customer: change feed: no connection to LISTEN on; polling only", "err", err)
			return
		}
		defer conn.Close()
		err = conn.Raw(func(dc any) error {
			pc := dc.(*stdlib.Conn).Conn()
			if _, err := pc.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
				return err
			}
			isReady()
			for {
				if _, err := pc.WaitForNotification(ctx); err != nil {
					return err
				}
				select {
				case w <- struct{}{}:
				default: // a wake-up is already pending
				}
			}
		})
		if ctx.Err() == nil {
			d.log.Warn("customer: change feed: LISTEN stopped; polling only", "err", err)
		}
		// A connection cut by ctx is closed by pgx; database/sql drops it.
	}()
	<-ready
	return w, stopped
}
