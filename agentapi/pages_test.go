package agentapi

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

func TestBrowserWallboardAndAdmin(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	board := Board{
		Queues: []QueueStats{{Name: "support", Waiting: 3, LongestWait: 75, ServiceLevel: 0.8, ASA: 14, Answered: 20, Abandoned: 5, Offered: 28}},
		Agents: []AgentView{{ID: "alice", Name: "Alice Agent", State: "busy"}, {ID: "bob", Name: "Bob Agent", State: "away", Reason: "lunch"}},
	}
	var mu sync.Mutex
	e := newEnv(t, WithBoard(BoarderFunc(func(ctx context.Context) (Board, error) {
		mu.Lock()
		defer mu.Unlock()
		b := board
		b.Queues = append([]QueueStats(nil), board.Queues...)
		return b, nil
	})))
	tab, closeTab := browser(t, ctx)
	defer closeTab()

	var row, agents string
	if err := chromedp.Run(tab,
		chromedp.Navigate(e.ts.URL+"/board.html"),
		chromedp.WaitVisible("#login-user", chromedp.ByID),
		chromedp.SendKeys("#login-user", "sue", chromedp.ByID),
		chromedp.SendKeys("#login-pass", "sue-secret", chromedp.ByID),
		chromedp.Click("#login-submit", chromedp.ByID),
		chromedp.WaitVisible(`tr[data-queue="support"]`, chromedp.ByQuery),
		// Read in one script: rows are redrawn when figures change.
		chromedp.Evaluate(`document.querySelector('tr[data-queue="support"]').innerText`, &row),
		chromedp.Evaluate(`document.getElementById('agents').innerText`, &agents),
	); err != nil {
		t.Fatalf("wallboard: %v", err)
	}
	for _, want := range []string{"support", "3", "1 min 15 s", "80 %", "14 s", "20", "5", "20 %"} {
		if !strings.Contains(row, want) {
			t.Errorf("queue row %q lacks %q", row, want)
		}
	}
	if !strings.Contains(agents, "Alice Agent") || !strings.Contains(agents, "lunch") {
		t.Errorf("agents %q", agents)
	}
	// Live: a new figure shows up without reloading.
	mu.Lock()
	board.Queues[0].Waiting = 7
	mu.Unlock()
	if err := waitFor(ctx, "live update", func() bool {
		var s string
		_ = chromedp.Run(tab, chromedp.Evaluate(`document.querySelector('tr[data-queue="support"] .waiting').innerText`, &s))
		return s == "7"
	}); err != nil {
		t.Fatal(err)
	}

	// The admin page refuses a supervisor's lookup...
	var status string
	if err := chromedp.Run(tab,
		chromedp.Navigate(e.ts.URL+"/admin.html"),
		chromedp.WaitVisible("#admin", chromedp.ByID),
		chromedp.SendKeys("#q", "C1", chromedp.ByID),
		chromedp.Click("#lookup-submit", chromedp.ByID),
	); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(ctx, "lookup refused for a supervisor", func() bool {
		_ = chromedp.Run(tab, chromedp.Text("#status", &status, chromedp.ByID))
		return strings.Contains(status, "role")
	}); err != nil {
		t.Fatalf("%v (status %q)", err, status)
	}
	if me := pageText(t, tab, "#me-name"); !strings.Contains(me, "Sue Supervisor (supervisor)") || !strings.Contains(me, "Only admins") {
		t.Errorf("the admin page tells a supervisor %q", me)
	}
	if who := pageText(t, tab, "#who-may"); !strings.Contains(who, "For admins") || !strings.Contains(who, "david") {
		t.Errorf("who may use the admin page: %q", who)
	}
	// ...and serves an admin, who erases a customer's biometric data.
	var name string
	if err := chromedp.Run(tab,
		chromedp.Evaluate(`fetch('/api/login', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({user: 'root', password: 'root-secret'})}).then((r) => r.status)`, nil, awaitPromise),
		chromedp.Navigate(e.ts.URL+"/admin.html"),
		chromedp.WaitVisible("#admin", chromedp.ByID),
		chromedp.SendKeys("#q", "C1", chromedp.ByID),
		chromedp.Click("#lookup-submit", chromedp.ByID),
		chromedp.WaitVisible("#results section h2", chromedp.ByQuery),
		chromedp.Text("#results section h2", &name, chromedp.ByQuery),
		chromedp.Evaluate(`window.confirm = () => true`, nil),
		chromedp.Click("#results section button.danger", chromedp.ByQuery),
	); err != nil {
		t.Fatalf("admin: %v", err)
	}
	if name != "Ada Lovelace (C1)" {
		t.Errorf("lookup shows %q", name)
	}
	if err := waitFor(ctx, "erasure", func() bool {
		e.bio.mu.Lock()
		defer e.bio.mu.Unlock()
		return len(e.bio.erasals) == 1 && e.bio.erasals[0] == "C1 admin:root"
	}); err != nil {
		t.Fatal(err)
	}
	// Log out: back to the login form, and the session is gone.
	var code int
	if err := chromedp.Run(tab,
		chromedp.Click("#btn-logout", chromedp.ByID),
		chromedp.WaitVisible("#login-user", chromedp.ByID),
		chromedp.Evaluate(`fetch('/api/session').then((r) => r.status)`, &code, awaitPromise),
	); err != nil {
		t.Fatalf("log out: %v", err)
	}
	if code != 401 {
		t.Errorf("session after log-out answers %d, want 401", code)
	}
}

// A page whose socket drops (not replaced, not logged out) reconnects by
// itself, logs the agent in again and sets up its media again.
func TestBrowserReconnects(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e := newEnv(t)
	tab, closeTab := browser(t, ctx)
	defer closeTab()
	loginAndGoAvailable(t, tab, e)
	first := e.srv.agent("alice")
	first.close("network trouble")
	if err := waitFor(ctx, "router told of the drop", func() bool { return e.router.has("disconnected alice") }); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(ctx, "a new connection", func() bool {
		c := e.srv.agent("alice")
		return c != nil && c != first
	}); err != nil {
		t.Fatal(err)
	}
	logins := 0
	for _, c := range e.router.recorded() {
		if c == "login alice" {
			logins++
		}
	}
	if logins != 2 {
		t.Errorf("%d logins, want 2: %v", logins, e.router.recorded())
	}
	if err := waitFor(ctx, "media again", func() bool {
		var s string
		_ = chromedp.Run(tab, chromedp.Text("#media", &s, chromedp.ByID))
		return s == "audio: connected"
	}); err != nil {
		t.Fatal(err)
	}
	// The new session carries calls again.
	if err := e.srv.Ring(ctx, "alice", adaOffer); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Run(tab, chromedp.WaitVisible("#offer", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
}
