package service

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/media"
)

// Demo is the built-in call handler used until an IVR flow is
// configured: it answers, plays the welcome prompt, logs each DTMF digit,
// and after '#' (or IdleTimeout without a key) plays goodbye and hangs up.
// It reads the caller's audio all call long, recording it when RecordDir
// is set. '#' during the welcome prompt cuts it short.
type Demo struct {
	Welcome, Goodbye *media.Prompt
	// IdleTimeout counts from the end of the welcome prompt and restarts
	// at each digit; zero means DefaultIdleTimeout.
	IdleTimeout time.Duration
	// RecordDir, when set, receives <call_id>.wav with the caller's audio.
	RecordDir string
	// OnDigit, if set, is called with each digit (tests observe calls
	// with it).
	OnDigit func(c *call.Call, d call.Digit)
}

var _ call.Handler = (*Demo)(nil)

// ServeCall runs the demo on one call.
func (d *Demo) ServeCall(ctx context.Context, c *call.Call) error {
	if err := c.Leg.Answer(ctx); err != nil {
		return err
	}
	stopListen, err := d.listen(ctx, c)
	if err != nil {
		return err
	}
	defer stopListen()

	playCtx, stopPlay := context.WithCancel(ctx)
	defer stopPlay()
	played := make(chan error, 1)
	go func() { played <- media.Play(playCtx, c.Leg, d.Welcome) }()
	playing := true

	idleTimeout := d.IdleTimeout
	if idleTimeout <= 0 {
		idleTimeout = DefaultIdleTimeout
	}
	idle := time.NewTimer(time.Hour)
	idle.Stop()
	defer idle.Stop()
	digits := c.Leg.Digits()
	var keys strings.Builder
wait:
	for {
		select {
		case err := <-played:
			playing = false
			if err != nil && !isHangup(err) {
				c.Log.Warn("welcome prompt", "err", err)
			}
			idle.Reset(idleTimeout)
		case dg, ok := <-digits:
			if !ok {
				digits = nil
				continue
			}
			keys.WriteRune(dg.Key)
			c.Log.Info("dtmf digit", "digit", string(dg.Key), "duration", dg.Duration)
			if d.OnDigit != nil {
				d.OnDigit(c, dg)
			}
			if dg.Key == '#' {
				break wait
			}
			if !playing {
				idle.Reset(idleTimeout)
			}
		case <-idle.C:
			c.Log.Info("caller idle, ending the call", "idle", idleTimeout)
			break wait
		case <-c.Leg.Done():
			if playing {
				stopPlay()
				<-played
			}
			c.Log.Info("caller left the demo", "digits", keys.String())
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if playing {
		stopPlay()
		<-played
	}
	c.Log.Info("demo finished", "digits", keys.String())
	if err := media.Play(ctx, c.Leg, d.Goodbye); err != nil {
		if isHangup(err) {
			return nil
		}
		return err
	}
	// The session queues a few frames: send silence so the end of the
	// prompt is on the wire before the BYE.
	silence := make([]int16, media.FrameSamples)
	for range 3 {
		if err := c.Leg.WriteAudio(ctx, silence); err != nil {
			return nil
		}
	}
	return c.Leg.Hangup(ctx, call.CauseNormal)
}

// listen reads the caller's audio in a goroutine for the whole call (the
// session's jitter buffer is played out, and recorded if asked). The
// returned func stops it and finishes the recording.
func (d *Demo) listen(ctx context.Context, c *call.Call) (func(), error) {
	var r media.Reader = c.Leg
	var rec *media.Recorder
	if d.RecordDir != "" {
		var err error
		rec, err = media.CreateRecorder(c.Leg, filepath.Join(d.RecordDir, fileName(c.ID)+".wav"))
		if err != nil {
			c.Log.Error("recording", "err", err)
			c.Leg.Hangup(ctx, call.CauseFailure)
			return nil, err
		}
		r = rec
	}
	lctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]int16, media.FrameSamples)
		for {
			if _, err := r.ReadAudio(lctx, buf); err != nil {
				return
			}
		}
	}()
	return func() {
		cancel()
		wg.Wait()
		if rec != nil {
			if err := rec.Close(); err != nil {
				c.Log.Error("recording", "err", err)
			} else {
				c.Log.Info("recorded caller audio", "samples", rec.Samples())
			}
		}
	}, nil
}

func isHangup(err error) bool {
	return errors.Is(err, call.ErrHangup) || errors.Is(err, context.Canceled) || errors.Is(err, media.ErrClosed)
}

// fileName makes a Call-ID safe as a file name.
func fileName(id string) string {
	var b strings.Builder
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return fmt.Sprintf("call-%d", time.Now().UnixNano())
	}
	return b.String()
}
