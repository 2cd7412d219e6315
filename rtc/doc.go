// Package rtc is voxdesk's WebRTC front end, built on pion/webrtc (the only
// package of ours that imports it). It serves two kinds of browser:
//
//   - agents, whose softphone page keeps one PeerConnection for the whole
//     login session; each call offered to the agent becomes a *Leg attached
//     to that session for the length of the call, so answering costs no ICE
//     or DTLS set-up;
//   - customers pressing "call now" on the website, whose PeerConnection is
//     one inbound call (Channel webrtc) handed to a call.Handler.
//
// Only G.711 is negotiated (PCMU and PCMA, RFC 3551 payload types 0 and 8,
// plus telephone-event, RFC 4733), so a SIP caller's audio reaches the
// browser without a lossy transcoding step: a mu-law frame decoded to
// linear PCM and encoded again is bit-exact. Media is protected with
// DTLS-SRTP (RFC 5764) as WebRTC requires; ICE (RFC 8445) uses host
// candidates by default, and Config adds a public address (NAT 1:1),
// STUN/TURN servers and a UDP port range for real deployments.
//
// A Leg's reader gets a frame every 20 ms: when the browser's frame is
// late, silence stands in for it. Such frames, and the hold audio and
// keypad tones played in place of the browser's, are marked (Leg.Synthetic,
// media.Marker), as an RTP session marks its loss concealment, so the
// voiceprint side never takes them for the caller's speech.
//
// Signalling is not done here: a Session emits Signals (the SDP answer and
// trickled ICE candidates, RFC 8838) through a callback and accepts the
// browser's Signals, and the caller (agentapi) carries them as JSON over its
// WebSocket.
package rtc
