package media

import (
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// pacer drives the send side of RTPSessions from one goroutine:
// each 20 ms, on deadlines computed from its start on the monotonic
// clock (so a late wake-up does not shift later ticks), it lets each
// session send its packet. One timer for all calls instead of one per
// call keeps wake-ups at 50 per second whatever the number of calls,
// and each session's packets leave at a steady offset within the tick,
// which is what the peer's jitter measures.
//
// The goroutine runs while at least one session is registered.
type pacer struct {
	mu      sync.Mutex
	senders []*sender
	stop    chan struct{}
	done    chan struct{}
	count   atomic.Int32 // len(senders), readable without mu
}

// pacers are the shards sessions are spread over, one per processor
// (up to 8), so the sends of one tick run in parallel.
var pacers = func() []*pacer {
	ps := make([]*pacer, min(max(runtime.GOMAXPROCS(0), 1), 8))
	for i := range ps {
		ps[i] = new(pacer)
	}
	return ps
}()

// pickPacer returns the shard with the fewest sessions.
func pickPacer() *pacer {
	best := pacers[0]
	for _, p := range pacers[1:] {
		if p.count.Load() < best.count.Load() {
			best = p
		}
	}
	return best
}

// maxLag is how far behind its schedule the sender may fall (a stalled
// process, a loaded machine) and still catch up by sending the missed
// packets at once, which the peer's jitter buffer absorbs; beyond it the
// missed packets are skipped (the timestamp still follows the clock).
const maxLag = 10 * FrameDuration

// sendLateHook, when set (by tests before any session starts), sees how
// late each packet's tick ran after its due time.
var sendLateHook func(late time.Duration)

func (p *pacer) add(snd *sender) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.senders = append(p.senders, snd)
	p.count.Store(int32(len(p.senders)))
	if p.stop == nil {
		p.stop, p.done = make(chan struct{}), make(chan struct{})
		go p.run(p.stop, p.done)
	}
}

// remove unregisters snd; when it returns, snd's tick is not running and
// will not run again. The last removal stops the goroutine and waits
// for it.
func (p *pacer) remove(snd *sender) {
	p.mu.Lock()
	if i := slices.Index(p.senders, snd); i >= 0 {
		p.senders = slices.Delete(p.senders, i, i+1)
	}
	p.count.Store(int32(len(p.senders)))
	var stop, done chan struct{}
	if len(p.senders) == 0 && p.stop != nil {
		stop, done = p.stop, p.done
		p.stop, p.done = nil, nil
	}
	p.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
}

func (p *pacer) run(stop, done chan struct{}) {
	defer close(done)
	start := time.Now()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var n int64 // ticks so far: tick n is due at start + n*20ms
	for {
		due := start.Add(time.Duration(n) * FrameDuration)
		advance := int64(1)
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-stop:
				return
			}
		} else if -wait > maxLag {
			// Drift correction: rejoin the schedule rather than burst
			// more than maxLag; timestamps keep following the clock.
			lag := int64(-wait / FrameDuration)
			n += lag
			advance += lag
		}
		select {
		case <-stop:
			return
		default:
		}
		p.mu.Lock()
		for _, snd := range p.senders {
			if sendLateHook != nil {
				sendLateHook(time.Since(due))
			}
			snd.pace(advance)
		}
		p.mu.Unlock()
		n++
	}
}
