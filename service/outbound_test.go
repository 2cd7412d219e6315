package service_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/voxdesk/voxdesk/agentapi"
	"github.com/voxdesk/voxdesk/internal/browsertest"
	"github.com/voxdesk/voxdesk/routing"
	"github.com/voxdesk/voxdesk/service"
)

// TestOutboundCallThroughTrunk: an agent calls a customer of the
// imported file from the agent page (Chromium); the switch dials the
// number through the SIP trunk to a SIPp UAS that echoes the RTP it
// gets, so the page hears its own microphone back through the trunk;
// the page's hang-up sends the BYE SIPp waits for.
func TestOutboundCallThroughTrunk(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped with -short")
	}
	browsertest.Path(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	uasAddr, uas := startUAS(t, "-sn", "uas", "-rtp_echo")
	hash, err := agentapi.HashPassword("e2e-agent-secret")
	if err != nil {
		t.Fatal(err)
	}
	sw := startSwitch(t, func(c *service.Config) {
		c.SIP.Trunks[0].Proxy = uasAddr
		c.Customer.DSN = "sqlite:" + filepath.Join(t.TempDir(), "customers.db")
		c.Customer.Import = filepath.Join("..", "examples", "customers.csv")
		c.Routing = routing.Config{CallbackFrom: "+33140000000", Queues: []routing.QueueConfig{{Name: "general"}}}
		c.Agents.Accounts = []agentapi.Account{{ID: "alice", Name: "Alice", Role: agentapi.RoleAgent, PasswordHash: hash}}
	})
	base := "http://" + sw.HTTPAddr().String()
	mic := filepath.Join(t.TempDir(), "mic.wav")
	browsertest.WriteToneWAV(t, mic)
	tab, closeTab := chromedp.NewContext(browsertest.Start(t, ctx, mic))
	defer closeTab()
	pageLogin(t, tab, base+"/agent.html", "alice", `#desk`)
	goAvailable(t, ctx, tab)

	if err := chromedp.Run(tab,
		chromedp.SendKeys("#out-q", "C-1001", chromedp.ByID),
		chromedp.Click("#btn-out-find", chromedp.ByID),
		chromedp.WaitVisible(`#out-results button[data-dial="+33639980101"]`, chromedp.ByQuery),
		chromedp.Click(`#out-results button[data-dial="+33639980101"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#talk", chromedp.ByID),
	); err != nil {
		t.Fatalf("call from the file: %v\n%s", err, sw.log.String())
	}
	waitText(t, ctx, tab, "agent away while calling out", `document.getElementById('state-reason').innerText`, agentapi.ReasonOutbound)
	// The page's tone comes back from the far end through the trunk.
	var st pageRTP
	if err := waitFor(ctx, "echoed audio in the page", func() bool {
		var err error
		st, err = readPageRTP(tab)
		return err == nil && st.Packets > 100 && st.Energy > 0.01
	}); err != nil {
		t.Fatalf("%v (last stats %+v)", err, st)
	}
	if err := chromedp.Run(tab, chromedp.Click("#btn-hangup", chromedp.ByID), chromedp.WaitVisible("#wrap", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-uas:
		if err != nil {
			t.Fatalf("SIPp UAS: %v (it wants INVITE, ACK, BYE)\n%s", err, sw.log.String())
		}
	case <-ctx.Done():
		t.Fatal("SIPp UAS never got its BYE")
	}
	if l := sw.log.String(); !strings.Contains(l, "dialling a customer") {
		t.Errorf("no log line for the outbound call:\n%s", l)
	}
	waitIdle(t, sw, 5*time.Second)
}
