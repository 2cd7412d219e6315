package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// mainEnv makes the test binary run voxdesk itself with the arguments it
// holds (separated by 0x1f, the unit separator), so tests can start real
// voxdesk processes.
const mainEnv = "VOXDESK_TEST_MAIN"

func TestMain(m *testing.M) {
	if args := os.Getenv(mainEnv); args != "" {
		os.Exit(run(context.Background(), strings.Split(args, "\x1f"), os.Stderr))
	}
	os.Exit(m.Run())
}

// voxdesk returns a command running voxdesk with args in a process of
// its own.
func voxdesk(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), mainEnv+"="+strings.Join(args, "\x1f"))
	return cmd
}

func freeTCP(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// serveConfig writes a configuration with a SQLite store under dir
// loaded from the example customers.
func serveConfig(t *testing.T, dir string, httpPort, sipPort int) string {
	t.Helper()
	customers, err := filepath.Abs(filepath.Join("..", "..", "examples", "customers.csv"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, fmt.Sprintf("voxdesk-%d.yaml", sipPort))
	os.WriteFile(path, []byte(fmt.Sprintf(`log: {level: info}
http: {listen: "127.0.0.1:%d"}
sip: {udp: "127.0.0.1:%d", tcp: "off"}
media: {rtp_port_min: 41000, rtp_port_max: 41999}
customer: {dsn: "sqlite:%s", import: %q}
voiceprint: {model_dir: "off"}
`, httpPort, sipPort, filepath.Join(dir, "var", "voxdesk.db"), customers)), 0o600)
	return path
}

// TestServeTwice runs `voxdesk serve` as a process, then two more on its
// ports and on its database: each exits at once with a message saying
// why, and the database files are as the first left them.
func TestServeTwice(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	httpPort := freeTCP(t)
	cfg := serveConfig(t, dir, httpPort, freeUDP(t))
	first := voxdesk(ctx, "serve", "--config", cfg)
	var firstLog bytes.Buffer
	first.Stderr = &firstLog
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		first.Process.Signal(syscall.SIGTERM)
		first.Wait()
	}()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		res, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", httpPort))
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("first voxdesk serve not up:\n%s", firstLog.String())
		}
	}
	db := filepath.Join(dir, "var", "voxdesk.db")
	stat := func() string {
		var b strings.Builder
		for _, p := range []string{db, db + "-wal"} {
			if st, err := os.Stat(p); err == nil {
				fmt.Fprintf(&b, "%s %d %v; ", filepath.Base(p), st.Size(), st.ModTime())
			}
		}
		return b.String()
	}
	before := stat()

	for _, tc := range []struct {
		name, cfg string
		want      []string
	}{
		{"same ports", cfg, []string{"address already in use", "another voxdesk serve"}},
		{"same database, other ports", serveConfig(t, dir, freeTCP(t), freeUDP(t)),
			[]string{"is locked by pid " + strconv.Itoa(first.Process.Pid), db}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			second := voxdesk(ctx, "serve", "--config", tc.cfg)
			second.Stderr = &out
			start := time.Now()
			err := second.Run()
			took := time.Since(start)
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
				t.Fatalf("second voxdesk serve: %v, want exit status 1\n%s", err, out.String())
			}
			t.Logf("failed in %v: %s", took.Round(time.Millisecond), strings.TrimSpace(out.String()))
			if took > 3*time.Second {
				t.Errorf("took %v to fail", took)
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("message lacks %q:\n%s", w, out.String())
				}
			}
			if strings.Contains(out.String(), "customers imported") || strings.Contains(out.String(), "migration applied") {
				t.Errorf("the second instance worked on the database:\n%s", out.String())
			}
			if after := stat(); after != before {
				t.Errorf("database files changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}
