//go:build linux

package service_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/pion/rtp"

	"github.com/voxdesk/voxdesk/agentapi"
	"github.com/voxdesk/voxdesk/customer"
	"github.com/voxdesk/voxdesk/internal/browsertest"
	"github.com/voxdesk/voxdesk/ivr"
	"github.com/voxdesk/voxdesk/media"
	"github.com/voxdesk/voxdesk/media/g711"
	"github.com/voxdesk/voxdesk/service"
	"github.com/voxdesk/voxdesk/voiceprint"
)

// The end-to-end test of the contact centre: one whole switch in the
// test process (example configuration, hotline flow, SQLite customer
// store with the demo customers and their demo voiceprints, router,
// WebRTC, agent pages), real SIP callers (SIPp streaming held-out speech
// of demo customers) and a real agent (headless Chromium on the agent
// page, its microphone a 600 Hz tone from a WAV file).

// e2eCaller is a customer of examples/customers.csv who calls with speech
// of their demo speaker that enrolment did not use.
type e2eCaller struct {
	id, name, speaker string
	from              string // the calling number (From user)
}

var (
	// Edith Lowry calls from her own number: the voice decides among the
	// customers of that number.
	edith = e2eCaller{id: "C-1017", name: "Edith Lowry", speaker: "533", from: "+16175550117"}
	// Desmond Quayle calls from a number the store does not know: the
	// voice alone finds him among every enrolled customer.
	desmond = e2eCaller{id: "C-1013", name: "Desmond Quayle", speaker: "3005", from: "+33755501234"}
)

// officeHours is the IVR's wall clock in this test: a Tuesday at 10:00 in
// Paris, so the hotline's calendar (examples/flows/hotline.yaml) is open
// whenever the test runs.
func officeHours() time.Time { return time.Date(2026, time.November, 24, 9, 0, 0, 0, time.UTC) }

