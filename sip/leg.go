package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/media/sdp"
)

// byeTimeout bounds how long Hangup waits for the answer to its BYE.
const byeTimeout = 5 * time.Second

// Leg is one SIP dialog with its RTP session: the caller of an inbound
// call, or the far end of an outbound one. It implements call.Leg.
type Leg struct {
	srv     *Server
	callID  string
	trunk   *Trunk
	inbound bool
	agent   string       // the agent whose phone placed the call, "" for a caller
	serve   call.Handler // serves an agent's call instead of the server's handler
	log     *slog.Logger
	media   Media

	// dlg is the leg's SIP dialog: its identity, its state (early while
	// an inbound call rings, confirmed once answered, terminated when
	// the leg ends) and the requests sent in it.
	dlg *dialog

	mu         sync.Mutex
	cause      call.Cause
	reason     string // reason phrase for a refusal before answer
	local      sdp.Local
	negotiated sdp.Media
	fwdStarted bool

	done   chan struct{}
	up     chan struct{} // closed when the leg is answered
	digits chan call.Digit
	answer chan chan error // Answer -> the INVITE goroutine
}

var _ call.Leg = (*Leg)(nil)

func newLeg(srv *Server, d *dialog, m Media, log *slog.Logger) *Leg {
	return &Leg{
		srv: srv, callID: d.callID, dlg: d, media: m, log: log,
		done:   make(chan struct{}),
		up:     make(chan struct{}),
		digits: make(chan call.Digit, 16),
		answer: make(chan chan error),
	}
}

// CallID is the SIP Call-ID of the dialog.
func (l *Leg) CallID() string { return l.callID }

// Trunk is the name of the trunk the leg uses.
func (l *Leg) Trunk() string {
	if l.trunk == nil {
		return ""
	}
	return l.trunk.Name
}

// Negotiated returns the media agreed by the last offer/answer exchange.
func (l *Leg) Negotiated() sdp.Media {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.negotiated
}

// Answer sends 200 OK with our SDP answer and starts the media. It
// returns once the 200 is sent; the server retransmits it until the ACK.
func (l *Leg) Answer(ctx context.Context) error {
	switch l.dlg.current() {
	case dialogConfirmed:
		return nil
	case dialogTerminated:
		return call.ErrHangup
	}
	reply := make(chan error, 1)
	select {
	case l.answer <- reply:
	case <-l.done:
		return call.ErrHangup
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// setUp applies the negotiated media and marks the leg answered. It
// fails if the leg ended meanwhile.
func (l *Leg) setUp(m sdp.Media) error {
	if err := l.media.Update(m); err != nil {
		return fmt.Errorf("sip: start media: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.dlg.confirm() {
		return call.ErrHangup
	}
	l.negotiated = m
	close(l.up)
	l.fwdStarted = true
	l.srv.goLeg(l.forwardDigits)
	l.srv.goLeg(l.watchMedia)
	return nil
}

// MediaTimeoutReason is the reason given when a leg is hung up because
// no RTP came from the far end: the log's reason, and the text of the
// BYE's Reason header (RFC 3326; Q.850 cause 102, recovery on timer
// expiry).
const MediaTimeoutReason = "RTP timeout"

// watchMedia hangs up the leg when its media reports the far end silent
// for the media timeout (FreeSWITCH's rtp_timeout_sec): a caller who went
// away without a BYE does not hold a queue slot or an agent.
func (l *Leg) watchMedia() {
	select {
	case <-l.media.Inactive():
		l.log.Warn("media timeout: no RTP from the far end, hanging up", "reason", MediaTimeoutReason)
		if err := l.hangup(context.Background(), call.CauseTimeout, MediaTimeoutReason); err != nil {
			l.log.Debug("bye after media timeout", "err", err)
		}
	case <-l.done:
	}
}

func (l *Leg) forwardDigits() {
	defer close(l.digits)
	in := l.media.Digits()
	for {
		select {
		case d, ok := <-in:
			if !ok {
				<-l.done
				return
			}
			select {
			case l.digits <- call.Digit{Key: d.Key, Duration: d.Duration}:
			case <-l.done:
				return
			}
		case <-l.done:
			return
		}
	}
}

// ReadAudio waits for the answer, then returns the caller's next 20 ms.
func (l *Leg) ReadAudio(ctx context.Context, dst []int16) (int, error) {
	if err := l.waitUp(ctx); err != nil {
		return 0, err
	}
	n, err := l.media.ReadAudio(ctx, dst)
	if err != nil && l.ended() {
		return 0, call.ErrHangup
	}
	return n, err
}

// WriteAudio waits for the answer, then queues one frame; it is paced by
// the RTP session's clock. On hold the frame is dropped but still paced.
func (l *Leg) WriteAudio(ctx context.Context, frame []int16) error {
	if err := l.waitUp(ctx); err != nil {
		return err
	}
	err := l.media.WriteAudio(ctx, frame)
	if err != nil && l.ended() {
		return call.ErrHangup
	}
	return err
}

func (l *Leg) waitUp(ctx context.Context) error {
	select {
	case <-l.done:
		return call.ErrHangup
	default:
	}
	select {
	case <-l.up:
		return nil
	case <-l.done:
		return call.ErrHangup
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Digits delivers the far end's RFC 4733 key presses; closed when the
// leg ends.
func (l *Leg) Digits() <-chan call.Digit { return l.digits }

// Done is closed when the leg has ended.
func (l *Leg) Done() <-chan struct{} { return l.done }

// Cause reports why the leg ended.
func (l *Leg) Cause() call.Cause {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cause
}

func (l *Leg) ended() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

// end terminates the leg's dialog and releases its media. It reports
// the state the dialog was in, and false if it had already ended.
func (l *Leg) end(cause call.Cause, reason string) (dialogState, bool) {
	l.mu.Lock()
	prev, ok := l.dlg.terminate()
	if !ok {
		l.mu.Unlock()
		return prev, false
	}
	l.cause = cause
	l.reason = reason
	close(l.done)
	if !l.fwdStarted {
		close(l.digits)
	}
	l.mu.Unlock()
	if err := l.media.Close(); err != nil && !errors.Is(err, context.Canceled) {
		l.log.Debug("media close", "err", err)
	}
	return prev, true
}

// Hangup ends the leg. Before the answer it refuses the INVITE with the
// status for cause (see StatusForCause); after, it sends BYE.
func (l *Leg) Hangup(ctx context.Context, cause call.Cause) error {
	return l.hangup(ctx, cause, "")
}

func (l *Leg) hangup(ctx context.Context, cause call.Cause, reason string) error {
	prev, ok := l.end(cause, reason)
	if !ok || prev != dialogConfirmed {
		return nil // before answer, the INVITE goroutine sends the refusal
	}
	return l.bye(ctx)
}

// bye sends BYE in the dialog and waits for its final response.
func (l *Leg) bye(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, byeTimeout)
	defer cancel()
	req := l.dlg.newRequest(sip.BYE)
	l.mu.Lock()
	cause, reason := l.cause, l.reason
	l.mu.Unlock()
	if cause == call.CauseTimeout && reason == MediaTimeoutReason {
		req.AppendHeader(sip.NewHeader("Reason", `Q.850;cause=102;text="`+reason+`"`))
	}
	res, err := l.srv.client.Do(ctx, req)
	if err != nil {
		return fmt.Errorf("sip: bye %s: %w", l.callID, err)
	}
	if !res.IsSuccess() && res.StatusCode != 481 {
		return fmt.Errorf("sip: bye %s: %d %s", l.callID, res.StatusCode, res.Reason)
	}
	return nil
}
