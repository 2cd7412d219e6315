// Package media moves call audio: 8 kHz mono int16 frames of 20 ms
// through Reader/Writer stages, an RTP session per call (RFC 3550 on
// github.com/pion/rtp) with a jitter buffer, symmetric RTP, RFC 4733
// telephone-events (and optional in-band DTMF detection), optional RTCP,
// a port range allocator, WAV/FLAC loading with resampling, a prompt
// player and a recorder.
//
// Hardening: ports are drawn at random from the range; a session accepts
// RTP, telephone-events and RTCP only from the address its SDP names
// until the peer proves a move (SwitchSourceAfter in-sequence packets
// with its SSRC), so that nobody spraying the port range hears a call or
// types its digits; and RTPConfig.Timeout reports a peer that stopped
// sending (outside hold) on Inactive.
//
// All sessions' packets are sent by a pacer, one goroutine per
// processor, on 20 ms deadlines of the monotonic clock; each session
// has one goroutine reading its socket (two with RTCP).
//
// Stages chain as decorators, like io.Reader wrappers: the RTPSession
// decodes G.711 and is the source; Tap, Recorder and resampling stages
// wrap a Reader; Play writes into a Writer (an RTPSession paces it).
//
//	sess, _ := media.NewRTPSession(port, media.RTPConfig{PayloadType: 8, Remote: remote})
//	defer sess.Close()
//	rec, _ := media.CreateRecorder(sess, "caller.wav")
//	defer rec.Close()
//	go media.Play(ctx, sess, prompts.Get("welcome"))
//	for {
//		n, err := rec.ReadAudio(ctx, frame) // 160 samples every 20 ms
//		...
//	}
//
// RFCs: 3550 (RTP, RTCP SR/RR/SDES/BYE, jitter A.8, loss A.3), 3551
// (payload types 0 and 8), 4733 (telephone-events, in media/dtmf), 3264,
// 8866 and 3605 (SDP, in media/sdp), 4961 (symmetric RTP).
package media
