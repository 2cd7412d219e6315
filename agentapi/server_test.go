package agentapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/routing"
	"github.com/voxdesk/voxdesk/rtc"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type testEnv struct {
	srv    *Server
	ts     *httptest.Server
	router *fakeRouter
	dir    *fakeDirectory
	bio    *fakeBio
}

func newEnv(t *testing.T, opts ...Option) *testEnv {
	t.Helper()
	e := &testEnv{
		router: &fakeRouter{},
		dir: &fakeDirectory{files: map[string]CustomerFile{
			"C1": {ID: "C1", Name: "Ada Lovelace", Segment: "gold", Notes: "prefers email", PreferredAdvisor: "alice", Phones: []string{"+441632960001"},
				Attributes: map[string]string{"city": "Lyon", "language": "fr"},
				Consent:    &ConsentView{GivenAt: time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC), Method: "ivr-dtmf"}},
			"C2": {ID: "C2", Name: "Charles Babbage", Segment: "standard"},
		}},
		bio: &fakeBio{},
	}
	engine, err := rtc.New(rtc.Config{Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Accounts: []Account{
			{ID: "alice", Name: "Alice Agent", PasswordHash: mustHash(t, "alice-secret")},
			{ID: "bob", Name: "Bob Agent", PasswordHash: mustHash(t, "bob-secret")},
			{ID: "sue", Name: "Sue Supervisor", Role: RoleSupervisor, PasswordHash: mustHash(t, "sue-secret")},
			{ID: "root", Name: "Admin", Role: RoleAdmin, PasswordHash: mustHash(t, "root-secret")},
		},
		InsecureCookies: true,
		BoardInterval:   50 * time.Millisecond,
		// Generous limits: the tests book from one address; the limits
		// themselves are tested with withWebCall.
		WebCall: WebCallConfig{TokenKey: strings.Repeat("k", 32), AllowAnonymous: true,
			AddressRate: Rate{Count: 1000, Per: time.Minute}, NumberRate: Rate{Count: 1000, Per: time.Minute}, NumberDailyCap: 1000},
	}
	all := append([]Option{WithRouter(e.router), WithDirectory(e.dir), WithBiometrics(e.bio), WithRTC(engine)}, opts...)
	e.srv, err = New(cfg, all...)
	if err != nil {
		t.Fatal(err)
	}
	e.ts = httptest.NewServer(e.srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		e.ts.Close()
		e.router.wg.Wait()
	})
	return e
}

// client is a logged-in user.
type client struct {
	cookie *http.Cookie
	csrf   string
}

func (e *testEnv) post(t *testing.T, path string, body any, c *client, hdr map[string]string) *http.Response {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, e.ts.URL+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", e.ts.URL)
	if c != nil {
		req.AddCookie(c.cookie)
		req.Header.Set(csrfHeader, c.csrf)
	}
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

func (e *testEnv) login(t *testing.T, user, pw string) *client {
	t.Helper()
	res := e.post(t, "/api/login", loginRequest{User: user, Password: pw}, nil, nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("login %s: %s", user, res.Status)
	}
	var rep sessionReply
	if err := json.NewDecoder(res.Body).Decode(&rep); err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Cookies() {
		if c.Name == cookieName {
			return &client{cookie: c, csrf: rep.CSRF}
		}
	}
	t.Fatal("no session cookie")
	return nil
}

// dial opens a WebSocket as c (nil: no cookie) with the given Origin.
func (e *testEnv) dial(ctx context.Context, path string, c *client, origin string) (*websocket.Conn, *http.Response, error) {
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	if c != nil {
		h.Set("Cookie", c.cookie.Name+"="+c.cookie.Value)
	}
	return websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.ts.URL, "http")+path, &websocket.DialOptions{HTTPHeader: h})
}

// page is a Go stand-in for an agent's page on the WebSocket.
type page struct {
	t  *testing.T
	ws *websocket.Conn
}

func (e *testEnv) openPage(t *testing.T, c *client) *page {
	t.Helper()
	p, m := e.helloOf(t, c)
	if m.Agent == nil {
		t.Fatalf("hello without agent: %+v", m)
	}
	return p
}

