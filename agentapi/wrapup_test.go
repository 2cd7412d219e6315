package agentapi

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/customer"
	"github.com/voxdesk/voxdesk/routing"
)

// Issue 11: a call arriving while the agent wraps up the previous one
// must not take over the wrap-up form; each call's notes land on its own
// interaction in the store.
func TestBrowserWrapUpDuringNextCall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	db := sqliteStore(t, ctx)
	for _, c := range []customer.Customer{
		{ID: "C1", Name: "Ada Lovelace", Phones: []string{"+441632960001"}},
		{ID: "C2", Name: "Charles Babbage", Phones: []string{"+441632960002"}},
	} {
		if err := db.PutCustomer(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	// A short router wrap-up: the next call rings while the page's form
	// for the first one is still open.
	e, r := withRealRouterWrapUp(t, ctx, time.Second, []Option{WithDirectory(StoreDirectory{Store: db})})
	tab, closeTab := browser(t, ctx)
	defer closeTab()
	loginAndGoAvailableReal(t, tab, e, r)

	enqueue := func(id, cust, number string) {
		c, _ := toneCaller(id)
		c.Caller = number
		c.SetVar(call.VarCustomer, cust)
		go func() {
			if _, err := r.Enqueue(ctx, c, routing.Request{Queue: "support"}); err != nil && ctx.Err() == nil {
				t.Errorf("Enqueue %s: %v", id, err)
			}
		}()
	}
	talkAndHangUp := func(who string) {
		t.Helper()
		var offer string
		if err := chromedp.Run(tab,
			chromedp.WaitVisible("#offer", chromedp.ByID),
			chromedp.Text("#offer-caller", &offer, chromedp.ByID),
			chromedp.Click("#btn-answer", chromedp.ByID),
			chromedp.WaitVisible("#talk", chromedp.ByID),
			chromedp.Click("#btn-hangup", chromedp.ByID),
			chromedp.WaitNotVisible("#talk", chromedp.ByID),
		); err != nil {
			t.Fatalf("call with %s: %v", who, err)
		}
		if !strings.Contains(offer, who) {
			t.Fatalf("offer from %q, want %s", offer, who)
		}
	}
	form := func() (title, notes, call string) {
		t.Helper()
		var ok bool
		if err := chromedp.Run(tab,
			chromedp.WaitVisible("#wrap", chromedp.ByID),
			chromedp.Text("#wrap-call", &title, chromedp.ByID),
			chromedp.Value("#wrap-notes", &notes, chromedp.ByID),
			chromedp.AttributeValue("#wrap", "data-call", &call, &ok, chromedp.ByID),
		); err != nil {
			t.Fatal(err)
		}
		return title, notes, call
	}

	enqueue("call-a", "C1", "+441632960001")
	talkAndHangUp("Ada Lovelace")
	if err := chromedp.Run(tab, chromedp.SendKeys("#wrap-notes", "A: wants the new tariff", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	// Call B rings (the router's 1 s wrap-up is over) while A's form is
	// open: the form stays A's, with A's notes.
	enqueue("call-b", "C2", "+441632960002")
	talkAndHangUp("Charles Babbage")
	if title, notes, id := form(); id != "call-a" || !strings.Contains(title, "Ada Lovelace") || !strings.Contains(title, "+441632960001") || notes != "A: wants the new tariff" {
		t.Fatalf("after call B the form is %q for %q with notes %q; want A's", title, id, notes)
	}
	if err := chromedp.Run(tab, chromedp.Click("#btn-wrap-save", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	// Then B's own, empty form, still there after a reload of the page.
	if err := waitFor(ctx, "B's wrap-up form", func() bool { _, _, id := form(); return id == "call-b" }); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Run(tab, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(ctx, "B's wrap-up form after the reload", func() bool { _, _, id := form(); return id == "call-b" }); err != nil {
		t.Fatal(err)
	}
	if title, notes, _ := form(); !strings.Contains(title, "Charles Babbage") || notes != "" {
		t.Fatalf("B's form %q with notes %q", title, notes)
	}
	if err := chromedp.Run(tab,
		chromedp.SendKeys("#wrap-notes", "B: address change", chromedp.ByID),
		chromedp.Click("#btn-wrap-save", chromedp.ByID),
		chromedp.WaitNotVisible("#wrap", chromedp.ByID),
	); err != nil {
		t.Fatal(err)
	}
	// In the store: each call's notes on its own interaction.
	for _, want := range []struct{ cust, call, notes, not string }{
		{"C1", "call-a", "A: wants the new tariff", "B:"},
		{"C2", "call-b", "B: address change", "A:"},
	} {
		ins, err := db.RecentInteractions(ctx, want.cust, 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(ins) != 1 || ins[0].CallID != want.call || !strings.Contains(ins[0].Notes, want.notes) || strings.Contains(ins[0].Notes, want.not) {
			t.Fatalf("%s's interactions %+v: want one for %s with notes %q", want.cust, ins, want.call, want.notes)
		}
	}
}

// A wrap-up for a call the agent does not hold (never theirs, already
// saved, or still in progress) is refused with a clear message and
// records nothing.
func TestWrapUpRefusedForCallNotHeld(t *testing.T) {
	e := newEnv(t)
	p := e.openPage(t, e.login(t, "bob", "bob-secret"))
	p.send(ClientMessage{ID: 7, Type: MsgWrapUp, Call: "someone-elses", Notes: "x"})
	m := p.next("error")
	if m.ID != 7 || !strings.HasPrefix(m.Error, ErrNotYourCall.Error()) || !strings.Contains(m.Error, "nothing recorded") {
		t.Fatalf("reply %+v", m)
	}
	if w := e.dir.wrapUps(); len(w) != 0 {
		t.Fatalf("recorded %+v", w)
	}
}

// A wrap-up outlives the page: after a reload (or a network drop) the
// agent's next page is shown the call and can save its wrap-up.
func TestWrapUpSurvivesPageReload(t *testing.T) {
	e := newEnv(t)
	alice := e.login(t, "alice", "alice-secret")
	p := e.openPage(t, alice)
	c := e.srv.agent("alice")
	c.mu.Lock()
	c.calls["call-a"] = &agentCall{phase: phaseWrapUp, offer: routing.Offer{CallID: "call-a", Customer: "C1", Queue: "support", Caller: "+441632960001"},
		offeredAt: time.Now(), answered: time.Now(), ended: time.Now()}
	c.mu.Unlock()
	p.ws.CloseNow()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := waitFor(ctx, "the old page gone", func() bool { return e.srv.agent("alice") == nil }); err != nil {
		t.Fatal(err)
	}
	p = e.openPage(t, alice)
	if m := p.next("wrapup"); m.Offer == nil || m.Offer.Call != "call-a" || m.Offer.Caller != "+441632960001" {
		t.Fatalf("carried-over wrap-up %+v", m.Offer)
	}
	p.send(ClientMessage{ID: 3, Type: MsgWrapUp, Call: "call-a", Disposition: "resolved", Notes: "after a reload"})
	if m := p.next2("ok", "error"); m.Type != "ok" || m.ID != 3 {
		t.Fatalf("wrap-up after the reload: %+v", m)
	}
	if w := e.dir.wrapUps(); len(w) != 1 || w[0].CallID != "call-a" || w[0].Notes != "after a reload" || w[0].CustomerID != "C1" {
		t.Fatalf("recorded %+v", w)
	}
}
