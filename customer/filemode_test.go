package customer_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/voxdesk/voxdesk/customer"
)

// TestSQLiteFileModes: the database, its WAL and shared-memory files and
// a folder made for them are the switch's user's only; an existing
// database readable by others is narrowed, with a warning.
func TestSQLiteFileModes(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "var")
	path := filepath.Join(dir, "voxdesk.db")
	s := openStore(t, "sqlite:"+path, customer.Config{Key: mustKey(t)})
	put(t, ctx, s, customer.Customer{ID: "c1", Name: "Alice"}) // the WAL holds a write
	want := map[string]os.FileMode{dir: 0o700, path: 0o600, path + "-wal": 0o600, path + "-shm": 0o600}
	for p, m := range want {
		st, err := os.Stat(p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
		} else if st.Mode().Perm() != m {
			t.Errorf("%s: mode %v, want %v", filepath.Base(p), st.Mode().Perm(), m)
		}
	}
	s.Close()

	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		os.Chmod(p, 0o644)
	}
	var logs bytes.Buffer
	s2, err := customer.Open(ctx, "sqlite:"+path, customer.Config{}, customer.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if st, err := os.Stat(p); err == nil && st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v after reopening, want 0600", filepath.Base(p), st.Mode().Perm())
		}
	}
	if !strings.Contains(logs.String(), "narrowed to 0600") {
		t.Errorf("no warning when narrowing:\n%s", logs.String())
	}
	if _, err := s2.Customer(ctx, "c1"); err != nil {
		t.Errorf("data after reopening: %v", err)
	}
}
