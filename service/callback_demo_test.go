package service_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/voxdesk/voxdesk/internal/browsertest"
	"github.com/voxdesk/voxdesk/service"
)

// TestDemoCallbackCompletes is "call me back" in the demo, end to end: a
// visitor of the website's call-back page (headless Chromium) types a
// name and a number and books; the demo agent (another Chromium, the
// agent page) is offered the call-back and answers; the switch dials the
// number through the example trunk's proxy, where the customers' phone
// of `make run` answers (SIPp's built-in UAS echoing audio, as the
// Makefile starts it); the agent hears their own voice come back through
// the customer's phone (bridged), hangs up, and the phone gets the BYE.
// The typed number is looked up: its customer's file is on the offer.
// The visitor's page follows the call-back's real state all along.
func TestDemoCallbackCompletes(t *testing.T) {
	ctx := browserTest(t, 90*time.Second)
	demo, err := service.LoadConfig(filepath.Join("..", "examples", "voxdesk.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// The example dials call-backs where the Makefile's demo phone listens.
	mk, err := os.ReadFile(filepath.Join("..", "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	port := regexp.MustCompile(`(?m)^DEMO_PHONE_PORT \?= (\d+)$`).FindSubmatch(mk)
	if port == nil || demo.SIP.Trunks[0].Proxy != "127.0.0.1:"+string(port[1]) {
		t.Fatalf("example trunk %s dials call-backs via %q; the Makefile's demo phone listens on %q",
			demo.SIP.Trunks[0].Name, demo.SIP.Trunks[0].Proxy, port)
	}

	d := bookDemoCallback(t, ctx, "-sn", "uas", "-rtp_echo") // the Makefile's demo phone, on a test port
	sw, agent, visitor, phoneDone := d.sw, d.agent, d.visitor, d.phoneDone

	waitText(t, ctx, agent, "call-back offered", `document.querySelector('#offer:not([hidden])').innerText`, "call-back")
	// The typed number is Gérald Vannier's (examples/customers.csv): his
	// file is on the offer, though the visitor typed only initials.
	waitText(t, ctx, agent, "the typed number's customer", `document.querySelector('#offer-file').innerText`, "Gérald Vannier")
	before, err := readPageRTP(agent)
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Run(agent, chromedp.Click("#btn-answer", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, agent, "agent talking to the customer", `document.querySelector('#talk:not([hidden])') ? 'talking' : ''`, "talking")
	waitText(t, ctx, visitor, "visitor told they are connected", callbackStatus, "talking to an advisor")
	// Bridged: the agent's tone comes back from the customer's phone. The
	// echo, G.711 twice over, brings about 7e-4 of audio energy a second
	// to the page; silence under 1e-4.
	var st pageRTP
	if err := waitFor(ctx, "the agent's voice echoed by the customer's phone", func() bool {
		st, err = readPageRTP(agent)
		st.Packets -= before.Packets
		st.Energy -= before.Energy
		return err == nil && st.Packets > 150 && st.Energy > 0.0015
	}); err != nil {
		t.Fatalf("%v (page stats since the answer %+v)", err, st)
	}
	t.Logf("page inbound audio since the answer: %+v", st)
	if err := chromedp.Run(agent, chromedp.Click("#btn-hangup", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	if err := <-phoneDone; err != nil {
		t.Fatalf("customer's phone (SIPp UAS): %v", err)
	}
	waitText(t, ctx, visitor, "visitor told the call-back is over", callbackStatus, "done")
	waitIdle(t, sw, 5*time.Second)
}

// demoAgent opens the agent page in a browser whose microphone is a tone
// (the WAV file mic), logs the demo account user of examples/voxdesk.yaml
// in with the demo password and makes it available.
func demoAgent(t *testing.T, ctx context.Context, base, user string) (tab context.Context, mic string) {
	t.Helper()
	mic = filepath.Join(t.TempDir(), "mic.wav")
	browsertest.WriteToneWAV(t, mic)
	tab = browsertest.Start(t, ctx, mic)
	if err := chromedp.Run(tab,
		chromedp.Navigate(base+"/agent.html"),
		chromedp.WaitVisible("#login-user", chromedp.ByID),
		chromedp.SendKeys("#login-user", user, chromedp.ByID),
		chromedp.SendKeys("#login-pass", "voxdesk-demo", chromedp.ByID),
		chromedp.Click("#login-submit", chromedp.ByID),
		chromedp.WaitVisible("#desk", chromedp.ByID),
	); err != nil {
		t.Fatalf("log in as the demo agent %s: %v", user, err)
	}
	goAvailable(t, ctx, tab)
	return tab, mic
}

// callbackStatus is the visitor page's call-back state line.
const callbackStatus = `document.getElementById('callback-status').innerText`

// demoCallback is a switch from the example config whose trunk dials a
// SIPp UAS as the customer's phone, with the demo agent available on the
// agent page and a visitor who booked a call-back to C-1001's number on
// the call-back page.
type demoCallback struct {
	sw             *testSwitch
	agent, visitor context.Context
	phoneDone      <-chan error
}

func bookDemoCallback(t *testing.T, ctx context.Context, phoneArgs ...string) demoCallback {
	t.Helper()
	example := exampleConfig(t)
	phone, phoneDone := startUAS(t, phoneArgs...)
	sw := startSwitch(t, func(c *service.Config) {
		example(c)
		c.Voiceprint.ModelDir = "off" // nobody's voice is identified on this path
		c.SIP.Trunks[0].Proxy = phone
	})
	base := "http://" + sw.HTTPAddr().String()
	agent, mic := demoAgent(t, ctx, base, "alice")
	visitor := browsertest.Start(t, ctx, mic)
	if err := chromedp.Run(visitor,
		chromedp.Navigate(base+"/callback.html"),
		chromedp.WaitVisible("#btn-callback", chromedp.ByID),
		chromedp.SendKeys("#name", "G. V.", chromedp.ByID),
		chromedp.SendKeys("#phone", "+33 6 39 98 01 01", chromedp.ByID), // C-1001's number
		chromedp.Click("#btn-callback", chromedp.ByID),
	); err != nil {
		t.Fatalf("book a call-back: %v", err)
	}
	return demoCallback{sw, agent, visitor, phoneDone}
}

// TestDemoCallbackNotReached: the customer's phone is busy. The agent's
// page stops showing the call-back it answered, says why, and the agent
// is available again; the visitor's page is back in the queue for the
// retry.
func TestDemoCallbackNotReached(t *testing.T) {
	ctx := browserTest(t, 60*time.Second)
	d := bookDemoCallback(t, ctx, "-sf", scenarioPath("uas_busy.xml"))
	waitText(t, ctx, d.agent, "call-back offered", `document.querySelector('#offer:not([hidden])').innerText`, "call-back")
	if err := chromedp.Run(d.agent, chromedp.Click("#btn-answer", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	if err := <-d.phoneDone; err != nil {
		t.Fatalf("customer's phone (SIPp UAS, busy): %v", err)
	}
	waitText(t, ctx, d.agent, "offer withdrawn", `document.querySelector('#offer').hidden + ' ' + document.getElementById('status').innerText`,
		"true The call was withdrawn (customer not reached)")
	waitText(t, ctx, d.agent, "agent available again", `document.getElementById('state').innerText`, "available")
	waitText(t, ctx, d.visitor, "visitor back in the queue for the retry", callbackStatus, "number 1 in the queue")
}

// TestDemoCallbackDialling: while the customer's phone rings, the agent's
// page says it is calling the customer (no Answer/Decline left to press)
// and the visitor's page says we are calling them; once answered, both
// say so; the agent hangs up and the visitor's page says it is done.
func TestDemoCallbackDialling(t *testing.T) {
	ctx := browserTest(t, 60*time.Second)
	d := bookDemoCallback(t, ctx, "-sf", scenarioPath("uas_slow_answer.xml"), "-rtp_echo")
	waitText(t, ctx, d.agent, "call-back offered", `document.querySelector('#offer:not([hidden])').innerText`, "call-back")
	if err := chromedp.Run(d.agent, chromedp.Click("#btn-answer", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, d.agent, "agent told the customer is being called",
		`document.getElementById('status').innerText + ' answer shown: ' + !document.getElementById('btn-answer').offsetParent`,
		"Calling the customer… answer shown: true")
	waitText(t, ctx, d.visitor, "visitor told we are calling", callbackStatus, "We are calling you now")
	waitText(t, ctx, d.agent, "agent talking", `document.querySelector('#talk:not([hidden])') ? 'talking' : ''`, "talking")
	waitText(t, ctx, d.visitor, "visitor connected", callbackStatus, "talking to an advisor")
	if err := chromedp.Run(d.agent, chromedp.Click("#btn-hangup", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	if err := <-d.phoneDone; err != nil {
		t.Fatalf("customer's phone (SIPp UAS): %v", err)
	}
	waitText(t, ctx, d.visitor, "visitor told the call-back is over", callbackStatus, "done")
}

// browserTest skips a browser test under -short, checks Chromium is
// installed (a failure in CI) and returns the test's deadline.
func browserTest(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end browser test skipped with -short")
	}
	browsertest.Path(t)
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// scenarioPath is the absolute path of a SIPp scenario of testdata.
func scenarioPath(name string) string {
	p, _ := filepath.Abs(filepath.Join("testdata", name))
	return p
}
