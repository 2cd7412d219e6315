package agentapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// withWebCall changes the web call settings of a test server.
func withWebCall(f func(*WebCallConfig)) Option {
	return func(s *Server) {
		f(&s.cfg.WebCall)
		s.cfg.WebCall.fill()
	}
}

// clientFrom is an HTTP client whose connections come from ip (any
// 127.0.0.0/8 address works on Linux): a second source address.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}, Timeout: 10 * time.Second}
}

// book asks for a call-back to phone from the client's address and
// returns the status and the ticket.
func (e *testEnv) book(t *testing.T, hc *http.Client, req webIdentityRequest) (int, string) {
	t.Helper()
	b, _ := json.Marshal(req)
	r, _ := http.NewRequest(http.MethodPost, e.ts.URL+"/api/webcall/callback", bytes.NewReader(b))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Origin", e.ts.URL)
	res, err := hc.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var rep bookReply
	_ = json.NewDecoder(res.Body).Decode(&rep)
	if res.StatusCode == http.StatusTooManyRequests && res.Header.Get("Retry-After") == "" {
		t.Errorf("429 without Retry-After")
	}
	return res.StatusCode, rep.Ticket
}

func (e *testEnv) cancelTicket(t *testing.T, ticket string) {
	t.Helper()
	r, _ := http.NewRequest(http.MethodDelete, e.ts.URL+"/api/webcall/callback/"+ticket, nil)
	r.Header.Set("Origin", e.ts.URL)
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("cancel: %s", res.Status)
	}
}

func TestNumberPolicy(t *testing.T) {
	def, _ := newNumberPolicy(nil, nil)
	home, _ := newNumberPolicy([]string{"+33", "+44", "+8816"}, []string{"+4470"})
	for _, tc := range []struct {
		name   string
		p      numberPolicy
		phone  string
		denied bool
	}{
		{"default: French premium rate", def, "+33899123456", true},
		{"default: French shared cost", def, "+33812345678", true},
		{"default: NANP 900", def, "+19005551234", true},
		{"default: NANP 976", def, "+19765551234", true},
		{"default: satellite 881", def, "+881612345678", true},
		{"default: international network 882", def, "+882161234567", true},
		{"default: international network 883", def, "+883510001234", true},
		{"default: UK premium", def, "+449012345678", true},
		{"default: New York landline", def, "+12125551234", false},
		{"default: Paris landline", def, "+33140000001", false},
		{"home: premium inside the allowed country", home, "+33899123456", true},
		{"home: other country", home, "+12125551234", true},
		{"home: configured deny inside the allowed country", home, "+447012345678", true},
		{"home: Paris landline", home, "+33140000001", false},
		{"home: UK landline", home, "+441632960001", false},
		{"home: a longer allow opens part of a denied range", home, "+881612345678", false},
		{"home: the rest of the denied range stays denied", home, "+881212345678", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.p.check(tc.phone); (err != nil) != tc.denied {
				t.Fatalf("check(%s) = %v, want denied %v", tc.phone, err, tc.denied)
			}
		})
	}
}

func TestCallbackAbuseLimits(t *testing.T) {
	now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	e := newEnv(t, WithCallbacks(&fakeCallbacks{}), withClock(func() time.Time { return clock() }), withWebCall(func(c *WebCallConfig) {
		c.AddressRate = Rate{Count: 3, Per: time.Hour}
		c.NumberRate = Rate{Count: 2, Per: time.Hour}
		c.NumberDailyCap = 3
		c.TicketTTL = 30 * time.Minute
	}))
	one, two := clientFrom("127.0.0.1"), clientFrom("127.0.0.2")

	// Premium numbers are refused through the API.
	if got, _ := e.book(t, two, webIdentityRequest{Name: "X", Phone: "+33899123456"}); got != http.StatusForbidden {
		t.Fatalf("premium number: %d", got)
	}
	// A flood from one address: three attempts pass, then 429 with
	// Retry-After, while another address still books.
	for i, want := range []int{http.StatusOK, http.StatusOK, http.StatusOK, http.StatusTooManyRequests, http.StatusTooManyRequests} {
		phone := "+3314000001" + string(rune('0'+i))
		if got, _ := e.book(t, one, webIdentityRequest{Name: "flood", Phone: phone}); got != want {
			t.Fatalf("flood attempt %d: %d, want %d", i+1, got, want)
		}
	}
	if got, _ := e.book(t, two, webIdentityRequest{Name: "Real", Phone: "+441632960001"}); got != http.StatusOK {
		t.Fatalf("real customer from another address: %d", got)
	}
	// The address window ends: the first address books again.
	now = now.Add(time.Hour)
	got, ticket := e.book(t, one, webIdentityRequest{Name: "later", Phone: "+441632960002"})
	if got != http.StatusOK {
		t.Fatalf("after the window: %d", got)
	}
	// Tickets expire after ticket_ttl, not 24 h.
	now = now.Add(31 * time.Minute)
	res, err := http.Get(e.ts.URL + "/api/webcall/callback/" + ticket)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("ticket after its ttl: %s", res.Status)
	}

	// Per number: two bookings an hour (from any address), three a day.
	now = time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	victim := "+441632960099"
	for i, want := range []int{http.StatusOK, http.StatusOK, http.StatusTooManyRequests} {
		hc := clientFrom("127.0.0." + string(rune('3'+i)))
		got, tk := e.book(t, hc, webIdentityRequest{Name: "v", Phone: victim})
		if got != want {
			t.Fatalf("booking %d to one number: %d, want %d", i+1, got, want)
		}
		if tk != "" {
			e.cancelTicket(t, tk)
		}
	}
	now = now.Add(time.Hour)
	if got, tk := e.book(t, clientFrom("127.0.0.7"), webIdentityRequest{Name: "v", Phone: victim}); got != http.StatusOK {
		t.Fatalf("third booking of the day: %d", got)
	} else {
		e.cancelTicket(t, tk)
	}
	now = now.Add(time.Hour)
	if got, _ := e.book(t, clientFrom("127.0.0.8"), webIdentityRequest{Name: "v", Phone: victim}); got != http.StatusTooManyRequests {
		t.Fatalf("fourth booking of the day: %d, want 429 (daily cap)", got)
	}
	// The number's owner, logged in on the website, still books: the
	// strangers' bookings spent only the anonymous quota.
	tok, _ := SignWebToken(testKey, WebClaims{Customer: "C9", Phone: victim, IssuedAt: now.Unix(), Expires: now.Unix() + 600, Nonce: "owner"})
	if got, _ := e.book(t, clientFrom("127.0.0.9"), webIdentityRequest{Token: tok}); got != http.StatusOK {
		t.Fatalf("the number's owner with a token: %d", got)
	}
}

