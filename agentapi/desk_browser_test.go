package agentapi

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/media/dtmf"
	"github.com/voxdesk/voxdesk/routing"
)

// pageText returns the innerText of the element matching sel.
func pageText(t *testing.T, tab context.Context, sel string) string {
	t.Helper()
	var s string
	if err := chromedp.Run(tab, chromedp.WaitVisible(sel, chromedp.ByQuery), chromedp.Text(sel, &s, chromedp.ByQuery)); err != nil {
		t.Fatalf("%s: %v", sel, err)
	}
	return s
}

// waitText waits until the element matching sel contains want.
func waitText(t *testing.T, ctx, tab context.Context, sel, want string) string {
	t.Helper()
	var s string
	if err := waitFor(ctx, sel+" saying "+want, func() bool {
		_ = chromedp.Run(tab, chromedp.Evaluate(`(document.querySelector(`+jsString(sel)+`)||{}).innerText||''`, &s))
		return strings.Contains(s, want)
	}); err != nil {
		t.Fatalf("%v (last %q)", err, s)
	}
	return s
}

func jsString(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }

// heardKeys runs the switch's DTMF receiver over the caller's audio.
func heardKeys(pcm []int16) string {
	var det dtmf.Detector
	ds := det.Flush(det.Process(nil, pcm))
	var b strings.Builder
	for _, d := range ds {
		b.WriteRune(d.Key)
	}
	return b.String()
}

