package agentapi

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/voxdesk/voxdesk/customer"
)

// writeVoicemailWAV writes secs of a 440 Hz tone as the voicemail step
// does: 8 kHz 16-bit mono PCM WAV.
func writeVoicemailWAV(t *testing.T, path string, secs float64) []byte {
	t.Helper()
	n := int(secs * 8000)
	var b bytes.Buffer
	w := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	w(uint32(36 + 2*n))
	b.WriteString("WAVEfmt ")
	w(uint32(16))
	w(uint16(1))
	w(uint16(1))
	w(uint32(8000))
	w(uint32(16000))
	w(uint16(2))
	w(uint16(16))
	b.WriteString("data")
	w(uint32(2 * n))
	for i := range n {
		w(int16(8000 * math.Sin(2*math.Pi*440*float64(i)/8000)))
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// lockedBuffer is a log sink safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// voicemailEnv is a server whose inbox holds two messages in box sales
// and a file the voicemail step could not have written; plays are audited
// to audit when it is not nil.
func voicemailEnv(t *testing.T, audit VoicemailAudit) (*testEnv, []byte, *lockedBuffer) {
	dir := t.TempDir()
	wav := writeVoicemailWAV(t, filepath.Join(dir, "sales", "20261123T090000Z-call-7.wav"), 1.5)
	writeVoicemailWAV(t, filepath.Join(dir, "sales", "20261122T180000Z-call-3.wav"), 0.5)
	writeVoicemailWAV(t, filepath.Join(dir, "sales", "notes.wav"), 0.5)
	if err := os.WriteFile(filepath.Join(dir, "secret.txt"), []byte("not a voicemail"), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	e := newEnv(t, WithVoicemail(VoicemailFolder{Dir: dir, Audit: audit}), WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	return e, wav, logs
}

func (e *testEnv) get(t *testing.T, path string, c *client) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.ts.URL+path, nil)
	if c != nil {
		req.AddCookie(c.cookie)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

// TestVoicemailInbox: a logged-in agent lists the messages newest first
// and plays one (the exact file, as audio/wav), each play audited with
// who listened; names the voicemail step could not have written, other
// files and strangers are refused with a clear message.
func TestVoicemailInbox(t *testing.T) {
	e, wav, logs := voicemailEnv(t, nil)
	alice := e.login(t, "alice", "alice-secret")

	res := e.get(t, "/api/voicemail", alice)
	var list []Voicemail
	if err := json.NewDecoder(res.Body).Decode(&list); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("list: %s %v", res.Status, err)
	}
	if len(list) != 2 || list[0].Name != "20261123T090000Z-call-7.wav" || list[0].CallID != "call-7" || list[0].Box != "sales" ||
		!list[0].At.Equal(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)) || list[0].Seconds != 1.5 || list[1].CallID != "call-3" {
		t.Fatalf("inbox %+v", list)
	}

	res = e.get(t, "/api/voicemail/sales/20261123T090000Z-call-7.wav", alice)
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "audio/wav" || !bytes.Equal(body, wav) {
		t.Fatalf("play: %s %q, %d bytes (want %d)", res.Status, res.Header.Get("Content-Type"), len(body), len(wav))
	}
	if l := logs.String(); !strings.Contains(l, `msg="voicemail played" component=agentapi audit=true actor=alice box=sales message=20261123T090000Z-call-7.wav call_id=call-7`) {
		t.Errorf("no audit line for the play:\n%s", l)
	}

	for _, tc := range []struct {
		name, path string
		c          *client
		status     int
		want       string
	}{
		{"not logged in", "/api/voicemail/sales/20261123T090000Z-call-7.wav", nil, http.StatusUnauthorized, ""},
		{"not logged in, list", "/api/voicemail", nil, http.StatusUnauthorized, ""},
		{"a file the step did not write", "/api/voicemail/sales/notes.wav", alice, http.StatusBadRequest, "is not a voicemail file name"},
		{"out of the folder", "/api/voicemail/sales/..%2F..%2Fsecret.txt", alice, http.StatusBadRequest, "is not a voicemail file name"},
		{"box out of the folder", "/api/voicemail/..%2F..%2Fetc/20261123T090000Z-call-7.wav", alice, http.StatusBadRequest, "is not a voicemail box name"},
		{"box dot-dot", "/api/voicemail/../20261123T090000Z-call-7.wav", alice, http.StatusNotFound, ""},
		{"no such message", "/api/voicemail/sales/20261123T090001Z-call-7.wav", alice, http.StatusNotFound, "no such voicemail"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := e.get(t, tc.path, tc.c)
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tc.status || !strings.Contains(string(body), tc.want) {
				t.Errorf("%s: %s %s, want %d saying %q", tc.path, res.Status, body, tc.status, tc.want)
			}
		})
	}
	if n := strings.Count(logs.String(), "voicemail played"); n != 1 {
		t.Errorf("%d plays audited, want the one that played", n)
	}
}

// TestBrowserVoicemailPlays: the agent page lists the inbox and plays a
// message in the page: the browser decodes the switch's WAV to its
// length and plays it.
func TestBrowserVoicemailPlays(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	db := sqliteStore(t, ctx)
	e, _, logs := voicemailEnv(t, db)
	tab, closeTab := browser(t, ctx)
	defer closeTab()
	loginAndGoAvailable(t, tab, e)
	list := waitText(t, ctx, tab, "#vm-list", "call call-7")
	if strings.Index(list, "call-7") > strings.Index(list, "call-3") || !strings.Contains(list, "box sales") {
		t.Errorf("inbox shows %q: want newest first, with the box", list)
	}
	var played struct {
		Duration float64 `json:"duration"`
		Time     float64 `json:"time"`
	}
	err := chromedp.Run(tab, chromedp.Evaluate(`(async () => {
  const a = document.querySelector('#vm-list li[data-vm="sales/20261123T090000Z-call-7.wav"] audio');
  a.muted = true;
  await a.play();
  await new Promise((r) => setTimeout(r, 700));
  return {duration: a.duration, time: a.currentTime};
})()`, &played, awaitPromise))
	if err != nil {
		t.Fatalf("play in the page: %v", err)
	}
	if math.Abs(played.Duration-1.5) > 0.05 || played.Time < 0.3 {
		t.Errorf("the page's player: duration %.2f s (want 1.5), played %.2f s", played.Duration, played.Time)
	}
	if !strings.Contains(logs.String(), "actor=alice box=sales message=20261123T090000Z-call-7.wav") {
		t.Error("the page's play was not logged")
	}
	// The browser may fetch the message in several ranges: each is an
	// audit entry of alice playing it.
	audit, err := db.AuditLog(ctx, "", 20)
	if err != nil || len(audit) == 0 {
		t.Fatalf("audit log %+v %v: the page's play was not audited", audit, err)
	}
	for _, a := range audit {
		if a.Action != customer.AuditVoicemailPlay || a.Actor != "alice" || !strings.HasPrefix(a.Detail, "box=sales message=20261123T090000Z-call-7.wav call_id=call-7") {
			t.Errorf("audit entry %+v", a)
		}
	}
}
