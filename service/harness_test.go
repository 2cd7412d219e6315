package service_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"go.uber.org/goleak"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/customer"
	"github.com/voxdesk/voxdesk/media/g711"
	"github.com/voxdesk/voxdesk/service"
	"github.com/voxdesk/voxdesk/sip"
)

// logBuffer collects the switch's log; it is printed when a test fails.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testSwitch is a whole voxdesk running in the test process on
// 127.0.0.1 with ports picked by the kernel.
type testSwitch struct {
	*service.Service
	log    *logBuffer
	mu     sync.Mutex
	digits []string // "callID:key"
}

func (s *testSwitch) keys() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	for _, d := range s.digits {
		b.WriteString(d[strings.LastIndexByte(d, ':')+1:])
	}
	return b.String()
}

func (s *testSwitch) sipPort() int { return s.SIPAddr("udp").(*net.UDPAddr).Port }

// startSwitch runs a switch until the test ends, then closes it and
// checks that no goroutine is left behind.
func startSwitch(t *testing.T, mutate func(*service.Config), opts ...service.Option) *testSwitch {
	t.Helper()
	if _, err := exec.LookPath("sipp"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("sipp not installed; make test (scripts/install-deps.sh) installs it (Debian package sip-tester)")
		}
		t.Skip("sipp not installed (Debian package sip-tester; make test installs it)")
	}
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })

	cfg := service.DefaultConfig()
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.SIP.UDP = "127.0.0.1:0"
	cfg.SIP.TCP = "127.0.0.1:0"
	cfg.SIP.Trunks = []sip.Trunk{{Name: "local", Networks: []string{"127.0.0.0/8"}}}
	cfg.Media.RTPPortMin, cfg.Media.RTPPortMax = 42000, 47999
	if mutate != nil {
		mutate(cfg)
	}
	sw := &testSwitch{log: &logBuffer{}}
	logger := slog.New(slog.NewTextHandler(sw.log, &slog.HandlerOptions{Level: slog.LevelInfo}))
	opts = append([]service.Option{
		service.WithLogger(logger),
		service.WithDigitObserver(func(c *call.Call, d call.Digit) {
			sw.mu.Lock()
			sw.digits = append(sw.digits, c.ID+":"+string(d.Key))
			sw.mu.Unlock()
		}),
	}, opts...)
	svc, err := service.New(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	sw.Service = svc
	ran := make(chan error, 1)
	go func() { ran <- svc.Run(context.Background()) }()
	t.Cleanup(func() {
		if err := svc.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := <-ran; err != nil {
			t.Errorf("Run: %v", err)
		}
		if t.Failed() {
			t.Logf("switch log:\n%s", sw.log.String())
		}
	})
	return sw
}

