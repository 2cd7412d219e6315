package sip

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Sanity checks, the way Kamailio's sanity module does them: every
// message is looked at before sipgo parses it. sipgo drops a message it
// cannot parse without a word to the sender (and logs the whole of it),
// and it accepts some it should not (a CSeq method other than the
// request's, any SIP version). A malformed request that names where a
// response goes (Via, From, To, Call-ID, CSeq) is answered 400 or 505
// with a reason phrase (RFC 3261 sections 8.2, 16.3, 18.3); anything else
// is dropped and logged truncated, rate-limited.

// maxCSeq is the largest CSeq sequence number (RFC 3261 section 8.1.1.5:
// less than 2**31).
const maxCSeq = 1<<31 - 1

// maxMessage bounds a SIP message over any transport, like sipgo's
// parser (65535 bytes).
const maxMessage = 65535

// rawMessage is a message split leniently into the parts a response
// needs, without sipgo's parser.
type rawMessage struct {
	request bool
	method  string // request method
	version string // SIP-Version of a request
	uri     string

	vias                   []string // header values, in order
	from, to, callID, cseq string
	contentLength          string
	hasCL                  bool
	body                   []byte
}

// compactNames are the RFC 3261 section 7.3.3 compact forms of the
// headers sanity reads.
var compactNames = map[string]string{"v": "via", "f": "from", "t": "to", "i": "call-id", "l": "content-length"}

// scanMessage splits data into start line, headers and body. It
// reports false when data does not look like a SIP message at all (no
// start line of three parts, no end of headers).
func scanMessage(data []byte) (rawMessage, bool) {
	var m rawMessage
	end := bytes.Index(data, []byte("\r\n\r\n"))
	if end < 0 {
		return m, false
	}
	m.body = data[end+4:]
	lines := strings.Split(string(data[:end]), "\r\n")
	parts := strings.SplitN(lines[0], " ", 3)
	if len(parts) != 3 {
		return m, false
	}
	switch {
	case strings.HasPrefix(strings.ToUpper(parts[0]), "SIP/"):
		m.request = false
	case strings.HasPrefix(strings.ToUpper(parts[2]), "SIP/") && parts[0] != "" && !strings.Contains(parts[2], " "):
		m.request = true
		m.method, m.uri, m.version = parts[0], parts[1], parts[2]
	default:
		return m, false
	}
	// Unfold continuation lines (RFC 3261 section 7.3.1).
	var headers []string
	for _, l := range lines[1:] {
		if (strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t")) && len(headers) > 0 {
			headers[len(headers)-1] += " " + strings.TrimSpace(l)
			continue
		}
		headers = append(headers, l)
	}
	for _, h := range headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok {
			continue
		}
		name = strings.ToLower(strings.TrimSpace(name))
		if long, ok := compactNames[name]; ok {
			name = long
		}
		value = strings.TrimSpace(value)
		switch name {
		case "via":
			m.vias = append(m.vias, value)
		case "from":
			m.from = value
		case "to":
			m.to = value
		case "call-id":
			m.callID = value
		case "cseq":
			m.cseq = value
		case "content-length":
			m.contentLength, m.hasCL = value, true
		}
	}
	return m, true
}

// insanity is what is wrong with a request: the status and reason
// phrase of our answer.
type insanity struct {
	status int
	reason string
}

func (e *insanity) Error() string { return fmt.Sprintf("%d %s", e.status, e.reason) }

// answerable reports whether a response can be built: RFC 3261 section
// 8.2.6.2 copies Via, From, To, Call-ID and CSeq.
func (m *rawMessage) answerable() bool {
	return m.request && m.method != "ACK" && len(m.vias) > 0 && m.from != "" && m.to != "" && m.callID != "" && m.cseq != ""
}

// check returns what is wrong with a request, or nil. datagram says the
// message came alone in a UDP packet (its body ends with the packet).
func (m *rawMessage) check(datagram bool) *insanity {
	if !strings.EqualFold(m.version, "SIP/2.0") {
		return &insanity{505, "Version Not Supported"}
	}
	if !isToken(m.method) {
		return &insanity{400, "Bad Request Method"}
	}
	if len(m.vias) == 0 || m.from == "" || m.to == "" || m.callID == "" || m.cseq == "" {
		return &insanity{400, "Missing Via, From, To, Call-ID or CSeq"}
	}
	cseq := strings.Fields(m.cseq) // number LWS method
	if len(cseq) != 2 {
		return &insanity{400, "Bad CSeq"}
	}
	n, err := strconv.ParseUint(cseq[0], 10, 64)
	switch {
	case err != nil:
		return &insanity{400, "Bad CSeq"}
	case n > maxCSeq:
		return &insanity{400, "CSeq Number Too Large"}
	case cseq[1] != m.method:
		return &insanity{400, "CSeq Method Does Not Match Request Method"}
	}
	if m.hasCL {
		cl, err := strconv.ParseInt(m.contentLength, 10, 64)
		switch {
		case err != nil || cl < 0:
			return &insanity{400, "Bad Content-Length"}
		case cl > maxMessage:
			return &insanity{400, "Content-Length Too Large"}
		case datagram && int(cl) > len(m.body):
			// RFC 3261 section 18.3: the packet ended before the body.
			return &insanity{400, "Content-Length Larger Than Body"}
		}
	}
	return nil
}