// helloOf opens the agent's page and returns its hello.
func (e *testEnv) helloOf(t *testing.T, c *client) (*page, ServerMessage) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := e.dial(ctx, "/api/agent/ws", c, e.ts.URL)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	ws.SetReadLimit(1 << 20)
	t.Cleanup(func() { ws.CloseNow() })
	p := &page{t: t, ws: ws}
	return p, p.next("hello")
}

func (p *page) sendRaw(s string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.ws.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
		p.t.Fatal(err)
	}
}

func (p *page) send(m ClientMessage) {
	p.t.Helper()
	b, _ := json.Marshal(m)
	p.sendRaw(string(b))
}

// next reads messages until one of type typ (skipping board/state/signal
// noise).
func (p *page) next(typ string) ServerMessage {
	p.t.Helper()
	for {
		if m := p.nextAny(); m.Type == typ {
			return m
		}
	}
}

func (p *page) nextAny() ServerMessage {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, b, err := p.ws.Read(ctx)
	if err != nil {
		p.t.Fatalf("reading the page's socket: %v", err)
	}
	var m ServerMessage
	if err := json.Unmarshal(b, &m); err != nil {
		p.t.Fatalf("bad server message %s: %v", b, err)
	}
	return m
}

func TestLogin(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name   string
		body   any
		hdr    map[string]string
		status int
	}{
		{"right password", loginRequest{"alice", "alice-secret"}, nil, http.StatusOK},
		{"wrong password", loginRequest{"alice", "nope-nope"}, nil, http.StatusUnauthorized},
		{"unknown user", loginRequest{"mallory", "whatever1"}, nil, http.StatusUnauthorized},
		{"cross-origin page", loginRequest{"alice", "alice-secret"}, map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		{"cross-site fetch metadata", loginRequest{"alice", "alice-secret"}, map[string]string{"Origin": "", "Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"form post", loginRequest{"alice", "alice-secret"}, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, http.StatusBadRequest},
		{"unknown field", map[string]string{"user": "alice", "password": "alice-secret", "admin": "1"}, nil, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := e.post(t, "/api/login", tc.body, nil, tc.hdr)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.status)
			}
			if tc.status != http.StatusOK {
				if len(res.Cookies()) != 0 {
					t.Fatal("cookie set on a refused login")
				}
				return
			}
			c := res.Cookies()[0]
			if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Name != cookieName {
				t.Fatalf("cookie %+v: want HttpOnly, SameSite=Strict", c)
			}
		})
	}
}

func TestSecureCookieByDefault(t *testing.T) {
	srv, err := New(Config{Accounts: []Account{{ID: "a", PasswordHash: mustHash(t, "password1")}}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/api/login", strings.NewReader(`{"user":"a","password":"password1"}`))
	req.Header.Set("Content-Type", "application/json")
	srv.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || !rec.Result().Cookies()[0].Secure {
		t.Fatalf("status %d, cookies %v: want a Secure cookie", rec.Code, rec.Result().Cookies())
	}
}

func TestCSRFAndRoles(t *testing.T) {
	e := newEnv(t)
	alice := e.login(t, "alice", "alice-secret")
	root := e.login(t, "root", "root-secret")
	forged := &client{cookie: root.cookie, csrf: "not-the-token"}
	for _, tc := range []struct {
		name   string
		c      *client
		hdr    map[string]string
		status int
	}{
		{"no session", nil, nil, http.StatusUnauthorized},
		{"wrong csrf token", forged, nil, http.StatusForbidden},
		{"missing csrf token", root, map[string]string{csrfHeader: ""}, http.StatusForbidden},
		{"other origin", root, map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		{"agent role", alice, nil, http.StatusForbidden},
		{"admin with token", root, nil, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := e.post(t, "/api/admin/customers/C1/erase-biometrics", struct{}{}, tc.c, tc.hdr)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.status)
			}
		})
	}
	if got := e.bio.erasals; len(got) != 1 || got[0] != "C1 admin:root" {
		t.Fatalf("erasures %v, want exactly the admin's one", got)
	}
	if res := e.post(t, "/api/admin/customers/missing/erase-biometrics", struct{}{}, root, nil); res.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown customer: %s", res.Status)
	}
}

