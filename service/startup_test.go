package service_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/voxdesk/voxdesk/service"
)

// instanceConfig is a switch on loopback with a SQLite store in dir,
// loaded from the example customers; no speaker model.
func instanceConfig(dir string) *service.Config {
	cfg := service.DefaultConfig()
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.SIP.UDP = "127.0.0.1:0"
	cfg.SIP.TCP = "127.0.0.1:0"
	cfg.Media.RTPPortMin, cfg.Media.RTPPortMax = 48000, 48999
	cfg.Customer.DSN = "sqlite:" + filepath.Join(dir, "var", "voxdesk.db")
	cfg.Customer.Import = filepath.Join("..", "examples", "customers.csv")
	cfg.Voiceprint.ModelDir = "off"
	return cfg
}

// fileStates is each file's size and modification time, "" if absent.
func fileStates(paths ...string) string {
	var b strings.Builder
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil {
			b.WriteString(p + " " + strconv.FormatInt(st.Size(), 10) + " " + st.ModTime().String() + "\n")
		} else {
			b.WriteString(p + " absent\n")
		}
	}
	return b.String()
}

// TestSecondInstanceFailsFast starts a switch, then a second one on the
// same database (other ports) and one on the same ports (another
// database): each fails at once with a message saying why, having
// touched no file; once the first has stopped, the database is free.
func TestSecondInstanceFailsFast(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	quiet := service.WithLogger(slog.New(slog.DiscardHandler))
	dir := t.TempDir()
	first, err := service.New(instanceConfig(dir), quiet)
	if err != nil {
		t.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { ran <- first.Run(context.Background()) }()
	defer func() {
		first.Close()
		<-ran
	}()
	db := filepath.Join(dir, "var", "voxdesk.db")
	before := fileStates(db, db+"-wal", db+"-shm")

	start := time.Now()
	_, err = service.New(instanceConfig(dir), quiet)
	took := time.Since(start)
	if !errors.Is(err, service.ErrStoreLocked) {
		t.Fatalf("second instance on the same database: %v, want ErrStoreLocked", err)
	}
	if !strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) || !strings.Contains(err.Error(), db) {
		t.Errorf("message %q does not name the database and the holder", err)
	}
	if took > time.Second {
		t.Errorf("second instance took %v to fail", took)
	}
	if after := fileStates(db, db+"-wal", db+"-shm"); after != before {
		t.Errorf("the second instance touched the database:\nbefore %s\nafter  %s", before, after)
	}

	other := t.TempDir()
	cfg := instanceConfig(other)
	cfg.SIP.UDP = first.SIPAddr("udp").String()
	start = time.Now()
	_, err = service.New(cfg, quiet)
	if err == nil || !strings.Contains(err.Error(), "address already in use") || !strings.Contains(err.Error(), "another voxdesk serve") {
		t.Fatalf("second instance on the same SIP port: %v", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("second instance took %v to fail", took)
	}
	if _, err := os.Stat(filepath.Join(other, "var")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the instance that could not bind created its database folder (%v)", err)
	}

	first.Close()
	<-ran
	ran <- nil
	again, err := service.New(instanceConfig(dir), quiet)
	if err != nil {
		t.Fatalf("after the first stopped: %v", err)
	}
	again.Close()
}
