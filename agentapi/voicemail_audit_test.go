package agentapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/customer"
)

// sqliteStore opens a customer store in a fresh SQLite file, closed when
// the test ends.
func sqliteStore(t *testing.T, ctx context.Context) *customer.DB {
	t.Helper()
	db, err := customer.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "c.db"), customer.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestVoicemailPlayAuditedInStore: each play of a voicemail message is an
// entry of the customer store's audit log (who, which message, when);
// refused requests write nothing.
func TestVoicemailPlayAuditedInStore(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	db := sqliteStore(t, ctx)
	e, _, _ := voicemailEnv(t, db)
	alice := e.login(t, "alice", "alice-secret")
	start := time.Now().Add(-time.Second)

	const msg = "20261123T090000Z-call-7.wav"
	if res := e.get(t, "/api/voicemail/sales/"+msg, alice); res.StatusCode != http.StatusOK {
		t.Fatalf("play: %s", res.Status)
	}
	for _, path := range []string{"/api/voicemail/sales/notes.wav", "/api/voicemail/sales/20261123T090001Z-call-7.wav", "/api/voicemail"} {
		e.get(t, path, alice)
	}
	e.get(t, "/api/voicemail/sales/"+msg, nil) // not logged in

	log, err := db.AuditLog(ctx, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 1 {
		t.Fatalf("audit log %+v, want one play", log)
	}
	got := log[0]
	if got.Action != customer.AuditVoicemailPlay || got.Actor != "alice" || got.Detail != "box=sales message="+msg+" call_id=call-7" ||
		got.At.Before(start) || got.At.After(time.Now().Add(time.Second)) {
		t.Fatalf("audit entry %+v: want alice playing %s of call-7 just now", got, msg)
	}
}

type failingAudit struct{}

func (failingAudit) VoicemailPlayed(context.Context, string, string, string, string, string, string) error {
	return errors.New("database is locked")
}

// A play that cannot be audited is not served.
func TestVoicemailPlayRefusedWhenAuditFails(t *testing.T) {
	e, _, logs := voicemailEnv(t, failingAudit{})
	alice := e.login(t, "alice", "alice-secret")
	res := e.get(t, "/api/voicemail/sales/20261123T090000Z-call-7.wav", alice)
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "could not be audited") || len(body) > 200 {
		t.Fatalf("play with a failing audit: %s %q", res.Status, body)
	}
	if l := logs.String(); strings.Contains(l, `msg="voicemail played"`) || !strings.Contains(l, "audit failed") {
		t.Errorf("logs:\n%s", l)
	}
}
