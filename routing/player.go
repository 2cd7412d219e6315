package routing

import (
	"context"

	"github.com/voxdesk/voxdesk/call"
)

// player plays announcements to a queued caller in order, with hold music
// in between, in a goroutine of its own so the caller's goroutine stays
// free to react to agents and key presses.
type player struct {
	cancel context.CancelFunc
	done   chan struct{}
	in     *mailbox[Announcement]
}

func (r *Router) startPlayer(ctx context.Context, leg call.Leg) *player {
	if r.ann == nil {
		return nil
	}
	pctx, cancel := context.WithCancel(ctx)
	p := &player{cancel: cancel, done: make(chan struct{}), in: newMailbox[Announcement]()}
	go p.run(pctx, r.ann, leg)
	return p
}

func (p *player) say(a Announcement) {
	if p != nil {
		p.in.put(a)
	}
}

// stop interrupts what is playing and waits for the player to end.
func (p *player) stop() {
	if p != nil {
		p.cancel()
		<-p.done
	}
}

func (p *player) run(ctx context.Context, ann Announcer, leg call.Leg) {
	defer close(p.done)
	for ctx.Err() == nil {
		for _, a := range p.in.take() {
			if ctx.Err() != nil {
				return
			}
			_ = ann.Announce(ctx, leg, a) // a caller who hung up is seen by the router
		}
		hctx, hcancel := context.WithCancel(ctx)
		held := make(chan struct{})
		go func() {
			defer close(held)
			_ = ann.Announce(hctx, leg, Announcement{Kind: AnnounceHold})
		}()
		select {
		case <-p.in.sig:
		case <-held:
			// No hold music: wait for the next message.
			select {
			case <-p.in.sig:
			case <-ctx.Done():
			}
		case <-ctx.Done():
		}
		hcancel()
		<-held
	}
}
