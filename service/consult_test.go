//go:build linux

package service_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/voxdesk/voxdesk/agentapi"
	"github.com/voxdesk/voxdesk/internal/browsertest"
	"github.com/voxdesk/voxdesk/routing"
	"github.com/voxdesk/voxdesk/service"
)

// bobToneHz is the pitch of Bob's fake microphone; Alice's is toneHz.
const bobToneHz = 1000

// TestWarmTransferBetweenAgentPages (issue 11: warm transfer, audio
// checked both ways): a SIPp caller identified by number streams speech
// and is answered by Alice on the agent page (Chromium, a 600 Hz fake
// microphone). Alice consults Bob (1000 Hz): Bob's page rings as a
// consultation from Alice with the customer's file; once he answers,
// Alice and Bob hear each other while the caller, on hold, hears neither.
// Alice completes: the caller and Bob hear each other, Alice's page goes
// to wrap-up. Each wrap-up lands on the call's one interaction: Bob's,
// with Alice's part first.
func TestWarmTransferBetweenAgentPages(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped with -short")
	}
	browsertest.Path(t)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	tap, err := tapLoopback(t)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("cannot watch the RTP SIPp receives (a packet socket on lo needs CAP_NET_RAW): %v", err)
		}
		t.Skipf("cannot watch the RTP SIPp receives (needs CAP_NET_RAW for a packet socket on lo): %v", err)
	}
	sw := consultSwitch(t)
	base := "http://" + sw.HTTPAddr().String()
	dir := t.TempDir()
	aliceMic, bobMic := filepath.Join(dir, "alice.wav"), filepath.Join(dir, "bob.wav")
	browsertest.WriteToneWAV(t, aliceMic)
	browsertest.WriteToneWAVAt(t, bobMic, bobToneHz)
	alice, closeAlice := chromedp.NewContext(browsertest.Start(t, ctx, aliceMic))
	defer closeAlice()
	bob, closeBob := chromedp.NewContext(browsertest.Start(t, ctx, bobMic))
	defer closeBob()
	pageLogin(t, bob, base+"/agent.html", "bob", `#desk`) // Bob first: Alice's page lists him as a target
	pageLogin(t, alice, base+"/agent.html", "alice", `#desk`)
	goAvailable(t, ctx, alice) // Alice idles longest: she is offered the call first
	goAvailable(t, ctx, bob)

	wav := filepath.Join(dir, "caller.wav")
	writeUlawWAV(t, wav, callerSpeech(t))
	c := placeCallWAV(t, sw, tap, e2eCaller{name: "Zoé Lambert", from: "+33140000001"}, wav, "")
	if err := waitFor(ctx, "Alice's page rings", func() bool { return ringing(alice) }); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Run(alice, chromedp.Click("#btn-answer", chromedp.ByID), chromedp.WaitVisible("#talk", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	answered := time.Now()
	if err := waitFor(ctx, "Alice's voice at the caller", func() bool { return toneFramesAt(c.received(answered), toneHz) >= 25 }); err != nil {
		t.Fatal(err)
	}
	waitPageSpeech(t, ctx, alice, "the caller's speech on Alice's page")

	// Refused, and nothing changes: consulting an agent who is not
	// logged in or an unknown queue, completing with no consultation.
	for i, bad := range []struct{ msg, want string }{
		{`{type: 'consult', agent: 'zed'}`, `consult "zed": routing: agent not logged in`},
		{`{type: 'consult', queue: 'nope'}`, `routing: unknown queue: "nope"`},
		{`{type: 'consult_complete'}`, `no consultation under way on this call`},
	} {
		send := `window.voxdesk.ws.send(JSON.stringify(Object.assign(` + bad.msg + `, {id: ` + strconv.Itoa(9200+i) + `, call: window.voxdesk.call.id}))); true`
		if err := chromedp.Run(alice, chromedp.Evaluate(send, nil)); err != nil {
			t.Fatal(err)
		}
		waitText(t, ctx, alice, "refusal", `document.getElementById('status').innerText`, bad.want)
	}
	if ringing(bob) || agentState(sw, "alice") != routing.StateBusy || agentState(sw, "bob") != routing.StateAvailable {
		t.Fatalf("a refused request changed something: Bob rings %v, Alice %s, Bob %s", ringing(bob), agentState(sw, "alice"), agentState(sw, "bob"))
	}

	// Consult Bob: he rings with the caller's file, as a consultation;
	// he declines the first time: Alice is told and back with the caller.
	consult := func() {
		t.Helper()
		if err := chromedp.Run(alice,
			chromedp.SetValue("#transfer-target", "agent:bob", chromedp.ByID),
			chromedp.Click("#btn-consult", chromedp.ByID),
		); err != nil {
			t.Fatal(err)
		}
		waitText(t, ctx, alice, "Alice consulting", `document.getElementById('consult-status').innerText`, "Calling bob")
		waitText(t, ctx, bob, "Bob rung for a consultation", `document.querySelector('#offer:not([hidden]) #offer-title').innerText`, "Consultation from alice")
		waitText(t, ctx, bob, "the customer's file on Bob's page", `document.getElementById('offer-file').innerText`, "Zoé Lambert")
	}
	consult()
	if err := chromedp.Run(bob, chromedp.Click("#btn-decline", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, alice, "Alice told", `document.getElementById('consult-last').innerText`, "Consultation with bob: declined. Back with the caller.")
	backWithCaller := func() {
		t.Helper()
		back := time.Now()
		if err := waitFor(ctx, "Alice's voice at the caller again", func() bool { return toneFramesAt(c.received(back), toneHz) >= 25 }); err != nil {
			t.Fatal(err)
		}
		waitText(t, ctx, bob, "Bob available", `document.getElementById('state').innerText`, "available")
	}
	backWithCaller()
	answer := func() {
		t.Helper()
		if err := chromedp.Run(bob, chromedp.Click("#btn-answer", chromedp.ByID), chromedp.WaitVisible("#talk", chromedp.ByID)); err != nil {
			t.Fatal(err)
		}
		waitText(t, ctx, alice, "Alice talking to Bob", `document.getElementById('consult-status').innerText`, "Talking to bob")
	}
	// The second time Bob answers, then Alice goes back to the caller:
	// Bob's page has nothing to wrap up.
	consult()
	answer()
	if err := chromedp.Run(alice, chromedp.Click("#btn-consult-cancel", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, alice, "Alice told", `document.getElementById('consult-last').innerText`, "Consultation with bob: cancelled. Back with the caller.")
	waitText(t, ctx, bob, "Bob told", `document.getElementById('status').innerText`, "Consultation with alice over.")
	backWithCaller()
	var bobIdle bool
	if err := chromedp.Run(bob, chromedp.Evaluate(`document.getElementById('talk').hidden && document.getElementById('wrap').hidden`, &bobIdle)); err != nil || !bobIdle {
		t.Fatalf("Bob's page after a cancelled consultation still shows the call or a wrap-up (%v)", err)
	}

	// The third time, Alice completes the transfer.
	consult()
	answer()
	consulting := time.Now()
	pageEar{"Bob's page", bob}.hears(t, ctx, toneHz)        // Alice's voice
	pageEar{"Alice's page", alice}.hears(t, ctx, bobToneHz) // Bob's voice
	// The caller, on hold, heard neither agent meanwhile (but the line
	// stayed up: packets kept coming).
	var held []sinkPacket
	if err := waitFor(ctx, "the held caller keeps receiving packets", func() bool {
		held = c.received(consulting.Add(300 * time.Millisecond))
		return len(held) >= 25
	}); err != nil {
		t.Fatalf("%v (%d packets)", err, len(held))
	}
	if a, b := toneFramesAt(held, toneHz), toneFramesAt(held, bobToneHz); a+b != 0 {
		t.Fatalf("caller on hold: %d packets, %d frames of Alice's voice, %d of Bob's (want packets, no voice)", len(held), a, b)
	}

	// Complete: the caller and Bob; Alice wraps up her part.
	if err := chromedp.Run(alice, chromedp.Click("#btn-consult-complete", chromedp.ByID), chromedp.WaitVisible("#wrap", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	completed := time.Now()
	waitText(t, ctx, bob, "Bob has the call", `document.getElementById('status').innerText`, "alice transferred the call to you")
	waitText(t, ctx, bob, "Bob's page on call", `document.getElementById('talk-title').innerText`, "On call")
	if err := waitFor(ctx, "Bob's voice at the caller", func() bool { return toneFramesAt(c.received(completed), bobToneHz) >= 25 }); err != nil {
		t.Fatal(err)
	}
	if n := toneFramesAt(c.received(completed.Add(300*time.Millisecond)), toneHz); n != 0 {
		t.Fatalf("the caller still hears Alice after the transfer (%d frames)", n)
	}
	waitPageSpeech(t, ctx, bob, "the caller's speech on Bob's page")
	wrapUp(t, ctx, alice, "escalated", "wants a refund, Bob handles refunds")
	if err := chromedp.Run(bob, chromedp.Click("#btn-hangup", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	c.wait(t, ctx) // SIPp got the switch's BYE and answered it
	wrapUp(t, ctx, bob, "resolved", "refund of 20 EUR")
	in, ok := interactionOf(t, base, "C-7", c.callID)
	want := "[alice, before transfer to bob: escalated] wants a refund, Bob handles refunds refund of 20 EUR"
	if ok && (in.Agent != "bob" || in.Outcome != "resolved" || in.Method != "number" || in.Notes != want) {
		t.Errorf("the call's interaction %+v: want bob's, resolved, identified by number, notes %q", in, want)
	}
	waitIdle(t, sw, 5*time.Second)
	m := metricsText(t, sw)
	for _, result := range []string{"declined", "cancelled", "completed"} {
		wantMetric(t, m, `voxdesk_routing_consultations_total{queue="general",result="`+result+`"} 1`)
	}
	if !strings.Contains(sw.log.String(), "transferred after consultation") {
		t.Error("the switch log does not record the transfer")
	}
}

// waitPageSpeech waits until the page's softphone receives the caller's
// speech: packets and audio energy over a second from now.
func waitPageSpeech(t *testing.T, ctx, tab context.Context, what string) {
	t.Helper()
	before, err := readPageRTP(tab)
	if err != nil {
		t.Fatal(err)
	}
	var st pageRTP
	if err := waitFor(ctx, what, func() bool {
		st, err = readPageRTP(tab)
		return err == nil && st.Packets-before.Packets > 50 && st.Energy-before.Energy > 0.01
	}); err != nil {
		t.Fatalf("%v (stats %+v, before %+v)", err, st, before)
	}
}

// consultSwitch runs a switch whose callers are identified by number
// (+33140000001, SIPp's, is Zoé Lambert's, C-7) and queued, for agents
// alice and bob on the agent page and admin ada.
func consultSwitch(t *testing.T) *testSwitch {
	t.Helper()
	hash, err := agentapi.HashPassword("e2e-agent-secret")
	if err != nil {
		t.Fatal(err)
	}
	return numberSwitch(t, 30*time.Second, func(c *service.Config) {
		c.Agents.Accounts = []agentapi.Account{
			{ID: "alice", Name: "Alice", Role: agentapi.RoleAgent, PasswordHash: hash},
			{ID: "bob", Name: "Bob", Role: agentapi.RoleAgent, PasswordHash: hash},
			{ID: "ada", Name: "Ada Admin", Role: agentapi.RoleAdmin, PasswordHash: hash},
		}
	})
}
