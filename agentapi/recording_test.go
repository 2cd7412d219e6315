package agentapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/customer"
	"github.com/voxdesk/voxdesk/routing"
)

// fakeLive is the recording side of calls in progress: states by call.
type fakeLive struct {
	mu      sync.Mutex
	states  map[string]string
	started []string
}

func (f *fakeLive) RecordingState(callID string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.states[callID]
}

func (f *fakeLive) StartRecording(ctx context.Context, callID, actor string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.states[callID] == "" {
		return fmt.Errorf("service: record %s: %w", callID, customer.ErrNotTold)
	}
	f.states[callID] = "on"
	f.started = append(f.started, callID+" by "+actor)
	return nil
}

// recordingStore opens a SQLite customer store with customers C1 and C2.
func recordingStore(t *testing.T) *customer.DB {
	t.Helper()
	key, err := customer.ParseKey(customer.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := customer.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "c.db"), customer.Config{Key: key},
		customer.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, c := range []customer.Customer{{ID: "C1", Name: "Ada"}, {ID: "C2", Name: "Charles"}} {
		if err := db.PutCustomer(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

func saveRecording(t *testing.T, db *customer.DB, callID, cust string, wav []byte) customer.Recording {
	t.Helper()
	r, err := db.SaveRecording(context.Background(), customer.Recording{CallID: callID, CustomerID: cust, StartedAt: time.Now(),
		Duration: 2 * time.Second, Channels: 2, Notice: "recording_notice.wav", NoticeBy: "hotline@1"}, wav, "recorder")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (e *testEnv) do(t *testing.T, method, path string, c *client) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, e.ts.URL+path, nil)
	req.Header.Set("Origin", e.ts.URL)
	if c != nil {
		req.AddCookie(c.cookie)
		req.Header.Set(csrfHeader, c.csrf)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, body
}

// TestRecordingAccess: who may list, play and erase recordings, every
// access and refusal audited; bad requests refused with a clear message.
func TestRecordingAccess(t *testing.T) {
	db := recordingStore(t)
	wav1, wav2 := bytes.Repeat([]byte("ada!"), 1000), bytes.Repeat([]byte("bab?"), 1000)
	r1 := saveRecording(t, db, "ada-1", "C1", wav1)
	r2 := saveRecording(t, db, "bab-1", "C2", wav2)
	anon := saveRecording(t, db, "anon-1", "", []byte("anonymous audio"))
	e := newEnv(t, WithRecordings(db, &fakeLive{states: map[string]string{}}))
	alice := e.login(t, "alice", "alice-secret")
	e.openPage(t, alice)
	c := e.srv.agent("alice")
	c.mu.Lock()
	c.calls["ada-now"] = &agentCall{phase: phaseTalking, offer: routing.Offer{CallID: "ada-now", Customer: "C1"}}
	c.calls["anon-1"] = &agentCall{phase: phaseWrapUp, offer: routing.Offer{CallID: "anon-1"}}
	c.mu.Unlock()
	bob, sue := e.login(t, "bob", "bob-secret"), e.login(t, "sue", "sue-secret")

	for _, tc := range []struct {
		name, method, path string
		who                *client
		status             int
		body               string // part of the reply expected
	}{
		{"agent lists the file of the customer on the line", "GET", "/api/recordings?customer=C1", alice, 200, r1.ID},
		{"agent lists an unidentified caller's call in wrap-up", "GET", "/api/recordings?call=anon-1", alice, 200, anon.ID},
		{"agent plays the recording of the customer on the line", "GET", "/api/recordings/" + r1.ID, alice, 200, string(wav1[:40])},
		{"agent lists another customer", "GET", "/api/recordings?customer=C2", alice, 403, "handling"},
		{"agent plays another customer's recording", "GET", "/api/recordings/" + r2.ID, alice, 403, "handling"},
		{"agent with no call plays", "GET", "/api/recordings/" + r1.ID, bob, 403, "handling"},
		{"agent erases", "DELETE", "/api/recordings/" + r1.ID, alice, 403, "supervisor"},
		{"supervisor plays any", "GET", "/api/recordings/" + r2.ID, sue, 200, string(wav2[:40])},
		{"nobody logged in", "GET", "/api/recordings/" + r1.ID, nil, 401, "log in"},
		{"neither customer nor call", "GET", "/api/recordings", alice, 400, "one customer id"},
		{"both customer and call", "GET", "/api/recordings?customer=C1&call=x", alice, 400, "one customer id"},
		{"unknown recording", "GET", "/api/recordings/rec-00", alice, 404, "no such recording"},
		{"not a recording id", "GET", "/api/recordings/..%2Fetc", alice, 400, "bad recording id"},
		{"supervisor erases", "DELETE", "/api/recordings/" + r2.ID, sue, 200, r2.ID},
		{"erased twice", "DELETE", "/api/recordings/" + r2.ID, sue, 404, "no such recording"},
	} {
		res, body := e.do(t, tc.method, tc.path, tc.who)
		if res.StatusCode != tc.status || !strings.Contains(string(body), tc.body) {
			t.Errorf("%s: %s %.80q; want %d with %q", tc.name, res.Status, body, tc.status, tc.body)
		}
		if tc.status == 200 && tc.method == "GET" && strings.Contains(tc.path, "rec-") && res.Header.Get("Content-Type") != "audio/wav" {
			t.Errorf("%s: Content-Type %q", tc.name, res.Header.Get("Content-Type"))
		}
	}
	// The page lists JSON.
	res, body := e.do(t, "GET", "/api/recordings?customer=C1", alice)
	var list []RecordingView
	if err := json.Unmarshal(body, &list); err != nil || res.StatusCode != 200 || len(list) != 1 || list[0].ID != r1.ID ||
		list[0].Seconds != 2 || list[0].Notice != "recording_notice.wav" || list[0].Channels != 2 {
		t.Errorf("list = %+v, %v", list, err)
	}
	// Every access is in the store's audit log, with who.
	log, err := db.AuditLog(context.Background(), "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range log {
		got = append(got, string(a.Action)+" "+a.Actor+" "+a.CustomerID)
	}
	for _, want := range []string{
		"recording.list agent:alice C1", "recording.play agent:alice C1", "recording.refused agent:alice C2",
		"recording.refused agent:bob C1", "recording.refused agent:alice C1", "recording.play supervisor:sue C2",
		"recording.erase supervisor:sue C2", "recording.list agent:alice ",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("audit log lacks %q: %q", want, got)
		}
	}
}

// TestRecordingStartNeedsNotice: the agent's "record" button records a
// call whose caller was told (ready); a call whose caller was never told
// is refused with a clear message and nothing is recorded.
func TestRecordingStartNeedsNotice(t *testing.T) {
	live := &fakeLive{states: map[string]string{"told": "ready"}}
	e := newEnv(t, WithRecordings(recordingStore(t), live))
	alice := e.login(t, "alice", "alice-secret")
	e.openPage(t, alice)
	c := e.srv.agent("alice")
	c.mu.Lock()
	for _, id := range []string{"told", "untold"} {
		c.calls[id] = &agentCall{phase: phaseTalking, offer: routing.Offer{CallID: id}}
	}
	c.calls["ringing"] = &agentCall{phase: phaseRinging, offer: routing.Offer{CallID: "ringing"}}
	c.mu.Unlock()
	bob := e.login(t, "bob", "bob-secret")

	for _, tc := range []struct {
		name, method, path string
		who                *client
		status             int
		body               string
	}{
		{"state of a call whose caller was told", "GET", "/api/agent/calls/told/recording", alice, 200, `"state":"ready"`},
		{"never told: refused", "POST", "/api/agent/calls/untold/record", alice, 409, "was not told"},
		{"someone else's call", "POST", "/api/agent/calls/told/record", bob, 404, "not on call"},
		{"a call still ringing", "POST", "/api/agent/calls/ringing/record", alice, 404, "not on call"},
		{"no CSRF token", "POST", "/api/agent/calls/told/record", &client{cookie: alice.cookie}, 403, "CSRF"},
		{"told: recording starts", "POST", "/api/agent/calls/told/record", alice, 200, `"state":"on"`},
		{"state after", "GET", "/api/agent/calls/told/recording", alice, 200, `"state":"on"`},
		{"state of an untold call", "GET", "/api/agent/calls/untold/recording", alice, 200, `"state":""`},
	} {
		res, body := e.do(t, tc.method, tc.path, tc.who)
		if res.StatusCode != tc.status || !strings.Contains(string(body), tc.body) {
			t.Errorf("%s: %s %q; want %d with %q", tc.name, res.Status, body, tc.status, tc.body)
		}
	}
	live.mu.Lock()
	defer live.mu.Unlock()
	if want := []string{"told by agent:alice"}; !slices.Equal(live.started, want) {
		t.Errorf("recordings started %q, want %q", live.started, want)
	}
	if live.states["untold"] != "" {
		t.Errorf("the untold call's state changed to %q", live.states["untold"])
	}
}
