package sip

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"time"
)

// tcpListener guards SIP over TCP before sipgo reads it: at most
// TCPMaxPerAddr connections per source address (more are closed at
// once), and each connection is a tcpConn.
type tcpListener struct {
	net.Listener
	s *Server

	mu    sync.Mutex
	conns map[netip.Addr]int
}

func (s *Server) guardTCP(l net.Listener) *tcpListener {
	return &tcpListener{Listener: l, s: s, conns: map[netip.Addr]int{}}
}

// Accept returns the next connection under the per-address cap.
func (l *tcpListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ap, _ := netip.ParseAddrPort(c.RemoteAddr().String())
		ip := ap.Addr().Unmap()
		l.mu.Lock()
		if l.conns[ip] >= l.s.cfg.TCPMaxPerAddr {
			l.mu.Unlock()
			c.Close()
			l.s.shed(shedTCPCap, "tcp", c.RemoteAddr().String(), nil,
				"more than "+strconv.Itoa(l.s.cfg.TCPMaxPerAddr)+" connections from one address", false)
			continue
		}
		l.conns[ip]++
		l.mu.Unlock()
		tc := &tcpConn{Conn: c, s: l.s, src: ip, buf: make([]byte, 32<<10)}
		tc.release = func() {
			l.mu.Lock()
			if l.conns[ip]--; l.conns[ip] <= 0 {
				delete(l.conns, ip)
			}
			l.mu.Unlock()
		}
		return tc, nil
	}
}

// tcpConn frames the SIP messages of a stream (RFC 3261 section 18.3:
// headers up to the empty line, then Content-Length bytes), judges each
// whole message as UDP datagrams are judged (sanity checks, rate limit),
// and hands sipgo only the messages that pass. It closes a connection
// idle for TCPIdleTimeout, one whose message is not whole
// TCPHeaderTimeout after it began (a slow or half-sent request), and one
// whose framing is lost (no or bad Content-Length, a message over 64 KB).
type tcpConn struct {
	net.Conn
	s       *Server
	src     netip.Addr
	release func()
	once    sync.Once

	buf   []byte    // read scratch
	in    []byte    // received, not yet framed
	out   []byte    // judged messages for sipgo
	began time.Time // when the message in `in` began; zero when in is empty
}

// errFraming ends a connection whose message boundaries are lost.
var errFraming = errors.New("sip: tcp framing lost")

func (c *tcpConn) Read(b []byte) (int, error) {
	for len(c.out) == 0 {
		deadline := time.Now().Add(c.s.cfg.TCPIdleTimeout)
		if !c.began.IsZero() {
			deadline = c.began.Add(c.s.cfg.TCPHeaderTimeout)
		}
		_ = c.Conn.SetReadDeadline(deadline)
		n, err := c.Conn.Read(c.buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				problem := "idle"
				if !c.began.IsZero() {
					problem = "message not whole within the header timeout"
				}
				c.s.shed(shedTCPTimeout, "tcp", c.RemoteAddr().String(), c.in, problem, false)
				c.Close()
				return 0, io.EOF // sipgo logs EOF at debug, not as an error
			}
			return 0, err
		}
		if len(c.in) == 0 {
			c.began = time.Now()
		}
		c.in = append(c.in, c.buf[:n]...)
		if err := c.frame(); err != nil {
			c.Close()
			return 0, io.EOF
		}
	}
	n := copy(b, c.out)
	c.out = c.out[n:]
	return n, nil
}

// frame moves the whole messages at the front of c.in to c.out (or
// answers or drops them).
func (c *tcpConn) frame() error {
	for {
		// Keep-alives between messages (RFC 5626 section 3.5.1) go to
		// sipgo, which answers a double CRLF.
		k := 0
		for k+1 < len(c.in) && c.in[k] == '\r' && c.in[k+1] == '\n' {
			k += 2
		}
		if k > 0 {
			c.out = append(c.out, c.in[:k]...)
			c.in = c.in[k:]
		}
		if len(c.in) == 0 {
			c.began = time.Time{}
			return nil
		}
		end := bytes.Index(c.in, []byte("\r\n\r\n"))
		if end < 0 {
			if len(c.in) > maxMessage {
				c.s.shed(shedMalformed, "tcp", c.RemoteAddr().String(), c.in, "headers over 64 KB", false)
				return errFraming
			}
			return nil // wait for the rest of the headers
		}
		m, ok := scanMessage(c.in[:end+4])
		if !ok {
			c.s.shed(shedMalformed, "tcp", c.RemoteAddr().String(), c.in, "not a SIP message", false)
			return errFraming
		}
		cl, err := strconv.ParseInt(m.contentLength, 10, 64)
		if !m.hasCL || err != nil || cl < 0 || cl > maxMessage {
			// Without a length the next message cannot be found.
			problem := "Bad Content-Length"
			if !m.hasCL {
				problem = "Missing Content-Length"
			}
			var reply []byte
			if m.answerable() {
				reply = m.reply(400, problem, c.s.userAgent, c.s.retryAfter)
				_, _ = c.Conn.Write(reply)
			}
			c.s.shed(shedMalformed, "tcp", c.RemoteAddr().String(), c.in, problem, reply != nil)
			return errFraming
		}
		size := end + 4 + int(cl)
		if len(c.in) < size {
			return nil // wait for the body
		}
		msg := c.in[:size]
		reply, problem, shed := c.s.judge(msg, false, c.src)
		if shed == "" {
			c.out = append(c.out, msg...)
		} else {
			c.s.shed(shed, "tcp", c.RemoteAddr().String(), msg, problem, reply != nil)
			if reply != nil {
				_ = c.Conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
				_, _ = c.Conn.Write(reply)
				_ = c.Conn.SetWriteDeadline(time.Time{})
			}
		}
		c.in = c.in[size:]
		if len(c.in) > 0 {
			c.began = time.Now()
		}
	}
}

// Close closes the connection and frees its place under the cap.
func (c *tcpConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}
