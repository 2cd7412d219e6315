package bench

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"
)

// callLog is a slog.Handler for the switch under load: it keeps, per
// call_id, the time of the IVR and routing events the bench reports on
// (flow started, identify, queue, caller hung up, answered by an agent,
// queue call ended) with their attributes, and counts the
// warnings and errors by message; it drops everything else.
type callLog struct {
	attrs []slog.Attr
	sink  *callSink
}

type callSink struct {
	mu     sync.Mutex
	calls  map[string]*callEvents
	warns  map[string]int
	events int
	enrols int // "voiceprint enrolled" lines: the demo enrolment
}

// callEvents is what the IVR and the router logged about one call.
type callEvents struct {
	started, identified, queued, hungUp time.Time
	customer, method, queue, hungUpAt   string
	score                               float64
	// The router's: the agent who answered and when, the queue's result
	// (answered, abandoned, max-wait...) and the time spent waiting.
	answered      time.Time
	agent, result string
	wait          time.Duration
	ended         bool // "queue call ended" seen
}

func newCallLog() *callLog {
	return &callLog{sink: &callSink{calls: map[string]*callEvents{}, warns: map[string]int{}}}
}

var _ slog.Handler = (*callLog)(nil)

func (h *callLog) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

func (h *callLog) WithAttrs(as []slog.Attr) slog.Handler {
	return &callLog{attrs: append(append([]slog.Attr(nil), h.attrs...), as...), sink: h.sink}
}

func (h *callLog) WithGroup(string) slog.Handler { return h }

func (h *callLog) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		h.sink.mu.Lock()
		h.sink.warns[r.Level.String()+" "+r.Message]++
		h.sink.mu.Unlock()
		return nil
	}
	switch r.Message {
	case "ivr: flow started", "ivr: identify", "ivr: queue", "ivr: caller hung up", "answered", "queue call ended":
	case "demo voiceprint enrolled":
		h.sink.mu.Lock()
		h.sink.enrols++
		h.sink.mu.Unlock()
		return nil
	default:
		return nil
	}
	attr := map[string]slog.Value{}
	for _, a := range h.attrs {
		attr[a.Key] = a.Value
	}
	r.Attrs(func(a slog.Attr) bool { attr[a.Key] = a.Value; return true })
	v, ok := attr["call_id"]
	if !ok || v.String() == "" {
		return nil // not about a call
	}
	id := v.String()
	s := h.sink
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events++
	c := s.calls[id]
	if c == nil {
		c = &callEvents{}
		s.calls[id] = c
	}
	switch r.Message {
	case "ivr: flow started":
		c.started = r.Time
	case "ivr: identify":
		c.identified = r.Time
		c.customer, c.method = str(attr, "customer"), str(attr, "method")
		if v, ok := attr["score"]; ok && v.Kind() == slog.KindFloat64 {
			c.score = v.Float64()
		}
	case "ivr: queue":
		c.queued, c.queue = r.Time, str(attr, "queue")
	case "ivr: caller hung up":
		c.hungUp, c.hungUpAt = r.Time, str(attr, "step")
	case "answered":
		c.answered, c.agent = r.Time, str(attr, "agent")
	case "queue call ended":
		c.ended, c.result = true, str(attr, "result")
		if v, ok := attr["wait"]; ok && v.Kind() == slog.KindDuration {
			c.wait = v.Duration()
		}
	}
	return nil
}

// str is an attribute as text, "" when the record has none (a missing
// slog.Value would print "<nil>").
func str(attr map[string]slog.Value, key string) string {
	if v, ok := attr[key]; ok {
		return v.String()
	}
	return ""
}

// snapshot returns a copy of the calls seen, the warning counts as
// "count x LEVEL message" lines (most frequent first) and how many
// voiceprints were enrolled.
func (h *callLog) snapshot() (map[string]callEvents, []string, int) {
	s := h.sink
	s.mu.Lock()
	defer s.mu.Unlock()
	calls := make(map[string]callEvents, len(s.calls))
	for id, c := range s.calls {
		calls[id] = *c
	}
	var warns []string
	for m, n := range s.warns {
		warns = append(warns, fmt.Sprintf("%d x %s", n, strings.ReplaceAll(m, "|", "/")))
	}
	sort.Slice(warns, func(i, j int) bool {
		var a, b int
		fmt.Sscan(warns[i], &a)
		fmt.Sscan(warns[j], &b)
		return a > b
	})
	return calls, warns, s.enrols
}