// TestBrowserAgentDesk: what the agent's page shows and does around a
// call. Ringing: caller, dialled line, IVR path, time in the system,
// the identity's meaning, usual advisor, city and language. A missed
// offer leaves a notice saying the agent was set away. A number shared
// by two customers with a voice mismatch says so. On the call: call
// timer, hold timer, the keypad's tones reach the caller (decoded by the
// switch's DTMF receiver) and a key off the keypad is refused with
// nothing played. After it: the wrap-up counts down.
func TestBrowserAgentDesk(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var mu sync.Mutex
	alice := AgentView{ID: "alice", Name: "Alice Agent", State: "available"}
	e := newEnv(t, WithBoard(BoarderFunc(func(ctx context.Context) (Board, error) {
		mu.Lock()
		defer mu.Unlock()
		return Board{At: time.Now(), Agents: []AgentView{alice}}, nil
	})))
	cs := newCallerSide(e, t)
	tab, closeTab := browser(t, ctx)
	defer closeTab()
	loginAndGoAvailable(t, tab, e)
	if who := pageText(t, tab, "#who-may"); !strings.Contains(who, "For agents") || !strings.Contains(who, "alice") {
		t.Errorf("the page does not say who may use it: %q", who)
	}
	waitText(t, ctx, tab, "#state-timer", "for ")

	// 1. An offer rings out: the router cancels it, says it was missed
	// and sets alice away.
	missed := adaOffer
	missed.CallID, missed.Caller = "call-missed", "+441632960077"
	if err := e.srv.Ring(tab, "alice", missed); err != nil {
		t.Fatal(err)
	}
	pageText(t, tab, "#offer")
	_ = e.srv.Cancel(ctx, "alice", "call-missed", routing.ReasonNotAnswered)
	e.srv.RoutingEvent(routing.Event{Type: routing.EventOfferMissed, Time: time.Now(), Agent: "alice", CallID: "call-missed",
		Queue: "support", Customer: "C1", Reason: routing.ReasonNotAnswered,
		AgentStatus: &routing.AgentStatus{ID: "alice", State: routing.StateAway, Reason: "missed offers"}})
	notice := waitText(t, ctx, tab, "#missed-list", "missed call from")
	for _, want := range []string{"Ada Lovelace", "+441632960077", "queue support", "you were set away (missed offers)"} {
		if !strings.Contains(notice, want) {
			t.Errorf("missed-call notice %q lacks %q", notice, want)
		}
	}
	// Another agent's miss is not shown on alice's page.
	e.srv.RoutingEvent(routing.Event{Type: routing.EventOfferMissed, Time: time.Now(), Agent: "bob", CallID: "call-bob"})

	// 2. Number only, shared by two customers, the voice does not match.
	shared := routing.Offer{CallID: "call-shared", Queue: "support", Caller: "+441632960055", Called: "+441632960999",
		Channel: call.ChannelSIP, IdentMethod: call.MethodNumber, Waited: 3 * time.Second,
		Vars: map[string]string{call.VarCandidates: "C1,C2", call.VarIdentWarning: call.VoiceMismatch}}
	if err := e.srv.Ring(tab, "alice", shared); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, tab, `#offer-file [data-testid="ident"]`, "By number only: not verified")
	if got := pageText(t, tab, `#offer-file [data-testid="candidates"]`); !strings.Contains(got, "shared by 2 customers: C1, C2") {
		t.Errorf("candidates %q", got)
	}
	if got := pageText(t, tab, `#offer-file [data-testid="ident-warning"]`); !strings.Contains(got, call.VoiceMismatch) {
		t.Errorf("warning %q", got)
	}
	// The agent asks and picks Charles: his file shows, the call is his.
	if err := chromedp.Run(tab, chromedp.Click(`#offer-file button[data-pick="C2"]`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, tab, "#offer-file .customer-name", "Charles Babbage")
	// A customer who does not share the number is refused; nothing changes.
	if err := chromedp.Run(tab, chromedp.Evaluate(`window.voxdesk.ws.send(JSON.stringify({id: 9000, type: 'pick_customer', call: 'call-shared', customer: 'C9'})); true`, nil)); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, tab, "#status", `"C9" is not one of the customers sharing this number (C1, C2); nothing changed`)
	if got := pageText(t, tab, "#offer-file .customer-name"); got != "Charles Babbage" {
		t.Errorf("after a refused pick the page shows %q", got)
	}
	conn := e.srv.agent("alice")
	ac, err := conn.call("call-shared", phaseRinging)
	if err != nil {
		t.Fatal(err)
	}
	conn.mu.Lock()
	held := ac.offer
	conn.mu.Unlock()
	if held.Customer != "C2" || held.IdentMethod != call.MethodNumber {
		t.Errorf("the switch holds customer %q by %q, want C2 picked, identity still by number", held.Customer, held.IdentMethod)
	}
	_ = e.srv.Cancel(ctx, "alice", "call-shared", "answered elsewhere")

	// 3. Ada calls: everything an agent needs before answering.
	o := adaOffer
	o.Called, o.Arrived = "+441632960999", time.Now().Add(-65*time.Second)
	o.Vars = map[string]string{varIVRPath: "greet hours who menu billing"}
	if err := e.srv.Ring(tab, "alice", o); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, tab, "#offer-caller", "Ada Lovelace")
	for sel, want := range map[string]string{
		`#offer-file [data-testid="caller"]`:    "+441632960001",
		`#offer-file [data-testid="called"]`:    "+441632960999",
		`#offer-file [data-testid="path"]`:      "greet › hours › who › menu › billing",
		`#offer-file [data-testid="in-system"]`: "1 min",
		`#offer-file [data-testid="ident"]`:     "Verified by voice (score 0.91)",
		`#offer-file [data-testid="advisor"]`:   "alice",
		`#offer-file [data-testid="city"]`:      "Lyon",
		`#offer-file [data-testid="language"]`:  "(fr)",
	} {
		if got := pageText(t, tab, sel); !strings.Contains(got, want) {
			t.Errorf("%s = %q, want %q", sel, got, want)
		}
	}

	// 4. On the call: timers and the keypad.
	answerOnPage(t, ctx, tab, cs)
	waitText(t, ctx, tab, "#call-timer", "Call 1 s")
	if err := chromedp.Run(tab, chromedp.Click("#btn-hold", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, tab, "#hold-timer", "on hold 1 s")
	// A key while held is refused: the caller hears the hold music.
	if err := chromedp.Run(tab, chromedp.Click(`#keypad button[data-key="9"]`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, tab, "#status", "resume it before using the keypad")
	if err := chromedp.Run(tab, chromedp.Click("#btn-hold", chromedp.ByID),
		chromedp.WaitVisible(`#btn-hold[aria-pressed="false"]`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	before := len(cs.caller.Written())
	if err := chromedp.Run(tab, chromedp.Click(`#keypad button[data-key="5"]`, chromedp.ByQuery),
		chromedp.Click(`#keypad button[data-key="#"]`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, tab, "#status", "Key #: done")
	var heard string
	if err := waitFor(ctx, "keypad tones at the caller", func() bool {
		heard = heardKeys(cs.caller.Written()[before:])
		return heard == "5#"
	}); err != nil {
		t.Fatalf("%v: the caller heard %q, want 5#", err, heard)
	}
	// A key off the keypad, sent as the page would: refused by name, and
	// nothing more reaches the caller.
	if err := chromedp.Run(tab, chromedp.Evaluate(`window.voxdesk.ws.send(JSON.stringify({id: 9001, type: 'dtmf', call: 'call-ada', digits: '5E'})); true`, nil)); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, tab, "#status", "'E' is not a keypad key (0-9, *, #, A-D)")
	time.Sleep(500 * time.Millisecond)
	if heard := heardKeys(cs.caller.Written()[before:]); heard != "5#" {
		t.Errorf("after the refused keys the caller heard %q, want only 5#", heard)
	}

	// 5. Hang up: the router's wrap-up end shows as a countdown.
	mu.Lock()
	alice.State, alice.Until = "wrap-up", time.Now().Add(8*time.Second)
	mu.Unlock()
	if err := chromedp.Run(tab, chromedp.Click("#btn-hangup", chromedp.ByID), chromedp.WaitVisible("#wrap", chromedp.ByID)); err != nil {
		t.Fatalf("hang up: %v", err)
	}
	cd := waitText(t, ctx, tab, "#wrap-countdown", "available again in")
	if !strings.Contains(cd, "8 s") && !strings.Contains(cd, "7 s") && !strings.Contains(cd, "6 s") {
		t.Errorf("countdown %q, want about 8 s", cd)
	}
	waitText(t, ctx, tab, "#wrap-countdown", "in 5 s") // it counts down
	mu.Lock()
	alice.State, alice.Until = "available", time.Time{}
	mu.Unlock()
	if err := chromedp.Run(tab, chromedp.WaitNotVisible("#wrap-countdown", chromedp.ByID)); err != nil {
		t.Fatalf("countdown left after the wrap-up: %v", err)
	}
}

// TestBrowserAgentPageLocale: times and languages follow the browser's
// locale and time zone (here French, Paris), and a caller who only typed
// their name on the website reads as such.
func TestBrowserAgentPageLocale(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e := newEnv(t)
	tab, closeTab := browser(t, ctx)
	defer closeTab()
	if err := chromedp.Run(tab,
		emulation.SetLocaleOverride().WithLocale("fr-FR"),
		emulation.SetTimezoneOverride("Europe/Paris"),
	); err != nil {
		t.Fatal(err)
	}
	loginAndGoAvailable(t, tab, e)
	o := routing.Offer{CallID: "call-web", Queue: "support", Channel: call.ChannelWebRTC, IdentMethod: call.MethodNone,
		Arrived: time.Date(2026, 3, 2, 13, 5, 9, 0, time.UTC), Vars: map[string]string{VarWebName: "Grace Hopper"}}
	if err := e.srv.Ring(ctx, "alice", o); err != nil {
		t.Fatal(err)
	}
	if got := waitText(t, ctx, tab, `#offer-file [data-testid="ident"]`, "Typed on the website"); !strings.Contains(got, "not verified") {
		t.Errorf("identity %q", got)
	}
	if got := pageText(t, tab, "#offer-file"); !strings.Contains(got, "14:05:09") || strings.Contains(got, "PM") {
		t.Errorf("arrival not in French time in Paris (14:05:09): %q", got)
	}
	_ = e.srv.Cancel(ctx, "alice", "call-web", "answered elsewhere")
	if err := e.srv.Ring(ctx, "alice", adaOffer); err != nil {
		t.Fatal(err)
	}
	if got := waitText(t, ctx, tab, `#offer-file [data-testid="language"]`, "(fr)"); !strings.Contains(got, "français") {
		t.Errorf("language %q, want it named in French", got)
	}
	if got := pageText(t, tab, "#offer-file"); !strings.Contains(got, "05/01/2026") {
		t.Errorf("consent date not in French order (05/01/2026): %q", got)
	}
}