func TestEndToEndAgentDesk(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end browser test skipped with -short")
	}
	browsertest.Path(t)
	speech := e2eSpeech(t)
	model, err := voiceprint.FindModelDir()
	if err != nil {
		t.Skipf("speaker model absent (run voxdesk model fetch): %v", err)
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	example := exampleConfig(t) // example config, hotline flows and a fresh store on test ports
	hash, err := agentapi.HashPassword("e2e-agent-secret")
	if err != nil {
		t.Fatal(err)
	}
	sw := startSwitch(t, func(c *service.Config) {
		example(c)
		c.Customer.Key = customer.NewKey() // a fresh voiceprint key
		c.Voiceprint = service.VoiceprintConfig{ModelDir: model, DemoSpeech: speech}
		c.Agents.Accounts = []agentapi.Account{
			{ID: "alice", Name: "Alice Martin", Role: agentapi.RoleAgent, PasswordHash: hash,
				Skills: map[string]int{"billing": 2, "support": 1}},
			{ID: "sam", Name: "Sam Supervisor", Role: agentapi.RoleSupervisor, PasswordHash: hash},
			{ID: "ada", Name: "Ada Admin", Role: agentapi.RoleAdmin, PasswordHash: hash},
		}
	}, service.WithIVROptions(ivr.WithClock(officeHours)))
	t.Logf("switch up with demo voiceprints in %v", time.Since(start).Round(time.Millisecond))
	base := "http://" + sw.HTTPAddr().String()

	tap, err := tapLoopback(t)
	if err != nil {
		t.Skipf("cannot watch the RTP SIPp receives (needs CAP_NET_RAW for a packet socket on lo): %v", err)
	}
	dir := t.TempDir()
	mic := filepath.Join(dir, "mic.wav")
	browsertest.WriteToneWAV(t, mic)
	// The supervisor's wallboard, in a browser of its own (own cookies).
	board := browsertest.Start(t, ctx, mic)
	pageLogin(t, board, base+"/board.html", "sam", `#board`)

	agent, closeAgent := chromedp.NewContext(browsertest.Start(t, ctx, mic))
	defer closeAgent()
	pageLogin(t, agent, base+"/agent.html", "alice", `#desk`)
	goAvailable(t, ctx, agent)

	// 1. Edith calls from her number; the caller hangs up.
	t.Run("caller hangs up", func(t *testing.T) {
		c := placeCall(t, ctx, sw, tap, edith, "")
		ringIdentifiedAndAnswer(t, ctx, agent, board, c)
		c.hangUp(t)
		c.wait(t, ctx)
		wrapUp(t, ctx, agent, "resolved", "caller asked about an invoice")
		wantInteraction(t, base, edith.id, c.callID, "resolved", "caller asked about an invoice")
	})
	if t.Failed() {
		return
	}
	// 2. Desmond calls from an unknown number; the agent hangs up.
	t.Run("agent hangs up", func(t *testing.T) {
		c := placeCall(t, ctx, sw, tap, desmond, "")
		ringIdentifiedAndAnswer(t, ctx, agent, board, c)
		if err := chromedp.Run(agent, chromedp.Click("#btn-hangup", chromedp.ByID)); err != nil {
			t.Fatal(err)
		}
		c.wait(t, ctx) // SIPp got the switch's BYE and answered it
		wrapUp(t, ctx, agent, "follow-up", "call back about the contract")
		wantInteraction(t, base, desmond.id, c.callID, "follow-up", "call back about the contract")
	})
	if t.Failed() {
		return
	}
	// The wallboard counts both answered calls of the vip queue (both
	// callers are VIP customers).
	waitBoard(t, ctx, board, `tr[data-queue="vip"] .answered`, "2")

	// 3. Fault: the agent's browser goes away while a call rings. The
	// caller (who pressed 0 for a person) is re-queued at the head and
	// told, the agent is set away.
	t.Run("agent browser closed while ringing", func(t *testing.T) {
		press0 := `  <pause milliseconds="1000"/>
  <nop><action><exec play_pcap_audio="/usr/share/sip-tester/dtmf_2833_0.pcap"/></action></nop>`
		// Any voice: this caller asks for a person with 0.
		c := placeCall(t, ctx, sw, tap, e2eCaller{name: "anonymous", speaker: desmond.speaker, from: "+33755509876"}, press0)
		if err := chromedp.Run(agent, chromedp.WaitVisible("#offer", chromedp.ByID)); err != nil {
			t.Fatalf("no offer on the page: %v", err)
		}
		closed := time.Now()
		closeAgent()
		waitBoard(t, ctx, board, `tr[data-queue="general"] .waiting`, "1")
		waitBoard(t, ctx, board, `tr[data-agent="alice"]`, "away\tconnection lost")
		// Told: the "connecting you to another advisor" announcement
		// reaches the caller after the page went away.
		connecting := sw.Prompts().Get("connecting")
		want := (len(connecting.Samples) + 159) / 160
		if err := waitFor(ctx, "re-queue announcement at the caller", func() bool {
			got, _ := promptFrames(c.received(closed), connecting.Samples)
			return got == want
		}); err != nil {
			got, _ := promptFrames(c.received(closed), connecting.Samples)
			t.Fatalf("%v: %d of %d frames", err, got, want)
		}
		if c.ended() {
			t.Fatal("the caller was hung up on")
		}
		c.hangUp(t)
		c.wait(t, ctx)
		waitBoard(t, ctx, board, `tr[data-queue="general"] .abandoned`, "1")
	})
	waitIdle(t, sw, 5*time.Second)
	m := metricsText(t, sw)
	wantMetric(t, m, `voxdesk_routing_calls_answered_total{queue="vip"} 2`)
	t.Logf("end-to-end run %v", time.Since(start).Round(time.Millisecond))
}

