package sip

import (
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

func sanityRequest(firstLine, cseq, contentLength, body string) string {
	return firstLine + "\r\n" +
		"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1\r\n" +
		"f: <sip:a@127.0.0.1>;tag=x\r\n" +
		"To: <sip:b@127.0.0.1>\r\n" +
		"i: c-1\r\n" +
		"CSeq: " + cseq + "\r\n" +
		"Content-Length: " + contentLength + "\r\n\r\n" + body
}

// The sanity checks, one case per rule (compact header forms included).
func TestSanitize(t *testing.T) {
	s := newTestServer(t, rejecting, Config{})
	for _, tc := range []struct {
		name   string
		msg    string
		status int // 0: passed on (pass) or dropped (!pass)
		pass   bool
	}{
		{"well-formed OPTIONS passes", sanityRequest("OPTIONS sip:b@127.0.0.1 SIP/2.0", "1 OPTIONS", "0", ""), 0, true},
		{"body shorter than Content-Length over a stream passes to the framer", sanityRequest("OPTIONS sip:b@127.0.0.1 SIP/2.0", "1 OPTIONS", "0", ""), 0, true},
		{"negative Content-Length", sanityRequest("OPTIONS sip:b@127.0.0.1 SIP/2.0", "1 OPTIONS", "-1", ""), 400, false},
		{"Content-Length beyond the datagram", sanityRequest("OPTIONS sip:b@127.0.0.1 SIP/2.0", "1 OPTIONS", "10", "abc"), 400, false},
		{"CSeq 2^32", sanityRequest("OPTIONS sip:b@127.0.0.1 SIP/2.0", "4294967296 OPTIONS", "0", ""), 400, false},
		{"CSeq method differs", sanityRequest("INVITE sip:b@127.0.0.1 SIP/2.0", "1 BYE", "0", ""), 400, false},
		{"lowercase method is not the CSeq's", sanityRequest("invite sip:b@127.0.0.1 SIP/2.0", "1 INVITE", "0", ""), 400, false},
		{"SIP/3.0", sanityRequest("OPTIONS sip:b@127.0.0.1 SIP/3.0", "1 OPTIONS", "0", ""), 505, false},
		{"ACK is never answered", sanityRequest("ACK sip:b@127.0.0.1 SIP/2.0", "1 INVITE", "0", ""), 0, false},
		{"a response passes", "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>;tag=2\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n", 0, true},
		{"a malformed response is dropped", "SIP/2.0 200 OK\r\nCSeq: x\r\n\r\n", 0, false},
		{"garbage is dropped", "\x16\x03\x01 hello", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reply, problem, pass := s.sanitize([]byte(tc.msg), true)
			if pass != tc.pass {
				t.Fatalf("pass %v (problem %q), want %v", pass, problem, tc.pass)
			}
			if tc.status == 0 {
				if reply != nil {
					t.Fatalf("answered %q", reply)
				}
				return
			}
			// The copied headers may be the bad ones (a CSeq of 2^32):
			// read the reply as text.
			status, rest, _ := strings.Cut(string(reply), "\r\n")
			if want := fmt.Sprintf("SIP/2.0 %d ", tc.status); !strings.HasPrefix(status, want) || len(status) == len(want) {
				t.Fatalf("reply %q, want %d with a reason", status, tc.status)
			}
			if !regexp.MustCompile(`(?m)^To: .*;tag=[0-9a-f]+\r$`).MatchString(rest) {
				t.Errorf("reply without a To tag:\n%s", reply)
			}
		})
	}
}

// Whatever arrives, sanitize never panics, and what it answers is a
// well-formed 400 or 505.
func FuzzSanitize(f *testing.F) {
	f.Add([]byte(sanityRequest("OPTIONS sip:b@127.0.0.1 SIP/2.0", "1 OPTIONS", "0", "")))
	f.Add([]byte(sanityRequest("INVITE sip:b@127.0.0.1 SIP/3.0", "1 BYE", "-4", "v=0")))
	f.Add([]byte("A B SIP/2.0\r\nv: x\r\nf: y\r\nt: z\r\ni: 1\r\nCSeq: 1 A\r\n\r\n"))
	s := newTestServer(f, rejecting, Config{})
	f.Fuzz(func(t *testing.T, data []byte) {
		reply, _, pass := s.sanitize(data, true)
		if reply == nil {
			return
		}
		if pass {
			t.Fatal("passed on and answered")
		}
		res, err := sip.ParseMessage(reply)
		if err != nil {
			// The copied headers were unparseable to begin with: the
			// status line must still be ours.
			if !strings.HasPrefix(string(reply), "SIP/2.0 400 ") && !strings.HasPrefix(string(reply), "SIP/2.0 505 ") {
				t.Fatalf("reply %q", reply)
			}
			return
		}
		if r, ok := res.(*sip.Response); !ok || (r.StatusCode != 400 && r.StatusCode != 505) {
			t.Fatalf("reply %q", reply)
		}
	})
}

// pike: a burst of twice the rate, then the rate; over it, 503s at the
// rate, then silence; another source is not affected; refilled with time.
func TestPike(t *testing.T) {
	p := newPike(10)
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	now := time.Now()
	var ok, replies, dropped int
	for range 100 {
		switch o, r := p.allow(a, now); {
		case o:
			ok++
		case r:
			replies++
		default:
			dropped++
		}
	}
	if ok != 20 || replies != 10 || dropped != 70 {
		t.Errorf("100 at once: %d allowed, %d answered 503, %d dropped; want 20, 10, 70", ok, replies, dropped)
	}
	if o, _ := p.allow(b, now); !o {
		t.Error("another source limited")
	}
	if o, _ := p.allow(a, now.Add(150*time.Millisecond)); !o {
		t.Error("not refilled after 150 ms at 10/s")
	}
}

// The TCP framer never panics, and what it hands sipgo is keep-alives
// and whole messages that pass the checks.
func FuzzTCPFrame(f *testing.F) {
	f.Add([]byte(sanityRequest("OPTIONS sip:b@127.0.0.1 SIP/2.0", "1 OPTIONS", "3", "abc")), 7)
	f.Add([]byte("\r\n\r\n"+sanityRequest("OPTIONS sip:b@127.0.0.1 SIP/2.0", "1 OPTIONS", "-1", "")), 1)
	s := newTestServer(f, rejecting, Config{RateLimit: -1})
	f.Fuzz(func(t *testing.T, data []byte, chunk int) {
		if chunk <= 0 {
			chunk = 1
		}
		c := &tcpConn{Conn: discardConn{}, s: s, src: netip.MustParseAddr("127.0.0.1")}
		for len(data) > 0 {
			n := min(chunk, len(data))
			c.in = append(c.in, data[:n]...)
			data = data[n:]
			if c.frame() != nil {
				return
			}
		}
		for out := c.out; len(out) > 0; {
			k := 0
			for k+1 < len(out) && out[k] == '\r' && out[k+1] == '\n' {
				k += 2
			}
			out = out[k:]
			if len(out) == 0 {
				break
			}
			_, n, err := sip.NewParser().Parse(out, true)
			if err != nil {
				t.Fatalf("handed sipgo a message it cannot parse: %v\n%q", err, out)
			}
			out = out[n:]
		}
	})
}

// discardConn is a net.Conn whose writes vanish.
type discardConn struct{ net.Conn }

func (discardConn) Write(b []byte) (int, error)        { return len(b), nil }
func (discardConn) SetWriteDeadline(t time.Time) error { return nil }
func (discardConn) RemoteAddr() net.Addr               { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5060} }
