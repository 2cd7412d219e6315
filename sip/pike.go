package sip

import (
	"net/netip"
	"sync"
	"time"
)

// pike limits, per source address, the rate of the requests that cost us
// most and that floods are made of (initial INVITE, OPTIONS, REGISTER),
// like Kamailio's pike module: a token bucket of rate per second and a
// burst of twice that. A request over the limit is answered 503 with
// Retry-After while a second bucket of the same rate allows, so a flood
// does not turn us into a reflector, and dropped beyond. Other sources
// are not affected.
type pike struct {
	rate  float64 // tokens per second
	burst float64

	mu        sync.Mutex
	buckets   map[netip.Addr]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens, replies float64
	last            time.Time
}

// maxPikeSources bounds the table; beyond it, it is swept at once.
const maxPikeSources = 100000

func newPike(rate int) *pike {
	return &pike{rate: float64(rate), burst: 2 * float64(rate), buckets: map[netip.Addr]*bucket{}}
}

// allow takes a token for a request from src. When there is none,
// reply says whether to answer 503 (or drop silently).
func (p *pike) allow(src netip.Addr, now time.Time) (ok, reply bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if now.Sub(p.lastSweep) > 10*time.Second || len(p.buckets) >= maxPikeSources {
		p.sweep(now)
	}
	b := p.buckets[src]
	if b == nil {
		b = &bucket{tokens: p.burst, replies: p.rate, last: now}
		p.buckets[src] = b
	}
	dt := now.Sub(b.last).Seconds()
	b.last = now
	b.tokens = min(p.burst, b.tokens+dt*p.rate)
	b.replies = min(p.rate, b.replies+dt*p.rate)
	if b.tokens >= 1 {
		b.tokens--
		return true, false
	}
	if b.replies >= 1 {
		b.replies--
		return false, true
	}
	return false, false
}

// sweep forgets sources whose buckets have refilled (idle long enough).
func (p *pike) sweep(now time.Time) {
	p.lastSweep = now
	full := time.Duration(p.burst/p.rate*float64(time.Second)) + time.Second
	for a, b := range p.buckets {
		if now.Sub(b.last) > full || len(p.buckets) >= maxPikeSources {
			delete(p.buckets, a)
		}
	}
}
