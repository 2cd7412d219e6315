// Command diagopeer is the load bench's peer: a small answering
// application written on github.com/emiago/diago (MPL-2.0, used by the
// bench only) that does what voxdesk's demo handler does, so the two can
// take the same SIPp load side by side. For each call it answers, plays
// the welcome prompt while reading RFC 4733 telephone-events, and on '#'
// (or after -idle without one) plays goodbye and hangs up.
//
// On SIGINT or SIGTERM it stops and prints one JSON line of counters on
// stdout (calls answered, digits seen by key, how calls ended), which the
// bench reads to say what the peer saw.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
	"github.com/emiago/sipgo"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:5060", "SIP UDP address")
	rtpPorts := flag.String("rtp-ports", "30000-31999", "RTP port range, MIN-MAX")
	welcome := flag.String("welcome", "", "welcome prompt (WAV, 8 kHz 16-bit mono)")
	goodbye := flag.String("goodbye", "", "goodbye prompt (WAV, 8 kHz 16-bit mono)")
	idle := flag.Duration("idle", 20*time.Second, "hang up when no '#' came this long after the welcome prompt")
	flag.Parse()
	if err := run(*listen, *rtpPorts, *welcome, *goodbye, *idle); err != nil {
		fmt.Fprintln(os.Stderr, "diagopeer:", err)
		os.Exit(1)
	}
}

// counters is what the peer saw, printed as JSON when it stops.
type counters struct {
	mu            sync.Mutex
	Answered      int            `json:"answered"`
	AnswerFailed  int            `json:"answer_failed"`
	Digits        map[string]int `json:"digits"`
	EndedOnHash   int            `json:"ended_on_hash"`
	EndedIdle     int            `json:"ended_idle"`
	CallerHungUp  int            `json:"caller_hung_up"`
	PromptErrors  int            `json:"prompt_errors"`
	HangupErrors  int            `json:"hangup_errors"`
	FirstErrorMsg string         `json:"first_error,omitempty"`
}

func (c *counters) add(f func(c *counters)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f(c)
}

func (c *counters) fail(field *int, err error) {
	c.add(func(c *counters) {
		*field++
		if c.FirstErrorMsg == "" {
			c.FirstErrorMsg = err.Error()
		}
	})
}

func run(listen, rtpPorts, welcome, goodbye string, idle time.Duration) error {
	host, portStr, ok := strings.Cut(listen, ":")
	port, err := strconv.Atoi(portStr)
	if !ok || err != nil {
		return fmt.Errorf("bad -listen %q", listen)
	}
	lo, hi, ok := strings.Cut(rtpPorts, "-")
	media.RTPPortStart, err = strconv.Atoi(lo)
	if err == nil {
		media.RTPPortEnd, err = strconv.Atoi(hi)
	}
	if !ok || err != nil || media.RTPPortEnd <= media.RTPPortStart {
		return fmt.Errorf("bad -rtp-ports %q", rtpPorts)
	}
	for _, f := range []string{welcome, goodbye} {
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("prompt: %w", err)
		}
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("diagopeer"))
	if err != nil {
		return err
	}
	defer ua.Close()
	dg := diago.NewDiago(ua, diago.WithLogger(log),
		diago.WithTransport(diago.Transport{Transport: "udp", BindHost: host, BindPort: port}))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	cnt := &counters{Digits: map[string]int{}}
	var calls sync.WaitGroup
	err = dg.ServeBackground(ctx, func(d *diago.DialogServerSession) {
		calls.Add(1)
		defer calls.Done()
		serve(d, cnt, log, welcome, goodbye, idle)
	})
	if err != nil {
		return err
	}
	<-ctx.Done()
	waited := make(chan struct{})
	go func() { calls.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
	}
	cnt.mu.Lock()
	defer cnt.mu.Unlock()
	return json.NewEncoder(os.Stdout).Encode(cnt)
}

// serve runs one call: answer, welcome prompt with DTMF read meanwhile,
// wait for '#', goodbye, hang up.
func serve(d *diago.DialogServerSession, cnt *counters, log *slog.Logger, welcome, goodbye string, idle time.Duration) {
	callID := d.InviteRequest.CallID().Value()
	m, err := d.Answer(diago.AnswerOptions{})
	if err != nil {
		cnt.fail(&cnt.AnswerFailed, err)
		log.Warn("answer", "call_id", callID, "err", err)
		return
	}
	cnt.add(func(c *counters) { c.Answered++ })
	ctx := d.Context()

	dtmf, err := m.AudioReaderDTMF()
	if err != nil {
		cnt.fail(&cnt.AnswerFailed, err)
		log.Warn("dtmf reader", "call_id", callID, "err", err)
		return
	}
	hash := make(chan struct{})
	var once sync.Once
	dtmf.OnDTMF(func(r rune) error {
		cnt.add(func(c *counters) { c.Digits[string(r)]++ })
		if r == '#' {
			once.Do(func() { close(hash) })
		}
		return nil
	})
	// Read the caller's audio (and with it the telephone-events) for the
	// whole call; the read fails when the call's media closes.
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		buf := make([]byte, media.RTPBufSize)
		for {
			if _, err := dtmf.Read(buf); err != nil {
				return
			}
		}
	}()
	defer func() {
		m.Close()
		<-readDone
	}()

	pb, err := m.PlaybackCreate()
	if err != nil {
		cnt.fail(&cnt.PromptErrors, err)
		return
	}
	// The welcome prompt plays to its end; a '#' during it is honoured
	// right after (diago's playback has no barge-in of its own).
	if _, err := pb.PlayFile(welcome); err != nil && ctx.Err() == nil {
		cnt.fail(&cnt.PromptErrors, err)
		log.Warn("welcome prompt", "call_id", callID, "err", err)
	}
	timer := time.NewTimer(idle)
	defer timer.Stop()
	select {
	case <-hash:
		cnt.add(func(c *counters) { c.EndedOnHash++ })
	case <-timer.C:
		cnt.add(func(c *counters) { c.EndedIdle++ })
	case <-ctx.Done():
		cnt.add(func(c *counters) { c.CallerHungUp++ })
		return
	}
	if _, err := pb.PlayFile(goodbye); err != nil && ctx.Err() == nil {
		cnt.fail(&cnt.PromptErrors, err)
	}
	hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := d.Hangup(hctx); err != nil && !errors.Is(err, context.Canceled) {
		cnt.fail(&cnt.HangupErrors, err)
		log.Warn("hangup", "call_id", callID, "err", err)
	}
}
