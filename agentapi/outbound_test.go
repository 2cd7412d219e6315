package agentapi

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/call/calltest"
)

// fakeTrunk answers outbound calls with a scripted customer leg that
// says a 1 kHz tone, as a SIP trunk's far end would.
type fakeTrunk struct {
	mu     sync.Mutex
	dialed []string
	legs   []*calltest.Leg
}

func (f *fakeTrunk) Dial(ctx context.Context, target, from string) (call.Leg, error) {
	leg := calltest.NewLeg(calltest.Event{Speech: farTone()})
	leg.Pace = true
	if err := leg.Answer(ctx); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dialed = append(f.dialed, target+" from "+from)
	f.legs = append(f.legs, leg)
	return leg, nil
}

func (f *fakeTrunk) calls() ([]string, *calltest.Leg) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.legs) == 0 {
		return nil, nil
	}
	return append([]string(nil), f.dialed...), f.legs[len(f.legs)-1]
}

// TestBrowserOutboundCall: the agent finds a customer and calls them on a
// number of their file: routing sets them away meanwhile, audio flows both
// ways once the customer answers, and the wrap-up goes to the customer's
// record. A number not in the file is refused and nothing is dialled.
func TestBrowserOutboundCall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	trunk := &fakeTrunk{}
	e := newEnv(t, WithDialer(trunk, "+33140000000"))
	tab, closeTab := browser(t, ctx)
	defer closeTab()
	loginAndGoAvailable(t, tab, e)

	if err := chromedp.Run(tab, chromedp.Evaluate(`window.voxdesk.ws.send(JSON.stringify({id: 9002, type: 'dial', customer: 'C1', number: '+441632960099'})); true`, nil)); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, tab, "#status", "+441632960099 is not a number in customer C1's file; nothing dialled")
	if err := chromedp.Run(tab, chromedp.Evaluate(`window.voxdesk.ws.send(JSON.stringify({id: 9003, type: 'dial', customer: 'C1', number: '01632 960001'})); true`, nil)); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, tab, "#status", `"01632 960001" is not an E.164 number`)
	if dialed, _ := trunk.calls(); len(dialed) != 0 || e.router.has("state alice away") {
		t.Fatalf("refused numbers dialled %v / changed the agent's state: %v", dialed, e.router.recorded())
	}

	if err := chromedp.Run(tab,
		chromedp.SendKeys("#out-q", "C1", chromedp.ByID),
		chromedp.Click("#btn-out-find", chromedp.ByID),
		chromedp.WaitVisible(`#out-results button[data-dial="+441632960001"]`, chromedp.ByQuery),
		chromedp.Click(`#out-results button[data-dial="+441632960001"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#talk", chromedp.ByID),
	); err != nil {
		t.Fatalf("call from the file: %v", err)
	}
	if got := pageText(t, tab, "#talk-caller"); !strings.Contains(got, "Ada Lovelace") {
		t.Errorf("on call with %q", got)
	}
	dialed, far := trunk.calls()
	if len(dialed) != 1 || dialed[0] != "+441632960001 from +33140000000" {
		t.Fatalf("dialled %v", dialed)
	}
	if !e.router.has("state alice away") {
		t.Errorf("routing was not told the agent is busy calling out: %v", e.router.recorded())
	}
	// Customer -> page and page -> customer.
	var st rtpStats
	if err := waitFor(ctx, "customer audio in the page", func() bool {
		var err error
		st, err = pageStats(tab)
		return err == nil && st.Packets > 100 && st.Energy > 0.01
	}); err != nil {
		t.Fatalf("%v (last stats %+v)", err, st)
	}
	if err := waitFor(ctx, "agent audio at the customer", func() bool { return loudFrames(far.Written()) > 50 }); err != nil {
		t.Fatal(err)
	}

	if err := chromedp.Run(tab,
		chromedp.Click("#btn-hangup", chromedp.ByID),
		chromedp.WaitVisible("#wrap", chromedp.ByID),
		chromedp.SendKeys("#wrap-notes", "called back about the invoice", chromedp.ByID),
		chromedp.Click("#btn-wrap-save", chromedp.ByID),
		chromedp.WaitNotVisible("#wrap", chromedp.ByID),
	); err != nil {
		t.Fatalf("hang up and wrap up: %v", err)
	}
	if far.Cause() == call.CauseNone {
		t.Error("the customer's leg is still up after the agent hung up")
	}
	if err := waitFor(ctx, "wrap-up recorded", func() bool { return len(e.dir.wrapUps()) == 1 }); err != nil {
		t.Fatal(err)
	}
	w := e.dir.wrapUps()[0]
	if w.CustomerID != "C1" || !strings.HasPrefix(w.CallID, "out-") || w.Notes != "called back about the invoice" || w.Answered.IsZero() {
		t.Errorf("wrap-up %+v", w)
	}
}
