package customer_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// The PostgreSQL tests run against a throwaway cluster made with Debian's
// postgresql binaries in a temporary directory, listening on 127.0.0.1 on
// a free port. It is started on first use (so fuzz workers and crash-test
// children never start one) and stopped by TestMain. Each test gets a
// schema of its own.

var pgState struct {
	once    sync.Once
	cluster *pgCluster
	err     error
	schemas atomic.Int64
}

type pgCluster struct {
	root  string // temporary directory holding data/ and the log
	bin   string // directory of initdb, pg_ctl
	port  int
	cred  *syscall.Credential // run as this user when we are root
	admin *sql.DB
}

var errNoPostgres = errors.New("PostgreSQL binaries not found under /usr/lib/postgresql/*/bin (apt-get install -y --no-install-recommends postgresql)")

func TestMain(m *testing.M) {
	if mode := os.Getenv(crashEnv); mode != "" {
		os.Exit(crashChild(mode))
	}
	code := m.Run()
	if c := pgState.cluster; c != nil {
		c.stop()
	}
	// Every store the tests opened is closed by then: nothing may linger
	// (Follow loops, pool openers, row streams).
	if err := goleak.Find(); err != nil && code == 0 {
		fmt.Fprintln(os.Stderr, "leaked goroutines:", err)
		code = 1
	}
	os.Exit(code)
}

// postgresDSN returns the DSN of a fresh, empty schema on the test
// cluster, skipping the test when PostgreSQL is not installed (failing
// it under CI=true).
func postgresDSN(t testing.TB) string {
	t.Helper()
	pgState.once.Do(func() { pgState.cluster, pgState.err = startPostgres() })
	if err := pgState.err; err != nil {
		if errors.Is(err, errNoPostgres) && os.Getenv("CI") != "true" {
			t.Skipf("skipping PostgreSQL backend: %v", err)
		}
		t.Fatalf("PostgreSQL test cluster: %v", err)
	}
	c := pgState.cluster
	schema := fmt.Sprintf("t%d", pgState.schemas.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	return c.dsn() + "&search_path=" + schema
}

func (c *pgCluster) dsn() string {
	return fmt.Sprintf("postgres://voxdesk@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

func startPostgres() (*pgCluster, error) {
	initdbs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(initdbs) == 0 {
		return nil, errNoPostgres
	}
	sort.Slice(initdbs, func(i, j int) bool { return pgMajor(initdbs[i]) > pgMajor(initdbs[j]) })
	c := &pgCluster{bin: filepath.Dir(initdbs[0])}
	root, err := os.MkdirTemp("", "voxdesk-pg-")
	if err != nil {
		return nil, err
	}
	c.root = root
	if os.Geteuid() == 0 {
		// initdb and postgres refuse to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(root)
			return nil, fmt.Errorf("running as root and no 'postgres' user to run the server as: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(root, uid, gid); err != nil {
			os.RemoveAll(root)
			return nil, err
		}
	}
	data := filepath.Join(root, "data")
	if out, err := c.run(30*time.Second, "initdb", "-D", data, "-U", "voxdesk", "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		os.RemoveAll(root)
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	// A free port: bind, note, release. Another process could take it in
	// between; pg_ctl then fails and we try another.
	for attempt := 0; ; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			os.RemoveAll(root)
			return nil, err
		}
		c.port = l.Addr().(*net.TCPAddr).Port
		l.Close()
		opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -c unix_socket_directories= "+
			"-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200", c.port)
		out, err := c.run(40*time.Second, "pg_ctl", "-D", data, "-l", filepath.Join(root, "log"), "-w", "-t", "30", "-o", opts, "start")
		if err == nil {
			break
		}
		if attempt == 2 {
			logb, _ := os.ReadFile(filepath.Join(root, "log"))
			os.RemoveAll(root)
			return nil, fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, logb)
		}
	}
	c.admin, err = sql.Open("pgx", c.dsn())
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = c.admin.PingContext(ctx)
		cancel()
	}
	if err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

func pgMajor(path string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(path))))
	return n
}

// run runs one of the cluster's programs, as the postgres user if needed.
func (c *pgCluster) run(limit time.Duration, prog string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, prog), args...)
	cmd.Dir = c.root
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	return cmd.CombinedOutput()
}

func (c *pgCluster) stop() {
	if c.admin != nil {
		c.admin.Close()
	}
	c.run(30*time.Second, "pg_ctl", "-D", filepath.Join(c.root, "data"), "-m", "immediate", "-w", "stop")
	os.RemoveAll(c.root)
}
