package customer_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/voxdesk/voxdesk/customer"
)

// rawDB opens the test database without the customer package.
func rawDB(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	driver, name := "pgx", dsn
	if p, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		driver, name = "sqlite", "file:"+p+"?_pragma=busy_timeout(5000)"
	}
	db, err := sql.Open(driver, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func float32Bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// testSealedAtRest reads what the database holds: the embedding's bytes
// are nowhere (in the column, nor for SQLite in the files), a wrong key
// does not open the row even when the row claims to be under it, and a
// sealed embedding moved to another customer's row does not open.
func testSealedAtRest(t *testing.T, ctx context.Context, e *env) {
	put(t, ctx, e.s, customer.Customer{ID: "c1", Name: "Alice"}, customer.Customer{ID: "c2", Name: "Bob"})
	consent(t, ctx, e.s, "c1")
	consent(t, ctx, e.s, "c2")
	emb := embedding(42, 192)
	plain := float32Bytes(emb)
	for _, id := range []string{"c1", "c2"} {
		if _, err := e.s.SaveVoiceprint(ctx, customer.Voiceprint{CustomerID: id, ModelID: "m", Embedding: emb}, "ivr"); err != nil {
			t.Fatal(err)
		}
	}
	raw := rawDB(t, e.dsn)
	var sealed []byte
	var keyID string
	if err := raw.QueryRowContext(ctx, `SELECT sealed, key_id FROM voiceprints WHERE customer_id = 'c1'`).Scan(&sealed, &keyID); err != nil {
		t.Fatal(err)
	}
	if keyID != customer.KeyID(e.key) {
		t.Errorf("row key id %s, want %s", keyID, customer.KeyID(e.key))
	}
	if len(sealed) != len(plain)+12+16 {
		t.Errorf("sealed %d bytes, want %d (nonce + embedding + tag)", len(sealed), len(plain)+28)
	}
	// No 16-byte run of the embedding survives in the sealed column.
	for i := 0; i+16 <= len(plain); i += 16 {
		if bytes.Contains(sealed, plain[i:i+16]) {
			t.Fatalf("sealed column contains embedding bytes %d..%d", i, i+16)
		}
	}
	// The files on disk: SQLite's database and WAL, or every file of the
	// PostgreSQL cluster (heap, WAL) after a checkpoint. The sealed bytes
	// must be found there (else the scan proves nothing), the clear ones not.
	var files []string
	if path, ok := strings.CutPrefix(e.dsn, "sqlite:"); ok {
		files = []string{path, path + "-wal"}
	} else {
		if _, err := raw.ExecContext(ctx, `CHECKPOINT`); err != nil {
			t.Fatal(err)
		}
		filepath.WalkDir(filepath.Join(pgState.cluster.root, "data"), func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				files = append(files, p)
			}
			return nil
		})
	}
	foundSealed := false
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		if bytes.Contains(b, plain[:32]) {
			t.Errorf("%s holds the embedding in clear", f)
		}
		foundSealed = foundSealed || bytes.Contains(b, sealed[12:44])
	}
	if !foundSealed {
		t.Errorf("sealed bytes not found in the %d database files: the scan reads the wrong files", len(files))
	}

	// A wrong key, even when the row is relabelled as sealed under it,
	// does not open it: GCM authentication fails.
	wrong := mustKey(t)
	if _, err := raw.ExecContext(ctx, `UPDATE voiceprints SET key_id = $1 WHERE customer_id = 'c1'`, customer.KeyID(wrong)); err != nil {
		t.Fatal(err)
	}
	w := e.open(t, customer.Config{Key: wrong})
	_, err := w.Voiceprints(ctx, "c1", "attacker")
	if err == nil || !strings.Contains(err.Error(), "does not open") {
		t.Errorf("wrong key opened the row: %v", err)
	}
	if _, err := raw.ExecContext(ctx, `UPDATE voiceprints SET key_id = $1 WHERE customer_id = 'c1'`, keyID); err != nil {
		t.Fatal(err)
	}
	// c1's sealed embedding copied onto c2's row does not open as c2's.
	if _, err := raw.ExecContext(ctx, `UPDATE voiceprints SET sealed = $1 WHERE customer_id = 'c2'`, sealed); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Voiceprints(ctx, "c1", "check"); err != nil {
		t.Errorf("c1 no longer opens: %v", err)
	}
	if _, err := e.s.Voiceprints(ctx, "c2", "check"); err == nil || !strings.Contains(err.Error(), "does not open") {
		t.Errorf("c1's sealed embedding opened as c2's: %v", err)
	}
}

