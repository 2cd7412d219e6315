package service_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/customer"
	"github.com/voxdesk/voxdesk/service"
)

// TestVoicemailPlayAudited (issue 11): on the example switch, an agent
// playing a voicemail message leaves an entry in the customer store's
// audit log (who, which message, when), not only a log line.
func TestVoicemailPlayAudited(t *testing.T) {
	vm := t.TempDir()
	const msg = "20261123T090000Z-call-7.wav"
	wav := filepath.Join(vm, "sales", msg)
	if err := os.MkdirAll(filepath.Dir(wav), 0o700); err != nil {
		t.Fatal(err)
	}
	writeUlawWAV(t, wav, make([]int16, 4000))
	var dsn string
	sw := exampleSwitch(t, func(c *service.Config) {
		c.IVR.Voicemail = vm
		dsn = c.Customer.DSN
	})
	alice := newWebClient(sw, "127.0.0.1")
	if st := alice.login(t, "alice", "voxdesk-demo"); st != http.StatusOK {
		t.Fatalf("login: %d", st)
	}
	start := time.Now().Add(-time.Second)
	req, _ := http.NewRequest(http.MethodGet, alice.base+"/api/voicemail/sales/"+msg, nil)
	req.Header.Set("Cookie", alice.cookie)
	res, err := alice.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || len(body) == 0 {
		t.Fatalf("play: %s, %d bytes", res.Status, len(body))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, err := customer.Open(ctx, dsn, customer.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	log, err := db.AuditLog(ctx, "", 50)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range log {
		if a.Action == customer.AuditVoicemailPlay {
			found = true
			if a.Actor != "alice" || a.Detail != "box=sales message="+msg+" call_id=call-7" || a.At.Before(start) {
				t.Errorf("audit entry %+v: want alice playing %s just now", a, msg)
			}
		}
	}
	if !found {
		t.Fatalf("no voicemail.play entry in the audit log (%d entries)", len(log))
	}
}
