package service_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/voxdesk/voxdesk/agentapi"
	"github.com/voxdesk/voxdesk/internal/browsertest"
	"github.com/voxdesk/voxdesk/ivr"
	"github.com/voxdesk/voxdesk/routing"
	"github.com/voxdesk/voxdesk/service"
)

// ringing reports whether the agent page shows a ringing call.
func ringing(tab context.Context) bool {
	var shown bool
	_ = chromedp.Run(tab, chromedp.Evaluate(`(() => { const o = document.getElementById('offer'); return !!o && !o.hidden; })()`, &shown))
	return shown
}

// twoAgentSwitch starts a switch whose calls run queueFlow with routing
// cfg, for agents alice and bob, and a Chromium for each (fake
// microphone: a tone); their pages are not open yet.
func twoAgentSwitch(t *testing.T, ctx context.Context, cfg routing.Config) (sw *testSwitch, alice, bob context.Context) {
	t.Helper()
	flows := t.TempDir()
	if err := os.WriteFile(filepath.Join(flows, "q.yaml"), []byte(queueFlow), 0o644); err != nil {
		t.Fatal(err)
	}
	hash, err := agentapi.HashPassword("e2e-agent-secret")
	if err != nil {
		t.Fatal(err)
	}
	sw = startSwitch(t, func(c *service.Config) {
		c.IVR = ivr.Settings{Dir: flows, Default: "q"}
		c.Routing = cfg
		c.Agents.Accounts = []agentapi.Account{
			{ID: "alice", Name: "Alice", Role: agentapi.RoleAgent, PasswordHash: hash},
			{ID: "bob", Name: "Bob", Role: agentapi.RoleAgent, PasswordHash: hash},
		}
	})
	mic := filepath.Join(t.TempDir(), "mic.wav")
	browsertest.WriteToneWAV(t, mic)
	alice, closeAlice := chromedp.NewContext(browsertest.Start(t, ctx, mic))
	t.Cleanup(closeAlice)
	bob, closeBob := chromedp.NewContext(browsertest.Start(t, ctx, mic))
	t.Cleanup(closeBob)
	return sw, alice, bob
}

