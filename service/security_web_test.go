package service_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/voxdesk/voxdesk/agentapi"
	"github.com/voxdesk/voxdesk/service"
)

// The "security" suite, web side: a real switch on loopback attacked
// through its HTTP server (pages, agent API, web call-back) the way
// issue 10 found it open. Second source addresses are 127.0.0.2... (any
// 127.0.0.0/8 address is local on Linux), never a forwarded-for header.

// dialFrom opens a TCP connection to addr from the local IP src.
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, src, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedWithin reads c until the server closes it and returns how long
// that took; meanwhile trickle (if set) keeps sending a byte every 200 ms
// as a slow client does. It fails the test if c is still open after
// limit.
func closedWithin(t *testing.T, c net.Conn, limit time.Duration, trickle string) time.Duration {
	t.Helper()
	start := time.Now()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	if trickle != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-time.After(200 * time.Millisecond):
				}
				if _, err := c.Write([]byte{trickle[i%len(trickle)]}); err != nil {
					return
				}
			}
		}()
	}
	defer func() {
		close(stop)
		wg.Wait()
	}()
	_ = c.SetReadDeadline(start.Add(limit))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after %v", limit)
	}
	return time.Since(start)
}

// statusLine sends a raw request on c and returns the response's status
// line.
func statusLine(t *testing.T, c net.Conn, req string) string {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the status line: %v", err)
	}
	return strings.TrimSpace(line)
}

func TestSecurityHTTPSlowClientsClosed(t *testing.T) {
	sw := startSwitch(t, func(c *service.Config) {
		c.HTTP.ReadHeaderTimeout = 500 * time.Millisecond
		c.HTTP.ReadTimeout = time.Second
		c.HTTP.IdleTimeout = time.Second
		c.HTTP.WriteTimeout = time.Second
	})
	addr := sw.HTTPAddr().String()
	const limit = 4 * time.Second // the timeouts plus scheduling slack on a busy machine
	t.Run("slow headers", func(t *testing.T) {
		c := dialFrom(t, "127.0.0.1", addr)
		io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
		d := closedWithin(t, c, limit, "abcdefgh")
		t.Logf("closed after %v (read_header_timeout 500ms)", d)
	})
	t.Run("slow body", func(t *testing.T) {
		c := dialFrom(t, "127.0.0.1", addr)
		io.WriteString(c, "POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{")
		d := closedWithin(t, c, limit, `"a"`)
		t.Logf("closed after %v (read_timeout 1s)", d)
	})
	t.Run("idle keep-alive", func(t *testing.T) {
		c := dialFrom(t, "127.0.0.1", addr)
		if got := statusLine(t, c, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); !strings.Contains(got, " 200 ") {
			t.Fatalf("healthz: %q", got)
		}
		d := closedWithin(t, c, limit, "")
		t.Logf("idle connection closed after %v (idle_timeout 1s)", d)
	})
	t.Run("oversized body", func(t *testing.T) {
		c := dialFrom(t, "127.0.0.1", addr)
		body := `{"user":"` + strings.Repeat("a", 20<<10) + `","password":"x"}`
		req := fmt.Sprintf("POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		if got := statusLine(t, c, req); !strings.Contains(got, " 400 ") {
			t.Fatalf("20 KB login body: %q, want 400", got)
		}
	})
	t.Run("websocket outlives the request timeouts", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ws, _, err := websocket.Dial(ctx, "ws://"+addr+"/api/webcall/ws", &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"http://" + addr}}})
		if err != nil {
			t.Fatal(err)
		}
		defer ws.CloseNow()
		time.Sleep(2500 * time.Millisecond) // past read_timeout and idle_timeout
		if err := ws.Write(ctx, websocket.MessageText, []byte(`{"type":"start","name":"Late"}`)); err != nil {
			t.Fatalf("write after the timeouts: %v", err)
		}
		_, b, err := ws.Read(ctx)
		if err != nil || !strings.Contains(string(b), "token") {
			t.Fatalf("reply after the timeouts: %s, %v (want the token-required error)", b, err)
		}
	})
	t.Run("oversized headers", func(t *testing.T) {
		c := dialFrom(t, "127.0.0.1", addr)
		req := "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + strings.Repeat("x", 64<<10) + "\r\n\r\n"
		if got := statusLine(t, c, req); !strings.Contains(got, " 431 ") {
			t.Fatalf("64 KB header: %q, want 431", got)
		}
	})
}

