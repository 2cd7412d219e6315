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
	"runtime"
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
// postgresql binaries (initdb, then postgres itself as our child) in a
// temporary directory, listening on 127.0.0.1 on a free port. It is started on first use (so fuzz workers and crash-test
// children never start one) and stopped by TestMain. Each test gets a
// schema of its own.

var pgState struct {
	once    sync.Once
	cluster *pgCluster
	err     error
	schemas atomic.Int64
}

type pgCluster struct {
	root   string // temporary directory holding data/ and the log
	bin    string // directory of initdb, pg_ctl
	port   int
	cred   *syscall.Credential // run as this user when we are root
	admin  *sql.DB
	proc   *os.Process  // the postmaster
	exited <-chan error // its exit; nil once reaped
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
	// between; the server then fails to start and we try another.
	for attempt := 0; ; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			os.RemoveAll(root)
			return nil, err
		}
		c.port = l.Addr().(*net.TCPAddr).Port
		l.Close()
		err = c.serve(data)
		if err == nil {
			break
		}
		if attempt == 2 {
			logb, _ := os.ReadFile(filepath.Join(root, "log"))
			os.RemoveAll(root)
			return nil, fmt.Errorf("postgres: %v\n%s", err, logb)
		}
	}
	return c, nil
}

// serve starts the postmaster as a child of a goroutine locked to its OS
// thread, with SIGQUIT (immediate shutdown) as its parent-death signal: if
// the test binary dies (a timeout, a kill), the kernel stops the server, so
// no cluster outlives the tests. It returns once the server takes
// connections.
func (c *pgCluster) serve(data string) error {
	logf, err := os.OpenFile(filepath.Join(c.root, "log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	started := make(chan error, 1)
	exited := make(chan error, 1)
	go func() {
		// Never unlocked: the thread ends with this goroutine, after the
		// server has exited.
		runtime.LockOSThread()
		cmd := exec.Command(filepath.Join(c.bin, "postgres"), "-D", data, "-p", strconv.Itoa(c.port),
			"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
			"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=200")
		cmd.Dir = c.root
		cmd.Env = append(os.Environ(), "LC_ALL=C")
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred, Pdeathsig: syscall.SIGQUIT}
		if err := cmd.Start(); err != nil {
			logf.Close()
			started <- err
			return
		}
		c.proc = cmd.Process
		started <- nil
		exited <- cmd.Wait()
		logf.Close()
	}()
	if err := <-started; err != nil {
		return err
	}
	c.exited = exited
	admin, err := sql.Open("pgx", c.dsn())
	if err != nil {
		c.stop()
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err = admin.PingContext(ctx)
		cancel()
		if err == nil {
			c.admin = admin
			return nil
		}
		select {
		case werr := <-exited:
			admin.Close()
			c.exited = nil
			return fmt.Errorf("server exited: %v (last ping: %v)", werr, err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			admin.Close()
			c.stop()
			return fmt.Errorf("server not ready after 30 s: %v", err)
		}
	}
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

// stop shuts the server down (fast shutdown: sessions end, no checkpoint
// wait beyond what is needed) and waits for it, at most 30 s.
func (c *pgCluster) stop() {
	if c.admin != nil {
		c.admin.Close()
		c.admin = nil
	}
	if c.exited != nil {
		c.proc.Signal(syscall.SIGINT)
		select {
		case <-c.exited:
		case <-time.After(30 * time.Second):
			c.proc.Signal(syscall.SIGQUIT)
			<-c.exited
		}
		c.exited = nil
	}
	os.RemoveAll(c.root)
}
