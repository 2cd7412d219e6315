package sip

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// maxUDPMessage is the largest message we send in a UDP datagram: RFC
// 3261 section 18.1.1 wants TCP beyond 1300 bytes when the path MTU is
// unknown (sipgo refuses to write more than 1500-200 bytes too).
const maxUDPMessage = 1300

// responseTooLarge is the reason phrase of the 500 sent when our answer
// does not fit in UDP and the caller offered no TCP.
const responseTooLarge = "Response Too Large for UDP"

// ErrTooLarge is returned when a response does not fit in a UDP datagram
// and the peer offered no TCP to send it over.
var ErrTooLarge = errors.New("sip: response too large for UDP and no TCP offered")

// finalResponse builds the 200 answering req with body. Over UDP, a
// response larger than maxUDPMessage goes over TCP when the caller's
// Contact says it takes TCP (transport=tcp) and we listen on TCP (viaTCP
// is then true, and our Contact names our TCP listener so that the ACK
// and later requests come over TCP too); otherwise it is ErrTooLarge and
// the call fails cleanly with a 500 that fits.
func (s *Server) finalResponse(req *sip.Request, toTag string, body []byte) (res *sip.Response, viaTCP bool, err error) {
	res = s.response(req, 200, "OK", toTag, body)
	if sip.IsReliable(req.Transport()) || len(res.String()) <= maxUDPMessage {
		return res, false, nil
	}
	c := req.Contact()
	if c == nil || !strings.EqualFold(c.Address.UriParams.GetOr("transport", ""), "tcp") || s.laddr("tcp").IP == nil {
		return nil, false, fmt.Errorf("%w (%d bytes)", ErrTooLarge, len(res.String()))
	}
	res.RemoveHeader("Contact")
	res.AppendHeader(s.contact("TCP"))
	return res, true, nil
}

// sendOverTCP sends res on a new TCP connection to target (the caller's
// Contact), then closes it: the caller's ACK comes to our TCP listener.
func (s *Server) sendOverTCP(res *sip.Response, target sip.Uri) error {
	port := target.Port
	if port == 0 {
		port = 5060
	}
	addr := net.JoinHostPort(target.Host, strconv.Itoa(port))
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return fmt.Errorf("sip: response over TCP to %s: %w", addr, err)
	}
	defer c.Close()
	_ = c.SetWriteDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte(res.String())); err != nil {
		return fmt.Errorf("sip: response over TCP to %s: %w", addr, err)
	}
	return nil
}
