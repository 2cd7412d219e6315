package service

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
)

// maxRequestBody bounds any request body the HTTP server reads; the API
// handlers bound theirs tighter (agentapi).
const maxRequestBody = 1 << 20

// guardHost refuses requests whose Host is not one of the server's names
// (DNS rebinding: a site whose name resolves to this address would
// otherwise be same-origin with the pages, WebSockets included). IP
// literals and localhost always pass; names must be listed in http.hosts.
// Bodies are capped at maxRequestBody.
func guardHost(hosts []string, next http.Handler) http.Handler {
	allowed := map[string]bool{"localhost": true}
	for _, h := range hosts {
		allowed[strings.ToLower(h)] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.ToLower(strings.TrimSuffix(host, "."))
		_, ipErr := netip.ParseAddr(strings.Trim(host, "[]"))
		// No Host at all (HTTP/1.0 probes) is no browser's: it passes.
		if ipErr != nil && host != "" && !allowed[host] {
			http.Error(w, "unknown host name (add it to http.hosts)\n", http.StatusMisdirectedRequest)
			return
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, maxRequestBody)
		}
		next.ServeHTTP(w, r)
	})
}

// capListener refuses connections from a source address (IPv6: its /64)
// that already holds max open connections: they are accepted and closed
// at once, while other addresses are served. (netutil.LimitListener caps
// only the total.)
type capListener struct {
	net.Listener
	max int

	mu      sync.Mutex
	open    map[string]int
	refused int // connections closed at accept
}

func newCapListener(l net.Listener, max int) *capListener {
	return &capListener{Listener: l, max: max, open: map[string]int{}}
}

// Accept returns the next connection whose address is under its cap.
func (l *capListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key := addrKey(c.RemoteAddr())
		l.mu.Lock()
		over := l.open[key] >= l.max
		if over {
			l.refused++
		} else {
			l.open[key]++
		}
		l.mu.Unlock()
		if over {
			c.Close()
			continue
		}
		return &cappedConn{Conn: c, l: l, key: key}, nil
	}
}

// Refused is how many connections were closed at accept for their
// address's cap.
func (l *capListener) Refused() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.refused
}

func (l *capListener) release(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[key]--; l.open[key] <= 0 {
		delete(l.open, key)
	}
}

func addrKey(a net.Addr) string {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return a.String()
	}
	ip := ap.Addr().Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// cappedConn gives its slot back once, on Close.
type cappedConn struct {
	net.Conn
	l    *capListener
	key  string
	once sync.Once
}

func (c *cappedConn) Close() error {
	c.once.Do(func() { c.l.release(c.key) })
	return c.Conn.Close()
}
