package agentapi

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/voxdesk/voxdesk/routing"
)

// occT0 is when the scripted shift starts.
var occT0 = time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)

// occupancyScript is a morning of two agents, minutes after occT0:
// alice logs in and is available at 0, talks 10-30, wraps up 30-35, is
// available, away on a break 50-60, then available; bob logs in at 20,
// available, talks from 70. At 80 (occupancyNow):
//
//	alice: 15 min 0/15 = 0 %; 60 min (20-80, less the break) 15/50 = 30 %;
//	       shift 25/70 = 36 %
//	bob:   15 min 10/15 = 67 %; 60 min 10/60 = 17 %; shift 10/60 = 17 %
//	team:  15 min 10/30 = 33 %; 60 min 25/110 = 23 %; shift 35/130 = 27 %
var occupancyScript = []struct {
	min   int
	agent string
	state routing.State
}{
	{0, "alice", routing.StateAway}, {0, "alice", routing.StateAvailable},
	{10, "alice", routing.StateOffered}, {10, "alice", routing.StateBusy},
	{20, "bob", routing.StateAway}, {20, "bob", routing.StateAvailable},
	{30, "alice", routing.StateWrapUp}, {35, "alice", routing.StateAvailable},
	{50, "alice", routing.StateAway}, {60, "alice", routing.StateAvailable},
	{70, "bob", routing.StateOffered}, {70, "bob", routing.StateBusy},
}

var occupancyNow = occT0.Add(80 * time.Minute)

func playOccupancy(s *Server) {
	for _, e := range occupancyScript {
		st := routing.AgentStatus{ID: e.agent, State: e.state}
		s.RoutingEvent(routing.Event{Type: routing.EventAgentState, Time: occT0.Add(time.Duration(e.min) * time.Minute), Agent: e.agent, AgentStatus: &st})
	}
}

func pctOf(x *float64) string {
	if x == nil {
		return "-"
	}
	return fmt.Sprintf("%.0f %%", *x*100)
}

func (o *Occupancy) String() string {
	if o == nil {
		return "none"
	}
	return pctOf(o.Last15) + " / " + pctOf(o.Last60) + " / " + pctOf(o.Shift)
}

func TestOccupancyOverTime(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	playOccupancy(s)
	// Events of other kinds and of unknown shapes change nothing.
	s.RoutingEvent(routing.Event{Type: routing.EventAnswered, Time: occupancyNow, Agent: "alice"})
	s.RoutingEvent(routing.Event{Type: routing.EventAgentState, Time: occupancyNow, Agent: "alice"})
	b := Board{Agents: []AgentView{{ID: "alice"}, {ID: "bob"}, {ID: "carol"}}}
	s.occ.fill(&b, occupancyNow)
	for _, c := range []struct {
		who  string
		got  *Occupancy
		want string
	}{
		{"alice", b.Agents[0].Occupancy, "0 % / 30 % / 36 %"},
		{"bob", b.Agents[1].Occupancy, "67 % / 17 % / 17 %"},
		{"carol (no event)", b.Agents[2].Occupancy, "none"},
		{"team", b.Occupancy, "33 % / 23 % / 27 %"},
	} {
		if c.got.String() != c.want {
			t.Errorf("%s: occupancy %s, want %s", c.who, c.got, c.want)
		}
	}

	// Logged out, then in again: a new shift; a window without time
	// taking calls has no figure.
	for _, e := range []struct {
		min   int
		state routing.State
	}{{80, routing.StateLoggedOut}, {90, routing.StateAway}, {95, routing.StateAvailable}} {
		st := routing.AgentStatus{ID: "alice", State: e.state}
		s.RoutingEvent(routing.Event{Type: routing.EventAgentState, Time: occT0.Add(time.Duration(e.min) * time.Minute), Agent: "alice", AgentStatus: &st})
	}
	b = Board{Agents: []AgentView{{ID: "alice"}}}
	s.occ.fill(&b, occT0.Add(95*time.Minute))
	if got := b.Agents[0].Occupancy.String(); got != "- / 0 % / -" {
		t.Errorf("alice just back: %s, want - / 0 %% / - (only the 60 min window holds her morning's time available)", got)
	}
}