func TestLogoutEndsSession(t *testing.T) {
	e := newEnv(t)
	alice := e.login(t, "alice", "alice-secret")
	p := e.openPage(t, alice)
	if res := e.post(t, "/api/logout", struct{}{}, alice, nil); res.StatusCode != http.StatusOK {
		t.Fatalf("logout: %s", res.Status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		if _, _, err := p.ws.Read(ctx); err != nil {
			break // the page's socket was closed by the logout
		}
	}
	if _, res, err := e.dial(ctx, "/api/agent/ws", alice, e.ts.URL); err == nil || res == nil || res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("socket after logout: err %v", err)
	}
	if !e.router.has("logout alice") || e.router.has("disconnected alice") {
		t.Fatalf("router calls %v: want logout and no disconnected", e.router.recorded())
	}
}

func TestWebSocketRefusals(t *testing.T) {
	e := newEnv(t)
	alice := e.login(t, "alice", "alice-secret")
	for _, tc := range []struct {
		name, path, origin string
		c                  *client
		status             int
	}{
		{"no cookie", "/api/agent/ws", "", nil, http.StatusUnauthorized},
		{"forged cookie", "/api/agent/ws", "", &client{cookie: &http.Cookie{Name: cookieName, Value: "forged"}}, http.StatusUnauthorized},
		{"cross-site origin", "/api/agent/ws", "https://evil.example", alice, http.StatusForbidden},
		{"agent on the wallboard", "/api/board/ws", "", alice, http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			ws, res, err := e.dial(ctx, tc.path, tc.c, tc.origin)
			if err == nil {
				ws.CloseNow()
				t.Fatal("upgrade accepted")
			}
			if res == nil || res.StatusCode != tc.status {
				t.Fatalf("refused with %v, want status %d", err, tc.status)
			}
		})
	}
}

func TestMalformedMessagesGetErrors(t *testing.T) {
	e := newEnv(t)
	p := e.openPage(t, e.login(t, "alice", "alice-secret"))
	for _, tc := range []struct{ name, msg, want string }{
		{"not json", `hello`, "bad message"},
		{"array", `[1,2]`, "bad message"},
		{"unknown type", `{"type":"reboot"}`, "unknown type"},
		{"unknown field", `{"type":"ping","sudo":true}`, "unknown field"},
		{"state value", `{"type":"state","state":"busy"}`, "want available or away"},
		{"answer without call", `{"type":"answer"}`, "needs a call id"},
		{"control characters", `{"type":"hangup","call":"a\u0000b"}`, "control character"},
		{"oversized notes", `{"type":"wrapup","call":"x","notes":"` + strings.Repeat("n", maxNotesLen+1) + `"}`, "at most"},
		{"bad signal", `{"type":"signal","signal":{"type":"offer"}}`, "offer without sdp"},
		{"garbage sdp", `{"type":"signal","signal":{"type":"offer","sdp":"x"}}`, "PCMU"},
		{"trailing data", `{"type":"ping"}{"type":"ping"}`, "trailing"},
		{"answer for nothing", `{"type":"answer","call":"nope"}`, "not your call"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p.sendRaw(tc.msg)
			m := p.next("error")
			if !strings.Contains(m.Error, tc.want) {
				t.Fatalf("error %q, want it to mention %q", m.Error, tc.want)
			}
		})
	}
	p.send(ClientMessage{ID: 9, Type: MsgPing})
	if m := p.next("ok"); m.ID != 9 {
		t.Fatalf("ping reply %+v", m)
	}
}

