package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/voxdesk/voxdesk/customer"
)

// TestCustomerCommands drives the customer verbs on a SQLite file in the
// order an operator would: import, export, enrol (through the package),
// erase, rotate the key.
func TestCustomerCommands(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "voxdesk.db")
	good := filepath.Join(dir, "good.csv")
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(good, []byte("id,name,phones,demo_speaker\nc1,Alice,+33639980101,george\nc2,Bob,+33639980101,\n"), 0o600)
	os.WriteFile(bad, []byte("id,name,phones\nc3,Carol,0612\nc4,,+33639980104\n"), 0o600)
	key := customer.NewKey()
	t.Setenv(customer.KeyEnv, key)

	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{"no verb", []string{"customer"}, 2, "usage: voxdesk customer enrol|erase-biometrics|export|import|rotate-key"},
		{"import needs a file", []string{"customer", "import", "--db", db}, 2, "needs one CSV file"},
		{"bad file lists every bad line", []string{"customer", "import", "--db", db, bad}, 1, "line 2 (id \"c3\")"},
		{"bad file lists line 3 too", []string{"customer", "import", "--db", db, bad}, 1, "line 3 (id \"c4\"): name is empty"},
		{"dry run", []string{"customer", "import", "--dry-run", good}, 0, ""},
		{"import", []string{"customer", "import", "--quiet", good, "--db", db}, 0, ""},
		{"bad DSN", []string{"customer", "export", "--db", "mysql://x"}, 1, "neither sqlite:PATH nor postgres://"},
		{"export to file", []string{"customer", "export", "--db", db, "-o", filepath.Join(dir, "out.csv")}, 0, ""},
		{"erase unknown", []string{"customer", "erase-biometrics", "--db", db, "nobody"}, 1, "not found"},
		{"rotate without new key file", []string{"customer", "rotate-key", "--db", db}, 2, "needs --new-key-file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if code := run(ctx, tt.args, &out); code != tt.wantCode {
				t.Fatalf("exit %d, want %d (%s)", code, tt.wantCode, out.String())
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Fatalf("output %q lacks %q", out.String(), tt.wantOut)
			}
		})
	}
	exported, _ := os.ReadFile(filepath.Join(dir, "out.csv"))
	if want := "id,name,phones,segment,vip,preferred_advisor,notes,demo_speaker\nc1,Alice,+33639980101,,false,,,george\nc2,Bob,+33639980101,,false,,,\n"; string(exported) != want {
		t.Errorf("export:\n%s\nwant:\n%s", exported, want)
	}

	// Enrol c1, then erase through the command.
	k, _ := customer.ParseKey(key)
	s, err := customer.Open(ctx, db, customer.Config{Key: k})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.GiveConsent(ctx, customer.Consent{CustomerID: "c1", Method: customer.ConsentAgent, GivenBy: "agent"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SaveVoiceprint(ctx, customer.Voiceprint{CustomerID: "c1", ModelID: "m", Embedding: []float32{1, 2, 3}}, "test"); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if code := run(ctx, []string{"customer", "rotate-key", "--db", db, "--new-key-file", filepath.Join(dir, "new.key")}, &out); code != 0 {
		t.Fatalf("rotate-key: exit %d: %s", code, out.String())
	}
	newKey, err := os.ReadFile(filepath.Join(dir, "new.key"))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(customer.KeyEnv, strings.TrimSpace(string(newKey)))
	if code := run(ctx, []string{"customer", "erase-biometrics", "--db", db, "--actor", "dpo:test", "c1"}, &out); code != 0 {
		t.Fatalf("erase-biometrics: exit %d: %s", code, out.String())
	}
	if vps, err := s.Voiceprints(ctx, "c1", "test"); err != nil || len(vps) != 0 {
		t.Errorf("after erase-biometrics: %d voiceprints, %v", len(vps), err)
	}
	log, _ := s.AuditLog(ctx, "c1", 10) // newest first: the read just above, then the erasure
	if len(log) < 2 || log[1].Action != customer.AuditErase || log[1].Actor != "dpo:test" {
		t.Errorf("audit log of c1: %+v", log)
	}
	all, _ := s.AuditLog(ctx, "", 100)
	rotated := false
	for _, e := range all {
		rotated = rotated || (e.Action == customer.AuditKeyRotate && strings.Contains(e.Detail, "rows=1"))
	}
	if !rotated {
		t.Errorf("no key.rotate audit entry with rows=1: %+v", all)
	}
}
