//go:build linux

package service_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/voxdesk/voxdesk/agentapi"
	"github.com/voxdesk/voxdesk/customer"
	"github.com/voxdesk/voxdesk/internal/browsertest"
	"github.com/voxdesk/voxdesk/ivr"
	"github.com/voxdesk/voxdesk/routing"
	"github.com/voxdesk/voxdesk/service"
)

// recordFlow identifies the caller by number (the switch runs without
// voice identification); calls to 1000 hear the recording notice and are
// recorded, calls to 3000 hear it and the agent starts the recording,
// calls to 2000 are not told.
const recordFlow = `flow: rec
operator: none
steps:
  - identify: reason
  - branch:
      - when: "callee == '1000'"
        goto: told
      - when: "callee == '3000'"
        goto: agent-starts
    else: wait
  - id: told
    record: recording_notice
    next: wait
  - id: agent-starts
    record: recording_notice
    start: agent
  - id: wait
    queue: general
    fail: sorry
  - id: sorry
    hangup: goodbye
`

// recordingCaller starts a SIPp caller of customer C-1 (+33140000001)
// dialling service, who streams the test speech for waitMS, then hangs up.
func recordingCaller(t *testing.T, sw *testSwitch, service, waitMS string) <-chan string {
	t.Helper()
	wav := filepath.Join(t.TempDir(), "caller.wav")
	writeUlawWAV(t, wav, callerSpeech(t))
	done := make(chan string, 1)
	go func() {
		_, report := sipp{scenario: "queued_caller.xml", vars: map[string]string{"WAV": wav, "WAIT_MS": waitMS},
			args: []string{"-s", service}}.run(t, sw)
		done <- report
	}()
	return done
}

func callerDone(t *testing.T, ctx context.Context, done <-chan string) {
	t.Helper()
	select {
	case report := <-done:
		if !strings.Contains(report, "exit 0") {
			t.Fatalf("caller failed:\n%s", report)
		}
	case <-ctx.Done():
		t.Fatal("caller never finished")
	}
}

// evalAwait runs a JavaScript promise in tab and returns its result.
func evalAwait(tab context.Context, expr string, out any) error {
	return chromedp.Run(tab, chromedp.Evaluate(expr, out, func(p *runtime.EvaluateParams) *runtime.EvaluateParams {
		return p.WithAwaitPromise(true)
	}))
}

// showRecordings searches the customer on the page's "Call a customer"
// form and lists their recordings.
func showRecordings(t *testing.T, tab context.Context, customerID string) {
	t.Helper()
	// Results of an earlier search are cleared first, so the wait below
	// cannot find the old result's button just before the new search
	// replaces it (the click would then open a list about to vanish).
	if err := chromedp.Run(tab,
		chromedp.Evaluate(`document.getElementById('out-results').replaceChildren()`, nil),
		chromedp.SetValue("#out-q", customerID, chromedp.ByID),
		chromedp.Click("#btn-out-find", chromedp.ByID),
		chromedp.WaitVisible(`#out-results [data-customer="`+customerID+`"] [data-testid="recordings-show"]`, chromedp.ByQuery),
		chromedp.Click(`#out-results [data-customer="`+customerID+`"] [data-testid="recordings-show"]`, chromedp.ByQuery),
	); err != nil {
		t.Fatal(err)
	}
}

// stereo splits a 16-bit two-channel WAV into its channels' 20 ms frames.
func stereo(t *testing.T, wav []byte) (left, right []sinkPacket) {
	t.Helper()
	if len(wav) < 44 || string(wav[:4]) != "RIFF" || binary.LittleEndian.Uint16(wav[22:]) != 2 ||
		binary.LittleEndian.Uint32(wav[24:]) != 8000 || binary.LittleEndian.Uint16(wav[34:]) != 16 {
		t.Fatalf("recording is not 8 kHz 16-bit stereo WAV: % x", wav[:min(len(wav), 44)])
	}
	data := wav[44:]
	for i := 0; i+4*160 <= len(data); i += 4 * 160 {
		var l, r [160]int16
		for j := range 160 {
			l[j] = int16(binary.LittleEndian.Uint16(data[i+4*j:]))
			r[j] = int16(binary.LittleEndian.Uint16(data[i+4*j+2:]))
		}
		left, right = append(left, sinkPacket{pcm: l[:]}), append(right, sinkPacket{pcm: r[:]})
	}
	return left, right
}

