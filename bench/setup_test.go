package bench

import (
	"cmp"
	"context"
	"encoding/csv"
	"fmt"
	"maps"
	"math"
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

// BenchmarkSetupRate finds the highest call set-up rate voxdesk's demo
// handler (bench/switchd -handler demo, alone on CPU 1) sustains with
// fewer than 0.1 % of calls failed. For each rate of VOXDESK_BENCH_RATES
// (calls per second, default 100,200,300,400,500), SIPp on CPU 0 places
// rate x VOXDESK_BENCH_SECONDS (10) short calls (testdata/setup.xml:
// INVITE, 200, ACK, VOXDESK_BENCH_HOLD_MS (1000) of call, BYE); a call
// fails when SIPp sees an unexpected answer (a 503, say) or no answer
// within 5 s of retransmissions. The ladder stops after the first rate
// with 0.1 % or more failed. The figure is the highest rate reached (200
// OKs per second: SIPp on a loaded core may fall short of the rate
// asked) by a rate that passed. It reports per rate: calls offered and
// failed, the rate reached, the INVITE's response
// time p50/p99, the switch's CPU per call set up, and the switch's CPU
// profile over the whole ladder (pprof top), into RESULTS-setup.md.
func BenchmarkSetupRate(b *testing.B) {
	benchGate(b, "set-up rate", true, "sipp", "taskset")
	rates, err := envInts("VOXDESK_BENCH_RATES", "100,200,300,400,500")
	if err != nil {
		b.Fatal(err)
	}
	secs := envInt("VOXDESK_BENCH_SECONDS", 10)
	hold := time.Duration(envInt("VOXDESK_BENCH_HOLD_MS", 1000)) * time.Millisecond
	dir := b.TempDir()
	bin := filepath.Join(dir, "switchd")
	if out, err := exec.Command("go", "build", "-o", bin, "./switchd").CombinedOutput(); err != nil {
		b.Fatalf("build switchd: %v\n%s", err, out)
	}
	sipPort, httpPort := freeUDPPort(b), freeTCPPort(b)
	cfgFile := filepath.Join(dir, "voxdesk.yaml")
	cfg := switchConfig(fmt.Sprintf("127.0.0.1:%d", httpPort), sipPort, setupRTPMin, setupRTPMax)
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		b.Fatal(err)
	}
	prof := filepath.Join(dir, "switchd.prof")
	cmd := pinned(peerCPU, bin, "-config", cfgFile, "-handler", "demo", "-cpuprofile", prof)
	logFile, err := os.Create(filepath.Join(dir, "switchd.log"))
	if err != nil {
		b.Fatal(err)
	}
	defer logFile.Close()
	cmd.Stderr = logFile
	sw := startDaemon(b, cmd)
	stopped := false
	defer func() {
		if !stopped {
			sw.stop()
		}
	}()
	waitOptions(b, sipPort)
	if err := pinSelf(sippCPU); err != nil {
		b.Fatal(err)
	}
	defer unpinSelf()
	metricsURL := fmt.Sprintf("http://127.0.0.1:%d/metrics", httpPort)
	scen, err := os.ReadFile("testdata/setup.xml")
	if err != nil {
		b.Fatal(err)
	}
	scenFile := filepath.Join(dir, "setup.xml")
	if err := os.WriteFile(scenFile, []byte(strings.ReplaceAll(string(scen), "{{HOLD_MS}}", strconv.Itoa(int(hold/time.Millisecond)))), 0o644); err != nil {
		b.Fatal(err)
	}
	rssIdle := procRSS(sw.pid())
	var steps []*setupStep
	for _, rate := range rates {
		st := runSetupStep(b, setupParams{rate: rate, calls: rate * secs, hold: hold, dir: dir, scen: scenFile, sipPort: sipPort, pid: sw.pid()})
		waitIdle(metricsURL, 30*time.Second)
		b.Logf("%d calls/s: %d offered, %d failed, reached %.0f/s, INVITE->200 p50/p99 %.1f/%.1f ms, %.2f CPU-ms per call",
			rate, st.ok+st.failed, st.failed, st.reached, ms(st.rttP50), ms(st.rttP99), st.cpuPerCall()*1e3)
		steps = append(steps, st)
		if !st.passed() {
			break
		}
	}
	sw.stop()
	stopped = true
	top := pprofTop(b, bin, prof, "-nodecount", "30")
	// Where the SIP side's share of it goes (sip/ and sipgo, with callees).
	sipTop := pprofTop(b, bin, prof, "-cum", "-nodecount", "25", "-focus", `github\.com/(voxdesk/voxdesk/sip|emiago/sipgo)`)
	keep := filepath.Join(os.TempDir(), "voxdesk-setup-rate")
	if err := os.MkdirAll(keep, 0o755); err == nil {
		for _, f := range []string{bin, prof} {
			if data, err := os.ReadFile(f); err == nil {
				_ = os.WriteFile(filepath.Join(keep, filepath.Base(f)), data, 0o755)
			}
		}
		for _, st := range steps {
			if data, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("rate-%d", st.rate), "sipp_errors.log")); err == nil {
				_ = os.WriteFile(filepath.Join(keep, fmt.Sprintf("sipp_errors-%d.log", st.rate)), data, 0o644)
			}
		}
		b.Logf("profile and SIPp error logs kept in %s: go tool pprof %s %s", keep, filepath.Join(keep, "switchd"), filepath.Join(keep, "switchd.prof"))
	}
	cmdLine := fmt.Sprintf("VOXDESK_BENCH=1 VOXDESK_BENCH_RATES=%s VOXDESK_BENCH_SECONDS=%d VOXDESK_BENCH_HOLD_MS=%d go test -run '^$' -bench SetupRate -benchtime 1x -timeout 20m ./bench/",
		joinInts(rates), secs, int(hold/time.Millisecond))
	md := setupMarkdown(steps, cmdLine, rssIdle, top, sipTop)
	if err := os.WriteFile("RESULTS-setup.md", []byte(md), 0o644); err != nil {
		b.Fatal(err)
	}
	if best := bestSetupStep(steps); best != nil {
		b.ReportMetric(best.reached, "calls/s")
	}
	b.Logf("\n%s", md)
}