// TestBrowserWallboardOccupancy: the wallboard shows each agent's and the
// team's occupancy over the last 15 and 60 minutes and the shift, made
// from the routing events of a scripted morning (occupancyScript).
func TestBrowserWallboardOccupancy(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e := newEnv(t, withClock(func() time.Time { return occupancyNow }), WithBoard(BoarderFunc(func(ctx context.Context) (Board, error) {
		return Board{At: occupancyNow, Queues: []QueueStats{}, Agents: []AgentView{
			{ID: "alice", Name: "Alice Agent", State: "available", Since: occT0.Add(60 * time.Minute)},
			{ID: "bob", Name: "Bob Agent", State: "busy", Since: occT0.Add(70 * time.Minute)},
		}}, nil
	})))
	playOccupancy(e.srv)
	tab, closeTab := browser(t, ctx)
	defer closeTab()
	if err := chromedp.Run(tab, chromedp.Navigate(e.ts.URL+"/board.html"),
		chromedp.WaitVisible("#login-user", chromedp.ByID),
		chromedp.SendKeys("#login-user", "sue", chromedp.ByID),
		chromedp.SendKeys("#login-pass", "sue-secret", chromedp.ByID),
		chromedp.Click("#login-submit", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, tab, "#team-occupancy", "Team occupancy, last 15 min / 60 min / shift: 33 % / 23 % / 27 %.")
	for who, want := range map[string]string{"alice": "0 % / 30 % / 36 %", "bob": "67 % / 17 % / 17 %"} {
		if got := pageText(t, tab, `tr[data-agent="`+who+`"] td.occupancy`); got != want {
			t.Errorf("%s's occupancy on the wallboard: %q, want %q", who, got, want)
		}
	}
}

// manualClock is a routing.Clock whose time moves only when set; timers
// run on real time.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

func (c *manualClock) AfterFunc(d time.Duration, f func()) routing.Timer { return time.AfterFunc(d, f) }

// TestOccupancyFromRouterEvents: the router's own agent state events, on
// its clock, feed the occupancy as service wires it (OnEvent).
func TestOccupancyFromRouterEvents(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	clk := &manualClock{now: occT0}
	e, r := withRealRouter(t, ctx, routing.WithClock(clk))
	stop := r.OnEvent(e.srv.RoutingEvent)
	defer stop()
	if err := r.Login(ctx, routing.AgentInfo{ID: "bob", Name: "Bob", Skills: map[string]int{}}); err != nil {
		t.Fatal(err)
	}
	clk.set(occT0.Add(5 * time.Minute))
	if err := r.SetState(ctx, "bob", routing.StateAvailable, ""); err != nil {
		t.Fatal(err)
	}
	clk.set(occT0.Add(15 * time.Minute))
	if err := r.SetState(ctx, "bob", routing.StateAway, "lunch"); err != nil {
		t.Fatal(err)
	}
	var on time.Duration
	if err := waitFor(ctx, "the router's events", func() bool {
		e.srv.occ.mu.Lock()
		defer e.srv.occ.mu.Unlock()
		if a := e.srv.occ.agents["bob"]; a != nil && a.state == routing.StateAway && a.since.Equal(occT0.Add(15*time.Minute)) {
			on, _ = a.shiftTotals(occT0.Add(20 * time.Minute))
			return true
		}
		return false
	}); err != nil {
		t.Fatal(err)
	}
	if on != 10*time.Minute {
		t.Fatalf("bob's time taking calls %v, want the 10 min he was available", on)
	}
	b := Board{Agents: []AgentView{{ID: "bob"}}}
	e.srv.occ.fill(&b, occT0.Add(20*time.Minute))
	if got := b.Agents[0].Occupancy.String(); got != "0 % / 0 % / 0 %" {
		t.Errorf("bob's occupancy %s, want 0 %% in every window (available, no call)", got)
	}
}