// Connections beyond max_conns_per_address from one address are closed
// at once while another address is served.
func TestSecurityHTTPConnectionCapPerAddress(t *testing.T) {
	const max = 4
	sw := startSwitch(t, func(c *service.Config) { c.HTTP.MaxConnsPerAddress = max })
	addr := sw.HTTPAddr().String()
	held := make([]net.Conn, max)
	for i := range held {
		held[i] = dialFrom(t, "127.0.0.1", addr)
	}
	// The held connections are served (they get an answer)...
	if got := statusLine(t, held[0], "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); !strings.Contains(got, " 200 ") {
		t.Fatalf("held connection: %q", got)
	}
	// ...one more from the same address is closed without one...
	extra := dialFrom(t, "127.0.0.1", addr)
	io.WriteString(extra, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	_ = extra.SetReadDeadline(time.Now().Add(3 * time.Second))
	if b, err := io.ReadAll(extra); len(b) > 0 || isTimeout(err) {
		t.Fatalf("connection %d from one address: read %q, %v; want closed unanswered", max+1, b, err)
	}
	// ...while another address is served.
	hc := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}).DialContext}, Timeout: 5 * time.Second}
	res, err := hc.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("another address: %v", err)
	}
	res.Body.Close()
	hc.CloseIdleConnections()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("another address: %s", res.Status)
	}
	// The refusal is counted for the operator.
	mres, err := hc.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(mres.Body)
	mres.Body.Close()
	if !strings.Contains(string(metrics), "voxdesk_http_refused_connections_total 1") {
		t.Errorf("metrics lack voxdesk_http_refused_connections_total 1")
	}
	// A slot freed is a slot usable again.
	held[1].Close()
	time.Sleep(100 * time.Millisecond)
	again := dialFrom(t, "127.0.0.1", addr)
	if got := statusLine(t, again, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); !strings.Contains(got, " 200 ") {
		t.Fatalf("after one closed: %q", got)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// DNS rebinding: a page of rebind.example (whose name an attacker points
// at 127.0.0.1) is same-origin with itself; the switch must refuse its
// Host, WebSocket included.
func TestSecurityHTTPHostChecked(t *testing.T) {
	sw := startSwitch(t, nil)
	addr := sw.HTTPAddr().String()
	_, port, _ := net.SplitHostPort(addr)
	upgrade := func(host string) string {
		return fmt.Sprintf("GET /api/webcall/ws HTTP/1.1\r\nHost: %s\r\nOrigin: http://%s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", host, host)
	}
	for _, tc := range []struct {
		name, req, want string
	}{
		{"page by IP", "GET /agent.html HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\n\r\n", " 200 "},
		{"page by localhost", "GET /agent.html HTTP/1.1\r\nHost: localhost:" + port + "\r\n\r\n", " 200 "},
		{"page by a rebound name", "GET /agent.html HTTP/1.1\r\nHost: rebind.example:" + port + "\r\n\r\n", " 421 "},
		{"page by IPv6 literal", "GET /agent.html HTTP/1.1\r\nHost: [::1]:" + port + "\r\n\r\n", " 200 "},
		{"HTTP/1.0 probe without Host", "GET /healthz HTTP/1.0\r\n\r\n", " 200 "},
		{"websocket by IP", upgrade("127.0.0.1:" + port), " 101 "},
		{"websocket with Origin = spoofed Host", upgrade("rebind.example:" + port), " 421 "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := statusLine(t, dialFrom(t, "127.0.0.1", addr), tc.req); !strings.Contains(got, tc.want) {
				t.Fatalf("%q, want%s", got, tc.want)
			}
		})
	}
}

// exampleSwitch starts the example configuration (accounts, store,
// voiceprints, call-back queue) without the demo enrolment, changed by
// mutate.
func exampleSwitch(t *testing.T, mutate func(*service.Config)) *testSwitch {
	t.Helper()
	example := exampleConfig(t)
	return startSwitch(t, func(c *service.Config) {
		example(c)
		c.Voiceprint.DemoSpeech = ""
		if mutate != nil {
			mutate(c)
		}
	})
}

// webClient is a browser-like client of the switch's API from one source
// address.
type webClient struct {
	base   string
	hc     *http.Client
	cookie string // session cookie, once logged in
	csrf   string
}

func newWebClient(sw *testSwitch, src string) *webClient {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	return &webClient{
		base: "http://" + sw.HTTPAddr().String(),
		hc:   &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}, Timeout: 15 * time.Second},
	}
}

// post sends a JSON body as the switch's own page would and returns the
// status and the decoded reply.
func (w *webClient) post(t *testing.T, path string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, w.base+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", w.base)
	if w.cookie != "" {
		req.Header.Set("Cookie", w.cookie)
		req.Header.Set("X-CSRF-Token", w.csrf)
	}
	res, err := w.hc.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer res.Body.Close()
	var rep map[string]any
	_ = json.NewDecoder(res.Body).Decode(&rep)
	for _, c := range res.Cookies() {
		if c.Name == "voxdesk_session" {
			w.cookie = c.Name + "=" + c.Value
			w.csrf, _ = rep["csrf"].(string)
		}
	}
	return res.StatusCode, rep
}