// speechMatch is the best correlation of one second of the recorded
// caller channel, tried at several places, with the caller's speech as
// it loops.
func speechMatch(left []sinkPacket, speech []int16) float64 {
	ref := append(append([]int16(nil), speech...), speech...)
	best := -1.0
	for start := 25; start+50 <= len(left); start += 25 {
		var win []int16
		for _, p := range left[start : start+50] {
			win = append(win, p.pcm...)
		}
		c, _ := bestCorrelation(ref, win, len(speech))
		best = max(best, c)
	}
	return best
}

// TestCallRecordingWithConsent (issue 11): a real switch, SIPp callers,
// agents on the agent page in Chromium. A caller who heard the recording
// notice is recorded, both sides: the caller's speech on the left, the
// agent's microphone tone on the right. The recording is listed in the
// customer's file, played in the page by a supervisor and erased there;
// an agent no longer handling the customer is refused; every access is
// in the audit log. A caller never told is not recorded, and the agent's
// Record button is refused with a clear message.
func TestCallRecordingWithConsent(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped with -short")
	}
	browsertest.Path(t)
	ctx, cancel := context.WithTimeout(context.Background(), 240*time.Second)
	defer cancel()
	dir := t.TempDir()
	flows := filepath.Join(dir, "flows")
	csv := filepath.Join(dir, "customers.csv")
	for file, text := range map[string]string{filepath.Join(flows, "rec.yaml"): recordFlow, csv: "id,name,phones\nC-1,Rita Recorded,+33140000001\n"} {
		if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	hash, err := agentapi.HashPassword("e2e-agent-secret")
	if err != nil {
		t.Fatal(err)
	}
	dsn := "sqlite:" + filepath.Join(dir, "voxdesk.db")
	sw := startSwitch(t, func(c *service.Config) {
		c.Customer = service.CustomerConfig{DSN: dsn, Key: customer.NewKey(), Import: csv}
		c.IVR = ivr.Settings{Dir: flows, Default: "rec"}
		c.Routing = routing.Config{Queues: []routing.QueueConfig{{Name: "general"}}}
		c.Recording = service.RecordingConfig{RetentionDays: 30}
		c.Voiceprint.ModelDir = "off" // recording needs no voice identification
		c.Agents.Accounts = []agentapi.Account{
			{ID: "alice", Name: "Alice", Role: agentapi.RoleAgent, PasswordHash: hash},
			{ID: "sue", Name: "Sue", Role: agentapi.RoleSupervisor, PasswordHash: hash},
			{ID: "ada", Name: "Ada", Role: agentapi.RoleAdmin, PasswordHash: hash},
		}
	})
	base := "http://" + sw.HTTPAddr().String()
	mic := filepath.Join(dir, "mic.wav")
	browsertest.WriteToneWAV(t, mic)
	alice, closeAlice := chromedp.NewContext(browsertest.Start(t, ctx, mic))
	defer closeAlice()
	sue, closeSue := chromedp.NewContext(browsertest.Start(t, ctx, mic))
	defer closeSue()
	pageLogin(t, alice, base+"/agent.html", "alice", `#desk`)
	pageLogin(t, sue, base+"/agent.html", "sue", `#desk`)
	goAvailable(t, ctx, alice)

	// 1. The caller hears the notice, then talks with Alice.
	done := recordingCaller(t, sw, "1000", "16000")
	if err := waitFor(ctx, "Alice's page rings", func() bool { return ringing(alice) }); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, alice, "the customer's file", `document.querySelector('#offer-file').innerText`, "Rita Recorded")
	if err := chromedp.Run(alice, chromedp.Click("#btn-answer", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, alice, "recording on", `document.querySelector('#talk-file [data-testid="rec-state"]').innerText`, "Recording: on")
	callerDone(t, ctx, done)
	if err := waitFor(ctx, "the recording stored", func() bool { return strings.Contains(sw.log.String(), "recording stored") }); err != nil {
		t.Fatal(err)
	}

	// In wrap-up Alice still handles Rita: her file lists the recording.
	waitText(t, ctx, alice, "wrap-up", `document.getElementById('wrap').hidden ? '' : 'wrap'`, "wrap")
	showRecordings(t, alice, "C-1")
	waitText(t, ctx, alice, "Alice's list", `document.querySelector('#out-results [data-testid="recordings"]').innerText`, `told by "recording_notice.wav"`)
	saveWrapUp(t, ctx, alice)
	// Afterwards she does not: refused, with the reason.
	showRecordings(t, alice, "C-1")
	waitText(t, ctx, alice, "Alice refused", `document.querySelector('#out-results [data-testid="recordings"]').innerText`, "handling")

	// 2. The supervisor lists it and plays it in the page.
	showRecordings(t, sue, "C-1")
	waitText(t, ctx, sue, "Sue's list", `document.querySelector('#out-results [data-testid="recordings"]').innerText`, "call ")
	var id string
	if err := chromedp.Run(sue, chromedp.Evaluate(`document.querySelector('#out-results [data-recording]').dataset.recording`, &id)); err != nil {
		t.Fatal(err)
	}
	var played string
	if err := evalAwait(sue, `(async () => {
		const a = document.querySelector('#out-results [data-recording] audio');
		a.muted = true;
		await a.play();
		return 'playing';
	})()`, &played); err != nil || played != "playing" {
		t.Fatalf("play in the page: %q, %v", played, err)
	}
	waitText(t, ctx, sue, "the page plays the recording", `(() => { const a = document.querySelector('#out-results [data-recording] audio');
		return a.currentTime > 1 && a.duration > 3 ? 'played ' + a.duration : ''; })()`, "played")

	// Both sides, each on its own channel: the caller's speech on the
	// left, Alice's microphone tone on the right.
	wav := fetchAs(t, base, "sue", "/api/recordings/"+id)
	left, right := stereo(t, wav)
	callerMatch, agentMatch := speechMatch(left, ulawRoundTrip(callerSpeech(t))), speechMatch(right, ulawRoundTrip(callerSpeech(t)))
	t.Logf("recording %s: %.1f s; agent's tone in %d/%d right and %d/%d left frames; caller's speech correlation %.2f left, %.2f right",
		id, float64(len(left))/50, toneFrames(right), len(right), toneFrames(left), len(left), callerMatch, agentMatch)
	if n, all := toneFrames(right), len(right); n < all/3 {
		t.Errorf("the agent's tone is in %d of %d frames of the right channel", n, all)
	}
	if n := toneFrames(left); n > len(left)/20 {
		t.Errorf("the agent's tone leaks into %d of %d frames of the caller's channel", n, len(left))
	}
	if c := callerMatch; c < 0.6 {
		t.Errorf("the caller's channel matches the caller's speech at %.2f, want >= 0.6", c)
	}
	if c := agentMatch; c > 0.3 {
		t.Errorf("the caller's speech is in the agent's channel (correlation %.2f)", c)
	}

	// 3. Sue erases it in the page; it is gone.
	shot(t, sue, "recordings.png")
	for range 2 { // Erase, then Confirm erase
		if err := chromedp.Run(sue, chromedp.Click(`#out-results [data-erase]`, chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
	}
	waitText(t, ctx, sue, "list after erase", `document.querySelector('#out-results [data-testid="recordings"]').innerText`, "No recording.")
	if res := statusAs(t, base, "sue", "/api/recordings/"+id); res != http.StatusNotFound {
		t.Errorf("erased recording: %d, want 404", res)
	}

	// 4. A caller never told: not recorded; the Record button is refused.
	waitText(t, ctx, alice, "Alice available", `document.getElementById('state').innerText`, "available")
	done = recordingCaller(t, sw, "2000", "8000")
	if err := waitFor(ctx, "Alice's page rings again", func() bool { return ringing(alice) }); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Run(alice, chromedp.Click("#btn-answer", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, alice, "not recorded", `document.querySelector('#talk-file [data-testid="rec-state"]').innerText`, "not told")
	if err := chromedp.Run(alice, chromedp.Click(`#talk-file [data-testid="rec-start"]`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, alice, "record refused", `document.querySelector('#talk-file [data-testid="rec-error"]').innerText`, "was not told")
	callerDone(t, ctx, done)
	waitIdle(t, sw, 10*time.Second)
	if n := strings.Count(sw.log.String(), "recording stored"); n != 1 {
		t.Errorf("%d recordings stored, want 1 (the told call's)", n)
	}
	if n := strings.Count(sw.log.String(), "caller told the call is recorded"); n != 1 {
		t.Errorf("%d callers told, want 1", n)
	}
	saveWrapUp(t, ctx, alice)

	// 5. A caller told, the agent starts the recording; then an admin
	// erases the customer's data: the recording goes with it.
	done = recordingCaller(t, sw, "3000", "12000")
	if err := waitFor(ctx, "Alice's page rings a third time", func() bool { return ringing(alice) }); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Run(alice, chromedp.Click("#btn-answer", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, alice, "told, not recording yet", `document.querySelector('#talk-file [data-testid="rec-state"]').innerText`, "press Record")
	if err := chromedp.Run(alice, chromedp.Click(`#talk-file [data-testid="rec-start"]`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, alice, "recording started by Alice", `document.querySelector('#talk-file [data-testid="rec-state"]').innerText`, "Recording: on")
	callerDone(t, ctx, done)
	if err := waitFor(ctx, "the second recording stored", func() bool { return strings.Count(sw.log.String(), "recording stored") == 2 }); err != nil {
		t.Fatal(err)
	}
	res, body := getAs(t, base, "sue", "/api/recordings?customer=C-1")
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "started by agent:alice") {
		t.Fatalf("C-1's recordings: %s %s; want the one Alice started", res.Status, body)
	}
	if code := adminErase(t, base, "C-1"); code != http.StatusOK {
		t.Fatalf("erase C-1's data: %d", code)
	}
	if res, body := getAs(t, base, "sue", "/api/recordings?customer=C-1"); res.StatusCode != http.StatusOK || string(body) != "[]\n" {
		t.Errorf("C-1's recordings after the erasure: %s %q, want none", res.Status, body)
	}

	// Every access is audited, with who.
	db, err := customer.Open(ctx, dsn, customer.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if recs, err := db.Recordings(ctx, customer.RecordingQuery{CustomerID: "C-1"}, "test"); err != nil || len(recs) != 0 {
		t.Errorf("C-1's recordings at the end: %+v, %v; want none", recs, err)
	}
	log, err := db.AuditLog(ctx, "C-1", 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range log {
		got = append(got, string(a.Action)+" "+a.Actor)
	}
	for _, want := range []string{"recording.write recorder", "recording.list agent:alice", "recording.refused agent:alice",
		"recording.list supervisor:sue", "recording.play supervisor:sue", "recording.erase supervisor:sue", "biometrics.erase admin:ada"} {
		if !strings.Contains(strings.Join(got, "\n"), want) {
			t.Errorf("audit log of C-1 lacks %q:\n%s", want, strings.Join(got, "\n"))
		}
	}
}

// saveWrapUp saves the wrap-up form on the agent's page.
func saveWrapUp(t *testing.T, ctx, tab context.Context) {
	t.Helper()
	waitText(t, ctx, tab, "wrap-up", `document.getElementById('wrap').hidden ? '' : 'wrap'`, "wrap")
	if err := chromedp.Run(tab, chromedp.Click("#btn-wrap-save", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, tab, "wrap-up saved", `document.getElementById('wrap').hidden ? 'saved' : ''`, "saved")
}

// adminErase erases a customer's biometric data (and recordings) as the
// admin page does, and returns the status.
func adminErase(t *testing.T, base, id string) int {
	t.Helper()
	cookie, csrf := httpSession(t, base, "ada")
	req, _ := http.NewRequest(http.MethodPost, base+"/api/admin/customers/"+id+"/erase-biometrics", strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", base)
	req.Header.Set("X-CSRF-Token", csrf)
	req.AddCookie(cookie)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// httpLogin logs user in over HTTP and returns the session cookie.
func httpLogin(t *testing.T, base, user string) *http.Cookie {
	t.Helper()
	c, _ := httpSession(t, base, user)
	return c
}

// httpSession logs user in over HTTP and returns the session cookie and
// its CSRF token.
func httpSession(t *testing.T, base, user string) (*http.Cookie, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/api/login", strings.NewReader(`{"user":"`+user+`","password":"e2e-agent-secret"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", base)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var reply struct {
		CSRF string `json:"csrf"`
	}
	if err := json.NewDecoder(res.Body).Decode(&reply); err != nil || res.StatusCode != http.StatusOK || len(res.Cookies()) == 0 {
		t.Fatalf("login %s: %s, %v", user, res.Status, err)
	}
	return res.Cookies()[0], reply.CSRF
}

func getAs(t *testing.T, base, user, path string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	req.AddCookie(httpLogin(t, base, user))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, body
}

func fetchAs(t *testing.T, base, user, path string) []byte {
	t.Helper()
	res, body := getAs(t, base, user, path)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "audio/wav" {
		t.Fatalf("GET %s as %s: %s %q", path, user, res.Status, body[:min(len(body), 200)])
	}
	return body
}

func statusAs(t *testing.T, base, user, path string) int {
	t.Helper()
	res, _ := getAs(t, base, user, path)
	return res.StatusCode
}

// shot writes a screenshot of tab to $VOXDESK_SCREENSHOTS/name when set.
func shot(t *testing.T, tab context.Context, name string) {
	t.Helper()
	dir := os.Getenv("VOXDESK_SCREENSHOTS")
	if dir == "" {
		return
	}
	var png []byte
	if err := chromedp.Run(tab, chromedp.FullScreenshot(&png, 100)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}
