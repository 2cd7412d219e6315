package bench

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/voxdesk/voxdesk/media/g711"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkSIPLoad places N concurrent calls for T seconds with RTP both
// ways and writes bench/RESULTS-sip.md. VOXDESK_BENCH_CALLS (500),
// VOXDESK_BENCH_SECONDS (30) and VOXDESK_BENCH_RATE (calls set up per
// second, 100) size it. It runs once whatever b.N is.
func BenchmarkSIPLoad(b *testing.B) {
	if os.Getenv("VOXDESK_BENCH") != "1" {
		b.Skip("set VOXDESK_BENCH=1 to run the SIP load bench")
	}
	if _, err := exec.LookPath("sipp"); err != nil {
		b.Skip("sipp not installed (Debian sip-tester)")
	}
	res := runLoad(b, loadParams{
		calls:   envInt("VOXDESK_BENCH_CALLS", 500),
		hold:    time.Duration(envInt("VOXDESK_BENCH_SECONDS", 30)) * time.Second,
		rate:    envInt("VOXDESK_BENCH_RATE", 100),
		handler: "echo",
	})
	b.ReportMetric(res.cpuPerCallMinute, "cpu-s/call-min")
	b.ReportMetric(res.jitterP99.Seconds()*1000, "p99-jitter-ms")
	b.ReportMetric(float64(res.failed), "failed-calls")
	if err := res.write("RESULTS-sip.md"); err != nil {
		b.Fatal(err)
	}
	b.Logf("\n%s", res.markdown())
}

type loadParams struct {
	calls   int
	hold    time.Duration
	rate    int
	handler string
}

type loadResult struct {
	loadParams
	started, finished     time.Time
	loadBefore, loadAfter string
	ok, failed            int
	cpu                   time.Duration // switch process, during the run
	cpuPerCallMinute      float64
	rssIdle, rssPeak      int64 // bytes
	memPerCall            float64
	rtpStats                            // our RTP at the receivers
	probeP99, probeMax    time.Duration // lateness of the bench's own 10 ms timer
	benchCPU              time.Duration // the bench process itself (receivers and senders)
}

// callRTP is one call's RTP endpoint on the bench side.
type callRTP struct {
	conn   *net.UDPConn
	remote atomic.Pointer[netip.AddrPort]
	rtpTrace
	done chan struct{}
}

