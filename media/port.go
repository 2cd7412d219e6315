package media

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
)

// ErrPortsExhausted is returned when every port of a PortRange is in use.
// A SIP front end answers the call 503.
var ErrPortsExhausted = errors.New("media: RTP port range exhausted")

// PortRange hands out UDP sockets on even ports (RTP convention, RFC 3550
// section 11) from [Min, Max], picked at random so that the port of the
// next call cannot be guessed from the last one (RFC 3550 section 8.1
// hardening against injection before the caller's first packet). Ports
// bound by other processes are skipped. It is safe for concurrent use.
type PortRange struct {
	min, max int
	mu       sync.Mutex
	used     map[int]bool
}

// NewPortRange returns an allocator over the even ports in [min, max].
func NewPortRange(min, max int) (*PortRange, error) {
	if min <= 0 || max > 65535 || min > max {
		return nil, fmt.Errorf("media: bad RTP port range %d-%d", min, max)
	}
	if min%2 == 1 {
		min++
	}
	if min > max {
		return nil, fmt.Errorf("media: RTP port range %d-%d has no even port", min, max)
	}
	return &PortRange{min: min, max: max, used: map[int]bool{}}, nil
}

// Size is the number of ports in the range.
func (r *PortRange) Size() int { return (r.max-r.min)/2 + 1 }

// InUse is the number of ports currently handed out.
func (r *PortRange) InUse() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.used)
}

// Listen binds a UDP socket on ip and a free port of the range, chosen
// at random.
// The returned Port's Close releases the port.
func (r *PortRange) Listen(ip netip.Addr) (*Port, error) {
	return r.listen(ip, false)
}

// ListenPair is Listen that also binds the following (odd) port for RTCP,
// in Port.RTCP (RFC 3550 section 11). Both ports are in the range.
func (r *PortRange) ListenPair(ip netip.Addr) (*Port, error) {
	return r.listen(ip, true)
}

func (r *PortRange) listen(ip netip.Addr, pair bool) (*Port, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var lastErr error
	// Probe every even port once, from a random start with a random
	// stride coprime with the range size, so consecutive calls get
	// unrelated ports.
	n := r.Size()
	start, stride := rand.IntN(n), randomStride(n)
	for i := range n {
		p := r.min + 2*((start+i*stride)%n)
		if r.used[p] || (pair && p+1 > r.max) {
			continue
		}
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(p))))
		if err != nil {
			lastErr = err // in use by someone else: try the next one
			continue
		}
		var rtcp *net.UDPConn
		if pair {
			rtcp, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(p+1))))
			if err != nil {
				c.Close()
				lastErr = err
				continue
			}
		}
		r.used[p] = true
		return &Port{UDPConn: c, RTCP: rtcp, r: r, port: p}, nil
	}
	if lastErr != nil {
		return nil, fmt.Errorf("%w (last bind error: %v)", ErrPortsExhausted, lastErr)
	}
	return nil, ErrPortsExhausted
}

// randomStride is a random step in [1, n) coprime with n (1 when n < 3),
// so that k*stride mod n visits all n slots.
func randomStride(n int) int {
	if n < 3 {
		return 1
	}
	for {
		st := 1 + rand.IntN(n-1)
		if gcd(st, n) == 1 {
			return st
		}
	}
}

func (r *PortRange) release(p int) {
	r.mu.Lock()
	delete(r.used, p)
	r.mu.Unlock()
}

// Port is a UDP socket from a PortRange; Close releases the port.
type Port struct {
	*net.UDPConn
	// RTCP is the socket on the next port, from ListenPair (else nil).
	RTCP *net.UDPConn
	r    *PortRange
	port int
	once sync.Once
}

// Number is the port number.
func (p *Port) Number() int { return p.port }

// Close closes the socket and returns the port to the range.
func (p *Port) Close() error {
	err := net.ErrClosed
	p.once.Do(func() {
		err = p.UDPConn.Close()
		if p.RTCP != nil {
			_ = p.RTCP.Close() // an RTPSession may have closed it already
		}
		p.r.release(p.port)
	})
	return err
}
