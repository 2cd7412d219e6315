package bench

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The peer bench's fixed places: the answering side's RTP ports and SIPp's
// media port, outside the ranges voxdesk's tests use (20000-29999) and
// the kernel's ephemeral ports (32768-60999), so the loopback capture
// keeps only this run's RTP.
const (
	peerRTPMin, peerRTPMax = 12000, 13999
	sippMediaPort          = 11000
	peerCPU, sippCPU       = 1, 0 // taskset: the answering side, the load side
)

// BenchmarkPeerLoad puts the same SIPp load on voxdesk's demo handler
// (bench/switchd -handler demo) and on a small answering application
// written on github.com/emiago/diago (bench/diagopeer): each call streams
// speech, hears the welcome prompt, presses 1 and # (SIPp's RFC 4733
// pcaps) and is hung up on by the peer after goodbye. For each size of
// VOXDESK_BENCH_LADDER (concurrent calls, default 50,100,200,500), held
// VOXDESK_BENCH_SECONDS (20) before the keys and set up at
// VOXDESK_BENCH_RATE per second (100), it measures the peer's CPU per
// call-minute and memory per call from /proc and the RTP both ways on the
// loopback wire (RFC 3550 jitter), with the peer pinned to CPU 1 and SIPp
// and the bench to CPU 0. It writes RESULTS-peer.md and peer.svg.
//
// VOXDESK_BENCH_DTMF=trimmed plays the key presses without their
// duration-0 first packet (see trimDTMFPcap), the control for diago's
// DTMF reader, and writes RESULTS-peer-trimmed.md and peer-trimmed.svg.
func BenchmarkPeerLoad(b *testing.B) {
	benchGate(b, "peer load", true, "sipp", "sox", "taskset")
	ladder, err := envInts("VOXDESK_BENCH_LADDER", "50,100,200,500")
	if err != nil {
		b.Fatal(err)
	}
	hold := time.Duration(envInt("VOXDESK_BENCH_SECONDS", 20)) * time.Second
	rate := envInt("VOXDESK_BENCH_RATE", 100)
	if hold < 6*time.Second {
		b.Fatal("VOXDESK_BENCH_SECONDS must leave time for the 4 s welcome prompt: at least 6")
	}
	dir := b.TempDir()
	dtmf1, dtmfHash := "/usr/share/sip-tester/dtmf_2833_1.pcap", "/usr/share/sip-tester/dtmf_2833_pound.pcap"
	suffix, mode := "", cmp.Or(os.Getenv("VOXDESK_BENCH_DTMF"), "sipp")
	switch mode {
	case "sipp":
	case "trimmed":
		suffix = "-trimmed"
		for _, f := range []*string{&dtmf1, &dtmfHash} {
			dst := filepath.Join(dir, filepath.Base(*f))
			if err := trimDTMFPcap(*f, dst); err != nil {
				b.Fatal(err)
			}
			*f = dst
		}
	default:
		b.Fatalf("VOXDESK_BENCH_DTMF=%q: want sipp or trimmed", mode)
	}
	bins := buildPeers(b, dir)
	callerWAV := filepath.Join(dir, "caller.wav")
	prompts, _ := filepath.Glob("../res/prompts/*.wav")
	if out, err := exec.Command("sox", append(prompts, "-r", "8000", "-c", "1", "-e", "u-law", "-b", "8", callerWAV)...).CombinedOutput(); err != nil {
		b.Fatalf("sox: %v\n%s", err, out)
	}
	if err := pinSelf(sippCPU); err != nil {
		b.Fatal(err)
	}
	defer unpinSelf()

	var runs []*peerRun
	for _, n := range ladder {
		for _, peer := range []string{"voxdesk", "diago"} {
			r := runPeer(b, peerParams{peer: peer, bin: bins[peer], dir: dir, calls: n, rate: rate, hold: hold,
				callerWAV: callerWAV, dtmf1: dtmf1, dtmfHash: dtmfHash})
			b.Logf("%s %d calls: %d ok, %d failed, %.3f CPU-s/call-min, jitter out p99 %.2f ms, saw %s",
				peer, n, r.ok, r.failed, r.cpuPerCallMinute, ms(r.out.jitterP99), r.saw)
			runs = append(runs, r)
		}
	}
	cmd := fmt.Sprintf("VOXDESK_BENCH=1 VOXDESK_BENCH_DTMF=%s VOXDESK_BENCH_LADDER=%s VOXDESK_BENCH_SECONDS=%d VOXDESK_BENCH_RATE=%d go test -run '^$' -bench PeerLoad -benchtime 1x -timeout 60m ./bench/",
		mode, joinInts(ladder), int(hold/time.Second), rate)
	md := peerMarkdown(runs, cmd, mode)
	if err := os.WriteFile("RESULTS-peer"+suffix+".md", []byte(md), 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile("peer"+suffix+".svg", []byte(peerPlot(runs)), 0o644); err != nil {
		b.Fatal(err)
	}
	b.Logf("\n%s", md)
}

func envInts(name, def string) ([]int, error) {
	v := os.Getenv(name)
	if v == "" {
		v = def
	}
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 || n > 2000 {
			return nil, fmt.Errorf("%s: %q is not a call count from 1 to 2000", name, f)
		}
		out = append(out, n)
	}
	return out, nil
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

// buildPeers builds switchd and diagopeer (a module of its own: diago
// v0.42.1 needs an older pion/ice than voxdesk's pion/webrtc does).
func buildPeers(b *testing.B, dir string) map[string]string {
	b.Helper()
	bins := map[string]string{"voxdesk": filepath.Join(dir, "switchd"), "diago": filepath.Join(dir, "diagopeer")}
	for _, build := range []struct{ bin, pkgDir string }{{bins["voxdesk"], "./switchd"}, {bins["diago"], "."}} {
		cmd := exec.Command("go", "build", "-o", build.bin, build.pkgDir)
		if build.pkgDir == "." {
			cmd.Dir = "diagopeer"
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("build %s: %v\n%s", build.bin, err, out)
		}
	}
	return bins
}

type peerParams struct {
	peer, bin, dir string
	calls, rate    int
	hold           time.Duration
	callerWAV      string
	dtmf1          string // pcaps of the key presses 1 and #
	dtmfHash       string
}

// peerRun is one peer under one load.
type peerRun struct {
	peerParams
	started               time.Time
	elapsed               time.Duration
	loadBefore, loadAfter string
	ok, failed            int
	endedByPeer           int    // calls the peer hung up after '#'
	endedByCaller         int    // calls SIPp hung up: the peer missed the '#'
	saw                   string // what the peer says it received
	concealed             int    // voxdesk: caller frames concealed
	sippCPU               time.Duration
	busy                  []float64 // each CPU's busy share during the run, whoever ran
	loadCost
	dtmfPkts     int // telephone-event packets seen going to the peer
	captureDrops int
}

func runPeer(b *testing.B, p peerParams) *peerRun {
	b.Helper()
	rdir := filepath.Join(p.dir, fmt.Sprintf("%s-%d", p.peer, p.calls))
	os.MkdirAll(rdir, 0o755)
	sipPort := freeUDPPort(b)
	httpPort := freeTCPPort(b)
	// Both peers wait long enough for a '#' that a missed one always ends
	// with SIPp's own BYE (8 s after the '#').
	idle := (p.hold + 30*time.Second).String()
	var cmd *exec.Cmd
	switch p.peer {
	case "voxdesk":
		cfg := switchConfig(fmt.Sprintf("127.0.0.1:%d", httpPort), sipPort, peerRTPMin, peerRTPMax, "demo: {idle_timeout: "+idle+"}\n")
		cfgFile := filepath.Join(rdir, "voxdesk.yaml")
		os.WriteFile(cfgFile, []byte(cfg), 0o644)
		cmd = pinned(peerCPU, p.bin, "-config", cfgFile, "-handler", "demo")
	case "diago":
		abs, _ := filepath.Abs("../res/prompts")
		cmd = pinned(peerCPU, p.bin, "-listen", "127.0.0.1:"+strconv.Itoa(sipPort),
			"-rtp-ports", fmt.Sprintf("%d-%d", peerRTPMin, peerRTPMax),
			"-welcome", filepath.Join(abs, "welcome.wav"), "-goodbye", filepath.Join(abs, "goodbye.wav"), "-idle", idle)
	default:
		b.Fatalf("unknown peer %q", p.peer)
	}
	var stdout strings.Builder
	logFile, _ := os.Create(filepath.Join(rdir, "peer.log"))
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = &stdout, logFile
	peer := startDaemon(b, cmd)
	stopped := false
	defer func() {
		if !stopped {
			peer.stop()
		}
	}()
	waitOptions(b, sipPort)

	scen, _ := os.ReadFile("testdata/peer.xml")
	scenFile := filepath.Join(rdir, "peer.xml")
	os.WriteFile(scenFile, []byte(strings.NewReplacer("{{WAV}}", p.callerWAV, "{{HOLD_MS}}", strconv.Itoa(int(p.hold/time.Millisecond)),
		"{{BYE_WAIT_MS}}", "8000", "{{DTMF_1}}", p.dtmf1, "{{DTMF_HASH}}", p.dtmfHash).Replace(string(scen))), 0o644)
	inRange := func(port uint16) bool { return port >= peerRTPMin && port <= peerRTPMax }
	capture, err := startLoCapture(func(src, dst uint16) bool { return inRange(src) || inRange(dst) })
	if err != nil {
		b.Fatal(err)
	}

	r := &peerRun{peerParams: p}
	r.rssIdle = procRSS(peer.pid())
	rss := watchRSS(peer.pid())
	cpu0, times0 := procCPU(peer.pid()), readCPUTimes()
	r.loadBefore, r.started = loadavg(), time.Now()
	timeout := p.hold + time.Duration(p.calls/p.rate)*time.Second + 60*time.Second
	ctx, cancel := context.WithTimeout(context.Background(), timeout+30*time.Second)
	defer cancel()
	logPath := filepath.Join(rdir, "sipp_logs.log")
	sipp := exec.CommandContext(ctx, "taskset", "-c", strconv.Itoa(sippCPU), "sipp", "-sf", scenFile, "-t", "un",
		"-i", "127.0.0.1", "-p", strconv.Itoa(freeUDPPort(b)), "-mp", strconv.Itoa(sippMediaPort),
		"-m", strconv.Itoa(p.calls), "-l", strconv.Itoa(p.calls), "-r", strconv.Itoa(p.rate),
		"-timeout", strconv.Itoa(int(timeout/time.Second))+"s", "-timeout_error", "-nostdin", "-max_socket", "1000",
		"-trace_logs", "-log_file", logPath, "-trace_err", "-error_file", filepath.Join(rdir, "sipp_errors.log"),
		"127.0.0.1:"+strconv.Itoa(sipPort))
	sipp.Dir = rdir
	out, _ := sipp.CombinedOutput()
	r.elapsed = time.Since(r.started)
	r.cpu = procCPU(peer.pid()) - cpu0
	r.busy = busyShare(times0, readCPUTimes())
	r.loadAfter = loadavg()
	r.rssPeak = rss.close()
	if sipp.ProcessState != nil {
		r.sippCPU = sipp.ProcessState.UserTime() + sipp.ProcessState.SystemTime()
	}
	streams, other, drops := capture.close()
	r.captureDrops, r.dtmfPkts = drops, other[101]
	r.ok, r.failed = sippCounts(string(out))
	if r.ok+r.failed == 0 {
		b.Fatalf("%s: could not read SIPp's call counts:\n%s", p.peer, out)
	}
	logs, _ := os.ReadFile(logPath)
	r.endedByPeer = strings.Count(string(logs), "ended-by-peer")
	r.endedByCaller = strings.Count(string(logs), "ended-by-caller")

	if p.peer == "voxdesk" {
		r.concealed = int(scrape(fmt.Sprintf("http://127.0.0.1:%d/metrics", httpPort))["voxdesk_rtp_concealed_frames_total"])
	}
	peer.stop()
	stopped = true
	// Both peers print their counters as JSON on exit.
	var c struct {
		Digits     map[string]int `json:"digits"`
		FirstError string         `json:"first_error"`
	}
	if err := json.Unmarshal([]byte(stdout.String()), &c); err != nil {
		b.Fatalf("%s's counters: %v: %q", p.peer, err, stdout.String())
	}
	keys := slices.Sorted(maps.Keys(c.Digits))
	r.saw = "digits:"
	if len(keys) == 0 {
		r.saw += " none"
	}
	for _, k := range keys {
		r.saw += fmt.Sprintf(" %s x%d", k, c.Digits[k])
	}
	if c.FirstError != "" {
		r.saw += " (first error: " + c.FirstError + ")"
	}
	r.account(streams, p.calls)
	return r
}

var metricLine = regexp.MustCompile(`(?m)^(voxdesk_[a-z_]+(?:\{[^}]*\})?) ([0-9.e+-]+)$`)

// scrape reads a Prometheus text page into name -> value.
func scrape(url string) map[string]float64 {
	m := map[string]float64{}
	resp, err := http.Get(url)
	if err != nil {
		return m
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, sm := range metricLine.FindAllStringSubmatch(string(body), -1) {
		v, _ := strconv.ParseFloat(sm[2], 64)
		m[sm[1]] = v
	}
	return m
}

func peerMarkdown(runs []*peerRun, cmd, mode string) string {
	keys := "SIPp's bundled pcaps in /usr/share/sip-tester, whose first packet has duration 0"
	if mode == "trimmed" {
		keys = "SIPp's pcaps with the duration-0 first packet trimmed and the marker on the next (VOXDESK_BENCH_DTMF=trimmed)"
	}
	var s strings.Builder
	fmt.Fprintf(&s, "# Peer bench: voxdesk's demo handler and a diago application under the same SIPp load (bench/peer_test.go)\n\n")
	if len(runs) > 0 {
		fmt.Fprintf(&s, "Run %s; `%s`\n\n", runs[0].started.UTC().Format(time.RFC3339), cmd)
	}
	fmt.Fprintf(&s, "Machine: %d CPUs, shared with other work. The answering side runs alone on CPU %d (taskset), SIPp and the bench's loopback capture on CPU %d; "+
		"\"CPU busy\" is each core's busy share during the run whoever ran, so a core near 100 %% says whose CPU ran out. "+
		"Each call: SIPp streams espeak speech (res/prompts, mu-law), the peer plays its welcome prompt (4.1 s), after the hold SIPp sends 1 then # "+
		"(RFC 4733: %s), the peer plays goodbye and hangs up; a peer that missed the # is hung up on by SIPp 8 s later. "+
		"Jitter is RFC 3550 interarrival jitter per stream, p50/p99 over streams, computed from kernel timestamps of the packets crossing lo (sender's pacing as any receiver would see it on a perfect network). "+
		"voxdesk sends RTP all call long (silence between prompts), the diago peer only while a prompt plays, so the CPU per RTP packet is given too; "+
		"CPU per call-minute divides the peer's CPU time during the run by the call-minutes of SIPp's RTP on the wire (ACK to BYE).\n\n",
		numCPU(), peerCPU, sippCPU, keys)
	fmt.Fprintf(&s, "| calls | peer | load avg before / after | ok / failed | hung up by peer / by SIPp | RFC 4733 packets sent to the peer | what the peer saw | peer CPU-s per call-min | peer CPU s (cores) | SIPp CPU s | CPU0 / CPU1 busy | RSS idle / peak, per call | jitter peer->caller p50 / p99 | jitter caller->peer p50 / p99 | peer packets missing | longest peer gap | capture drops |\n")
	fmt.Fprintf(&s, "|%s\n", strings.Repeat(" --- |", 17))
	for _, r := range runs {
		busy := make([]string, len(r.busy))
		for i, v := range r.busy {
			busy[i] = fmt.Sprintf("%.0f %%", 100*v)
		}
		saw := r.saw
		if r.peer == "voxdesk" {
			saw += fmt.Sprintf(", %d frames concealed", r.concealed)
		}
		fmt.Fprintf(&s, "| %d | %s | %s / %s | %d / %d | %d / %d | %d | %s | %.4f | %.1f (%.2f) | %.1f | %s | %.1f / %.1f MB, %.0f KB | %.2f / %.2f ms | %.2f / %.2f ms | %d of %d | %.0f ms | %d |\n",
			r.calls, r.peer, r.loadBefore, r.loadAfter, r.ok, r.failed, r.endedByPeer, r.endedByCaller, r.dtmfPkts, saw, r.cpuPerCallMinute,
			r.cpu.Seconds(), r.cpu.Seconds()/r.elapsed.Seconds(), r.sippCPU.Seconds(), strings.Join(busy, " / "),
			float64(r.rssIdle)/1e6, float64(r.rssPeak)/1e6, r.memPerCall/1e3,
			ms(r.out.jitterP50), ms(r.out.jitterP99), ms(r.in.jitterP50), ms(r.in.jitterP99),
			r.out.pktsExpected-r.out.pktsIn, r.out.pktsExpected, ms(r.out.maxGap), r.captureDrops)
	}
	fmt.Fprintf(&s, "\nSide by side (ratio = voxdesk / diago; below 1 means voxdesk uses less):\n\n")
	fmt.Fprintf(&s, "| calls | CPU-s per call-min voxdesk / diago (ratio) | RTP packets sent by the peer voxdesk / diago | peer CPU per RTP packet in or out voxdesk / diago (ratio) | memory per call voxdesk / diago (ratio) | p99 jitter peer->caller voxdesk / diago |\n|%s\n", strings.Repeat(" --- |", 6))
	for i := 0; i+1 < len(runs); i += 2 {
		v, d := runs[i], runs[i+1]
		fmt.Fprintf(&s, "| %d | %.4f / %.4f (%.2f) | %d / %d | %.1f / %.1f us (%.2f) | %.0f / %.0f KB (%.2f) | %.2f / %.2f ms |\n", v.calls,
			v.cpuPerCallMinute, d.cpuPerCallMinute, ratio(v.cpuPerCallMinute, d.cpuPerCallMinute),
			v.out.pktsIn, d.out.pktsIn, v.perPacket()*1e6, d.perPacket()*1e6, ratio(v.perPacket(), d.perPacket()),
			v.memPerCall/1e3, d.memPerCall/1e3, ratio(v.memPerCall, d.memPerCall), ms(v.out.jitterP99), ms(d.out.jitterP99))
	}
	return s.String()
}

// perPacket is the peer's CPU seconds per RTP packet it received or sent.
func (r *peerRun) perPacket() float64 {
	return r.cpu.Seconds() / math.Max(1, float64(r.out.pktsIn+r.in.pktsIn))
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return a / b
}