func (w *webClient) login(t *testing.T, user, pw string) int {
	t.Helper()
	st, _ := w.post(t, "/api/login", map[string]string{"user": user, "password": pw})
	return st
}

// Erasing the biometrics of a customer the store does not have is a
// 404, not a 500; a real customer's erase still works.
func TestSecurityEraseUnknownCustomer(t *testing.T) {
	sw := exampleSwitch(t, nil)
	admin := newWebClient(sw, "127.0.0.1")
	if st := admin.login(t, "david", "voxdesk-demo"); st != http.StatusOK {
		t.Fatalf("admin login: %d", st)
	}
	if st, rep := admin.post(t, "/api/admin/customers/C-9999/erase-biometrics", struct{}{}); st != http.StatusNotFound {
		t.Fatalf("erase of an unknown customer: %d %v, want 404", st, rep)
	}
	if st, rep := admin.post(t, "/api/admin/customers/C-1001/erase-biometrics", struct{}{}); st != http.StatusOK {
		t.Fatalf("erase of a real customer: %d %v", st, rep)
	}
}

// book asks for a call-back as the widget page does.
func (w *webClient) book(t *testing.T, req map[string]string) (int, map[string]any) {
	t.Helper()
	return w.post(t, "/api/webcall/callback", req)
}

// The call-back abuse of issue 10: premium and international numbers are
// refused; a flood from one address is cut off after a few bookings while
// a real customer on another address still books.
func TestSecurityCallbackAbuse(t *testing.T) {
	sw := exampleSwitch(t, nil) // the example: anonymous demo bookings, +33 and +44 allowed
	attacker, customer := newWebClient(sw, "127.0.0.1"), newWebClient(sw, "127.0.0.2")
	prober := newWebClient(sw, "127.0.0.5")
	for _, phone := range []string{"+33899123456", "+33812345678", "+19005551234", "+881612345678", "+12125551234"} {
		if st, rep := prober.book(t, map[string]string{"name": "x", "phone": phone}); st != http.StatusForbidden {
			t.Errorf("call-back to %s: %d %v, want 403", phone, st, rep)
		}
	}
	codes := map[int]int{}
	start := time.Now()
	for i := range 200 {
		st, _ := attacker.book(t, map[string]string{"name": "flood", "phone": fmt.Sprintf("+3314%07d", i)})
		codes[st]++
	}
	t.Logf("200 bookings from one address in %v: %v", time.Since(start).Round(time.Millisecond), codes)
	if codes[http.StatusOK] != 5 || codes[http.StatusTooManyRequests] != 195 {
		t.Fatalf("flood answered %v, want 5 booked (address_rate 5 per 10m) and 195 refused with 429", codes)
	}
	if n := strings.Count(sw.log.String(), "call-backs refused: address over its rate"); n != 1 {
		t.Errorf("%d log lines about the flood, want 1 per address and window", n)
	}
	if st, rep := customer.book(t, map[string]string{"name": "Gérald Vannier", "phone": "+33639980101"}); st != http.StatusOK {
		t.Fatalf("a real customer from another address: %d %v", st, rep)
	}
}

// Without allow_anonymous a booking needs a website token; a token used
// before a restart is refused after it (replay_file), and without a
// replay file any token issued before the start is.
func TestSecurityWebTokenReplayAfterRestart(t *testing.T) {
	key := strings.Repeat("s", 32)
	replay := filepath.Join(t.TempDir(), "used-tokens")
	now := time.Now()
	tok, err := agentapi.SignWebToken([]byte(key), agentapi.WebClaims{Customer: "C-1001", Phone: "+33639980101",
		IssuedAt: now.Unix(), Expires: now.Add(30 * time.Minute).Unix(), Nonce: "replay-" + fmt.Sprint(now.UnixNano())})
	if err != nil {
		t.Fatal(err)
	}
	secured := func(file string) func(*service.Config) {
		return func(c *service.Config) {
			c.Agents.WebCall.AllowAnonymous = false
			c.Agents.WebCall.TokenKey = key
			c.Agents.WebCall.ReplayFile = file
		}
	}
	t.Run("first switch", func(t *testing.T) {
		sw := exampleSwitch(t, secured(replay))
		w := newWebClient(sw, "127.0.0.1")
		if st, rep := w.book(t, map[string]string{"name": "Anon", "phone": "+33140000009"}); st != http.StatusForbidden {
			t.Fatalf("anonymous booking: %d %v, want 403", st, rep)
		}
		if st, rep := w.book(t, map[string]string{"token": tok}); st != http.StatusOK {
			t.Fatalf("booking with a token: %d %v", st, rep)
		}
	})
	t.Run("restarted with the replay file", func(t *testing.T) {
		sw := exampleSwitch(t, secured(replay))
		if st, rep := newWebClient(sw, "127.0.0.1").book(t, map[string]string{"token": tok}); st != http.StatusForbidden {
			t.Fatalf("token replayed after a restart: %d %v, want 403", st, rep)
		}
	})
	t.Run("restarted without a replay file", func(t *testing.T) {
		time.Sleep(time.Until(time.Unix(now.Unix()+1, 0))) // the token's second is over
		sw := exampleSwitch(t, secured(""))
		if st, rep := newWebClient(sw, "127.0.0.1").book(t, map[string]string{"token": tok}); st != http.StatusForbidden {
			t.Fatalf("token from before the start: %d %v, want 403", st, rep)
		}
	})
}