// TestRoutingDeclineAndMissOnAgentPages: a real switch, a SIPp caller in
// a queue, two agents on the agent page in Chromium (issue 11). Alice
// declines: the call rings Bob, not Alice again. Bob lets it ring out:
// his page says the call was withdrawn, not answered, and shows him away
// ("missed call"). With nobody else, Alice's page rings again, but only
// after routing.reoffer_after. The caller hangs up: abandoned, never
// answered.
func TestRoutingDeclineAndMissOnAgentPages(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped with -short")
	}
	browsertest.Path(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	const offerTimeout, reoffer = 2 * time.Second, 5 * time.Second
	sw, alice, bob := twoAgentSwitch(t, ctx, routing.Config{OfferTimeout: offerTimeout, ReofferAfter: reoffer, Queues: []routing.QueueConfig{{Name: "general"}}})
	base := "http://" + sw.HTTPAddr().String()
	pageLogin(t, alice, base+"/agent.html", "alice", `#desk`)
	pageLogin(t, bob, base+"/agent.html", "bob", `#desk`)
	goAvailable(t, ctx, alice) // Alice idles longest: she is offered the call first
	goAvailable(t, ctx, bob)

	done := speakingQueuedCaller(t, sw, "20000")

	if err := waitFor(ctx, "Alice's page rings", func() bool { return ringing(alice) }); err != nil {
		t.Fatal(err)
	}
	// The ringing page shows the caller's way through the flow and the
	// dialled line, carried from the IVR and the SIP front end.
	waitText(t, ctx, alice, "IVR path", `document.querySelector('#offer-file [data-testid="path"]').innerText`, "wait")
	waitText(t, ctx, alice, "dialled line", `document.querySelector('#offer-file [data-testid="called"]').innerText`, "1000") // the SIPp harness dials 1000
	if err := chromedp.Run(alice, chromedp.Click("#btn-decline", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	declined := time.Now()
	if err := waitFor(ctx, "Bob's page rings", func() bool { return ringing(bob) }); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(declined); d > 2*time.Second {
		t.Errorf("Bob rang %v after Alice declined", d)
	}
	if ringing(alice) {
		t.Fatal("the call Alice declined rings her again at once")
	}
	// Bob lets it ring out: his page tells him, and shows him away.
	waitText(t, ctx, bob, "missed-call notice", `document.getElementById('status').innerText`, "withdrawn ("+routing.ReasonNotAnswered+")")
	waitText(t, ctx, bob, "Bob set away", `document.getElementById('state').innerText + ' ' + document.getElementById('state-reason').innerText`,
		"away ("+routing.ReasonMissedOffers+")")
	// The router's missed-offer event reaches his page as a notice that
	// stays, naming the caller's queue and why he is away.
	waitText(t, ctx, bob, "missed-call list", `document.getElementById('missed-list').innerText`,
		"(queue general) — you were set away ("+routing.ReasonMissedOffers+")")
	// Nobody else can take it: Alice's page rings again, after the back-off.
	if err := waitFor(ctx, "Alice's page rings again", func() bool { return ringing(alice) }); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(declined); d < reoffer-200*time.Millisecond {
		t.Fatalf("Alice was offered the call she declined again after %v, before reoffer_after %v", d, reoffer)
	}
	if err := chromedp.Run(alice, chromedp.Click("#btn-decline", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	if ringing(bob) {
		t.Fatal("Bob, away after his missed call, is rung")
	}

	select {
	case report := <-done:
		if !strings.Contains(report, "exit 0") {
			t.Fatalf("caller failed:\n%s", report)
		}
	case <-ctx.Done():
		t.Fatal("caller never finished")
	}
	waitIdle(t, sw, 5*time.Second)
	m := metricsText(t, sw)
	wantMetric(t, m, `voxdesk_routing_calls_abandoned_total{queue="general"} 1`)
	wantMetric(t, m, `voxdesk_routing_calls_answered_total{queue="general"} 0`)
}

// TestFlowReloadRefusesUnknownQueue: the switch's live reload refuses a
// flow edited to name a queue it does not have, logs why and keeps the
// last good version (issue 11: "queue: biling" was swapped in, and its
// calls fell through to their fail: way).
func TestFlowReloadRefusesUnknownQueue(t *testing.T) {
	flows := t.TempDir()
	file := filepath.Join(flows, "q.yaml")
	if err := os.WriteFile(file, []byte(queueFlow), 0o644); err != nil {
		t.Fatal(err)
	}
	sw := startSwitch(t, func(c *service.Config) {
		c.IVR = ivr.Settings{Dir: flows, Default: "q", Poll: 50 * time.Millisecond}
		c.Routing = routing.Config{Queues: []routing.QueueConfig{{Name: "general"}, {Name: "billing"}}}
	})
	if err := os.WriteFile(file, []byte(strings.Replace(queueFlow, "queue: general", "queue: biling", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := waitFor(ctx, "the reload refused", func() bool {
		l := sw.log.String()
		return strings.Contains(l, "flow change refused; keeping the last good version") &&
			strings.Contains(l, `queue \"biling\" is not a queue of the switch (did you mean billing?)`)
	}); err != nil {
		t.Fatalf("%v:\n%s", err, sw.log.String())
	}
	m := metricsText(t, sw)
	wantMetric(t, m, `voxdesk_ivr_flow_reload_errors_total{file="q.yaml"} 1`)
	if strings.Contains(sw.log.String(), "ivr: flow reloaded") {
		t.Fatal("the flow naming an unknown queue was swapped in")
	}
}

// speakingQueuedCaller starts a SIPp caller that streams the test speech
// and waits in the queue up to waitMS; its report arrives on the channel
// when it ends.
func speakingQueuedCaller(t *testing.T, sw *testSwitch, waitMS string) <-chan string {
	t.Helper()
	wav := filepath.Join(t.TempDir(), "caller.wav")
	writeUlawWAV(t, wav, callerSpeech(t))
	done := make(chan string, 1)
	go func() {
		_, report := sipp{scenario: "queued_caller.xml", vars: map[string]string{"WAV": wav, "WAIT_MS": waitMS}}.run(t, sw)
		done <- report
	}()
	return done
}