// Without allow_anonymous a booking needs a website token.
func TestCallbackNeedsTokenByDefault(t *testing.T) {
	e := newEnv(t, WithCallbacks(&fakeCallbacks{}), withWebCall(func(c *WebCallConfig) { c.AllowAnonymous = false }))
	hc := clientFrom("127.0.0.1")
	if got, _ := e.book(t, hc, webIdentityRequest{Name: "Eve", Phone: "+441632960003"}); got != http.StatusForbidden {
		t.Fatalf("anonymous booking: %d, want 403", got)
	}
	now := time.Now()
	tok, _ := SignWebToken(testKey, WebClaims{Customer: "C1", Phone: "+441632960001", IssuedAt: now.Unix(), Expires: now.Unix() + 600, Nonce: "t1"})
	if got, _ := e.book(t, hc, webIdentityRequest{Token: tok}); got != http.StatusOK {
		t.Fatalf("booking with a token: %d", got)
	}
}

// dialWebCall opens a "call now" socket from ip.
func (e *testEnv) dialWebCall(ctx context.Context, ip string) (*websocket.Conn, *http.Response, error) {
	h := http.Header{"Origin": {e.ts.URL}}
	return websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.ts.URL, "http")+"/api/webcall/ws",
		&websocket.DialOptions{HTTPHeader: h, HTTPClient: clientFrom(ip)})
}

func readWebStatus(t *testing.T, ctx context.Context, ws *websocket.Conn) webStatus {
	t.Helper()
	_, b, err := ws.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var m webStatus
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func writeWeb(t *testing.T, ctx context.Context, ws *websocket.Conn, m any) {
	t.Helper()
	b, _ := json.Marshal(m)
	if err := ws.Write(ctx, websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
}

// "Call now" slots: at most max_calls_per_address sockets per address,
// anonymous callers at most max_anonymous_calls, so a few anonymous
// sockets cannot fill max_calls.
func TestCallNowSlots(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e := newEnv(t, WithCallHandler(&ivrStub{done: make(chan struct{})}), withWebCall(func(c *WebCallConfig) {
		c.MaxCalls, c.MaxCallsPerAddress, c.MaxAnonymousCalls = 6, 2, 1
	}))
	var open []*websocket.Conn
	defer func() {
		for _, ws := range open {
			ws.CloseNow()
		}
	}()
	for i := range 2 {
		ws, _, err := e.dialWebCall(ctx, "127.0.0.1")
		if err != nil {
			t.Fatalf("socket %d: %v", i+1, err)
		}
		open = append(open, ws)
	}
	if ws, res, err := e.dialWebCall(ctx, "127.0.0.1"); err == nil {
		ws.CloseNow()
		t.Fatal("third socket from one address accepted")
	} else if res == nil || res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third socket from one address: %v %v", res, err)
	}
	// The first anonymous caller takes the one anonymous slot.
	writeWeb(t, ctx, open[0], map[string]string{"type": "start", "name": "Anon", "phone": "+441632960005"})
	if m := readWebStatus(t, ctx, open[0]); m.Type != "status" || m.State != "connecting" {
		t.Fatalf("first anonymous caller: %+v", m)
	}
	// A second one, from another address, is told the lines are busy.
	ws, _, err := e.dialWebCall(ctx, "127.0.0.2")
	if err != nil {
		t.Fatal(err)
	}
	open = append(open, ws)
	writeWeb(t, ctx, ws, map[string]string{"type": "start", "name": "Anon2"})
	if m := readWebStatus(t, ctx, ws); m.Type != "error" || !strings.Contains(m.Error, "busy") {
		t.Fatalf("second anonymous caller: %+v", m)
	}
	// A caller with a website token still gets a line.
	now := time.Now()
	tok, _ := SignWebToken(testKey, WebClaims{Customer: "C1", IssuedAt: now.Unix(), Expires: now.Unix() + 600, Nonce: "slot"})
	ws, _, err = e.dialWebCall(ctx, "127.0.0.3")
	if err != nil {
		t.Fatal(err)
	}
	open = append(open, ws)
	writeWeb(t, ctx, ws, map[string]string{"type": "start", "token": tok})
	if m := readWebStatus(t, ctx, ws); m.Type != "status" || m.State != "connecting" {
		t.Fatalf("token caller: %+v", m)
	}
}
