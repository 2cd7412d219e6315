// Package call is the shared vocabulary of voxdesk: a Call with its caller's
// Leg, the Handler that serves it (ivr and routing compose like HTTP
// middleware), hang-up Causes and the RejectError a handler returns to refuse
// a call before answering.
//
// Front ends (sip, rtc) turn their protocol's sessions into *Call values and
// hand them to a Handler; the Handler never sees SIP or WebRTC. All audio a
// Handler reads or writes is 8 kHz 16-bit linear PCM in 20 ms frames of
// FrameSamples samples, whatever codec the leg negotiated.
package call
