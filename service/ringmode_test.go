package service_test

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/voxdesk/voxdesk/agentapi"
	"github.com/voxdesk/voxdesk/internal/browsertest"
	"github.com/voxdesk/voxdesk/routing"
	"github.com/voxdesk/voxdesk/service"
)

// The page offers the SIP agents' ring modes under the same names.
func TestRingModeNames(t *testing.T) {
	if service.RingBrowser != agentapi.RingBrowser || service.RingSIP != agentapi.RingSIP || service.RingBoth != agentapi.RingBoth {
		t.Fatal("service and agentapi ring modes differ")
	}
}

// invitesTo counts the INVITEs the phone socket receives until ctx ends
// (other requests, such as keep-alive OPTIONS, are not counted).
func invitesTo(ctx context.Context, phone net.PacketConn) int {
	n := 0
	buf := make([]byte, 8192)
	for ctx.Err() == nil {
		_ = phone.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		k, _, err := phone.ReadFrom(buf)
		if err == nil && bytes.HasPrefix(buf[:k], []byte("INVITE ")) {
			n++
		}
	}
	return n
}

// chooseRing picks a ring mode in the agent page's selector and waits
// for the switch to confirm it.
func chooseRing(t *testing.T, ctx, tab context.Context, mode string) {
	t.Helper()
	if err := chromedp.Run(tab, chromedp.Evaluate(`(() => { const s = document.getElementById('ring-mode');
  document.getElementById('status').textContent = '';
  s.value = '`+mode+`'; s.dispatchEvent(new Event('change')); })()`, nil)); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, tab, "ring mode "+mode+" confirmed", `document.getElementById('status').innerText`, "Ring mode: done.")
}

// TestRingModeChosenInPage (issue 12): bob has a SIP phone account
// (sip.agents, ring: both by default) and the agent page in Chromium, and
// his phone is registered (a UDP socket of the test). He chooses "this
// page" in the page: a caller rings his page and the phone gets no
// INVITE. He chooses "my SIP phone": the next caller's INVITE reaches the
// phone while the page shows the offer as ringing on the phone. A
// reloaded page shows his choice.
func TestRingModeChosenInPage(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped with -short")
	}
	browsertest.Path(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	hash, err := agentapi.HashPassword("e2e-agent-secret")
	if err != nil {
		t.Fatal(err)
	}
	sw := phoneSwitch(t, func(c *service.Config) {
		c.SIP.Agents[0].Ring = "" // both
		c.Agents.Accounts = []agentapi.Account{{ID: "bob", Name: "Bob", Role: agentapi.RoleAgent, PasswordHash: hash}}
	})
	mic := t.TempDir() + "/mic.wav"
	browsertest.WriteToneWAV(t, mic)
	tab, closeTab := chromedp.NewContext(browsertest.Start(t, ctx, mic))
	defer closeTab()
	base := "http://" + sw.HTTPAddr().String()
	pageLogin(t, tab, base+"/agent.html", "bob", `#desk`)
	waitText(t, ctx, tab, "the ring mode selector", `document.getElementById('ring-box').hidden ? '' : document.getElementById('ring-mode').value`, "both")
	goAvailable(t, ctx, tab)

	phone, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer phone.Close()
	register("bob", "bob-phone-secret", phone.LocalAddr().String(), "300", 200, `expires=300`).mustPass(t, sw)
	if s := agentState(sw, "bob"); s != routing.StateAvailable {
		t.Fatalf("bob is %s with page and phone, want available", s)
	}

	// This page only: the page rings, the phone does not.
	chooseRing(t, ctx, tab, "browser")
	caller := runAsync(t, sw, sipp{scenario: "queued_caller.xml", vars: map[string]string{"WAV": helloWAV(t), "WAIT_MS": "4000"}})
	if err := waitFor(ctx, "bob's page rings", func() bool { return ringing(tab) }); err != nil {
		t.Fatal(err)
	}
	lctx, lcancel := context.WithTimeout(ctx, 2*time.Second)
	if n := invitesTo(lctx, phone); n != 0 {
		t.Errorf("ring mode 'this page': the phone got %d INVITEs", n)
	}
	lcancel()
	if err := <-caller; err != nil {
		t.Fatalf("caller: %v", err)
	}
	waitIdle(t, sw, 10*time.Second)
	if err := waitFor(ctx, "bob available again", func() bool { return agentState(sw, "bob") == routing.StateAvailable }); err != nil {
		t.Fatal(err)
	}

	// My SIP phone: the phone rings; the page shows the call without its
	// ring tone.
	chooseRing(t, ctx, tab, "sip")
	caller = runAsync(t, sw, sipp{scenario: "queued_caller.xml", vars: map[string]string{"WAV": helloWAV(t), "WAIT_MS": "4000"}})
	waitText(t, ctx, tab, "the offer ringing on the phone", `document.getElementById('status').innerText`, "ringing on your SIP phone")
	// The phone's INVITE waits in the socket's buffer if it came first.
	ictx, icancel := context.WithTimeout(ctx, 2*time.Second)
	got := invitesTo(ictx, phone)
	icancel()
	if got == 0 {
		t.Error("ring mode 'my SIP phone': no INVITE reached the phone")
	}
	if err := <-caller; err != nil {
		t.Fatalf("caller: %v", err)
	}

	// The choice is kept: a reloaded page shows it.
	if err := chromedp.Run(tab, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, tab, "the choice after a reload", `document.getElementById('ring-box').hidden ? '' : document.getElementById('ring-mode').value`, "sip")
}
