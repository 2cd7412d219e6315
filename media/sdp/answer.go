package sdp

import (
	"fmt"
	"net/netip"
	"strconv"
	"time"

	psdp "github.com/pion/sdp/v3"
)

// Local describes our side of a negotiation. The zero value of every
// field but Addr works.
type Local struct {
	// Addr is our RTP address and port, written in c= and m=.
	Addr netip.AddrPort
	// Codecs in our order of preference; nil means DefaultCodecs.
	Codecs []Codec
	// NoEvents leaves telephone-event out of offers and answers.
	NoEvents bool
	// EventPayloadType for offers; 0 means 101.
	EventPayloadType uint8
	// Hold asks to stop receiving media: an answer is sendonly (or
	// inactive when the offer does not receive), an offer is sendonly.
	Hold bool
	// SessionID and SessionVersion for o=; a re-offer increments the
	// version (RFC 3264 section 8).
	SessionID      uint64
	SessionVersion uint64
	// Username for o=; "voxdesk" when empty.
	Username string
}

// Media is the outcome of a negotiation, what an RTP session needs.
type Media struct {
	Codec     Codec
	Events    Codec // telephone-event format agreed, if HasEvents
	HasEvents bool
	// Remote is where to send RTP (the peer's c= and port). It is
	// unspecified (0.0.0.0) for an RFC 2543-style hold.
	Remote netip.AddrPort
	Ptime  time.Duration // packet time to send, DefaultPtime if unsaid
	// RemoteRTCP is the peer's a=rtcp address, if it gave one (else
	// RTCP goes to Remote's port + 1).
	RemoteRTCP netip.AddrPort
	// Direction is ours: whether we send (Direction.Sends) and
	// receive. When we must not send, the session is put on hold.
	Direction Direction
}

// Answer chooses the first codec in our preference order that the offer
// contains and builds the answer (RFC 3264 section 6). The answer uses
// the offer's payload type numbers and mirrors its direction: an offer
// sendonly is answered recvonly, inactive with inactive.
func Answer(offer *Session, local Local) ([]byte, Media, error) {
	m, err := negotiate(offer, local, true)
	if err != nil {
		return nil, Media{}, err
	}
	formats := []Codec{m.Codec}
	if m.HasEvents {
		formats = append(formats, m.Events)
	}
	b, err := build(local, formats, m.Events, m.HasEvents, m.Direction, offer)
	if err != nil {
		return nil, Media{}, err
	}
	return b, m, nil
}

// Offer builds an offer listing our codecs in preference order, plus
// telephone-event unless NoEvents, with sendrecv (sendonly when Hold).
func Offer(local Local) ([]byte, error) {
	prefs := local.Codecs
	if len(prefs) == 0 {
		prefs = DefaultCodecs
	}
	formats := append([]Codec(nil), prefs...)
	ev := TelephoneEvent
	if local.EventPayloadType != 0 {
		ev.PayloadType = local.EventPayloadType
	}
	if !local.NoEvents {
		formats = append(formats, ev)
	}
	dir := SendRecv
	if local.Hold {
		dir = SendOnly
	}
	return build(local, formats, ev, !local.NoEvents, dir, nil)
}

// Accept reads the answer to an offer we built with local: the codec is
// the first in the answer that we offered (RFC 3264 section 7), and our
// direction follows from the answer's.
func Accept(answer *Session, local Local) (Media, error) {
	return negotiate(answer, local, false)
}

