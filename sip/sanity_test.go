package sip

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

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
