package agentapi

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Rate is at most Count events per Per, counted in fixed windows aligned
// on multiples of Per (a Per of 24h is a UTC day).
type Rate struct {
	Count int           `yaml:"count"`
	Per   time.Duration `yaml:"per"`
}

func (r Rate) String() string { return fmt.Sprintf("%d per %v", r.Count, r.Per) }

func (r *Rate) fill(def Rate) {
	if r.Count == 0 && r.Per == 0 {
		*r = def
	}
}

func (r Rate) check(name string) error {
	if r.Count < 1 || r.Per <= 0 {
		return fmt.Errorf("agentapi: %s: count and per must be positive (have %v)", name, r)
	}
	return nil
}

// maxLimiterKeys bounds a limiter's memory under a spray of keys (source
// addresses, numbers): when full of live windows it refuses new keys.
const maxLimiterKeys = 100000

// limiter counts events per key (a source address, a phone number).
type limiter struct {
	rate Rate
	mu   sync.Mutex
	m    map[string]*window
}

type window struct {
	start   time.Time
	n       int
	refused int
}

func newLimiter(r Rate) *limiter { return &limiter{rate: r, m: map[string]*window{}} }

// allow counts one event of key at now and reports whether it is within
// the rate; when not, retry is how long until the window ends and first
// says whether this is the key's first refusal in the window (log that
// one only: a flood must not flood the log).
func (l *limiter) allow(key string, now time.Time) (ok bool, retry time.Duration, first bool) {
	start := now.Truncate(l.rate.Per)
	end := start.Add(l.rate.Per)
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.m[key]
	if w == nil || w.start.Before(start) {
		if w == nil && len(l.m) >= maxLimiterKeys {
			for k, old := range l.m {
				if old.start.Before(start) {
					delete(l.m, k)
				}
			}
			if len(l.m) >= maxLimiterKeys {
				return false, end.Sub(now), false
			}
		}
		w = &window{start: start}
		l.m[key] = w
	}
	if w.n >= l.rate.Count {
		w.refused++
		return false, end.Sub(now), w.refused == 1
	}
	w.n++
	return true, 0, false
}

// sourceKey is the key a request's source address is limited by: the IPv4
// address, or the /64 of an IPv6 one (one subscriber's LAN). The peer
// address is used as is: X-Forwarded-For and the like are not trusted.
func sourceKey(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// tooMany answers 429 with Retry-After.
func tooMany(w http.ResponseWriter, retry time.Duration, msg string) {
	w.Header().Set("Retry-After", strconv.Itoa(int(retry.Round(time.Second)/time.Second)+1))
	writeError(w, http.StatusTooManyRequests, msg)
}

// DefaultDenyPrefixes are the number ranges call-backs never dial unless
// the configuration allows a longer prefix inside them: premium-rate and
// pay-per-call ranges and international networks billed at satellite or
// premium rates, where a call-back would cost the operator money or pay
// an attacker.
var DefaultDenyPrefixes = []string{
	"+1900", "+1976", // NANP pay-per-call
	"+3389", "+3381", "+3382", // France: premium (08 9x) and shared-cost (08 1x, 08 2x)
	"+449",                 // UK 09 premium rate
	"+881", "+882", "+883", // global mobile satellite and international networks
	"+870",         // Inmarsat
	"+979", "+808", // international premium rate and shared cost
}

// numberPolicy decides which numbers a call-back may dial: the longest
// matching prefix of the allow and deny lists decides (an allow wins a
// tie: the operator's own setting beats the built-in list); when allow
// prefixes are set, a number matching none of them is refused.
type numberPolicy struct {
	allow, deny []string
}

func newNumberPolicy(allow, deny []string) (numberPolicy, error) {
	for _, list := range [][]string{allow, deny} {
		for _, p := range list {
			if !validPrefix(p) {
				return numberPolicy{}, fmt.Errorf("agentapi: webcall number prefix %q: want + and 1 to 15 digits, e.g. +33", p)
			}
		}
	}
	return numberPolicy{allow: allow, deny: append(append([]string(nil), DefaultDenyPrefixes...), deny...)}, nil
}

func validPrefix(p string) bool {
	d, ok := strings.CutPrefix(p, "+")
	if !ok || len(d) < 1 || len(d) > 15 {
		return false
	}
	for _, c := range d {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func longestPrefix(list []string, number string) int {
	n := -1
	for _, p := range list {
		if strings.HasPrefix(number, p) && len(p) > n {
			n = len(p)
		}
	}
	return n
}

// check returns why number may not be dialled, or nil.
func (p numberPolicy) check(number string) error {
	a, d := longestPrefix(p.allow, number), longestPrefix(p.deny, number)
	switch {
	case d > a:
		return fmt.Errorf("agentapi: call-backs to %s are not allowed (premium-rate or international range)", number)
	case len(p.allow) > 0 && a < 0:
		return fmt.Errorf("agentapi: call-backs to %s are not allowed (only %s)", number, strings.Join(p.allow, ", "))
	}
	return nil
}