// isToken reports whether s is an RFC 3261 token (a method name).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("-.!%*_+`'~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// reply builds the response to an answerable request: the five headers
// copied (a To tag added when missing, section 8.2.6.2), no body; a 503
// carries Retry-After (seconds).
func (m *rawMessage) reply(status int, reason, server, retryAfter string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "SIP/2.0 %d %s\r\n", status, reason)
	for _, v := range m.vias {
		fmt.Fprintf(&b, "Via: %s\r\n", v)
	}
	to := m.to
	if !strings.Contains(strings.ToLower(to), ";tag=") {
		to += ";tag=" + randomTag()
	}
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %s\r\n", m.from, to, m.callID, m.cseq)
	if status == 503 {
		fmt.Fprintf(&b, "Retry-After: %s\r\n", retryAfter)
	}
	fmt.Fprintf(&b, "Server: %s\r\nContent-Length: 0\r\n\r\n", server)
	return b.Bytes()
}

func randomTag() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Reasons a message is shed (Metrics.Shed).
const (
	shedMalformed   = "malformed"
	shedRateLimited = "rate-limited"
	shedTCPCap      = "tcp-cap"
	shedTCPTimeout  = "tcp-timeout"
)

// judge decides the fate of one whole message (a datagram, or one framed
// from a stream) from src: passed on to sipgo (shed is ""), or shed
// (shedMalformed, shedRateLimited) with the response to send instead, if
// any, and the problem.
func (s *Server) judge(data []byte, datagram bool, src netip.Addr) (reply []byte, problem, shed string) {
	reply, problem, pass := s.sanitize(data, datagram)
	if !pass {
		return reply, problem, shedMalformed
	}
	if s.pike == nil || s.trusted(src) {
		return nil, "", ""
	}
	m, _ := scanMessage(data)
	if !m.request || !limited[m.method] || strings.Contains(strings.ToLower(m.to), ";tag=") {
		return nil, "", "" // responses and in-dialog requests are not limited
	}
	ok, answer := s.pike.allow(src, time.Now())
	switch {
	case ok:
		return nil, "", ""
	case answer:
		return m.reply(503, "Rate Limit Exceeded", s.userAgent, s.retryAfter), "rate limit exceeded", shedRateLimited
	default:
		return nil, "rate limit exceeded", shedRateLimited
	}
}

// trusted reports whether src is in the networks of a trusted trunk (a
// carrier or SBC, which concentrates many callers): those are not rate
// limited, as Kamailio configurations exempt allow_trusted() sources.
func (s *Server) trusted(src netip.Addr) bool {
	for _, t := range s.trunks {
		if t.Trusted && len(t.nets) > 0 && t.allows(src) {
			return true
		}
	}
	return false
}

// limited are the methods of the requests pike counts.
var limited = map[string]bool{"INVITE": true, "OPTIONS": true, "REGISTER": true}

// sanitize judges a message against the sanity checks. It returns the
// response to send instead of passing the message on, and the problem
// found; pass is true when the message goes on.
func (s *Server) sanitize(data []byte, datagram bool) (reply []byte, problem string, pass bool) {
	m, ok := scanMessage(data)
	if !ok {
		return nil, "not a SIP message", false
	}
	if !m.request {
		if _, err := sip.ParseMessage(data); err != nil {
			return nil, "malformed response: " + err.Error(), false
		}
		return nil, "", true
	}
	bad := m.check(datagram)
	if bad == nil {
		// What sipgo cannot parse it drops silently: find out first.
		if _, err := sip.ParseMessage(data); err != nil {
			bad = &insanity{400, "Bad Request: " + phrase(err.Error())}
		}
	}
	if bad == nil {
		return nil, "", true
	}
	if !m.answerable() {
		return nil, bad.Error() + " (no Via, From, To, Call-ID or CSeq to answer with)", false
	}
	return m.reply(bad.status, bad.reason, s.userAgent, s.retryAfter), bad.Error(), false
}

// phrase makes text safe and short for a reason phrase.
func phrase(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r > '~' {
			return ' '
		}
		return r
	}, s)
	if len(s) > 80 {
		s = s[:80]
	}
	return s
}

// readFilter is sipgo's hook on every read: UDP datagrams are judged
// here (a stream is framed and judged by tcpConn before sipgo reads it).
// It never returns an error, which would stop the listener.
func (s *Server) readFilter(p sip.TransportReadProps, data []byte) ([]byte, error) {
	if !strings.EqualFold(p.Transport, "udp") || len(bytes.Trim(data, "\r\n\x00")) == 0 {
		return data, nil // keep-alives pass
	}
	src, _ := netip.ParseAddrPort(p.RemoteAddr.String())
	reply, problem, shed := s.judge(data, true, src.Addr().Unmap())
	if shed == "" {
		return data, nil
	}
	s.shed(shed, "udp", p.RemoteAddr.String(), data, problem, reply != nil)
	if reply != nil {
		s.mu.Lock()
		conn := s.udpConns[p.LocalAddr.String()]
		s.mu.Unlock()
		if conn != nil {
			if _, err := conn.WriteTo(reply, p.RemoteAddr); err != nil {
				s.log.Debug("sanity reply", "to", p.RemoteAddr, "err", err)
			}
		}
	}
	return nil, nil
}

// shed counts and logs (truncated, rate-limited) a message not served.
func (s *Server) shed(reason, transport, source string, data []byte, problem string, answered bool) {
	s.metrics.Shed(reason)
	ok, suppressed := s.badLog.allow()
	if !ok {
		return
	}
	s.log.Warn("sip message shed", "reason", reason, "transport", transport, "source", source, "problem", phrase(problem),
		"answered", answered, "size", len(data), "head", head(data), "suppressed", suppressed)
}