func runLoad(b *testing.B, p loadParams) *loadResult {
	b.Helper()
	dir := b.TempDir()
	bin := filepath.Join(dir, "switchd")
	if out, err := exec.Command("go", "build", "-o", bin, "./switchd").CombinedOutput(); err != nil {
		b.Fatalf("build switchd: %v\n%s", err, out)
	}
	sipPort := freeUDPPort(b)
	cfg := switchConfig("off", sipPort, 20000, 29999)
	cfgFile := filepath.Join(dir, "voxdesk.yaml")
	os.WriteFile(cfgFile, []byte(cfg), 0o644)
	logFile, _ := os.Create(filepath.Join(dir, "switch.log"))
	defer logFile.Close()
	swCmd := exec.Command(bin, "-config", cfgFile, "-handler", p.handler)
	swCmd.Stdout, swCmd.Stderr = logFile, logFile
	sw := startDaemon(b, swCmd)
	defer sw.stop()
	waitOptions(b, sipPort)

	// The callers' RTP sockets.
	calls := make([]*callRTP, p.calls)
	var inf strings.Builder
	inf.WriteString("SEQUENTIAL\n")
	perCall := int(p.hold/(20*time.Millisecond)) + 200
	for i := range calls {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			b.Fatal(err)
		}
		c.SetReadBuffer(1 << 16)
		calls[i] = &callRTP{conn: c, done: make(chan struct{}), rtpTrace: rtpTrace{
			arrival: make([]time.Duration, 0, perCall), rtpTS: make([]uint32, 0, perCall), seq: make([]uint16, 0, perCall)}}
		fmt.Fprintf(&inf, "%d;\n", c.LocalAddr().(*net.UDPAddr).Port)
	}
	infFile := filepath.Join(dir, "calls.csv")
	os.WriteFile(infFile, []byte(inf.String()), 0o644)

	res := &loadResult{loadParams: p}
	res.rssIdle = procRSS(sw.pid())
	cpu0 := procCPU(sw.pid())
	self0 := procCPU(os.Getpid())
	res.loadBefore = loadavg()
	start := time.Now()
	res.started = start
	for _, c := range calls {
		go c.receive(start)
	}
	stopSend := make(chan struct{})
	var sendWG sync.WaitGroup
	sendWG.Add(1)
	go func() { defer sendWG.Done(); sendLoop(calls, stopSend) }()
	var lateness []time.Duration
	stopPoll := make(chan struct{})
	var pollWG sync.WaitGroup
	pollWG.Add(1)
	go func() {
		// How late our own timers fire: the receivers' share of the
		// measured jitter is at most this.
		defer pollWG.Done()
		last := time.Now()
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				now := time.Now()
				lateness = append(lateness, max(0, now.Sub(last)-10*time.Millisecond))
				last = now
			case <-stopPoll:
				return
			}
		}
	}()
	peak := watchRSS(sw.pid())

	scen, _ := os.ReadFile("testdata/load.xml")
	scenFile := filepath.Join(dir, "load.xml")
	os.WriteFile(scenFile, []byte(strings.ReplaceAll(string(scen), "{{HOLD_MS}}", strconv.Itoa(int(p.hold/time.Millisecond)))), 0o644)
	timeout := p.hold + time.Duration(p.calls/p.rate)*time.Second + 60*time.Second
	ctx, cancel := context.WithTimeout(context.Background(), timeout+30*time.Second)
	defer cancel()
	sippCmd := exec.CommandContext(ctx, "sipp", "-sf", scenFile, "-inf", infFile, "-t", "un",
		"-i", "127.0.0.1", "-p", strconv.Itoa(freeUDPPort(b)),
		"-m", strconv.Itoa(p.calls), "-l", strconv.Itoa(p.calls), "-r", strconv.Itoa(p.rate),
		"-timeout", strconv.Itoa(int(timeout/time.Second))+"s", "-timeout_error", "-nostdin",
		"-max_socket", "1000", "-trace_err", "-error_file", filepath.Join(dir, "sipp_errors.log"),
		"-s", "1000", "127.0.0.1:"+strconv.Itoa(sipPort))
	sippCmd.Dir = dir
	out, _ := sippCmd.CombinedOutput()
	res.finished = time.Now()
	res.cpu = procCPU(sw.pid()) - cpu0
	res.benchCPU = procCPU(os.Getpid()) - self0
	res.loadAfter = loadavg()
	close(stopPoll)
	pollWG.Wait()
	close(stopSend)
	sendWG.Wait()
	for _, c := range calls {
		c.conn.Close()
		<-c.done
	}
	res.rssPeak = peak.close()
	res.probeP99, res.probeMax = quantile(lateness, 0.99), quantile(lateness, 1)
	res.ok, res.failed = sippCounts(string(out))
	if res.ok+res.failed == 0 {
		b.Fatalf("could not read SIPp's call counts:\n%s", out)
	}
	res.summarise(calls)
	return res
}

func (c *callRTP) receive(start time.Time) {
	defer close(c.done)
	buf := make([]byte, 1500)
	var p rtp.Packet
	for {
		n, from, err := c.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		at := time.Since(start)
		if p.Unmarshal(buf[:n]) != nil || p.PayloadType != 0 {
			continue
		}
		if c.remote.Load() == nil {
			c.remote.Store(&from)
		}
		c.add(at, p.Timestamp, p.SequenceNumber)
	}
}

