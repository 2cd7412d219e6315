package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/voxdesk/voxdesk/internal/browsertest"
	"github.com/voxdesk/voxdesk/routing"
)

// TestBlindTransferBetweenAgentPages: a SIPp caller streaming speech is
// answered by Alice on the agent page (Chromium); a transfer to an agent
// who is not logged in is refused with a clear message and Alice keeps
// the call; her blind transfer to Bob rings Bob's page, and once Bob
// answers the caller's speech reaches Bob's page while Alice is free.
func TestBlindTransferBetweenAgentPages(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped with -short")
	}
	browsertest.Path(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	sw, alice, bob := twoAgentSwitch(t, ctx, routing.Config{Queues: []routing.QueueConfig{{Name: "general"}}})
	base := "http://" + sw.HTTPAddr().String()
	pageLogin(t, bob, base+"/agent.html", "bob", `#desk`) // Bob first: Alice's page lists him as a target
	pageLogin(t, alice, base+"/agent.html", "alice", `#desk`)
	goAvailable(t, ctx, alice) // Alice idles longest: she is offered the call first
	goAvailable(t, ctx, bob)

	done := speakingQueuedCaller(t, sw, "25000")
	if err := waitFor(ctx, "Alice's page rings", func() bool { return ringing(alice) }); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Run(alice, chromedp.Click("#btn-answer", chromedp.ByID), chromedp.WaitVisible("#talk", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	// To an agent who is not logged in: refused, Alice keeps the call.
	if err := chromedp.Run(alice, chromedp.Evaluate(`window.voxdesk.ws.send(JSON.stringify({id: 9100, type: 'transfer', call: window.voxdesk.call.id, agent: 'zed'})); true`, nil)); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, alice, "transfer refused", `document.getElementById('status').innerText`, `transfer to "zed": routing: agent not logged in`)
	var talking bool
	if err := chromedp.Run(alice, chromedp.Evaluate(`!document.getElementById('talk').hidden`, &talking)); err != nil || !talking {
		t.Fatalf("Alice lost the call after a refused transfer (%v)", err)
	}
	if ringing(bob) {
		t.Fatal("Bob rings after a refused transfer")
	}
	// Blind transfer to Bob.
	if err := chromedp.Run(alice,
		chromedp.SetValue("#transfer-target", "agent:bob", chromedp.ByID),
		chromedp.Click("#btn-transfer", chromedp.ByID),
	); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(ctx, "Bob's page rings", func() bool { return ringing(bob) }); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Run(bob, chromedp.Click("#btn-answer", chromedp.ByID), chromedp.WaitVisible("#talk", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	var st pageRTP
	if err := waitFor(ctx, "the caller's speech on Bob's page", func() bool {
		var err error
		st, err = readPageRTP(bob)
		return err == nil && st.Packets > 100 && st.Energy > 0.01
	}); err != nil {
		t.Fatalf("%v (last stats %+v)", err, st)
	}
	waitText(t, ctx, alice, "Alice's call over", `document.getElementById('talk').hidden ? 'free' : 'on call'`, "free")
	if err := chromedp.Run(bob, chromedp.Click("#btn-hangup", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	// Bob's hang-up ends the caller's call (SIPp gets a BYE it did not
	// script, so its exit status is not checked).
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("caller never finished")
	}
	waitIdle(t, sw, 5*time.Second)
}