// The set-up bench's RTP ports: 4,000 calls' RTP and RTCP pairs, so that
// calls piling up while set-up lags (a few seconds at a rate too high)
// do not run the range out (503 "No media port available"). Below the
// ranges of voxdesk's tests (20000-29999) and the kernel's ephemeral
// ports; no capture runs in this bench.
const setupRTPMin, setupRTPMax = 12000, 19999

type setupParams struct {
	rate, calls int
	hold        time.Duration
	dir, scen   string
	sipPort     int
	pid         int // the switch's
}

// setupStep is one rate of the ladder.
type setupStep struct {
	setupParams
	started               time.Time
	elapsed               time.Duration
	loadBefore, loadAfter string
	ok, failed            int
	reached               float64 // 200 OKs per second over the step
	rttP50, rttP99        time.Duration
	cpu, sippCPU          time.Duration
	busy                  []float64
	rssPeak               int64
	errors                []string // SIPp's error log, by kind: "count x event"
}

// maxFailedShare is the failure budget of a rate: under 0.1 % of calls.
const maxFailedShare = 0.001

func (s *setupStep) passed() bool {
	n := s.ok + s.failed
	return n > 0 && float64(s.failed) < maxFailedShare*float64(n)
}

func (s *setupStep) cpuPerCall() float64 {
	return s.cpu.Seconds() / float64(max(1, s.ok+s.failed))
}

// bestSetupStep is the step that passed at the highest rate reached; nil
// if none passed.
func bestSetupStep(steps []*setupStep) *setupStep {
	var best *setupStep
	for _, s := range steps {
		if s.passed() && (best == nil || s.reached > best.reached) {
			best = s
		}
	}
	return best
}