// sendLoop sends each caller's audio (a 400 Hz tone, PCMU) every 20 ms
// to the switch's RTP address, once the switch's first packet told it.
func sendLoop(calls []*callRTP, stop <-chan struct{}) {
	var pcm [160]int16
	frames := make([][]byte, 10) // 200 ms of tone, repeated
	for f := range frames {
		for i := range pcm {
			pcm[i] = int16(8000 * math.Sin(2*math.Pi*400*float64(f*160+i)/8000))
		}
		frames[f] = make([]byte, 160)
		g711.EncodeUlaw(frames[f], pcm[:])
	}
	type state struct {
		seq uint16
		ts  uint32
	}
	st := make([]state, len(calls))
	buf := make([]byte, 12+160)
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for k := 0; ; k++ {
		select {
		case <-stop:
			return
		case <-timer.C:
		}
		for i, c := range calls {
			to := c.remote.Load()
			if to == nil {
				continue
			}
			h := rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: st[i].seq, Timestamp: st[i].ts, SSRC: uint32(0x10000 + i), Marker: st[i].seq == 0}
			n, _ := h.MarshalTo(buf)
			copy(buf[n:], frames[k%len(frames)])
			c.conn.WriteToUDPAddrPort(buf[:n+160], *to)
			st[i].seq++
			st[i].ts += 160
		}
		timer.Reset(time.Until(start.Add(time.Duration(k+1) * 20 * time.Millisecond)))
	}
}

func (r *loadResult) summarise(calls []*callRTP) {
	traces := make([]*rtpTrace, len(calls))
	for i, c := range calls {
		traces[i] = &c.rtpTrace
	}
	r.rtpStats = summariseRTP(traces)
	callMinutes := float64(r.ok) * r.hold.Minutes()
	if callMinutes > 0 {
		r.cpuPerCallMinute = r.cpu.Seconds() / callMinutes
	}
	if r.calls > 0 {
		r.memPerCall = float64(r.rssPeak-r.rssIdle) / float64(r.calls)
	}
}

func (r *loadResult) markdown() string {
	var s strings.Builder
	fmt.Fprintf(&s, "# SIP load bench (bench/sip_test.go)\n\n")
	fmt.Fprintf(&s, "Run %s, %.0f s; `VOXDESK_BENCH=1 VOXDESK_BENCH_CALLS=%d VOXDESK_BENCH_SECONDS=%d VOXDESK_BENCH_RATE=%d go test -run '^$' -bench SIPLoad -benchtime 1x ./bench/`\n\n",
		r.started.UTC().Format(time.RFC3339), r.finished.Sub(r.started).Seconds(), r.calls, int(r.hold/time.Second), r.rate)
	fmt.Fprintf(&s, "Machine: %d CPUs, load average before %s, after %s (shared with other work: see below).\n", numCPU(), r.loadBefore, r.loadAfter)
	fmt.Fprintf(&s, "Switch: bench/switchd (the service package, `%s` handler: every caller frame goes through the jitter buffer and back out through the paced sender), own process; SIPp does signalling only; the bench process sends each caller's RTP (PCMU, 50 packets/s) and receives ours.\n\n", r.handler)
	fmt.Fprintf(&s, "| measure | value |\n| --- | --- |\n")
	fmt.Fprintf(&s, "| concurrent calls | %d, each held %v, set up at %d/s |\n", r.calls, r.hold, r.rate)
	fmt.Fprintf(&s, "| calls completed / failed (SIPp) | %d / %d |\n", r.ok, r.failed)
	fmt.Fprintf(&s, "| calls with our RTP at the receiver | %d |\n", r.callsWithRTP)
	fmt.Fprintf(&s, "| switch CPU | %.1f s, %.3f CPU-s per call-minute |\n", r.cpu.Seconds(), r.cpuPerCallMinute)
	fmt.Fprintf(&s, "| switch RSS idle / peak | %.1f / %.1f MB, %.1f KB per call |\n", float64(r.rssIdle)/1e6, float64(r.rssPeak)/1e6, r.memPerCall/1e3)
	fmt.Fprintf(&s, "| our RTP received / expected (by sequence) | %d / %d (%.3f%% missing) |\n", r.pktsIn, r.pktsExpected, 100*float64(r.pktsExpected-r.pktsIn)/math.Max(1, float64(r.pktsExpected)))
	fmt.Fprintf(&s, "| our packets per call-second at the receiver (50 when no tick is skipped) | %.2f |\n", float64(r.intervals)/math.Max(1e-9, r.rtpSeconds))
	fmt.Fprintf(&s, "| inter-arrival deviation from 20 ms, p50 / p99 | %.2f / %.2f ms |\n", ms(r.devP50), ms(r.devP99))
	fmt.Fprintf(&s, "| RFC 3550 interarrival jitter per call, p50 / p99 | %.2f / %.2f ms |\n", ms(r.jitterP50), ms(r.jitterP99))
	fmt.Fprintf(&s, "| longest gap between two of our packets | %.1f ms |\n", ms(r.maxGap))
	fmt.Fprintf(&s, "| bench process CPU (RTP senders and receivers) | %.1f s |\n", r.benchCPU.Seconds())
	fmt.Fprintf(&s, "| bench process's own 10 ms timer late by, p99 / max | %.2f / %.1f ms |\n", ms(r.probeP99), ms(r.probeMax))
	target := "met"
	if r.failed > 0 || r.calls < 500 || r.jitterP99 >= 5*time.Millisecond {
		target = "not met"
	}
	fmt.Fprintf(&s, "\nTarget (500 calls on 2 cores, none lost, p99 jitter < 5 ms, taken as the RFC 3550 jitter): %s in this run.\n", target)
	fmt.Fprintf(&s, "The receivers run in the bench process on the same 2 cores as the switch, SIPp and whatever else the machine runs; "+
		"when the bench's own timer is late, the inter-arrival figures include that scheduling delay, not only the switch's.\n")
	return s.String()
}

