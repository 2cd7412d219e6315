package sip

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// logHead is how much of a message (or of any long log value) a log
// line carries.
const logHead = 200

// head is the first logHead bytes of b, as text, with the size when cut.
func head(b []byte) string {
	if len(b) <= logHead {
		return string(b)
	}
	cut := logHead
	for cut > 0 && !utf8.RuneStart(b[cut]) {
		cut--
	}
	return string(b[:cut]) + "...(" + strconv.Itoa(len(b)) + " bytes)"
}

// rateLog lets through at most burst events per period and counts the
// rest, so that a flood of bad input costs a bounded amount of log.
type rateLog struct {
	period time.Duration
	burst  int

	mu      sync.Mutex
	start   time.Time
	n       int
	dropped int
}

func newRateLog(burst int, period time.Duration) *rateLog {
	return &rateLog{period: period, burst: burst}
}

// allow reports whether an event may be logged now, and how many were
// suppressed since the last one allowed.
func (r *rateLog) allow() (bool, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if now.Sub(r.start) >= r.period {
		r.start, r.n = now, 0
	}
	if r.n >= r.burst {
		r.dropped++
		return false, 0
	}
	r.n++
	d := r.dropped
	r.dropped = 0
	return true, d
}

// boundedHandler wraps sipgo's logging: string values are cut to
// logHead bytes (sipgo logs a whole unparseable message, up to 64 KB, at
// ERROR), and warnings and errors are rate-limited.
type boundedHandler struct {
	h     slog.Handler
	limit *rateLog
}

func newBoundedHandler(h slog.Handler) *boundedHandler {
	return &boundedHandler{h: h, limit: newRateLog(10, time.Second)}
}

func (b *boundedHandler) Enabled(ctx context.Context, l slog.Level) bool { return b.h.Enabled(ctx, l) }

func (b *boundedHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		ok, dropped := b.limit.allow()
		if !ok {
			return nil
		}
		if dropped > 0 {
			r.AddAttrs(slog.Int("suppressed", dropped))
		}
	}
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(boundAttr(a))
		return true
	})
	return b.h.Handle(ctx, out)
}

func (b *boundedHandler) WithAttrs(as []slog.Attr) slog.Handler {
	bounded := make([]slog.Attr, len(as))
	for i, a := range as {
		bounded[i] = boundAttr(a)
	}
	return &boundedHandler{h: b.h.WithAttrs(bounded), limit: b.limit}
}

func (b *boundedHandler) WithGroup(name string) slog.Handler {
	return &boundedHandler{h: b.h.WithGroup(name), limit: b.limit}
}

func boundAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		if s := v.String(); len(s) > logHead {
			return slog.String(a.Key, head([]byte(s)))
		}
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			if s := err.Error(); len(s) > logHead {
				return slog.String(a.Key, head([]byte(s)))
			}
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