// e2eSpeech is the shared speech folder, or the test is skipped.
func e2eSpeech(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("VOXDESK_SPEECH")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "speech")
	}
	if _, err := os.Stat(filepath.Join(dir, "librispeech-test-other", "manifest.csv")); err != nil {
		t.Skipf("speech corpus absent (set VOXDESK_SPEECH): %v", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// heldOutWAV writes the speaker's last LibriSpeech utterance (demo
// enrolment takes the first ones) as 8 kHz mu-law for SIPp's rtp_stream.
func heldOutWAV(t *testing.T, speech, speaker, path string) {
	t.Helper()
	f, err := os.Open(filepath.Join(speech, "librispeech-test-other", "manifest.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("manifest: %v", err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	last := ""
	for _, r := range rows[1:] {
		if r[col["speaker_id"]] == speaker {
			last = r[col["file"]]
		}
	}
	if last == "" {
		t.Fatalf("speaker %s not in the LibriSpeech manifest", speaker)
	}
	pcm, err := media.LoadPCM(filepath.Join(speech, "librispeech-test-other", last), 8000)
	if err != nil {
		t.Fatal(err)
	}
	writeUlawWAV(t, path, pcm)
}

const toneHz = browsertest.ToneHz

// toneFrames counts the 20 ms frames that carry the agent's tone: loud,
// with most of their energy at toneHz (Goertzel).
func toneFrames(pkts []sinkPacket) int { return toneFramesAt(pkts, toneHz) }

// toneFramesAt counts the frames that carry a tone of hz.
func toneFramesAt(pkts []sinkPacket, hz float64) int {
	n := 0
	for _, p := range pkts {
		if len(p.pcm) != 160 {
			continue
		}
		var s1, s2, energy float64
		k := 2 * math.Cos(2*math.Pi*hz/8000)
		for _, v := range p.pcm {
			x := float64(v)
			s1, s2 = x+k*s1-s2, s1
			energy += x * x
		}
		power := s1*s1 + s2*s2 - k*s1*s2
		if energy/160 > 500*500 && 2*power/(160*energy) > 0.6 {
			n++
		}
	}
	return n
}

// pageLogin opens url in tab and logs user in; shown is the element the
// page reveals once logged in.
func pageLogin(t *testing.T, tab context.Context, url, user, shown string) {
	t.Helper()
	if err := chromedp.Run(tab,
		chromedp.Navigate(url),
		chromedp.WaitVisible("#login-user", chromedp.ByID),
		chromedp.SendKeys("#login-user", user, chromedp.ByID),
		chromedp.SendKeys("#login-pass", "e2e-agent-secret", chromedp.ByID),
		chromedp.Click("#login-submit", chromedp.ByID),
		chromedp.WaitVisible(shown, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("log in %s at %s: %v", user, url, err)
	}
}

// goAvailable waits for the softphone's media and presses Available.
func goAvailable(t *testing.T, ctx context.Context, agent context.Context) {
	t.Helper()
	waitText(t, ctx, agent, "softphone media", `document.getElementById('media').innerText`, "audio: connected")
	if err := chromedp.Run(agent, chromedp.Click("#btn-available", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, agent, "state available", `document.getElementById('state').innerText`, "available")
}

// waitText polls a JavaScript expression of the page until its text
// contains want.
func waitText(t *testing.T, ctx, tab context.Context, what, expr, want string) string {
	t.Helper()
	var s string
	err := waitFor(ctx, what, func() bool {
		s = ""
		_ = chromedp.Run(tab, chromedp.Evaluate(`(() => { try { return String(`+expr+`); } catch (e) { return ''; } })()`, &s))
		return strings.Contains(s, want)
	})
	if err != nil {
		t.Fatalf("%v: page shows %q, want %q", err, s, want)
	}
	return s
}

// waitBoard waits until the wallboard element's text contains want.
func waitBoard(t *testing.T, ctx, board context.Context, selector, want string) {
	t.Helper()
	waitText(t, ctx, board, "wallboard "+selector, `document.querySelector('`+selector+`').innerText`, want)
}

// waitFor polls cond every 50 ms until it holds or ctx ends.
func waitFor(ctx context.Context, what string, cond func() bool) error {
	for !cond() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

var scoreRE = regexp.MustCompile(`voice \(score (-?[0-9.]+)\)`)

// ringIdentifiedAndAnswer checks the ringing page (customer's name and
// voice identification on screen before anyone answers), answers, and
// checks audio both ways: the caller's speech in the page's WebRTC stats,
// the agent's microphone tone in the RTP that reaches SIPp.
func ringIdentifiedAndAnswer(t *testing.T, ctx, agent, board context.Context, c *e2eCall) {
	t.Helper()
	file := waitText(t, ctx, agent, "ringing call with the customer's file", `document.querySelector('#offer:not([hidden]) #offer-file').innerText`, c.who.name)
	ident := waitText(t, ctx, agent, "identification", `document.querySelector('#offer-file [data-testid="ident"]').innerText`, "voice")
	m := scoreRE.FindStringSubmatch(ident)
	if m == nil {
		t.Fatalf("identification shown as %q, want voice with its score (file %q)", ident, file)
	}
	score, _ := strconv.ParseFloat(m[1], 64)
	if score <= 0 {
		t.Errorf("voice score %v", score)
	}
	// Not answered yet: the router has the agent offered (wallboard).
	waitBoard(t, ctx, board, `tr[data-agent="alice"]`, "offered")
	t.Logf("%s rings: %q identified by %s", c.callID, c.who.name, ident)

	// The softphone's media runs from login on: count what arrives after
	// the answer.
	before, err := readPageRTP(agent)
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Run(agent, chromedp.Click("#btn-answer", chromedp.ByID), chromedp.WaitVisible("#talk", chromedp.ByID)); err != nil {
		t.Fatalf("answer: %v", err)
	}
	answered := time.Now()
	var st pageRTP
	// Speech, not just packets: about 0.04 of total audio energy per
	// second of this speech reaches the page (near silence: under 1e-4).
	if err := waitFor(ctx, "caller audio in the page", func() bool {
		st, err = readPageRTP(agent)
		st.Packets -= before.Packets
		st.Energy -= before.Energy
		return err == nil && st.Packets > 100 && st.Energy > 0.02
	}); err != nil {
		t.Fatalf("%v (stats since the answer %+v)", err, st)
	}
	if st.Mime != "audio/PCMU" {
		t.Errorf("page receives %q, want audio/PCMU (no transcoding)", st.Mime)
	}
	if err := waitFor(ctx, "the agent's voice at SIPp", func() bool { return toneFrames(c.received(answered)) >= 50 }); err != nil {
		t.Fatalf("%v: %d tone frames of %d packets", err, toneFrames(c.received(answered)), len(c.received(answered)))
	}
	t.Logf("page inbound-rtp %+v; SIPp received %d frames of the agent's tone", st, toneFrames(c.received(answered)))
}

func readPageRTP(tab context.Context) (pageRTP, error) {
	var st pageRTP
	err := chromedp.Run(tab, chromedp.Evaluate(pageStatsJS, &st, func(p *runtime.EvaluateParams) *runtime.EvaluateParams {
		return p.WithAwaitPromise(true)
	}))
	return st, err
}

type pageRTP struct {
	Packets int     `json:"packets"`
	Energy  float64 `json:"energy"`
	Mime    string  `json:"mime"`
}

// pageStatsJS reads the softphone's inbound audio statistics.
const pageStatsJS = `(async () => {
  const r = {packets: 0, energy: 0, mime: ''};
  const pc = window.voxdesk && window.voxdesk.pc;
  if (!pc) return r;
  const st = await pc.getStats();
  st.forEach((s) => {
    if (s.type !== 'inbound-rtp' || s.kind !== 'audio') return;
    r.packets = s.packetsReceived;
    r.energy = s.totalAudioEnergy || 0;
    const c = st.get(s.codecId);
    if (c) r.mime = c.mimeType;
  });
  return r;
})()`

// wrapUp saves the wrap-up form with a disposition and waits for the
// agent to be available again.
func wrapUp(t *testing.T, ctx, agent context.Context, disposition, notes string) {
	t.Helper()
	if err := chromedp.Run(agent,
		chromedp.WaitVisible("#wrap", chromedp.ByID),
		chromedp.SetValue("#wrap-disposition", disposition, chromedp.ByID),
		chromedp.SendKeys("#wrap-notes", notes, chromedp.ByID),
		chromedp.Click("#btn-wrap-save", chromedp.ByID),
		chromedp.WaitNotVisible("#wrap", chromedp.ByID),
	); err != nil {
		t.Fatalf("wrap-up: %v", err)
	}
	waitText(t, ctx, agent, "available after wrap-up", `document.getElementById('state').innerText`, "available")
}

// wantInteraction checks, through the admin API, that the customer's file
// records the call as answered by alice, identified by voice, with the
// wrap-up's disposition and notes.
func wantInteraction(t *testing.T, base, customerID, callID, disposition, notes string) {
	t.Helper()
	in, ok := interactionOf(t, base, customerID, callID)
	if ok && (in.Agent != "alice" || in.Method != "voice" || in.Outcome != disposition || in.Notes != notes) {
		t.Errorf("%s's file records the call as %+v", customerID, in)
	}
}

// interactionOf reads, through the admin API (as ada), the interaction
// of callID in the customer's file; it reports an error and false when
// the file has none.
func interactionOf(t *testing.T, base, customerID, callID string) (agentapi.InteractionView, bool) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"user": "ada", "password": "e2e-agent-secret"})
	req, _ := http.NewRequest(http.MethodPost, base+"/api/login", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", base)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || len(res.Cookies()) == 0 {
		t.Fatalf("admin login: %s", res.Status)
	}
	req, _ = http.NewRequest(http.MethodGet, base+"/api/admin/customers?q="+customerID, nil)
	for _, c := range res.Cookies() {
		req.AddCookie(c)
	}
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var files []agentapi.CustomerFile
	if err := json.NewDecoder(res.Body).Decode(&files); err != nil || len(files) != 1 {
		t.Fatalf("admin lookup %s: %s, %d files, %v", customerID, res.Status, len(files), err)
	}
	for _, in := range files[0].Recent {
		if in.CallID == callID {
			return in, true
		}
	}
	t.Errorf("%s's file has no interaction for %s: %+v", customerID, callID, files[0].Recent)
	return agentapi.InteractionView{}, false
}

// e2eCall is one SIPp caller running in the background.
type e2eCall struct {
	who       e2eCaller
	callID    string
	sipPort   int
	mediaPort int
	tap       *wireTap
	done      chan struct{}
	code      int
	report    string
}

var e2eCalls int

// placeCall starts SIPp with scenario e2e_caller.xml: it calls from
// who.from, streams who's held-out speech and runs digits (scenario lines).
func placeCall(t *testing.T, ctx context.Context, sw *testSwitch, tap *wireTap, who e2eCaller, digits string) *e2eCall {
	t.Helper()
	wav := filepath.Join(t.TempDir(), "caller.wav")
	heldOutWAV(t, e2eSpeech(t), who.speaker, wav)
	return placeCallWAV(t, sw, tap, who, wav, digits)
}

// placeCallWAV is placeCall with the caller streaming wav (8 kHz mu-law).
func placeCallWAV(t *testing.T, sw *testSwitch, tap *wireTap, who e2eCaller, wav, digits string) *e2eCall {
	t.Helper()
	e2eCalls++
	c := &e2eCall{
		who:       who,
		callID:    fmt.Sprintf("e2e-%d-%d-1", os.Getpid(), e2eCalls),
		sipPort:   freePort(t, "udp"),
		mediaPort: freePort(t, "udp"),
		tap:       tap,
		done:      make(chan struct{}),
	}
	tap.watch(c.mediaPort)
	p := sipp{
		scenario: "e2e_caller.xml",
		vars:     map[string]string{"FROM": who.from, "WAV": wav, "DIGITS": digits},
		// Later options win: the ports and Call-ID the test pokes and watches.
		args:    []string{"-p", strconv.Itoa(c.sipPort), "-mp", strconv.Itoa(c.mediaPort), "-cid_str", fmt.Sprintf("e2e-%d-%d-%%u", os.Getpid(), e2eCalls)},
		timeout: 60 * time.Second,
	}
	go func() {
		defer close(c.done)
		c.code, c.report = p.run(t, sw)
	}()
	// A test that stopped half-way hangs the caller up, so SIPp ends now
	// rather than at its timeout.
	t.Cleanup(func() {
		if !c.ended() {
			_ = c.poke()
		}
		select {
		case <-c.done:
		case <-time.After(70 * time.Second): // SIPp's own -timeout ends it before
		}
	})
	return c
}

// received is the RTP that reached SIPp's media port since from.
func (c *e2eCall) received(from time.Time) []sinkPacket {
	return c.tap.packets(c.mediaPort, from)
}

func (c *e2eCall) ended() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// hangUp makes the caller hang up: the scenario waits for an INFO with
// its Call-ID, then sends BYE.
func (c *e2eCall) hangUp(t *testing.T) {
	t.Helper()
	if err := c.poke(); err != nil {
		t.Fatal(err)
	}
}

func (c *e2eCall) poke() error {
	conn, err := net.Dial("udp", "127.0.0.1:"+strconv.Itoa(c.sipPort))
	if err != nil {
		return err
	}
	defer conn.Close()
	local := conn.LocalAddr().String()
	msg := "INFO sip:caller@127.0.0.1:" + strconv.Itoa(c.sipPort) + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + local + ";branch=z9hG4bK-e2e-" + c.callID + "\r\n" +
		"From: <sip:test@127.0.0.1>;tag=e2e\r\nTo: <sip:caller@127.0.0.1>\r\n" +
		"Call-ID: " + c.callID + "\r\nCSeq: 1 INFO\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	_, err = conn.Write([]byte(msg))
	return err
}

// wait waits for SIPp to end and fails unless its call passed.
func (c *e2eCall) wait(t *testing.T, ctx context.Context) {
	t.Helper()
	select {
	case <-c.done:
	case <-ctx.Done():
		t.Fatalf("SIPp caller %s still running", c.callID)
	}
	if c.code != 0 {
		t.Fatalf("SIPp caller failed:\n%s", c.report)
	}
}

// wireTap watches UDP datagrams on the loopback interface with a packet
// socket, keeping the RTP sent to the SIPp callers' media ports: SIPp's
// rtp_stream does not read its socket, so this is how the test sees what
// SIPp received.
type wireTap struct {
	fd   int
	done chan struct{}
	mu   sync.Mutex
	pkts map[int][]sinkPacket // by watched destination port
}

// watch starts keeping the RTP sent to port.
func (w *wireTap) watch(port int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.pkts[port]; !ok {
		w.pkts[port] = nil
	}
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func tapLoopback(t *testing.T) (*wireTap, error) {
	t.Helper()
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	lo := -1
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback != 0 {
			lo = i.Index
		}
	}
	if lo < 0 {
		return nil, errors.New("no loopback interface")
	}
	fd, err := syscall.Socket(syscall.AF_PACKET, syscall.SOCK_DGRAM, int(htons(syscall.ETH_P_IP)))
	if err != nil {
		return nil, err
	}
	if err := syscall.Bind(fd, &syscall.SockaddrLinklayer{Protocol: htons(syscall.ETH_P_IP), Ifindex: lo}); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	_ = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4<<20)
	tv := syscall.NsecToTimeval((100 * time.Millisecond).Nanoseconds())
	if err := syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	w := &wireTap{fd: fd, done: make(chan struct{}), pkts: map[int][]sinkPacket{}}
	stop := make(chan struct{})
	go w.loop(stop)
	t.Cleanup(func() {
		close(stop)
		<-w.done
		syscall.Close(fd)
	})
	return w, nil
}

func (w *wireTap) loop(stop chan struct{}) {
	defer close(w.done)
	buf := make([]byte, 65536)
	for {
		select {
		case <-stop:
			return
		default:
		}
		n, from, err := syscall.Recvfrom(w.fd, buf, 0)
		if err != nil {
			continue // timeout: look at stop again
		}
		// Loopback shows each packet twice: keep the incoming copy.
		if ll, ok := from.(*syscall.SockaddrLinklayer); !ok || ll.Pkttype == syscall.PACKET_OUTGOING {
			continue
		}
		if n < 28 || buf[0]>>4 != 4 || buf[9] != syscall.IPPROTO_UDP {
			continue
		}
		ihl := int(buf[0]&0x0f) * 4
		if n < ihl+8+12 {
			continue
		}
		port := int(binary.BigEndian.Uint16(buf[ihl+2:]))
		w.mu.Lock()
		_, watched := w.pkts[port]
		w.mu.Unlock()
		if !watched {
			continue
		}
		var p rtp.Packet
		if p.Unmarshal(buf[ihl+8:n]) != nil || p.Version != 2 || (p.PayloadType != 0 && p.PayloadType != 8) {
			continue
		}
		pcm := make([]int16, len(p.Payload))
		if p.PayloadType == 0 {
			g711.DecodeUlaw(pcm, p.Payload)
		} else {
			g711.DecodeAlaw(pcm, p.Payload)
		}
		w.mu.Lock()
		if kept, ok := w.pkts[port]; ok {
			w.pkts[port] = append(kept, sinkPacket{at: time.Now(), hdr: p.Header, pcm: pcm})
		}
		w.mu.Unlock()
	}
}

// packets returns the RTP audio seen going to port since from.
func (w *wireTap) packets(port int, from time.Time) []sinkPacket {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []sinkPacket
	for _, p := range w.pkts[port] {
		if !p.at.Before(from) {
			out = append(out, p)
		}
	}
	return out
}