func TestOfferShowsCustomerFileAndOwnership(t *testing.T) {
	e := newEnv(t)
	alice := e.openPage(t, e.login(t, "alice", "alice-secret"))
	bob := e.openPage(t, e.login(t, "bob", "bob-secret"))
	ctx := context.Background()

	// Without softphone audio (this page has no PeerConnection) the agent
	// cannot take calls; away is fine.
	alice.send(ClientMessage{ID: 1, Type: MsgState, State: "available"})
	if m := alice.next("error"); !strings.Contains(m.Error, "audio is not connected") {
		t.Fatalf("available without audio: %+v", m)
	}
	alice.send(ClientMessage{ID: 2, Type: MsgState, State: "away", Reason: "coffee"})
	alice.next("ok")
	if e.router.has("state alice available") || !e.router.has("state alice away") {
		t.Fatalf("router calls %v", e.router.recorded())
	}

	o := routing.Offer{CallID: "call-1", Queue: "support", Caller: "+441632960001", Channel: call.ChannelSIP,
		Customer: "C1", IdentMethod: call.MethodVoice, IdentScore: 0.91, Waited: 4 * time.Second}
	if err := e.srv.Ring(ctx, "alice", o); err != nil {
		t.Fatal(err)
	}
	m := alice.next("offer")
	if m.Offer.Customer == nil || m.Offer.Customer.Name != "Ada Lovelace" || m.Offer.Ident.Method != "voice" || m.Offer.Ident.Score != 0.91 {
		t.Fatalf("offer %+v", m.Offer)
	}

	// Bob cannot act on Alice's call.
	for _, typ := range []string{MsgAnswer, MsgDecline, MsgHangup, MsgHold, MsgTransfer, MsgWrapUp, MsgEnrol} {
		bob.send(ClientMessage{ID: 5, Type: typ, Call: "call-1", Queue: "sales"})
		if m := bob.next("error"); !strings.Contains(m.Error, "not your call") {
			t.Fatalf("bob %s: %q", typ, m.Error)
		}
	}
	for _, c := range e.router.recorded() {
		if strings.Contains(c, "bob call-1") {
			t.Fatalf("the router was asked %q on bob's behalf", c)
		}
	}

	// A withdrawn offer disappears; a new one is declined.
	if err := e.srv.Cancel(ctx, "alice", "call-1", "timeout"); err != nil {
		t.Fatal(err)
	}
	if m := alice.next("cancel"); m.Call != "call-1" || m.Reason != "timeout" {
		t.Fatalf("cancel %+v", m)
	}
	alice.send(ClientMessage{ID: 2, Type: MsgAnswer, Call: "call-1"})
	if m := alice.next("error"); !strings.Contains(m.Error, "not your call") {
		t.Fatalf("answer after cancel: %q", m.Error)
	}
	o.CallID, o.Customer, o.IdentMethod = "call-2", "", call.MethodNone
	if err := e.srv.Ring(ctx, "alice", o); err != nil {
		t.Fatal(err)
	}
	if m := alice.next("offer"); m.Offer.Customer != nil || m.Offer.Ident.Method != "none" {
		t.Fatalf("unknown caller offer %+v", m.Offer)
	}
	alice.send(ClientMessage{ID: 3, Type: MsgDecline, Call: "call-2"})
	alice.next("ok")
	if !e.router.has("decline alice call-2") {
		t.Fatalf("router calls %v", e.router.recorded())
	}
	// Ringing an agent without a page fails at once.
	if err := e.srv.Ring(ctx, "sue", o); !errors.Is(err, ErrAgentOffline) {
		t.Fatalf("Ring offline agent: %v", err)
	}
}

