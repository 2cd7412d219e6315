package service

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/voxdesk/voxdesk/customer"
)

// Start-up order. A second `voxdesk serve` on the same ports or the same
// SQLite database must fail at once, saying why, before it reads or
// writes anything (the customer import and the demo enrolment take
// seconds and write to the database). New therefore binds every socket
// first, then takes the store's lock, and only then opens the store.

// bindSockets binds the SIP and HTTP listeners of c.
func (s *Service) bindSockets(c *Config) error {
	if err := s.bindSIP(c); err != nil {
		return err
	}
	lc := net.ListenConfig{}
	if c.HTTP.Listen != "off" {
		l, err := lc.Listen(context.Background(), "tcp", c.HTTP.Listen)
		if err != nil {
			return bindError("http", err)
		}
		s.httpL = newCapListener(l, c.HTTP.MaxConnsPerAddress)
	}
	return nil
}

// bindSIP binds the SIP listeners. Both transports share one port, as
// SIP expects; when that port is the kernel's choice (port 0), the TCP
// port of the same number may already be someone else's, so a few other
// ports are tried before giving up.
func (s *Service) bindSIP(c *Config) error {
	var err error
	lc := net.ListenConfig{}
	for try := 1; ; try++ {
		if c.SIP.UDP != "off" {
			if s.udp, err = lc.ListenPacket(context.Background(), "udp", c.SIP.UDP); err != nil {
				return bindError("sip udp", err)
			}
		}
		if c.SIP.TCP == "off" {
			return nil
		}
		tcpAddr := c.SIP.TCP
		shared := tcpAddr == c.SIP.UDP && s.udp != nil
		if shared {
			// Follow the UDP socket when it was given port 0.
			tcpAddr = s.udp.LocalAddr().String()
		}
		if s.tcp, err = lc.Listen(context.Background(), "tcp", tcpAddr); err == nil {
			return nil
		}
		chosen := shared && strings.HasSuffix(c.SIP.UDP, ":0")
		if !chosen || !errors.Is(err, syscall.EADDRINUSE) || try == 5 {
			return bindError("sip tcp", err)
		}
		s.udp.Close()
		s.udp = nil
	}
}

// bindError names the socket that could not be bound, with a hint when
// another process holds its address.
func bindError(what string, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("service: %s: %w (is another voxdesk serve running? stop it, or give this one other ports)", what, err)
	}
	return fmt.Errorf("service: %s: %w", what, err)
}

// ErrStoreLocked is returned by New when another process serves the same
// SQLite database.
var ErrStoreLocked = errors.New("service: the customer database is in use by another voxdesk serve")

// storeLock is an exclusive flock(2) on DB.lock beside a SQLite database:
// two switches writing one SQLite file would each believe their
// in-memory state (voiceprint index, demo enrolment) is the store's. The
// kernel drops the lock when the process ends, however it ends. Command
// line tools (voxdesk customer ...) do not take it: they are meant to
// run beside the switch, whose change feed picks up what they write.
// Switch nodes sharing a PostgreSQL database are supported and take no
// lock.
type storeLock struct{ f *os.File }

// lockStore takes the lock of the SQLite database dsn names (nil for no
// store or PostgreSQL). The lock file records the holder's pid, for the
// message another instance prints.
func lockStore(dsn string) (*storeLock, error) {
	path, ok := customer.SQLitePath(dsn)
	if !ok {
		return nil, nil
	}
	lockPath := path + ".lock"
	if dir := filepath.Dir(lockPath); dir != "." {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("service: customer.dsn: %w", err)
		}
	}
	f, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("service: customer.dsn: lock: %w", err)
	}
	if err := flock(f); err != nil {
		holder := ""
		if b, rerr := os.ReadFile(lockPath); rerr == nil && strings.TrimSpace(string(b)) != "" {
			holder = " by pid " + strings.TrimSpace(string(b))
		}
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s is locked%s (%s): stop that instance first, or give this one its own customer.dsn",
				ErrStoreLocked, path, holder, lockPath)
		}
		return nil, fmt.Errorf("service: customer.dsn: lock %s: %w", lockPath, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &storeLock{f: f}, nil
}

// release lets the next instance start. The lock file stays (removing it
// would race with an instance opening it).
func (l *storeLock) release() {
	if l == nil || l.f == nil {
		return
	}
	l.f.Truncate(0)
	l.f.Close() // closing the descriptor drops the flock
	l.f = nil
}
