package sdp

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	psdp "github.com/pion/sdp/v3"
)

// Session is the part of a session description a voice call uses: the
// first audio stream on RTP/AVP or RTP/AVPF.
type Session struct {
	SessionID      uint64
	SessionVersion uint64
	// Addr is where the writer wants to receive RTP (c= and m= port).
	// An unspecified address (0.0.0.0, the RFC 2543 hold) is kept as is.
	Addr netip.AddrPort
	// Codecs are the audio codecs offered that we know (PCMU on payload
	// type 0, PCMA on 8), in the writer's order of preference. Others
	// are left out.
	Codecs []Codec
	// Events is the telephone-event format at 8 kHz, if offered.
	Events    Codec
	HasEvents bool
	Ptime     time.Duration // a=ptime, 0 when absent
	Direction Direction
	// RTCP is the a=rtcp address (RFC 3605) when given; RTCP otherwise
	// goes to the RTP port + 1.
	RTCP netip.AddrPort

	// streams are all the description's m= lines and audio the index of
	// the one used: an answer has as many m= lines as the offer, the
	// others rejected with port 0 (RFC 3264 section 6).
	streams []stream
	audio   int
}

// stream is what an answer repeats of an m= line it rejects.
type stream struct {
	media  string
	protos []string
	format string
}

// known lists formats we can use, by name, for static payload types
// without an rtpmap (RFC 3551 table 4).
var static = map[uint8]Codec{0: PCMU, 8: PCMA}

// Parse decodes a session description. It returns a *ParseError for
// syntax errors and for semantics we cannot use safely (no connection
// address, payload types out of range), and ErrNoAudio when there is no
// enabled RTP/AVP audio stream.
func Parse(b []byte) (*Session, error) {
	var d psdp.SessionDescription
	if err := d.Unmarshal(b); err != nil {
		return nil, &ParseError{Reason: "syntax", Err: err}
	}
	s := &Session{SessionID: d.Origin.SessionID, SessionVersion: d.Origin.SessionVersion}
	var m *psdp.MediaDescription
	for i, md := range d.MediaDescriptions {
		st := stream{media: md.MediaName.Media, protos: md.MediaName.Protos, format: "0"}
		if len(md.MediaName.Formats) > 0 {
			st.format = md.MediaName.Formats[0]
		}
		s.streams = append(s.streams, st)
		if m != nil || md.MediaName.Media != "audio" {
			continue
		}
		if md.MediaName.Port.Value == 0 {
			continue // disabled stream (RFC 3264 section 6)
		}
		if !plainRTP(md.MediaName.Protos) {
			continue
		}
		m = md
		s.audio = i
	}
	if m == nil {
		return nil, ErrNoAudio
	}
	port := m.MediaName.Port.Value
	if port < 0 || port > 65535 {
		return nil, &ParseError{Reason: fmt.Sprintf("port %d out of range", port)}
	}
	conn := m.ConnectionInformation
	if conn == nil {
		conn = d.ConnectionInformation
	}
	if conn == nil || conn.Address == nil {
		return nil, &ParseError{Reason: "no c= line for the audio stream"}
	}
	if conn.NetworkType != "IN" || (conn.AddressType != "IP4" && conn.AddressType != "IP6") {
		return nil, &ParseError{Reason: fmt.Sprintf("unsupported c= %s %s", conn.NetworkType, conn.AddressType)}
	}
	addr, err := netip.ParseAddr(conn.Address.Address)
	if err != nil {
		return nil, &ParseError{Reason: fmt.Sprintf("c= address %q is not an IP address", conn.Address.Address)}
	}
	if addr.Is4() != (conn.AddressType == "IP4") {
		return nil, &ParseError{Reason: fmt.Sprintf("c= address %s does not match %s", addr, conn.AddressType)}
	}
	s.Addr = netip.AddrPortFrom(addr, uint16(port))

	rtpmap := map[uint8]Codec{}
	var dirs []Direction
	for _, a := range m.Attributes {
		switch a.Key {
		case "rtpmap":
			pt, c, err := parseRtpmap(a.Value)
			if err != nil {
				return nil, err
			}
			rtpmap[pt] = c
		case "rtcp":
			if err := s.parseRTCP(a.Value); err != nil {
				return nil, err
			}
		case "ptime":
			ms, err := strconv.ParseFloat(strings.TrimSpace(a.Value), 64)
			if err != nil || ms <= 0 || ms > 1000 {
				return nil, &ParseError{Reason: fmt.Sprintf("bad a=ptime %q", a.Value)}
			}
			s.Ptime = time.Duration(ms * float64(time.Millisecond))
		default:
			if d, ok := directionAttr(a.Key); ok {
				dirs = append(dirs, d)
			}
		}
	}
	if len(dirs) == 0 {
		// Session-level direction applies when the stream has none.
		for _, a := range d.Attributes {
			if d, ok := directionAttr(a.Key); ok {
				dirs = append(dirs, d)
			}
		}
	}
	if len(dirs) > 1 {
		return nil, &ParseError{Reason: "more than one direction attribute"}
	}
	if len(dirs) == 1 {
		s.Direction = dirs[0]
	}

	for _, f := range m.MediaName.Formats {
		n, err := strconv.ParseUint(f, 10, 8)
		if err != nil || n > 127 {
			return nil, &ParseError{Reason: fmt.Sprintf("payload type %q not in 0-127", f)}
		}
		pt := uint8(n)
		c, ok := rtpmap[pt]
		if !ok {
			c, ok = static[pt]
			if !ok {
				continue // dynamic type without rtpmap, or a codec we lack
			}
		}
		switch {
		case c.same(TelephoneEvent):
			// Only on a dynamic type (RFC 3551 section 3): a static
			// one would be confused with the audio codec it names.
			if pt >= 96 && !s.HasEvents {
				s.Events, s.HasEvents = c, true
			}
		case (pt == 0 && c.same(PCMU)) || (pt == 8 && c.same(PCMA)):
			// G.711 only on its static payload type: an RTP session
			// sends 0 or 8, so a dynamic mapping is not offered to it.
			s.Codecs = append(s.Codecs, c)
		}
	}
	return s, nil
}