// negotiate picks the codec, events, remote address and our direction
// from the peer's description. As answerer we choose by our preference;
// as offerer we take the answer's first codec that we offered.
func negotiate(peer *Session, local Local, answering bool) (Media, error) {
	prefs := local.Codecs
	if len(prefs) == 0 {
		prefs = DefaultCodecs
	}
	outer, inner := prefs, peer.Codecs
	if !answering {
		outer, inner = peer.Codecs, prefs
	}
	var m Media
	found := false
	for _, x := range outer {
		for _, y := range inner {
			if x.same(y) {
				found = true
				m.Codec = y
				if !answering {
					m.Codec = x
				}
				break
			}
		}
		if found {
			break
		}
	}
	if !found {
		return Media{}, ErrNoCommonCodec
	}
	if peer.HasEvents && !local.NoEvents {
		m.Events, m.HasEvents = peer.Events, true
	}
	m.Remote = peer.Addr
	m.RemoteRTCP = peer.RTCP
	m.Ptime = DefaultPtime
	pd := peer.Direction
	if !peer.Addr.Addr().IsValid() || peer.Addr.Addr().IsUnspecified() {
		// RFC 2543 hold: c=0.0.0.0 means "do not send to me".
		pd = direction(pd.Sends(), false)
	}
	m.Direction = pd.Reply()
	if local.Hold {
		m.Direction = direction(m.Direction.Sends(), false)
	}
	return m, nil
}

// build writes a description with our audio stream. For an answer
// (offer non-nil) it has one m= line per offer line, in order: ours
// where the offer's audio was, with the offer's profile, and the others
// rejected with port 0.
func build(local Local, formats []Codec, ev Codec, hasEvents bool, dir Direction, offer *Session) ([]byte, error) {
	if !local.Addr.IsValid() {
		return nil, fmt.Errorf("sdp: local address %v is not set", local.Addr)
	}
	user := local.Username
	if user == "" {
		user = "voxdesk"
	}
	addrType := "IP4"
	ip := local.Addr.Addr().Unmap()
	if ip.Is6() {
		addrType = "IP6"
	}
	d := psdp.SessionDescription{
		Origin: psdp.Origin{
			Username:       user,
			SessionID:      local.SessionID,
			SessionVersion: local.SessionVersion,
			NetworkType:    "IN",
			AddressType:    addrType,
			UnicastAddress: ip.String(),
		},
		SessionName: "voxdesk",
		ConnectionInformation: &psdp.ConnectionInformation{
			NetworkType: "IN", AddressType: addrType,
			Address: &psdp.Address{Address: ip.String()},
		},
		TimeDescriptions: []psdp.TimeDescription{{}},
	}
	protos := []string{"RTP", "AVP"}
	if offer != nil && offer.audio < len(offer.streams) {
		protos = offer.streams[offer.audio].protos
	}
	md := &psdp.MediaDescription{
		MediaName: psdp.MediaName{
			Media:  "audio",
			Port:   psdp.RangedPort{Value: int(local.Addr.Port())},
			Protos: protos,
		},
	}
	for _, c := range formats {
		pt := strconv.Itoa(int(c.PayloadType))
		md.MediaName.Formats = append(md.MediaName.Formats, pt)
		md.Attributes = append(md.Attributes, psdp.NewAttribute("rtpmap", fmt.Sprintf("%s %s/%d", pt, c.Name, c.ClockRate)))
	}
	if hasEvents {
		md.Attributes = append(md.Attributes, psdp.NewAttribute("fmtp", fmt.Sprintf("%d 0-16", ev.PayloadType)))
	}
	md.Attributes = append(md.Attributes,
		psdp.NewAttribute("ptime", strconv.Itoa(int(DefaultPtime/time.Millisecond))),
		psdp.NewPropertyAttribute(dir.String()))
	if offer == nil || len(offer.streams) == 0 {
		d.MediaDescriptions = []*psdp.MediaDescription{md}
		return d.Marshal()
	}
	for i, st := range offer.streams {
		if i == offer.audio {
			d.MediaDescriptions = append(d.MediaDescriptions, md)
			continue
		}
		d.MediaDescriptions = append(d.MediaDescriptions, &psdp.MediaDescription{
			MediaName: psdp.MediaName{Media: st.media, Port: psdp.RangedPort{Value: 0}, Protos: st.protos, Formats: []string{st.format}},
		})
	}
	return d.Marshal()
}
