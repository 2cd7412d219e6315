package sip

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/voxdesk/voxdesk/call"
)

// Presentation is what an agent's phone shows while a call rings.
type Presentation struct {
	// Name is the display name of the INVITE's From: the customer's
	// name when identified, else empty.
	Name string
	// Number is the caller's number, the From user part.
	Number string
	// InfoURL is put in a Call-Info header with purpose=info (RFC 3261
	// section 20.9): the customer file's address, for phones that open it.
	InfoURL string
	// AlertInfo is the Alert-Info header (RFC 3261 section 20.4), in
	// `<URI>;param=value` form: a ring tone to play, or a hint phones map
	// to a distinctive ring by its info= parameter (Yealink, Polycom,
	// Grandstream, Asterisk's convention). Not sent when empty or not of
	// that form (see ValidAlertInfo).
	AlertInfo string
	// RingTimeout gives up on the phone (CANCEL); zero means 60 s.
	RingTimeout time.Duration
}

// DialPhone rings every phone the agent has registered at once, like
// DialContacts; ErrNotRegistered when the agent has none.
func (s *Server) DialPhone(ctx context.Context, agent string, p Presentation) (call.Leg, error) {
	bs, err := s.Contacts(ctx, agent)
	if err != nil {
		return nil, err
	}
	return s.DialContacts(ctx, agent, bs, p)
}

// DialContacts rings the agent's phones at the given bindings (from
// Contacts) at once and returns the leg of the first to answer, like
// Dialer.Dial. See fork: the others are CANCELled, a refusal from one
// leaves the others ringing, and a decline is returned only when every
// phone declined. ctx's end cancels them all.
func (s *Server) DialContacts(ctx context.Context, agent string, bs []Binding, p Presentation) (call.Leg, error) {
	if s.draining.Load() {
		return nil, &call.RejectError{Cause: call.CauseUnavailable, Reason: "switch is draining"}
	}
	if len(bs) == 0 {
		return nil, fmt.Errorf("sip: dial %s: %w", agent, ErrNotRegistered)
	}
	outs := make([]outbound, len(bs))
	for i, b := range bs {
		from := &sip.FromHeader{DisplayName: displayName(p.Name), Address: sip.Uri{Scheme: "sip", User: p.Number}, Params: sip.NewParams()}
		if from.Address.User == "" {
			from.Address.User = "anonymous"
		}
		var hdrs []sip.Header
		if u := p.InfoURL; u != "" && !strings.ContainsAny(u, "<>\r\n\" ") {
			hdrs = append(hdrs, sip.NewHeader("Call-Info", "<"+u+">;purpose=info"))
		}
		if ValidAlertInfo(p.AlertInfo) == nil {
			hdrs = append(hdrs, sip.NewHeader("Alert-Info", p.AlertInfo))
		}
		transport := b.Transport
		if transport == "" {
			transport = "UDP"
		}
		uri := b.Contact
		uri.Headers = nil
		outs[i] = outbound{uri: uri, dest: b.dest(), transport: transport, from: from, headers: hdrs,
			ringTimeout: p.RingTimeout, target: "agent " + agent, logAttrs: []any{"agent", agent, "contact", uri.String()}}
	}
	return s.fork(ctx, outs)
}

// dest is where requests to a binding go: the Contact's address when the
// phone registered from that host (its own listening port), else the
// address the REGISTER came from, through the phone's NAT (RFC 3581).
// Through a proxy (Path) they go to the proxy, the REGISTER's source.
func (b Binding) dest() string {
	src, err := netip.ParseAddrPort(b.Source)
	if err != nil || len(b.Path) > 0 {
		return b.Source
	}
	a, err := netip.ParseAddr(strings.Trim(b.Contact.Host, "[]"))
	if err != nil || a.Unmap() != src.Addr() {
		return b.Source
	}
	port := b.Contact.Port
	if port == 0 {
		port = 5060
	}
	return netip.AddrPortFrom(src.Addr(), uint16(port)).String()
}

// displayName makes a name safe for a quoted display name: printable,
// without quotes or backslashes, at most 64 bytes.
func displayName(name string) string {
	var b strings.Builder
	for _, r := range name {
		if r < 0x20 || r == 0x7f || r == '"' || r == '\\' {
			continue
		}
		if b.Len()+len(string(r)) > 64 {
			break
		}
		b.WriteRune(r)
	}
	return strings.TrimSpace(b.String())
}

// ValidAlertInfo checks an Alert-Info value: one `<URI>` with a scheme,
// then parameters; no line breaks, quotes, spaces or angle brackets
// inside the URI.
func ValidAlertInfo(v string) error {
	rest, ok := strings.CutPrefix(v, "<")
	if !ok {
		return fmt.Errorf("sip: Alert-Info %q: not <URI>;params", v)
	}
	uri, params, ok := strings.Cut(rest, ">")
	scheme, _, hasScheme := strings.Cut(uri, ":")
	switch {
	case !ok:
		return fmt.Errorf("sip: Alert-Info %q: no closing >", v)
	case !hasScheme || scheme == "" || strings.ContainsAny(uri, "<\"\\ \t\r\n"):
		return fmt.Errorf("sip: Alert-Info %q: bad URI", v)
	case params != "" && (params[0] != ';' || strings.ContainsAny(params, "<>\"\\ \t\r\n")):
		return fmt.Errorf("sip: Alert-Info %q: bad parameters", v)
	}
	return nil
}