func plainRTP(protos []string) bool {
	p := strings.ToUpper(strings.Join(protos, "/"))
	return p == "RTP/AVP" || p == "RTP/AVPF"
}

// parseRtpmap reads "<pt> <name>/<rate>[/<channels>]".
func parseRtpmap(v string) (uint8, Codec, error) {
	bad := func() (uint8, Codec, error) {
		return 0, Codec{}, &ParseError{Reason: fmt.Sprintf("bad a=rtpmap %q", v)}
	}
	ptStr, enc, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok {
		return bad()
	}
	n, err := strconv.ParseUint(ptStr, 10, 8)
	if err != nil || n > 127 {
		return bad()
	}
	parts := strings.Split(strings.TrimSpace(enc), "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" {
		return bad()
	}
	rate, err := strconv.Atoi(parts[1])
	if err != nil || rate <= 0 {
		return bad()
	}
	if len(parts) == 3 && parts[2] != "1" {
		// Only mono is usable; keep it out of the codec list.
		return uint8(n), Codec{PayloadType: uint8(n), Name: parts[0] + "/" + parts[2], ClockRate: rate}, nil
	}
	return uint8(n), Codec{PayloadType: uint8(n), Name: parts[0], ClockRate: rate}, nil
}

func directionAttr(key string) (Direction, bool) {
	switch key {
	case "sendrecv":
		return SendRecv, true
	case "sendonly":
		return SendOnly, true
	case "recvonly":
		return RecvOnly, true
	case "inactive":
		return Inactive, true
	}
	return 0, false
}

// parseRTCP reads "a=rtcp:<port> [IN IP4|IP6 <addr>]" (RFC 3605 section
// 2.1); without an address the stream's is used. s.Addr is set.
func (s *Session) parseRTCP(v string) error {
	f := strings.Fields(v)
	bad := &ParseError{Reason: fmt.Sprintf("bad a=rtcp %q", v)}
	if len(f) != 1 && len(f) != 4 {
		return bad
	}
	port, err := strconv.ParseUint(f[0], 10, 16)
	if err != nil || port == 0 {
		return bad
	}
	addr := s.Addr.Addr()
	if len(f) == 4 {
		if f[1] != "IN" || (f[2] != "IP4" && f[2] != "IP6") {
			return bad
		}
		if addr, err = netip.ParseAddr(f[3]); err != nil {
			return bad
		}
	}
	s.RTCP = netip.AddrPortFrom(addr, uint16(port))
	return nil
}