func TestPageClosedTellsRouter(t *testing.T) {
	e := newEnv(t)
	p := e.openPage(t, e.login(t, "alice", "alice-secret"))
	if err := e.srv.Ring(context.Background(), "alice", routing.Offer{CallID: "c9", Queue: "q"}); err != nil {
		t.Fatal(err)
	}
	p.next("offer")
	p.ws.CloseNow()
	deadline := time.Now().Add(5 * time.Second)
	for !e.router.has("disconnected alice") {
		if time.Now().After(deadline) {
			t.Fatalf("router not told; calls %v", e.router.recorded())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := e.srv.Leg(context.Background(), "alice", "c9"); !errors.Is(err, ErrAgentOffline) {
		t.Fatalf("Leg after the page closed: %v", err)
	}
}

func TestWallboardFeed(t *testing.T) {
	board := Board{
		Queues: []QueueStats{{Name: "support", Waiting: 2, LongestWait: 31, ServiceLevel: 0.8, ASA: 12, Answered: 10, Abandoned: 1, Offered: 13}},
		Agents: []AgentView{{ID: "alice", Name: "Alice Agent", State: "wrap-up"}},
	}
	e := newEnv(t, WithBoard(BoarderFunc(func(ctx context.Context) (Board, error) { return board, nil })))
	alice := e.openPage(t, e.login(t, "alice", "alice-secret"))
	if m := alice.next("state"); m.State != "wrap-up" {
		t.Fatalf("agent page state %q, want the board's wrap-up", m.State)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := e.dial(ctx, "/api/board/ws", e.login(t, "sue", "sue-secret"), e.ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	_, b, err := ws.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var m ServerMessage
	if err := json.Unmarshal(b, &m); err != nil || m.Type != "board" || len(m.Board.Queues) != 1 || m.Board.Queues[0].Waiting != 2 {
		t.Fatalf("board message %s (%v)", b, err)
	}
}

func TestShutdownClosesSockets(t *testing.T) {
	e := newEnv(t, WithBoard(BoarderFunc(func(ctx context.Context) (Board, error) { return Board{}, nil })))
	p := e.openPage(t, e.login(t, "alice", "alice-secret"))
	sue := e.login(t, "sue", "sue-secret") // before the deadlines: hashing a password is slow on a loaded machine
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	bws, _, err := e.dial(ctx, "/api/board/ws", sue, e.ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer bws.CloseNow()
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	start := time.Now()
	if err := e.srv.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("shutdown took %v", d)
	}
	for {
		if _, _, err := p.ws.Read(ctx); err != nil {
			if websocket.CloseStatus(err) != websocket.StatusGoingAway {
				t.Fatalf("agent socket closed with %v, want going away", err)
			}
			break
		}
	}
	// New sockets are refused once shut down.
	if ws, _, err := e.dial(ctx, "/api/agent/ws", e.login(t, "bob", "bob-secret"), e.ts.URL); err == nil {
		_, _, rerr := ws.Read(ctx)
		if rerr == nil {
			t.Fatal("socket served after shutdown")
		}
		ws.CloseNow()
	}
}

func TestFramingHeaders(t *testing.T) {
	srv, err := New(Config{WebCall: WebCallConfig{FrameOrigins: []string{"https://www.example.com"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, tc := range []struct{ path, want string }{
		{"/agent.html", "frame-ancestors 'none'"},
		{"/board.html", "frame-ancestors 'none'"},
		{"/callback.html", "frame-ancestors 'self' https://www.example.com"},
	} {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d", tc.path, rec.Code)
		}
		if got := rec.Header().Values("Content-Security-Policy"); !strings.Contains(strings.Join(got, "|"), tc.want) {
			t.Errorf("%s CSP %q, want %q", tc.path, got, tc.want)
		}
	}
	if _, err := New(Config{WebCall: WebCallConfig{FrameOrigins: []string{"www.example.com; script-src *"}}}); err == nil {
		t.Fatal("bad frame origin accepted")
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	e := newEnv(t, WithRegisterer(reg))
	e.post(t, "/api/login", loginRequest{"alice", "wrong-one"}, nil, nil)
	p := e.openPage(t, e.login(t, "alice", "alice-secret"))
	p.sendRaw(`{"type":"nope"}`)
	p.next("error")
	for _, tc := range []struct {
		name string
		c    prometheus.Collector
		want float64
	}{
		{"failed login", e.srv.m.logins.WithLabelValues("failed"), 1},
		{"good login", e.srv.m.logins.WithLabelValues("ok"), 1},
		{"bad message", e.srv.m.badMessages.WithLabelValues("agent"), 1},
		{"open agent page", e.srv.m.pages.WithLabelValues("agent"), 1},
	} {
		if got := testutil.ToFloat64(tc.c); got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, got, tc.want)
		}
	}
	if n, err := testutil.GatherAndCount(reg); err != nil || n == 0 {
		t.Fatalf("gather: %d series, %v", n, err)
	}
}
