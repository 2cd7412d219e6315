package agentapi

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/voxdesk/voxdesk/routing"
)

// TestBrowserWallboardRoles: an agent opening the wallboard is told
// plainly it is for supervisors (no socket, no retry loop) and can log
// out; a supervisor sees the waiting calls (who, how long, identity),
// the agents' time in state, the average handle time and the alerts.
func TestBrowserWallboardRoles(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	e := newEnv(t, WithBoard(BoarderFunc(func(ctx context.Context) (Board, error) {
		return Board{At: at,
			Queues: []QueueStats{
				{Name: "support", Waiting: 2, LongestWait: 75, ServiceLevel: 0.6, ASA: 30, Answered: 10, Abandoned: 2, AvgHandle: 200, Staffed: 1,
					Calls: []WaitingView{
						{Call: "c-ada", Caller: "+441632960001", Customer: "C1", Method: "voice", Waited: 75, OfferedTo: "alice"},
						{Call: "c-anon", Caller: "+441632960055", Waited: 12},
						{Call: "c-fraud", Caller: "+441632960077", Watchlist: "W-7 account takeover", Waited: 5},
					}},
				{Name: "sales", Answered: 4, ServiceLevel: 1, AvgHandle: 90, Staffed: 1},
			},
			Agents: []AgentView{{ID: "alice", Name: "Alice Agent", State: "offered", Since: at.Add(-125 * time.Second), Handled: 3},
				{ID: "bob", Name: "Bob Agent", State: "available", Since: at.Add(-5 * time.Second)},
				{ID: "sue", Name: "Sue Supervisor", State: "away", Reason: "meeting", Since: at.Add(-600 * time.Second)}},
		}, nil
	})))
	tab, closeTab := browser(t, ctx)
	defer closeTab()

	login := func(user, pass string) {
		t.Helper()
		if err := chromedp.Run(tab,
			chromedp.WaitVisible("#login-user", chromedp.ByID),
			chromedp.SendKeys("#login-user", user, chromedp.ByID),
			chromedp.SendKeys("#login-pass", pass, chromedp.ByID),
			chromedp.Click("#login-submit", chromedp.ByID),
		); err != nil {
			t.Fatalf("login %s: %v", user, err)
		}
	}
	if err := chromedp.Run(tab, chromedp.Navigate(e.ts.URL+"/board.html")); err != nil {
		t.Fatal(err)
	}
	if who := pageText(t, tab, "#who-may"); !strings.Contains(who, "For supervisors and admins") || !strings.Contains(who, "chloe") {
		t.Errorf("who may use the wallboard: %q", who)
	}
	login("alice", "alice-secret")
	msg := pageText(t, tab, "#forbidden-text")
	if !strings.Contains(msg, "for supervisors and admins") || !strings.Contains(msg, "Alice Agent is an agent") {
		t.Errorf("an agent is told %q", msg)
	}
	time.Sleep(1500 * time.Millisecond) // room for a retry loop to show up
	var st string
	var boardHidden bool
	if err := chromedp.Run(tab, chromedp.Text("#status", &st, chromedp.ByID),
		chromedp.Evaluate(`document.getElementById('board').hidden`, &boardHidden)); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(st, "retrying") || strings.Contains(st, "Disconnected") || !boardHidden {
		t.Errorf("agent's wallboard: status %q, board hidden %v", st, boardHidden)
	}
	if got := e.router.recorded(); len(got) != 0 {
		t.Errorf("the wallboard acted on routing: %v", got)
	}
	e.srv.mu.Lock()
	boards := len(e.srv.boards)
	e.srv.mu.Unlock()
	if boards != 0 {
		t.Errorf("%d wallboard sockets open for an agent", boards)
	}
	// Log out, then in as the supervisor.
	if err := chromedp.Run(tab, chromedp.Click("#btn-logout", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	login("sue", "sue-secret")
	calls := waitText(t, ctx, tab, "#calls", "+441632960055")
	for _, want := range []string{"+441632960001", "customer C1 (by voice)", "1 min 15 s", "alice", "not identified", "12 s"} {
		if !strings.Contains(calls, want) {
			t.Errorf("waiting calls %q lack %q", calls, want)
		}
	}
	// A caller whose voice matched the fraud watchlist stands out.
	var fraudClass string
	if err := chromedp.Run(tab, chromedp.Evaluate(`document.querySelector('tr[data-call="c-fraud"]').className`, &fraudClass)); err != nil {
		t.Fatal(err)
	}
	if fraud := pageText(t, tab, `tr[data-call="c-fraud"]`); !strings.Contains(fraud, "fraud watchlist: W-7 account takeover") || fraudClass != "alert" {
		t.Errorf("watchlist caller's row %q (class %q): want the watchlist warning, highlighted", fraud, fraudClass)
	}
	row := pageText(t, tab, `tr[data-queue="support"]`)
	for _, want := range []string{"3 min 20 s", "waiting over 1 min", "service level 60 %"} {
		if !strings.Contains(row, want) {
			t.Errorf("support row %q lacks %q", row, want)
		}
	}
	if row := pageText(t, tab, `tr[data-queue="sales"]`); !strings.Contains(row, "1 min 30 s") || strings.Contains(row, "over") {
		t.Errorf("sales row %q: want its handle time and no alert", row)
	}
	if agents := waitText(t, ctx, tab, "#agents", "2 min 5 s"); !strings.Contains(agents, "offered") {
		t.Errorf("agents %q", agents)
	}
	if occ := pageText(t, tab, "#occupancy"); !strings.Contains(occ, "1 of 2 agents taking calls are on one (50 %)") {
		t.Errorf("occupancy %q: want alice of alice and bob (sue is away)", occ)
	}
}

// TestRouterBoardCarriesCallsAndTimes: the router's snapshot reaches the
// wallboard with the waiting calls, the agents' state times and the
// handle time.
func TestRouterBoardCarriesCallsAndTimes(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	b := boardOf(routing.Snapshot{Time: now,
		Queues: []routing.QueueStats{{Name: "support", Waiting: 1, AvgHandleTime: 200 * time.Second, Staffed: 2,
			Calls: []routing.WaitingCall{{CallID: "c1", Caller: "+441632960001", Customer: "C1", Method: "voice", Watchlist: "W-7", Waited: 75 * time.Second, OfferedTo: "alice"}}}},
		Agents: []routing.AgentStatus{{ID: "alice", State: routing.StateWrapUp, Since: now.Add(-5 * time.Second), Until: now.Add(5 * time.Second), Handled: 4}},
	})
	q := b.Queues[0]
	if q.AvgHandle != 200 || q.Staffed != 2 || len(q.Calls) != 1 ||
		q.Calls[0] != (WaitingView{Call: "c1", Caller: "+441632960001", Customer: "C1", Method: "voice", Watchlist: "W-7", Waited: 75, OfferedTo: "alice"}) {
		t.Errorf("queue %+v", q)
	}
	a := b.Agents[0]
	if !a.Since.Equal(now.Add(-5*time.Second)) || !a.Until.Equal(now.Add(5*time.Second)) || a.Handled != 4 || a.State != "wrap-up" {
		t.Errorf("agent %+v", a)
	}
}