func runSetupStep(b *testing.B, p setupParams) *setupStep {
	b.Helper()
	st := &setupStep{setupParams: p}
	rdir := filepath.Join(p.dir, fmt.Sprintf("rate-%d", p.rate))
	if err := os.MkdirAll(rdir, 0o755); err != nil {
		b.Fatal(err)
	}
	ramp := time.Duration(p.calls) * time.Second / time.Duration(p.rate)
	ctx, cancel := context.WithTimeout(context.Background(), ramp+p.hold+2*time.Minute)
	defer cancel()
	rss := watchRSS(p.pid)
	cpu0, times0 := procCPU(p.pid), readCPUTimes()
	st.loadBefore, st.started = loadavg(), time.Now()
	sipp := exec.CommandContext(ctx, "taskset", "-c", strconv.Itoa(sippCPU), "sipp", "-sf", p.scen, "-t", "u1",
		"-i", "127.0.0.1", "-p", strconv.Itoa(freeUDPPort(b)),
		"-m", strconv.Itoa(p.calls), "-l", strconv.Itoa(max(100, 4*p.rate*int((p.hold+time.Second)/time.Second))),
		"-r", strconv.Itoa(p.rate), "-rp", "1000", "-recv_timeout", "5000",
		"-nostdin", "-trace_rtt", "-rtt_freq", "1", "-trace_err", "-error_file", filepath.Join(rdir, "sipp_errors.log"),
		"127.0.0.1:"+strconv.Itoa(p.sipPort))
	sipp.Dir = rdir
	out, _ := sipp.CombinedOutput()
	st.elapsed = time.Since(st.started)
	st.cpu = procCPU(p.pid) - cpu0
	st.busy = busyShare(times0, readCPUTimes())
	st.loadAfter = loadavg()
	st.rssPeak = rss.close()
	if sipp.ProcessState != nil {
		st.sippCPU = sipp.ProcessState.UserTime() + sipp.ProcessState.SystemTime()
	}
	st.ok, st.failed = sippCounts(string(out))
	if errs, err := os.ReadFile(filepath.Join(rdir, "sipp_errors.log")); err == nil {
		st.errors = sippErrorKinds(string(errs))
	}
	if st.ok+st.failed == 0 {
		b.Fatalf("%d calls/s: could not read SIPp's call counts:\n%s", p.rate, out)
	}
	rtts, err := filepath.Glob(filepath.Join(rdir, "*_rtt.csv"))
	if err != nil || len(rtts) != 1 {
		b.Fatalf("%d calls/s: SIPp's response times: %v %v", p.rate, rtts, err)
	}
	at, rtt := readSIPpRTT(b, rtts[0])
	if len(at) > 1 {
		st.reached = float64(len(at)-1) / (at[len(at)-1] - at[0]).Seconds()
	}
	st.rttP50, st.rttP99 = quantile(rtt, 0.5), quantile(rtt, 0.99)
	return st
}

// readSIPpRTT reads SIPp's -trace_rtt file ("Date_ms;response_time_ms;
// rtd_no" after a header line): when each 200 came, in order, and each
// INVITE's response time.
func readSIPpRTT(b testing.TB, path string) (at, rtt []time.Duration) {
	b.Helper()
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma, r.FieldsPerRecord = ';', -1
	rows, err := r.ReadAll()
	if err != nil {
		b.Fatalf("%s: %v", path, err)
	}
	for _, row := range rows {
		if len(row) < 2 {
			continue
		}
		date, err1 := strconv.ParseFloat(row[0], 64)
		resp, err2 := strconv.ParseFloat(row[1], 64)
		if err1 != nil || err2 != nil {
			continue // the header
		}
		// Microseconds first: epoch nanoseconds overflow float64's precision.
		at = append(at, time.Duration(math.Round(date*1e3))*time.Microsecond)
		rtt = append(rtt, time.Duration(resp*float64(time.Millisecond)))
	}
	slices.Sort(at)
	return at, rtt
}

// pprofTop is `go tool pprof -top` of the profile with args added.
func pprofTop(b *testing.B, bin, prof string, args ...string) string {
	b.Helper()
	args = append(append([]string{"tool", "pprof", "-top"}, args...), bin, prof)
	out, err := exec.Command("go", args...).CombinedOutput()
	if err != nil {
		b.Logf("pprof %v: %v\n%s", args, err, out)
		return ""
	}
	return string(out)
}

