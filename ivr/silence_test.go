package ivr_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/call/calltest"
	"github.com/voxdesk/voxdesk/ivr"
)

// quietDoor listens at most 8 s but gives up on a caller silent for 2 s
// after the prompt, and sends that caller to a person instead of a menu.
const quietDoor = `
operator: agent
steps:
  - id: who
    identify: p1s
    listen: 8s
    silence: 2s
    fail: agent
  - id: menu
    menu: p2s
    choices: {1: billing}
    fail: agent
  - id: billing
    queue: billing
  - id: agent
    queue: general
`

func TestIdentifySilence(t *testing.T) {
	for _, tc := range []struct {
		name     string
		script   []calltest.Event
		wantPath string
		maxAt    time.Duration // the queue is reached by then
		minAt    time.Duration
	}{
		{
			name:     "a silent caller stops being listened to after the silence and goes to a person",
			wantPath: "who agent",
			minAt:    3 * time.Second, maxAt: 3500 * time.Millisecond, // 1 s prompt + 2 s silence
		},
		{
			name:     "a caller who speaks is listened to the whole listen time, then hears the menu",
			script:   []calltest.Event{{At: 1500 * time.Millisecond, Speech: speechPrompt(t, "reason.wav")}},
			wantPath: "who menu agent",
			minAt:    9 * time.Second, maxAt: 60 * time.Second,
		},
		{
			name:     "a key during the listening is an answer, not silence",
			script:   []calltest.Event{{At: 1500 * time.Millisecond, Digit: '1'}},
			wantPath: "who menu billing",
			minAt:    time.Second, maxAt: 3 * time.Second,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &clockRouter{}
			path, _, _, _ := runFlow(t, runCase{name: "quiet", flow: quietDoor, caller: "+33199999999", script: tc.script,
				cfg: func(c *ivr.Config) { c.Router = r }})
			queuedAt := r.at
			if path != tc.wantPath {
				t.Errorf("path %q, want %q", path, tc.wantPath)
			}
			if queuedAt < tc.minAt || queuedAt > tc.maxAt {
				t.Errorf("queued at %v of the call, want %v to %v", queuedAt, tc.minAt, tc.maxAt)
			}
		})
	}
}

func TestCalendarOverride(t *testing.T) {
	saturdayNight := time.Date(2026, 11, 28, 23, 0, 0, 0, mustLoc("Europe/Paris"))
	christmas := time.Date(2026, 12, 25, 10, 0, 0, 0, mustLoc("Europe/Paris"))
	for _, tc := range []struct {
		name     string
		override map[string]string
		at       time.Time
		closed   bool
	}{
		{"outside hours without override: closed", nil, saturdayNight, true},
		{"always-open: open at night", map[string]string{"office": ivr.CalendarOpen}, saturdayNight, false},
		{"always-open: open on a holiday", map[string]string{"office": ivr.CalendarOpen}, christmas, false},
		{"always-closed: closed in office hours", map[string]string{"office": ivr.CalendarClosed}, monday9, true},
		{"an override of another calendar changes nothing", map[string]string{"shop": ivr.CalendarOpen}, saturdayNight, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := testOpts
			opts.Calendars = tc.override
			f, err := ivr.Parse("front.yaml", []byte(frontDoor), opts)
			if err != nil {
				t.Fatal(err)
			}
			closed := false
			r := ivr.NewRunner(f, ivr.Config{}, ivr.WithClock(func() time.Time { return tc.at }), ivr.WithLogger(slog.New(slog.DiscardHandler)),
				ivr.OnStep(func(c *call.Call, f *ivr.Flow, step string) { closed = closed || step == "closed" }))
			leg := calltest.NewLeg()
			leg.MaxDuration = time.Minute
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := r.ServeCall(ctx, call.New("cal-call", leg, nil)); err != nil {
				t.Fatal(err)
			}
			if closed != tc.closed {
				t.Errorf("closed branch taken: %v, want %v", closed, tc.closed)
			}
		})
	}
	if err := ivr.CheckCalendars(map[string]string{"office": "open"}); err == nil {
		t.Error("CheckCalendars accepted override \"open\"")
	}
}

// clockRouter notes when, in the call's own time, the call was queued.
type clockRouter struct{ at time.Duration }

func (r *clockRouter) Queue(ctx context.Context, c *call.Call, queue string, skills []string, prio int, pref string) error {
	if l, ok := c.Leg.(*calltest.Leg); ok {
		r.at = l.Now()
	}
	return nil
}