func (r *loadResult) write(path string) error { return os.WriteFile(path, []byte(r.markdown()), 0o644) }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

var sippCount = regexp.MustCompile(`(Successful|Failed) call\s*\|\s*\d+\s*\|\s*(\d+)`)

func sippCounts(out string) (ok, failed int) {
	for _, m := range sippCount.FindAllStringSubmatch(out, -1) {
		n, _ := strconv.Atoi(m[2])
		if m[1] == "Successful" {
			ok = n
		} else {
			failed = n
		}
	}
	return ok, failed
}

func freeUDPPort(b testing.TB) int {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// switchConfig is a voxdesk.yaml for bench/switchd on 127.0.0.1: SIP on
// sipPort (UDP, any caller from 127.0.0.0/8), RTP on the given ports,
// HTTP (/metrics) on httpListen or "off", and extra lines appended.
func switchConfig(httpListen string, sipPort, rtpMin, rtpMax int, extra ...string) string {
	return fmt.Sprintf(`log: {level: warn}
http: {listen: %q}
sip:
  udp: 127.0.0.1:%d
  tcp: "off"
  trunks: [{name: bench, networks: [127.0.0.0/8], trusted: true}]  # the load comes from one address: no per-source rate limit
media: {rtp_addr: 127.0.0.1, rtp_port_min: %d, rtp_port_max: %d, rtp_timeout: -1s}  # load.xml callers send no RTP
`, httpListen, sipPort, rtpMin, rtpMax) + strings.Join(extra, "\n")
}

func freeTCPPort(b *testing.B) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitOptions pings a SIP UA with OPTIONS until it answers, whatever the
// status (the diago peer has no OPTIONS handler).
func waitOptions(b *testing.B, port int) {
	c, err := net.Dial("udp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 2048)
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; time.Now().Before(deadline); i++ {
		req := fmt.Sprintf("OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-ready%d\r\nFrom: <sip:bench@127.0.0.1>;tag=b\r\n"+
			"To: <sip:127.0.0.1>\r\nCall-ID: ready-%d\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n", c.LocalAddr(), i, i)
		c.Write([]byte(req))
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		n, err := c.Read(buf)
		if err == nil && strings.HasPrefix(string(buf[:n]), "SIP/2.0 ") {
			return
		}
		if err != nil {
			time.Sleep(50 * time.Millisecond) // not listening yet
		}
	}
	b.Fatal("switch did not answer OPTIONS")
}

// procCPU is a process's user+system CPU time from /proc/PID/stat.
func procCPU(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	// fields[11], fields[12] are utime and stime (fields 14 and 15 of stat), in clock ticks of 1/100 s.
	ut, _ := strconv.ParseInt(fields[11], 10, 64)
	st, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// procRSS is a process's resident set size from /proc/PID/status.
func procRSS(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			kb, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func loadavg() string {
	data, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func numCPU() int {
	data, _ := os.ReadFile("/proc/cpuinfo")
	return strings.Count(string(data), "processor\t:")
}