// Login throttling against the example's real accounts (bcrypt cost 12):
// refusals take as long for unknown names as for real ones; 30 parallel
// guesses are not all evaluated; the victim logs in from their own
// address while the attack goes on.
func TestSecurityLoginThrottleAndTiming(t *testing.T) {
	sw := exampleSwitch(t, nil)
	// Tries alternate between the two names, one per address (no backoff
	// in the way), so a change of machine load hits both alike.
	var known, unknown []time.Duration
	n := 0
	for range 7 {
		for _, u := range []struct {
			name string
			d    *[]time.Duration
		}{{"alice", &known}, {"nobody-of-that-name", &unknown}} {
			n++
			w := newWebClient(sw, fmt.Sprintf("127.0.1.%d", n))
			start := time.Now()
			if st := w.login(t, u.name, "not the password"); st != http.StatusUnauthorized {
				t.Fatalf("login %s: %d", u.name, st)
			}
			*u.d = append(*u.d, time.Since(start))
		}
	}
	mk, mu := median(known), median(unknown)
	t.Logf("median refusal: %v for a real name, %v for an unknown one", mk, mu)
	// Without the dummy hash an unknown name is refused about 100 times
	// faster; within a factor of two is noise of a shared machine.
	if r := float64(mu) / float64(mk); r < 0.5 || r > 2 {
		t.Errorf("refusal times differ by %.2fx: names can be told apart", r)
	}

	attacker := newWebClient(sw, "127.0.0.3")
	var wg sync.WaitGroup
	var codesMu sync.Mutex
	codes := map[int]int{}
	start := time.Now()
	for range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := attacker.login(t, "bruno", "guess")
			codesMu.Lock()
			codes[st]++
			codesMu.Unlock()
		}()
	}
	wg.Wait()
	t.Logf("30 parallel guesses in %v: %v", time.Since(start).Round(time.Millisecond), codes)
	if codes[http.StatusUnauthorized] > 3 || codes[http.StatusUnauthorized]+codes[http.StatusTooManyRequests] != 30 {
		t.Errorf("30 parallel guesses answered %v: want at most 3 evaluated (401), the rest 429", codes)
	}
	if st := attacker.login(t, "bruno", "voxdesk-demo"); st != http.StatusTooManyRequests {
		t.Errorf("right password from the attacking address: %d, want 429", st)
	}
	if st := newWebClient(sw, "127.0.0.4").login(t, "bruno", "voxdesk-demo"); st != http.StatusOK {
		t.Errorf("bruno from his own address during the attack: %d", st)
	}
}

func median(d []time.Duration) time.Duration {
	d = slices.Clone(d)
	slices.Sort(d)
	return d[len(d)/2]
}

// "Call now" sockets: two per address (the default), so a handful of
// anonymous sockets from one address cannot take the switch's web lines;
// another address still gets one.
func TestSecurityCallNowSlotsPerAddress(t *testing.T) {
	sw := exampleSwitch(t, nil)
	addr := sw.HTTPAddr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dial := func(src string) (*websocket.Conn, *http.Response, error) {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
		hc := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
		return websocket.Dial(ctx, "ws://"+addr+"/api/webcall/ws", &websocket.DialOptions{HTTPClient: hc, HTTPHeader: http.Header{"Origin": {"http://" + addr}}})
	}
	var codes []int
	for range 5 {
		ws, res, err := dial("127.0.0.1")
		if err == nil {
			defer ws.CloseNow()
			codes = append(codes, http.StatusSwitchingProtocols)
			continue
		}
		if res == nil {
			t.Fatal(err)
		}
		codes = append(codes, res.StatusCode)
	}
	if want := []int{101, 101, 429, 429, 429}; !slices.Equal(codes, want) {
		t.Fatalf("5 sockets from one address: %v, want %v", codes, want)
	}
	ws, _, err := dial("127.0.0.2")
	if err != nil {
		t.Fatalf("a socket from another address: %v", err)
	}
	ws.CloseNow()
}