func setupMarkdown(steps []*setupStep, cmd string, rssIdle int64, top, sipTop string) string {
	var s strings.Builder
	fmt.Fprintf(&s, "# Call set-up rate: voxdesk's demo handler under SIPp ramps (bench/setup_test.go)\n\n")
	if len(steps) > 0 {
		fmt.Fprintf(&s, "Run %s; `%s`\n\n", steps[0].started.UTC().Format(time.RFC3339), cmd)
	}
	fmt.Fprintf(&s, "Machine: %d CPUs, shared with other work. The switch (bench/switchd -handler demo: answer, welcome prompt, wait for keys) runs alone on CPU %d, SIPp on CPU %d (taskset). "+
		"Each call: INVITE (SDP naming the discard port, so the switch's RTP goes nowhere), 200, ACK, the call held, BYE. A call fails on any unexpected answer or no answer within 5 s of retransmissions; "+
		"a rate passes with fewer than %.1f %% of its calls failed, and the ladder stops after the first that does not. "+
		"\"reached\" is the 200 OKs per second SIPp received over the step; the response time is INVITE to 200 as SIPp measures it. "+
		"Switch RSS idle %.1f MB.\n\n", numCPU(), peerCPU, sippCPU, 100*maxFailedShare, float64(rssIdle)/1e6)
	fmt.Fprintf(&s, "| rate asked (calls/s) | load avg before / after | calls offered / failed | rate reached (200/s) | INVITE -> 200 p50 / p99 | switch CPU per call | switch CPU (cores) | SIPp CPU s | CPU0 / CPU1 busy | switch RSS peak | passed |\n")
	fmt.Fprintf(&s, "|%s\n", strings.Repeat(" --- |", 11))
	for _, st := range steps {
		busy := make([]string, len(st.busy))
		for i, v := range st.busy {
			busy[i] = fmt.Sprintf("%.0f %%", 100*v)
		}
		fmt.Fprintf(&s, "| %d | %s / %s | %d / %d | %.0f | %.1f / %.1f ms | %.2f ms | %.1f s (%.2f) | %.1f | %s | %.1f MB | %v |\n",
			st.rate, st.loadBefore, st.loadAfter, st.ok+st.failed, st.failed, st.reached, ms(st.rttP50), ms(st.rttP99),
			st.cpuPerCall()*1e3, st.cpu.Seconds(), st.cpu.Seconds()/st.elapsed.Seconds(), st.sippCPU.Seconds(),
			strings.Join(busy, " / "), float64(st.rssPeak)/1e6, st.passed())
	}
	if best := bestSetupStep(steps); best != nil {
		fmt.Fprintf(&s, "\nHighest rate reached with < %.1f %% failed: **%.0f calls/s** (%d asked).\n", 100*maxFailedShare, best.reached, best.rate)
	} else {
		fmt.Fprintf(&s, "\nNo rate passed (< %.1f %% failed).\n", 100*maxFailedShare)
	}
	for _, st := range steps {
		if len(st.errors) > 0 {
			fmt.Fprintf(&s, "\nSIPp's error log at %d calls/s, by kind:\n\n```\n%s\n```\n", st.rate, strings.Join(st.errors, "\n"))
		}
	}
	if top != "" {
		fmt.Fprintf(&s, "\nThe switch's CPU profile over the whole ladder, from the end of its start-up (`go tool pprof -top`; flat = in the function itself, cum = with its callees):\n\n```\n%s```\n", top)
	}
	if sipTop != "" {
		fmt.Fprintf(&s, "\nThe same profile, SIP side only (`-top -cum -focus 'github.com/(voxdesk/voxdesk/sip|emiago/sipgo)'`):\n\n```\n%s```\n", sipTop)
	}
	return s.String()
}

// sippStamp starts each event of SIPp's error log: date, time, epoch. An
// event may follow another on the same line.
var sippStamp = regexp.MustCompile(`\d{4}-\d\d-\d\d\t[0-9:.]+\t[0-9.]+: `)

// callNames are the Call-IDs and #numbers in SIPp's events, taken out
// so that events of one kind count together.
var callNames = regexp.MustCompile(`[0-9]+-[0-9]+@[0-9.]+|#[0-9]+`)

// sippErrorKinds counts the events of SIPp's error log by kind (what
// happened, up to the quote that starts the message), most frequent
// first: "count x event". SIPp's warnings that it ran late itself count
// as one kind.
func sippErrorKinds(log string) []string {
	counts := map[string]int{}
	for _, ev := range sippStamp.Split(log, -1)[1:] {
		what, _, _ := strings.Cut(ev, "'")
		what, _, _ = strings.Cut(what, "\n")
		what = strings.TrimSpace(callNames.ReplaceAllString(what, "…"))
		if strings.Contains(what, "watchdog timer") {
			what = "SIPp overload warning: its watchdog timer tripped (the load generator itself ran late)"
		}
		counts[what]++
	}
	kinds := slices.Collect(maps.Keys(counts))
	slices.SortFunc(kinds, func(a, b string) int { return cmp.Or(counts[b]-counts[a], strings.Compare(a, b)) })
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = fmt.Sprintf("%d x %s", counts[k], k)
	}
	return out
}
