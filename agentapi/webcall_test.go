package agentapi

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/voxdesk/voxdesk/call"
)

// fakeCallbacks books call-backs in memory.
type fakeCallbacks struct {
	mu        sync.Mutex
	booked    []CallbackRequest
	cancelled []string
}

func (f *fakeCallbacks) Book(ctx context.Context, r CallbackRequest) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.booked = append(f.booked, r)
	return "cb-1", nil
}

func (f *fakeCallbacks) Status(ctx context.Context, id string) (CallbackStatus, error) {
	if id != "cb-1" {
		return CallbackStatus{}, errors.New("unknown")
	}
	return CallbackStatus{State: "queued", Position: 3, EstimatedWait: 125, WaitKnown: true}, nil
}

func (f *fakeCallbacks) Cancel(ctx context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cancelled = append(f.cancelled, id)
	return nil
}

func TestCallbackBooking(t *testing.T) {
	cb := &fakeCallbacks{}
	e := newEnv(t, WithCallbacks(cb))
	now := time.Now()
	tok, err := SignWebToken(testKey, WebClaims{Customer: "C1", Name: "Ada", Phone: "+441632960001", IssuedAt: now.Unix(), Expires: now.Unix() + 600, Nonce: "once"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		body   any
		hdr    map[string]string
		status int
	}{
		{"typed number", webIdentityRequest{Name: "Charles", Phone: "+441632960002"}, nil, http.StatusOK},
		{"same number again", webIdentityRequest{Name: "Charles", Phone: "+441632960002"}, nil, http.StatusConflict},
		{"number not E.164", webIdentityRequest{Name: "Eve", Phone: "01632 960003"}, nil, http.StatusBadRequest},
		{"no number", webIdentityRequest{Name: "Eve"}, nil, http.StatusBadRequest},
		{"signed token", webIdentityRequest{Token: tok}, nil, http.StatusOK},
		{"token replayed", webIdentityRequest{Token: tok}, nil, http.StatusForbidden},
		{"forged token", webIdentityRequest{Token: tok[:len(tok)-3] + "AAA"}, nil, http.StatusForbidden},
		{"from another site", webIdentityRequest{Phone: "+441632960004"}, map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := e.post(t, "/api/webcall/callback", tc.body, nil, tc.hdr)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.status)
			}
		})
	}
	cb.mu.Lock()
	booked := append([]CallbackRequest(nil), cb.booked...)
	cb.mu.Unlock()
	if len(booked) != 2 || booked[0].Customer != "" || booked[1].Customer != "C1" || booked[1].Phone != "+441632960001" ||
		booked[1].Vars[call.VarIdentMethod] != string(MethodWebToken) || booked[0].Queue != "callback" {
		t.Fatalf("booked %+v", booked)
	}
	// The status of a ticket; unknown tickets are not found.
	res, err := http.Get(e.ts.URL + "/api/webcall/callback/guess")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("guessed ticket: %s", res.Status)
	}
}

