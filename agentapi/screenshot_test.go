package agentapi

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/routing"
)

// TestScreenshots takes the pictures of docs/screenshots: the agent page
// ringing with a customer file, the wallboard and the admin page, in
// headless Chromium at 1200x900. They are written to
// $VOXDESK_SCREENSHOTS when set (make screenshots: the committed ones),
// to a temporary folder otherwise, and each must be a PNG.
func TestScreenshots(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dir := os.Getenv("VOXDESK_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	at := time.Now()
	vm := t.TempDir()
	writeVoicemailWAV(t, filepath.Join(vm, "billing", at.UTC().Add(-47*time.Minute).Format("20060102T150405Z")+"-c-88.wav"), 12)
	e := newEnv(t, WithVoicemail(VoicemailFolder{Dir: vm}), WithBoard(BoarderFunc(func(ctx context.Context) (Board, error) {
		return Board{At: at,
			Queues: []QueueStats{
				{Name: "billing", Waiting: 2, LongestWait: 84, ServiceLevel: 0.72, ASA: 26, Answered: 41, Abandoned: 6, Offered: 49, AvgHandle: 312, Staffed: 2,
					Calls: []WaitingView{
						{Call: "c-1", Caller: "+33639980101", Customer: "C-1001", Waited: 84, OfferedTo: "alice"},
						{Call: "c-2", Caller: "+33612000077", Waited: 31},
					}},
				{Name: "support", Waiting: 1, LongestWait: 9, ServiceLevel: 0.93, ASA: 11, Answered: 58, Abandoned: 2, Offered: 61, AvgHandle: 254, Staffed: 2,
					Calls: []WaitingView{{Call: "c-3", Caller: "+12025550101", Customer: "C-1002", Waited: 9, Callback: true}}},
			},
			Agents: []AgentView{
				{ID: "alice", Name: "Alice Agent", State: "offered", Since: at.Add(-4 * time.Second), Handled: 12},
				{ID: "bob", Name: "Bob Agent", State: "busy", Since: at.Add(-197 * time.Second), Handled: 9},
				{ID: "sue", Name: "Sue Supervisor", State: "away", Reason: "meeting", Since: at.Add(-1260 * time.Second), Handled: 2},
			},
		}, nil
	})))
	tab, closeTab := browser(t, ctx)
	defer closeTab()
	if err := chromedp.Run(tab, chromedp.EmulateViewport(1200, 900)); err != nil {
		t.Fatal(err)
	}
	shot := func(name string) {
		t.Helper()
		var png []byte
		if err := chromedp.Run(tab, chromedp.Sleep(300*time.Millisecond), chromedp.FullScreenshot(&png, 100)); err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || len(png) < 10<<10 {
			t.Fatalf("screenshot %s: %d bytes, not a PNG of a page", name, len(png))
		}
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// The agent page ringing with Ada's file, after a missed call.
	loginAndGoAvailable(t, tab, e)
	first := routing.Offer{CallID: "c-0", Queue: "support", Caller: "+33612000042", IdentMethod: call.MethodNumber}
	if err := e.srv.Ring(ctx, "alice", first); err != nil {
		t.Fatal(err)
	}
	_ = e.srv.Cancel(ctx, "alice", "c-0", routing.ReasonNotAnswered)
	e.srv.RoutingEvent(routing.Event{Type: routing.EventOfferMissed, Time: at.Add(-3 * time.Minute), Agent: "alice", CallID: "c-0",
		Queue: "support", AgentStatus: &routing.AgentStatus{State: routing.StateAvailable}})
	o := adaOffer
	o.Called, o.Arrived = "+33140000000", at.Add(-72*time.Second)
	o.Vars = map[string]string{varIVRPath: "greet hours who route menu billing"}
	if err := e.srv.Ring(ctx, "alice", o); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, tab, `#offer-file [data-testid="in-system"]`, "in the system")
	waitText(t, ctx, tab, "#missed-list", "missed call")
	shot("agent-ringing.png")

	// The wallboard, as the supervisor.
	if err := chromedp.Run(tab,
		chromedp.Evaluate(`fetch('/api/login', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({user: 'sue', password: 'sue-secret'})}).then((r) => r.status)`, nil, awaitPromise),
		chromedp.Navigate(e.ts.URL+"/board.html"),
	); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, tab, "#calls", "+33612000077")
	shot("wallboard.png")

	// The admin page with a customer found.
	if err := chromedp.Run(tab,
		chromedp.Evaluate(`fetch('/api/login', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({user: 'root', password: 'root-secret'})}).then((r) => r.status)`, nil, awaitPromise),
		chromedp.Navigate(e.ts.URL+"/admin.html"),
		chromedp.WaitVisible("#admin", chromedp.ByID),
		chromedp.SendKeys("#q", "C1", chromedp.ByID),
		chromedp.Click("#lookup-submit", chromedp.ByID),
		chromedp.WaitVisible("#results section h2", chromedp.ByQuery),
	); err != nil {
		t.Fatalf("admin: %v", err)
	}
	shot("admin.png")
}