// TestEraseLeavesNoBytes checks, on SQLite where the files can be read,
// that after an erasure the sealed bytes are gone from the database and
// its WAL (secure_delete, then a checkpoint).
func TestEraseLeavesNoBytes(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/voxdesk.db"
	s := openStore(t, "sqlite:"+path, customer.Config{Key: mustKey(t)})
	put(t, ctx, s, customer.Customer{ID: "c1", Name: "Alice"}, customer.Customer{ID: "c2", Name: "Bob"})
	consent(t, ctx, s, "c1")
	consent(t, ctx, s, "c2")
	for i, id := range []string{"c1", "c2"} {
		if _, err := s.SaveVoiceprint(ctx, customer.Voiceprint{CustomerID: id, ModelID: "m", Embedding: embedding(i, 192)}, "ivr"); err != nil {
			t.Fatal(err)
		}
	}
	raw := rawDB(t, "sqlite:"+path)
	sealed := map[string][]byte{}
	for _, id := range []string{"c1", "c2"} {
		var b []byte
		if err := raw.QueryRowContext(ctx, `SELECT sealed FROM voiceprints WHERE customer_id = $1`, id).Scan(&b); err != nil {
			t.Fatal(err)
		}
		sealed[id] = b
	}
	raw.Close()
	files := func() []byte {
		var all []byte
		for _, f := range []string{path, path + "-wal"} {
			b, _ := os.ReadFile(f)
			all = append(all, b...)
		}
		return all
	}
	if !bytes.Contains(files(), sealed["c1"][:64]) {
		t.Fatal("sealed bytes of c1 not found in the files before erasure: the test would prove nothing")
	}
	if err := s.EraseBiometrics(ctx, "c1", "dpo"); err != nil {
		t.Fatal(err)
	}
	after := files()
	if bytes.Contains(after, sealed["c1"][:64]) {
		t.Error("sealed bytes of c1 still in the database files after erasure")
	}
	if !bytes.Contains(after, sealed["c2"][:64]) {
		t.Error("sealed bytes of c2 gone too")
	}
}

func TestParseKey(t *testing.T) {
	good := customer.NewKey()
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"new key", good, true},
		{"with spaces", "  " + good + "\n", true},
		{"unpadded", strings.TrimRight(good, "="), true},
		{"16 bytes", "AAAAAAAAAAAAAAAAAAAAAA==", false},
		{"not base64", "!!!!", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := customer.ParseKey(tt.in)
			if (err == nil) != tt.ok || (tt.ok && len(k) != customer.KeySize) {
				t.Errorf("ParseKey(%q) = %d bytes, %v; ok want %v", tt.in, len(k), err, tt.ok)
			}
		})
	}
	t.Setenv(customer.KeyEnv, good)
	if k, err := customer.KeyFromEnv(); err != nil || len(k) != customer.KeySize {
		t.Errorf("KeyFromEnv = %d bytes, %v", len(k), err)
	}
	t.Setenv(customer.KeyEnv, "short")
	if _, err := customer.KeyFromEnv(); err == nil || !strings.Contains(err.Error(), customer.KeyEnv) {
		t.Errorf("KeyFromEnv with a bad value: %v", err)
	}
}