func TestWebIdentityRequiresTokenByDefault(t *testing.T) {
	for _, cfg := range []WebCallConfig{{TokenKey: string(testKey)}, {}} {
		srv, err := New(Config{WebCall: cfg})
		if err != nil {
			t.Fatal(err)
		}
		_, err = srv.identify(webIdentityRequest{Name: "Eve", Phone: "+441632960009"})
		srv.Close()
		if !errors.Is(err, ErrBadToken) {
			t.Fatalf("typed identity accepted without allow_anonymous (key %v): %v", cfg.TokenKey != "", err)
		}
	}
	srv, err := New(Config{WebCall: WebCallConfig{AllowAnonymous: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if _, err := srv.identify(webIdentityRequest{Name: "Eve", Phone: "+441632960009"}); err != nil {
		t.Fatalf("typed identity refused with allow_anonymous: %v", err)
	}
	for _, bad := range []WebCallConfig{
		{TokenKey: "short"},
		{AllowPrefixes: []string{"33"}},
		{DenyPrefixes: []string{"+33x"}},
		{AddressRate: Rate{Count: 0, Per: time.Minute}},
	} {
		if _, err := New(Config{WebCall: bad}); err == nil {
			t.Fatalf("config %+v accepted", bad)
		}
	}
}

// ivrStub stands in for the IVR: it answers, plays a 1 kHz tone, listens
// to the caller and returns when the caller presses a key.
type ivrStub struct {
	mu     sync.Mutex
	got    *call.Call
	heard  []int16
	digits []rune
	done   chan struct{}
}

// hangUpPage presses the "call now" page's end button and waits for the
// stub's call to end.
func (h *ivrStub) hangUpPage(t *testing.T, ctx, tab context.Context) {
	t.Helper()
	if err := chromedp.Run(tab, chromedp.Click("#btn-end", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-h.done:
	case <-ctx.Done():
		t.Fatal("the call did not end when the page hung up")
	}
}

// call waits for the call the stub is serving.
func (h *ivrStub) call(t *testing.T, ctx context.Context) *call.Call {
	t.Helper()
	var c *call.Call
	if err := waitFor(ctx, "the IVR to get the call", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		c = h.got
		return c != nil
	}); err != nil {
		t.Fatal(err)
	}
	return c
}

func (h *ivrStub) ServeCall(ctx context.Context, c *call.Call) error {
	defer close(h.done)
	h.mu.Lock()
	h.got = c
	h.mu.Unlock()
	if err := c.Leg.Answer(ctx); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		ph := 0
		frame := make([]int16, call.FrameSamples)
		for ctx.Err() == nil {
			for i := range frame {
				frame[i] = int16(8000 * math.Sin(2*math.Pi*1000*float64(ph)/call.SampleRate))
				ph++
			}
			if c.Leg.WriteAudio(ctx, frame) != nil {
				return
			}
		}
	}()
	go func() {
		buf := make([]int16, call.FrameSamples)
		for {
			n, err := c.Leg.ReadAudio(ctx, buf)
			if err != nil {
				return
			}
			h.mu.Lock()
			h.heard = append(h.heard, buf[:n]...)
			h.mu.Unlock()
		}
	}()
	select {
	case d, ok := <-c.Leg.Digits():
		if ok {
			h.mu.Lock()
			h.digits = append(h.digits, d.Key)
			h.mu.Unlock()
		}
	case <-c.Leg.Done():
	case <-ctx.Done():
	}
	return nil
}

func TestBrowserCallNow(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ivr := &ivrStub{done: make(chan struct{})}
	e := newEnv(t, WithCallHandler(ivr))
	tab, closeTab := browser(t, ctx)
	defer closeTab()

	now := time.Now()
	tok, err := SignWebToken(testKey, WebClaims{Customer: "C1", Name: "Ada Lovelace", Phone: "+441632960001", IssuedAt: now.Unix(), Expires: now.Unix() + 600, Nonce: "call-now-1"})
	if err != nil {
		t.Fatal(err)
	}
	var who string
	if err := chromedp.Run(tab,
		chromedp.Navigate(e.ts.URL+"/callback.html#token="+tok),
		chromedp.WaitVisible("#vouched", chromedp.ByID),
		chromedp.Text("#vouched-name", &who, chromedp.ByID),
		chromedp.Click("#btn-call", chromedp.ByID),
		chromedp.WaitVisible("#keypad", chromedp.ByID),
	); err != nil {
		t.Fatalf("call now: %v", err)
	}
	if who != "Ada Lovelace" {
		t.Errorf("page shows %q", who)
	}
	c := ivr.call(t, ctx)
	if c.Channel != call.ChannelWebRTC || c.Caller != "+441632960001" {
		t.Errorf("call channel %q caller %q", c.Channel, c.Caller)
	}
	if v, _ := c.Var(call.VarCustomer); v != "C1" {
		t.Errorf("customer var %q", v)
	}
	if v, _ := c.Var(call.VarIdentMethod); v != string(MethodWebToken) {
		t.Errorf("ident method %q", v)
	}
	if err := waitFor(ctx, "answered on the page", func() bool {
		var s string
		_ = chromedp.Run(tab, chromedp.Text("#status", &s, chromedp.ByID))
		return strings.Contains(s, "through")
	}); err != nil {
		t.Fatal(err)
	}
	// Audio both ways.
	if err := waitFor(ctx, "IVR audio in the page", func() bool {
		var r rtpStats
		err := chromedp.Run(tab, chromedp.Evaluate(strings.Replace(statsJS, "window.voxdesk && window.voxdesk.pc", "window.voxdeskCall && window.voxdeskCall.pc", 1), &r, awaitPromise))
		return err == nil && r.Packets > 50 && r.Energy > 0.01
	}); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(ctx, "page audio at the IVR", func() bool {
		ivr.mu.Lock()
		defer ivr.mu.Unlock()
		return loudFrames(ivr.heard) > 25
	}); err != nil {
		t.Fatal(err)
	}
	// A key press travels as an RFC 4733 event and ends the stub's call.
	if err := chromedp.Run(tab, chromedp.Click(`#keypad button[aria-label="key 5"]`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ivr.done:
	case <-ctx.Done():
		t.Fatal("the IVR never got the key press")
	}
	if string(ivr.digits) != "5" {
		t.Errorf("digits %q, want 5", string(ivr.digits))
	}
	if err := waitFor(ctx, "end shown on the page", func() bool {
		var s string
		_ = chromedp.Run(tab, chromedp.Text("#status", &s, chromedp.ByID))
		return strings.Contains(s, "ended")
	}); err != nil {
		t.Fatal(err)
	}
}

func TestBrowserCallMeBack(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cb := &fakeCallbacks{}
	e := newEnv(t, WithCallbacks(cb))
	tab, closeTab := browser(t, ctx)
	defer closeTab()
	var status string
	if err := chromedp.Run(tab,
		chromedp.Navigate(e.ts.URL+"/callback.html"),
		chromedp.WaitVisible("#typed", chromedp.ByID),
		chromedp.SendKeys("#name", "Charles Babbage", chromedp.ByID),
		chromedp.SendKeys("#phone", "+44 1632 960002", chromedp.ByID),
		chromedp.Click("#btn-callback", chromedp.ByID),
		chromedp.WaitVisible("#btn-callback-cancel", chromedp.ByID),
	); err != nil {
		t.Fatalf("call me back: %v", err)
	}
	// The position arrives with the booking's first status poll, which
	// may land just after the cancel button shows.
	if err := waitFor(ctx, "the call-back position", func() bool {
		_ = chromedp.Run(tab, chromedp.Text("#callback-status", &status, chromedp.ByID))
		return strings.Contains(status, "in the queue")
	}); err != nil {
		t.Fatalf("%v (status %q)", err, status)
	}
	if !strings.Contains(status, "number 3 in the queue") || !strings.Contains(status, "2 min 5 s") {
		t.Errorf("status %q", status)
	}
	if err := chromedp.Run(tab, chromedp.Click("#btn-callback-cancel", chromedp.ByID), chromedp.WaitNotVisible("#btn-callback-cancel", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	cb.mu.Lock()
	defer cb.mu.Unlock()
	if len(cb.booked) != 1 || cb.booked[0].Phone != "+441632960002" || cb.booked[0].Name != "Charles Babbage" || len(cb.cancelled) != 1 {
		t.Fatalf("booked %+v cancelled %v", cb.booked, cb.cancelled)
	}
}

// A caller who types a phone number is not taken to be that number's
// owner: the call has no Caller (the IVR's number identification cannot
// be fooled) and the typed details are marked as such.
func TestBrowserCallNowTyped(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ivr := &ivrStub{done: make(chan struct{})}
	e := newEnv(t, WithCallHandler(ivr))
	tab, closeTab := browser(t, ctx)
	defer closeTab()
	if err := chromedp.Run(tab,
		chromedp.Navigate(e.ts.URL+"/callback.html"),
		chromedp.SendKeys("#name", "Mallory", chromedp.ByID),
		chromedp.SendKeys("#phone", "+44 1632 960001", chromedp.ByID),
		chromedp.Click("#btn-call", chromedp.ByID),
	); err != nil {
		t.Fatal(err)
	}
	c := ivr.call(t, ctx)
	if c.Caller != "" {
		t.Errorf("typed number became the caller: %q", c.Caller)
	}
	if v, ok := c.Var(call.VarCustomer); ok {
		t.Errorf("customer var set to %q", v)
	}
	if v, _ := c.Var(VarWebPhone); v != "+441632960001" {
		t.Errorf("web.phone %q", v)
	}
	if v, _ := c.Var(VarWebName); v != "Mallory" {
		t.Errorf("web.name %q", v)
	}
	ivr.hangUpPage(t, ctx, tab)
	if got := c.Leg.Cause(); got != call.CauseNormal {
		t.Errorf("leg cause %v, want normal (the caller hung up)", got)
	}
}
