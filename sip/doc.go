// Package sip is voxdesk's SIP front end, built on github.com/emiago/sipgo
// (the only package that imports it).
//
// A Server answers calls from carrier trunks and SBCs (RFC 3261): each
// INVITE accepted from a configured Trunk becomes a *call.Call whose Leg
// is a SIP dialog with one RTP session, served by a call.Handler in its
// own goroutine. The server sends 100 Trying and 180 Ringing at once and
// 200 OK with the SDP answer (RFC 3264, via media/sdp) when the handler
// answers; it retransmits the 200 until the ACK (RFC 3261 section 13.3.1.4),
// takes BYE from either side, CANCEL before the answer (487, section 9.2),
// OPTIONS, and re-INVITEs that put the call on hold or resume it
// (RFC 3264 section 8.4; sendonly, recvonly, inactive, sendrecv).
//
// Every call, inbound or outbound, is one dialog (dialog.go, RFC 3261
// section 12): its identity (Call-ID, our tag, theirs), CSeq spaces,
// route set and remote target, and its states (early, confirmed,
// terminated; one re-INVITE pending at a time) with the transitions in
// one place. ACK, BYE, re-INVITE, INFO and REFER are matched on the whole
// dialog id: a request with a call's Call-ID but a wrong tag gets 481
// (an ACK is dropped) and the call goes on; an old CSeq gets 500, a
// second re-INVITE before the first's ACK 491 (indialog.go). inbound.go
// turns an INVITE into a call, dialer.go places outbound legs.
//
// Trunk access is by source network (CIDR) and/or digest authentication
// (RFC 3261 section 22, RFC 2617 with qop=auth; the nonce is stateless, an
// HMAC of its issue time). On a trusted trunk the caller's number comes from
// P-Asserted-Identity (RFC 3325), otherwise from the From URI; the dialled
// number is the Request-URI user part.
//
// Refusals use one table between call.Cause and SIP status codes
// (StatusForCause, CauseForStatus): 503 at MaxCalls, while draining, or
// when the RTP port range is exhausted; 488 when the offer has no codec in
// common (PCMU and PCMA are supported); 400 for malformed requests and SDP.
// A panic while serving one call is recovered and ends only that call.
// Every 503 carries Retry-After.
//
// Hardening, the way Kamailio does it: every message is checked before
// sipgo parses it (sanity.go): a malformed request that can be answered
// gets 400 or 505 with a reason phrase (bad Content-Length, CSeq number
// or method, SIP version, anything sipgo cannot parse), the rest is
// dropped and logged truncated to 200 bytes, rate-limited. Initial
// INVITE, OPTIONS and REGISTER are rate-limited per source address
// (pike.go; trusted trunks exempt). SIP over TCP is framed by us
// (tcp.go) with idle and header timeouts and a per-address connection
// cap. A 200 too large for UDP goes over TCP when the caller takes it,
// else the call fails with a 500 that fits (RFC 3261 section 18.1.1).
// A leg whose media reports no RTP for the media timeout is hung up
// with call.CauseTimeout and a Reason header (RFC 3326).
//
// The registrar (registrar.go) takes REGISTER from agents' phones with
// digest authentication: its 401 offers SHA-256 then MD5 (RFC 8760, one
// WWW-Authenticate each) and accepts either, checked against the HA1 the
// account keeps for that algorithm; an account with one HA1 is offered
// that algorithm alone.
//
// Agents' phones may also place calls through the switch
// (WithAgentCalls): an INVITE whose From user is an agent account is
// authenticated like a REGISTER (401, then 403 for wrong credentials)
// and handed to a hook that serves it, or refuses it with a status
// (Refusal). voxdesk uses it for the consultation call of an attended
// transfer (RFC 5589 section 7): the phone then REFERs the caller's
// dialog with a Refer-To carrying Replaces (RFC 3891) that names the
// consultation dialog (WithAttendedTransferHook); a Replaces naming no
// confirmed dialog of ours gets 202 and a NOTIFY with the sipfrag 481,
// what the transferee's INVITE with Replaces would have met.
//
// Dialer places outbound legs through a trunk (call-backs, transfers)
// with an SDP offer. DialContacts rings an agent's registered phones at
// once (fork.go: one INVITE each; the first 2xx wins, the others get
// CANCEL, a 2xx that crosses the CANCEL is ACKed and BYEd, and a 486/603
// from one phone ends the ringing only when every phone declined). The
// INVITE to a phone carries the caller's name as display name, Call-Info
// and Alert-Info (RFC 3261 sections 20.9 and 20.4).
package sip
