package agentapi

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// fakeKeypad stands in for the service's telephone-event sender: it
// records the keys it sent and answers with err.
type fakeKeypad struct {
	mu   sync.Mutex
	sent []string
	err  error
}

func (k *fakeKeypad) SendDigit(ctx context.Context, callID string, key rune, d time.Duration) error {
	digits := string(key)
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.err != nil {
		return k.err
	}
	k.sent = append(k.sent, callID+":"+digits)
	return nil
}

func (k *fakeKeypad) set(err error) {
	k.mu.Lock()
	k.err = err
	k.mu.Unlock()
}

func (k *fakeKeypad) got() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.sent...)
}

// answerOnPage presses Answer on the ringing page and waits for the
// router to bridge the agent's leg to the caller.
func answerOnPage(t *testing.T, ctx, tab context.Context, cs *callerSide) {
	t.Helper()
	if err := chromedp.Run(tab, chromedp.Click("#btn-answer", chromedp.ByID), chromedp.WaitVisible("#talk", chromedp.ByID)); err != nil {
		t.Fatalf("answer: %v", err)
	}
	select {
	case <-cs.bridged:
	case <-ctx.Done():
		t.Fatal("the router never got the agent leg")
	}
}

// TestBrowserKeypadTelephoneEventsFirst: the page's keypad keys go to the
// far party as telephone-events when its leg has them (no tones then),
// as in-band tones when it has not (ErrNoTelephoneEvents), and a failed
// send is reported on the page with nothing played.
func TestBrowserKeypadTelephoneEventsFirst(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	kp := &fakeKeypad{}
	e := newEnv(t, WithKeypad(kp))
	cs := newCallerSide(e, t)
	tab, closeTab := browser(t, ctx)
	defer closeTab()
	loginAndGoAvailable(t, tab, e)
	ringAndCheckFile(t, tab, e)
	answerOnPage(t, ctx, tab, cs)
	press := func(key string) {
		t.Helper()
		if err := chromedp.Run(tab, chromedp.Click(`#keypad button[data-key="`+key+`"]`, chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
	}

	// Telephone-events: sent, and no tone in the agent's audio.
	before := len(cs.caller.Written())
	press("7")
	waitText(t, ctx, tab, "#status", "Key 7: done")
	if got := kp.got(); len(got) != 1 || got[0] != "call-ada:7" {
		t.Fatalf("telephone-events sent %v, want call-ada:7", got)
	}
	time.Sleep(400 * time.Millisecond)
	if heard := heardKeys(cs.caller.Written()[before:]); heard != "" {
		t.Errorf("the caller also heard tones %q", heard)
	}

	// No telephone-events on the far leg: in-band tones.
	kp.set(ErrNoTelephoneEvents)
	press("3")
	var heard string
	if err := waitFor(ctx, "in-band tone at the caller", func() bool {
		heard = heardKeys(cs.caller.Written()[before:])
		return heard == "3"
	}); err != nil {
		t.Fatalf("%v: the caller heard %q, want 3", err, heard)
	}

	// A send that fails otherwise is reported; nothing is played.
	kp.set(errors.New("rtp session closed"))
	press("1")
	waitText(t, ctx, tab, "#status", "Key 1: agentapi: keypad: rtp session closed")
	time.Sleep(400 * time.Millisecond)
	if heard := heardKeys(cs.caller.Written()[before:]); heard != "3" {
		t.Errorf("after the failed send the caller heard %q, want only 3", heard)
	}
	if strings.Contains(strings.Join(kp.got(), ","), "1") {
		t.Error("the failed key was recorded as sent")
	}
}

// TestBrowserWebCallerGetsTelephoneEvents: a website caller's browser
// (Chromium, "call now") negotiates telephone-event, so an agent's keys
// go to it as RFC 4733 events on its WebRTC leg (rtc.Leg.SendDigit), not
// through the SIP keypad; a call the switch has no leg for has no sender.
func TestBrowserWebCallerGetsTelephoneEvents(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ivr := &ivrStub{done: make(chan struct{})}
	kp := &fakeKeypad{}
	e := newEnv(t, WithCallHandler(ivr), WithKeypad(kp))
	tab, closeTab := browser(t, ctx)
	defer closeTab()
	if err := chromedp.Run(tab,
		chromedp.Navigate(e.ts.URL+"/callback.html"),
		chromedp.SendKeys("#name", "Zoé", chromedp.ByID),
		chromedp.Click("#btn-call", chromedp.ByID),
	); err != nil {
		t.Fatal(err)
	}
	c := ivr.call(t, ctx)
	send := e.srv.digitSender(c.ID)
	if send == nil {
		t.Fatal("no telephone-event sender for the web caller")
	}
	if n, err := sendKeys(ctx, send, "5#"); err != nil || n != 2 {
		t.Fatalf("keys to the web caller: %d sent, %v", n, err)
	}
	if got := kp.got(); len(got) != 0 {
		t.Errorf("the web caller's keys went to the SIP keypad: %v", got)
	}
	ivr.hangUpPage(t, ctx, tab)

	// Without a keypad, a call with no web leg has no sender.
	e2 := newEnv(t)
	if e2.srv.digitSender("sip-call-1") != nil {
		t.Error("a sender for a call the switch has no leg for")
	}
}
