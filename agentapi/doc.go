// Package agentapi is the switch's HTTP and WebSocket API for people: the
// agents on their browser softphone, supervisors on the wallboard, admins,
// and website visitors pressing "call now" or "call me back". A *Server is
// an http.Handler with no listener of its own (service mounts it); it
// serves the embedded pages of package web too.
//
// # Security
//
// Users are Accounts with bcrypt password hashes (HashPassword). POST
// /api/login opens a session: a random token in an HttpOnly,
// SameSite=Strict cookie (Secure unless Config.InsecureCookies) and a CSRF
// token returned in the body, which every later POST carries in the
// X-CSRF-Token header; state-changing requests must also come from the
// switch's own origin (Origin or Sec-Fetch-Site). Five failed logins in a
// row lock a user name for 30 s. WebSocket upgrades require the session
// cookie and an Origin naming this host. Roles: agent < supervisor
// (wallboard) < admin (admin API).
//
// # Agent WebSocket (GET /api/agent/ws)
//
// JSON text messages, one object each. The page sends ClientMessages
// (types MsgState, MsgSignal, MsgAnswer, ...); a message with an "id" gets
// {"type":"ok","id":N} or {"type":"error","id":N,"error":"..."}; a message
// that cannot be parsed gets an error and the connection stays up. The
// switch sends ServerMessages: hello (who, state, ICE servers, transfer
// targets), state (with Until: when a wrap-up ends), offer (the ringing
// call: caller, dialled line, arrival time, IVR path, identity, the
// candidates sharing the number, the customer file), cancel, missed (an
// offer the agent let ring out, from routing.EventOfferMissed via
// RoutingEvent), picked (the offer with the customer the agent picked
// among the number's, MsgPickCustomer), connected, ended, held, muted,
// signal. MsgDTMF sends keypad keys to the far party: as RFC 4733
// telephone-events when its leg negotiated them (a website caller's
// WebRTC leg, or through WithKeypad a SIP trunk leg), else as in-band
// tones (Q.23) in place of the agent's microphone; keys outside 0-9*#ABCD
// are refused.
// MsgDial calls a customer on a number of their file (WithDialer: the
// trunk): the agent is set away (ReasonOutbound), the page gets
// "dialling", then "connected" like an answered call; GET /api/customers
// finds the customer (agents, each lookup logged). MsgRing chooses where
// the agent's calls ring (RingBrowser, RingSIP, RingBoth) for agents with
// a SIP phone account (WithRingModes: the configured mode is the default);
// the choice lasts while the switch runs, hello carries it, and the
// ringing side reads it with Server.RingMode.
// An agent can act only on calls offered or connected to them.
//
// Transfer: MsgTransfer is blind (routing.Router.Transfer). MsgConsult is
// warm (Consulter): the caller is held while the agent talks to another
// agent, or the first available of a queue, whose page rings with the
// caller's offer and file marked consult_from; MsgConsultComplete puts
// the caller through to them, MsgConsultCancel goes back to the caller.
// Both pages follow it through "consult" messages. A consultation that
// ends without the caller leaves the consulted agent nothing to wrap up;
// after a completed one, the handing agent's wrap-up is their part of the
// call's interaction, which the agent who finished the call owns
// (StoreDirectory.RecordWrapUp).
//
// Media: after hello the page creates one RTCPeerConnection for its whole
// session, sends the SDP offer and trickled candidates as "signal"
// messages, and the switch answers with G.711 (package rtc). Each
// answered call is an rtc.Leg over that connection.
//
// # Routing
//
// Server implements routing.Phones: Ring shows an offer (after fetching
// the customer file from the Directory, bounded by
// Config.OfferFileTimeout), Cancel withdraws it, Leg returns the agent's
// media leg once the page answered. The page's buttons call the Router
// (Answer, Decline, Hangup, Transfer, SetState). When a page goes away
// (tab closed, network lost) the agent's leg ends with call.CauseFailure
// and Router.Disconnected is called, so routing re-queues the caller and
// sets the agent away.
//
// # Wallboard (GET /api/board/ws)
//
// A Boarder is polled every Config.BoardInterval; each snapshot is pushed
// to supervisors' wallboards and each agent's own state to their page.
// Each snapshot carries the agents' and the team's Occupancy over the last
// 15 and 60 minutes and the shift, computed from the agent state events
// given to RoutingEvent (talking and wrap-up over the time taking calls;
// away time left out).
//
// # Supervisors on calls (WithMonitor; monitor.go)
//
//	POST   /api/monitor   {"agent","mode":"listen|whisper|barge","board"?}   join the agent's call or switch mode (supervisor, CSRF)
//	DELETE /api/monitor                                                     leave it
//
// The supervisor's audio is a WebRTC leg of the wallboard page: with
// WithMonitor the board socket says hello (the page's id, ICE servers)
// and carries the page's "signal" messages like the agent socket. The
// CallFinder (the router) gives the agent's call, and a call.Tap on its
// bridge mixes caller and agent for the supervisor (media.Mixer) and, in
// whisper, adds the supervisor's voice to the agent's frames, in barge to
// both ways. One supervisor per call: a second is refused (409). Refusals
// are 4xx with the reason (400 bad body or mode, 403 role, 404 unknown
// agent, 409 agent not on a call, call taken, no wallboard audio) and
// change nothing. The agent's page gets "monitor" messages while the
// supervisor is heard (whisper, barge), not for silent listening. The
// monitor ends when the supervisor leaves, the call ends, the
// conversation with the agent ends (the router no longer has the agent
// on the call, asked every 0.5 s, or no frame crossed the bridge for
// 1 s: hang-up, transfer, lost page) or the wallboard goes; each step is a
// log line with call_id, supervisor and agent, and
// voxdesk_agentapi_monitor_requests_total counts them.
//
// # Voicemail inbox
//
//	GET  /api/voicemail                  messages of the IVR's voicemail folder, newest first (any user)
//	GET  /api/voicemail/{box}/{name}     one message as audio/wav; each access audited in the store
//	                                     (customer.AuditVoicemailPlay: who, which message, when)
//	                                     before any audio is sent, and logged
//
// Only names the voicemail step writes (BOX/20261123T090000Z-CALLID.wav)
// are served (WithVoicemail).
//
// # Call recordings (WithRecordings)
//
//	GET    /api/recordings?customer=ID | ?call=CALLID   a customer's (or a call's) recordings, newest first
//	GET    /api/recordings/{id}                        one recording as audio/wav, opened from its seal
//	DELETE /api/recordings/{id}                        erase it (supervisor, admin; CSRF)
//	GET    /api/agent/calls/{call}/recording           the call's recording state: on, ready or ""
//	POST   /api/agent/calls/{call}/record              the agent's Record button (CSRF); 409 when the
//	                                                   caller was not told the call is recorded
//
// Supervisors and admins hear any recording; an agent only those of the
// customer or call they are handling (ringing, talking or in wrap-up):
// others get 403. Every list, play, erase and refusal is written to the
// customer store's audit log with the actor (role:id).
//
// # Admin API
//
//	GET  /api/admin/customers?q=ID-or-E.164      customer files (admin)
//	POST /api/admin/customers/{id}/erase-biometrics   Biometrics.Erase (admin, CSRF)
//
// # Website call-back
//
// callback.html is framed by the company website (WebCallConfig.
// FrameOrigins). The caller's identity is a web token signed by the
// website (see token.go for the format) or typed details. "Call now"
// (GET /api/webcall/ws) turns the browser's PeerConnection into an inbound
// call.Call (Channel webrtc) served by the call handler given with
// WithCallHandler (the IVR); a vouched caller has call.VarCustomer set and
// call.VarIdentMethod = MethodWebToken. "Call me back" (POST
// /api/webcall/callback, then GET/DELETE /api/webcall/callback/{ticket})
// books through Callbacks and shows the live position. A typed number
// may be in national form: WebCallConfig.NumberPlan reads it
// (customer.NumberPlan.Normalise) and the call-back gets its E.164 form;
// a number it cannot read is refused with the reason.
//
// # Lifecycle
//
// Shutdown(ctx) closes every WebSocket (pages are told "switch shutting
// down"), hangs up web calls and waits for all the server's goroutines;
// Close does the same without waiting for pages to acknowledge.
package agentapi