// freePort returns a port that was free on 127.0.0.1 for network.
func freePort(t *testing.T, network string) int {
	t.Helper()
	switch network {
	case "tcp":
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port
	default:
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
}

// sipp describes one SIPp run against the switch.
type sipp struct {
	scenario string            // file in testdata
	vars     map[string]string // {{NAME}} substitutions in the scenario
	keys     map[string]string // -key NAME VALUE ([NAME] in the scenario)
	calls    int               // -m; default 1
	limit    int               // -l; default calls
	rate     int               // -r calls per second; default 10
	tcp      bool
	port     int    // SIP port SIPp listens on; a free one when 0
	ip       string // address SIPp sends from; 127.0.0.1 when empty
	args     []string
	timeout  time.Duration // whole run; default 60 s
}

// run executes SIPp and returns its exit status (0: every call passed)
// and its output.
func (p sipp) run(t *testing.T, sw *testSwitch) (int, string) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", p.scenario))
	if err != nil {
		t.Fatal(err)
	}
	text := string(src)
	for k, v := range p.vars {
		text = strings.ReplaceAll(text, "{{"+k+"}}", v)
	}
	if i := strings.Index(text, "{{"); i >= 0 {
		t.Fatalf("scenario %s: unset variable near %q", p.scenario, text[i:min(len(text), i+20)])
	}
	dir := t.TempDir()
	file := filepath.Join(dir, p.scenario)
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if p.calls == 0 {
		p.calls = 1
	}
	if p.limit == 0 {
		p.limit = p.calls
	}
	if p.rate == 0 {
		p.rate = 10
	}
	if p.timeout == 0 {
		p.timeout = 60 * time.Second
	}
	transport, network := "un", "udp"
	if p.tcp {
		transport, network = "t1", "tcp"
	}
	target := sw.SIPAddr(network).String()
	if p.ip == "" {
		p.ip = "127.0.0.1"
	}
	if p.port == 0 {
		p.port = freePort(t, network)
	}
	args := []string{"-sf", file, "-t", transport,
		"-i", p.ip, "-p", strconv.Itoa(p.port),
		"-mi", p.ip, "-mp", strconv.Itoa(freePort(t, "udp")),
		"-m", strconv.Itoa(p.calls), "-l", strconv.Itoa(p.limit), "-r", strconv.Itoa(p.rate),
		"-timeout", strconv.Itoa(int(p.timeout/time.Second)) + "s", "-timeout_error",
		"-nostdin", "-max_socket", "2000", "-trace_err", "-error_file", filepath.Join(dir, "errors.log"),
		"-s", "1000"}
	for k, v := range p.keys {
		args = append(args, "-key", k, v)
	}
	args = append(args, p.args...)
	args = append(args, target)
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout+10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sipp", args...)
	cmd.Dir = dir
	out, _ := cmd.CombinedOutput()
	code := cmd.ProcessState.ExitCode()
	errs, _ := os.ReadFile(filepath.Join(dir, "errors.log"))
	report := fmt.Sprintf("sipp %s: exit %d\n%s\n%s", p.scenario, code, lastLines(string(out), 40), lastLines(string(errs), 40))
	return code, report
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// mustPass runs SIPp and fails the test unless every call passed.
func (p sipp) mustPass(t *testing.T, sw *testSwitch) string {
	t.Helper()
	code, report := p.run(t, sw)
	if code != 0 {
		t.Fatalf("SIPp calls failed:\n%s", report)
	}
	return report
}

// writeUlawWAV writes 8 kHz mu-law mono WAV (format code 7), the input
// SIPp's rtp_stream takes for payload type 0.
func writeUlawWAV(t *testing.T, path string, pcm []int16) {
	t.Helper()
	data := make([]byte, len(pcm))
	g711.EncodeUlaw(data, pcm)
	var b bytes.Buffer
	le := func(v any) { binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	le(uint32(4 + 8 + 18 + 8 + 4 + 8 + len(data)))
	b.WriteString("WAVEfmt ")
	le(uint32(18))
	le(uint16(7))    // WAVE_FORMAT_MULAW
	le(uint16(1))    // mono
	le(uint32(8000)) // sample rate
	le(uint32(8000)) // bytes per second
	le(uint16(1))    // block align
	le(uint16(8))    // bits per sample
	le(uint16(0))    // cbSize
	b.WriteString("fact")
	le(uint32(4))
	le(uint32(len(data)))
	b.WriteString("data")
	le(uint32(len(data)))
	b.Write(data)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// ulawRoundTrip is what a receiver of pcm sent as PCMU decodes.
func ulawRoundTrip(pcm []int16) []int16 {
	enc := make([]byte, len(pcm))
	g711.EncodeUlaw(enc, pcm)
	out := make([]int16, len(pcm))
	g711.DecodeUlaw(out, enc)
	return out
}

// bestCorrelation slides ref over rec for lags 0..maxLag samples and
// returns the highest normalised cross-correlation and its lag.
func bestCorrelation(rec, ref []int16, maxLag int) (float64, int) {
	var refE float64
	for _, v := range ref {
		refE += float64(v) * float64(v)
	}
	best, bestLag := -1.0, 0
	for lag := 0; lag <= maxLag && lag < len(rec); lag++ {
		n := min(len(ref), len(rec)-lag)
		var dot, recE float64
		for i := range n {
			r := float64(rec[lag+i])
			dot += r * float64(ref[i])
			recE += r * r
		}
		if recE == 0 {
			continue
		}
		// Missing tail counts against the match: normalise by the whole reference.
		c := dot / math.Sqrt(recE*refE)
		if c > best {
			best, bestLag = c, lag
		}
	}
	return best, bestLag
}

// rtpSink is the caller's RTP socket, in the test: it records when each
// of our packets arrived.
type rtpSink struct {
	conn *net.UDPConn
	done chan struct{}
	mu   sync.Mutex
	pkts []sinkPacket
	from net.Addr // of the first packet
}

type sinkPacket struct {
	at      time.Time
	hdr     rtp.Header
	pcm     []int16
	payload []byte
}

func newRTPSink(t *testing.T) *rtpSink {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	s := &rtpSink{conn: c, done: make(chan struct{})}
	go s.loop()
	t.Cleanup(s.close)
	return s
}

func (s *rtpSink) port() string { return strconv.Itoa(s.conn.LocalAddr().(*net.UDPAddr).Port) }

func (s *rtpSink) loop() {
	defer close(s.done)
	buf := make([]byte, 1500)
	for {
		n, from, err := s.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		at := time.Now()
		var p rtp.Packet
		if p.Unmarshal(buf[:n]) != nil {
			continue
		}
		pcm := make([]int16, len(p.Payload))
		switch p.PayloadType {
		case 0:
			g711.DecodeUlaw(pcm, p.Payload)
		case 8:
			g711.DecodeAlaw(pcm, p.Payload)
		}
		s.mu.Lock()
		s.pkts = append(s.pkts, sinkPacket{at: at, hdr: p.Header, pcm: pcm, payload: append([]byte(nil), p.Payload...)})
		if s.from == nil {
			s.from = from
		}
		s.mu.Unlock()
	}
}

func (s *rtpSink) close() {
	s.conn.Close()
	<-s.done
}

func (s *rtpSink) packets() []sinkPacket {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sinkPacket(nil), s.pkts...)
}

// waitIdle waits until the switch has no call left.
func waitIdle(t *testing.T, sw *testSwitch, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for sw.ActiveCalls() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d calls still active after %v", sw.ActiveCalls(), within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// starvationProbe measures how late a 10 ms ticker fires in the test
// process: on a machine so loaded that our own timers run late, real-time
// properties (packet pacing, jitter buffer playout) are not measurable.
type starvationProbe struct {
	stop chan struct{}
	done chan time.Duration
}

// starvedAfter is the timer lateness beyond which a timing measurement
// is declared inconclusive.
const starvedAfter = 40 * time.Millisecond

func startProbe() *starvationProbe {
	p := &starvationProbe{stop: make(chan struct{}), done: make(chan time.Duration, 1)}
	go func() {
		var worst time.Duration
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		last := time.Now()
		for {
			select {
			case <-tick.C:
				now := time.Now()
				if late := now.Sub(last) - 10*time.Millisecond; late > worst {
					worst = late
				}
				last = now
			case <-p.stop:
				p.done <- worst
				return
			}
		}
	}()
	return p
}

// worst stops the probe and returns the worst lateness seen.
func (p *starvationProbe) worst() time.Duration {
	close(p.stop)
	return <-p.done
}

// timedAttempts is how many times timed tries a timing check.
const timedAttempts = 3

// timed runs attempt up to timedAttempts times. attempt returns the
// problems it found. Problems on a machine that was not starved fail the
// test at once; when the probe saw starvation the attempt is repeated;
// problems on every attempt fail the test, starved or not: a check that
// never passes is a failure, not a skip.
func timed(t *testing.T, attempt func(t *testing.T) []string) {
	t.Helper()
	for i := 1; ; i++ {
		probe := startProbe()
		problems := attempt(t)
		worst := probe.worst()
		switch timedVerdict(i, problems, worst) {
		case timedPass:
			t.Logf("attempt %d: ok (test timers at most %v late)", i, worst.Round(time.Millisecond))
			return
		case timedRetry:
			t.Logf("attempt %d: machine starved (test timers %v late), retrying; problems: %v", i, worst.Round(time.Millisecond), problems)
		case timedFail:
			if worst > starvedAfter {
				t.Logf("attempt %d of %d, the machine starved (test timers %v late)", i, timedAttempts, worst.Round(time.Millisecond))
			}
			for _, p := range problems {
				t.Error(p)
			}
			return
		}
	}
}

type timedOutcome int

const (
	timedPass timedOutcome = iota
	timedRetry
	timedFail
)

// timedVerdict decides after attempt i (from 1): pass without problems;
// retry problems seen on a starved machine while attempts are left; fail
// otherwise.
func timedVerdict(i int, problems []string, worst time.Duration) timedOutcome {
	switch {
	case len(problems) == 0:
		return timedPass
	case worst > starvedAfter && i < timedAttempts:
		return timedRetry
	default:
		return timedFail
	}
}

func sipTrunk() sip.Trunk { return sip.Trunk{Name: "local", Networks: []string{"127.0.0.0/8"}} }

// exampleConfig is examples/voxdesk.yaml made runnable in a test: the
// switch's test ports, RTP range and trunk, a copy of the flows, a fresh
// customer store, and no demo enrolment when the shared speech is absent.
// Start it with startSwitch(t, exampleConfig(t)).
func exampleConfig(t *testing.T) func(*service.Config) {
	t.Helper()
	example, err := service.LoadConfig(filepath.Join("..", "examples", "voxdesk.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	withoutMissingSpeech(t, example)
	flows := copyDir(t, example.IVR.Dir)
	db := "sqlite:" + filepath.Join(t.TempDir(), "customers.db")
	key := customer.NewKey() // the example has none: make run keeps its own in var/
	return func(c *service.Config) {
		ports, trunks := *c, c.SIP.Trunks
		*c = *example
		c.HTTP, c.Media.RTPPortMin, c.Media.RTPPortMax = ports.HTTP, ports.Media.RTPPortMin, ports.Media.RTPPortMax
		c.SIP.UDP, c.SIP.TCP, c.SIP.Trunks = ports.SIP.UDP, ports.SIP.TCP, trunks
		c.Log.Level = "info"
		c.IVR.Dir = flows
		c.Customer.DSN = db
		c.Customer.Key = key
	}
}
