package bench

import (
	"cmp"
	"encoding/csv"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/customer"
	"github.com/voxdesk/voxdesk/ivr"
	"github.com/voxdesk/voxdesk/routing"
	"github.com/voxdesk/voxdesk/service"
	"github.com/voxdesk/voxdesk/sip"
)

// BenchmarkE2ELoad runs the real switch in the bench process (service.New
// from examples/voxdesk.yaml on test ports: the hotline flow, the demo
// customers, voice identification with the demo enrolment) and places
// VOXDESK_BENCH_CALLS (100) concurrent SIPp calls set up at
// VOXDESK_BENCH_RATE per second (20), each streaming held-out speech of a
// caller for up to VOXDESK_BENCH_SECONDS (75) before hanging up. Half the
// callers are enrolled demo customers (their held-out LibriSpeech or FSDD
// speech), half are speakers nobody enrolled (Hyke telephone speech); all
// call from a number no customer has, so only the voice can identify
// them.
//
// VOXDESK_BENCH_AGENTS (10) SIP agents take the queued calls: each is a
// SIPp phone registered with digest authentication (sip.agents, ring:
// sip), which rings for VOXDESK_BENCH_THINK_MS (2000), answers, talks
// (streams speech) for VOXDESK_BENCH_TALK_SECONDS (15) and hangs up; the
// router then holds the agent in wrap-up for the configuration's
// routing.wrap_up (10 s in the example) before the next offer.
//
// It reports calls offered, answered by the IVR, answered by an agent,
// abandoned in the queue and lost, the identification outcomes and the
// time from the flow's start to the identity, the queue wait, RTP jitter
// both ways on the wire (callers' legs and agents' legs apart),
// concealment, CPU per call-minute and memory per call, into
// RESULTS-e2e.md.
//
// The switch runs on CPU 1, SIPp (callers and agents) and the packet
// capture on CPU 0.
//
// With VOXDESK_BENCH_LADDER (concurrent calls, e.g. 50,100,200,350,500)
// it runs once per size, each on a fresh switch, and writes the sizes
// side by side into RESULTS-e2e-ladder.md and the switch's CPU and the
// RTP jitter p99 against concurrent calls into e2e-ladder.svg.
func BenchmarkE2ELoad(b *testing.B) {
	benchGate(b, "end-to-end load", false, "sipp", "sox", "taskset")
	// The speech corpora (VOXDESK_SPEECH, else ../../shared/speech as for
	// the service tests) and the speaker model (VOXDESK_MODEL_DIR, else
	// the cache `make model` fills: the switch looks there itself).
	speech := cmp.Or(os.Getenv("VOXDESK_SPEECH"), filepath.Join("..", "..", "shared", "speech"))
	if _, err := os.Stat(filepath.Join(speech, "hyke", "manifest.csv")); err != nil {
		b.Fatalf("the end-to-end bench needs the speech corpora: set VOXDESK_SPEECH (%v)", err)
	}
	speech, _ = filepath.Abs(speech)
	model := os.Getenv("VOXDESK_MODEL_DIR")
	p := e2eParams{
		calls: envInt("VOXDESK_BENCH_CALLS", 100),
		rate:  envInt("VOXDESK_BENCH_RATE", 20),
		hold:  time.Duration(envInt("VOXDESK_BENCH_SECONDS", 75)) * time.Second,
		agent: e2eAgentParams{
			agents: envCount("VOXDESK_BENCH_AGENTS", 10),
			think:  time.Duration(envInt("VOXDESK_BENCH_THINK_MS", 2000)) * time.Millisecond,
			talk:   time.Duration(envInt("VOXDESK_BENCH_TALK_SECONDS", 15)) * time.Second,
		},
	}
	dir := b.TempDir()
	callers := e2eCallers(b, speech, dir)
	if os.Getenv("VOXDESK_BENCH_LADDER") != "" {
		runE2ELadder(b, p, dir, speech, model, callers)
		return
	}
	r := runE2E(b, p, dir, speech, model, callers)
	md := r.markdown()
	if err := os.WriteFile("RESULTS-e2e.md", []byte(md), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(r.cpuPerCallMinute, "cpu-s/call-min")
	b.ReportMetric(float64(r.lost), "lost-calls")
	b.Logf("\n%s", md)
}

type e2eParams struct {
	calls, rate int
	hold        time.Duration
	agent       e2eAgentParams
}

// e2eCaller is one voice of the load: a SIPp instance streams its WAV.
type e2eCaller struct {
	tag      string // starts the Call-ID of its calls: k07 (known), u03 (unknown)
	speaker  string
	customer string // the enrolled customer; "" for a voice nobody enrolled
	wav      string
}

// e2eCallers writes one 8 kHz mu-law WAV (sox) per caller: the held-out
// speech of each demo customer with a demo_speaker (FSDD takes 40 and
// later, or a LibriSpeech speaker's last utterances: the demo enrolment
// takes the first ones), and as many unknown voices from the Hyke corpus.
func e2eCallers(b *testing.B, speech, dir string) []e2eCaller {
	b.Helper()
	custs := readCSV(b, "../examples/customers.csv")
	fsdd := readCSV(b, filepath.Join(speech, "fsdd", "manifest.csv"))
	libri := readCSV(b, filepath.Join(speech, "librispeech-test-other", "manifest.csv"))
	hyke := readCSV(b, filepath.Join(speech, "hyke", "manifest.csv"))
	var callers []e2eCaller
	add := func(tag, speaker, cust string, files []string) {
		wav := filepath.Join(dir, tag+".wav")
		args := append(files, "-r", "8000", "-c", "1", "-e", "u-law", "-b", "8", wav, "trim", "0", "30")
		if out, err := exec.Command("sox", args...).CombinedOutput(); err != nil {
			b.Fatalf("sox for %s: %v\n%s", speaker, err, out)
		}
		callers = append(callers, e2eCaller{tag: tag, speaker: speaker, customer: cust, wav: wav})
	}
	for _, c := range custs {
		sp := c["demo_speaker"]
		if sp == "" {
			continue
		}
		var files []string
		var secs float64
		for _, r := range fsdd {
			if take, _ := strconv.Atoi(r["take"]); r["speaker_id"] == sp && take >= 40 {
				files = append(files, filepath.Join(speech, "fsdd", r["file"]))
			}
		}
		for i := len(libri) - 1; i >= 0 && secs < 20; i-- {
			if r := libri[i]; r["speaker_id"] == sp {
				files = append(files, filepath.Join(speech, "librispeech-test-other", r["file"]))
				d, _ := strconv.ParseFloat(r["duration_s"], 64)
				secs += d
			}
		}
		if len(files) == 0 {
			b.Fatalf("no held-out speech for %s (%s)", c["id"], sp)
		}
		add(fmt.Sprintf("k%02d", len(callers)), sp, c["id"], files)
	}
	known := len(callers)
	for i, r := 0, 0; i < known && r < len(hyke); i++ {
		sp := hyke[r]["speaker_id"]
		var files []string
		var secs float64
		for ; r < len(hyke) && hyke[r]["speaker_id"] == sp; r++ {
			if secs < 20 {
				files = append(files, filepath.Join(speech, "hyke", hyke[r]["file"]))
				d, _ := strconv.ParseFloat(hyke[r]["duration_s"], 64)
				secs += d
			}
		}
		add(fmt.Sprintf("u%02d", i), "hyke-"+sp, "", files)
	}
	if known < 2 || len(callers) < 2*known {
		b.Fatalf("%d known and %d unknown voices: too few", known, len(callers)-known)
	}
	// Alternate known and unknown voices, so that any number of calls
	// (dealt to the voices in turn) is half and half.
	mixed := make([]e2eCaller, 0, len(callers))
	for i := range known {
		mixed = append(mixed, callers[i], callers[known+i])
	}
	return mixed
}

func readCSV(b *testing.B, path string) []map[string]string {
	b.Helper()
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) < 2 {
		b.Fatalf("%s: %d rows, %v", path, len(rows), err)
	}
	var out []map[string]string
	for _, row := range rows[1:] {
		m := map[string]string{}
		for i, h := range rows[0] {
			if i < len(row) {
				m[h] = row[i]
			}
		}
		out = append(out, m)
	}
	return out
}

// officeHours is the IVR's clock in the bench: a Tuesday 10:00 in Paris,
// so the hotline's opening-hours branch does not depend on when it runs.
func officeHours() time.Time { return time.Date(2026, time.November, 24, 9, 0, 0, 0, time.UTC) }

// e2eConfig is examples/voxdesk.yaml on the bench's ports: SIP UDP on
// 127.0.0.1 (port picked by the kernel), RTP in the peer range, HTTP on
// 127.0.0.1, a fresh SQLite store and voiceprint key, the demo enrolment
// from speech, no call limit below the load, queues that take calls with
// no agent logged in, the bench's SIP agents (phone only, no keep-alive
// OPTIONS: the SIPp phones answer calls only), logs at info (the bench's
// handler keeps only the IVR and routing events it reports on).
func e2eConfig(b testing.TB, dir, speech, model string, calls, agents int) *service.Config {
	b.Helper()
	cfg, err := service.LoadConfig("../examples/voxdesk.yaml")
	if err != nil {
		b.Fatal(err)
	}
	cfg.Log.Level = "info"
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.SIP.UDP, cfg.SIP.TCP = "127.0.0.1:0", "off"
	cfg.SIP.Trunks = []sip.Trunk{{Name: "bench", Networks: []string{"127.0.0.0/8"}}}
	cfg.SIP.MaxCalls = max(cfg.SIP.MaxCalls, 2*calls)
	cfg.Media.RTPPortMin, cfg.Media.RTPPortMax = peerRTPMin, peerRTPMax
	cfg.IVR.Voicemail = filepath.Join(dir, "voicemail")
	cfg.Customer.DSN = "sqlite:" + filepath.Join(dir, "customers.db")
	cfg.Customer.Key = customer.NewKey()
	cfg.Voiceprint.ModelDir, cfg.Voiceprint.DemoSpeech = model, speech
	cfg.SIP.Agents = e2eSIPAgents(agents)
	cfg.SIP.Registrar.KeepAlive = -1
	// With no agent logged in (VOXDESK_BENCH_AGENTS=0) the router refuses
	// to queue a call and the flow hangs up; joining empty queues keeps
	// the calls waiting in their queue, on hold, as they would for busy
	// agents.
	for i := range cfg.Routing.Queues {
		cfg.Routing.Queues[i].JoinEmpty = true
	}
	return cfg
}

type e2eResult struct {
	e2eParams
	callers               []e2eCaller
	agents                e2eAgentTally
	wrapUp                time.Duration
	started               time.Time
	elapsed               time.Duration
	loadBefore, loadAfter string
	offered, sippOK       int
	sippFailed            int
	endedBySwitch         int
	events                map[string]callEvents // by Call-ID
	warns                 []string
	busy                  []float64
	loadCost              // the switch is the bench process
	captureDrops          int
	toAgents, fromAgents  rtpStats // the agents' legs: switch -> phones, phones -> switch
	metrics               map[string]float64
	lost                  int
	setup                 time.Duration // switch start-up with the demo enrolment
	voiceprints           int
}

func runE2E(b *testing.B, p e2eParams, dir, speech, model string, callers []e2eCaller) *e2eResult {
	b.Helper()
	r := &e2eResult{e2eParams: p, callers: callers}
	logs := newCallLog()
	// The switch (this process) on CPU 1 from before its start, with
	// GOMAXPROCS 1, so that it sizes itself for the one core it gets:
	// voiceprint.max_streams is derived at start from GOMAXPROCS, and a
	// switch started on two cores and then pinned to one admitted twice
	// the identifying streams its core computes in real time, starving
	// its own RTP. SIPp and the capture go on CPU 0.
	if err := pinSelf(peerCPU); err != nil {
		b.Fatal(err)
	}
	defer unpinSelf()
	runtime.GOMAXPROCS(1)
	defer runtime.SetDefaultGOMAXPROCS()
	t0 := time.Now()
	cfg := e2eConfig(b, dir, speech, model, p.calls, p.agent.agents)
	r.wrapUp = cfg.Routing.WrapUp
	svc, err := service.New(cfg,
		service.WithLogger(slog.New(logs)), service.WithIVROptions(ivr.WithClock(officeHours)))
	if err != nil {
		b.Fatal(err)
	}
	r.setup = time.Since(t0)
	defer runSwitch(b, svc)()
	sipPort := svc.SIPAddr("udp").(*net.UDPAddr).Port
	metricsURL := "http://" + svc.HTTPAddr().String() + "/metrics"
	agents := startE2EAgents(b, p.agent, dir, sipPort, callers[len(callers)-1].wav, svc.Router())

	capture := startCaptureProcess(b, dir, sippCPU, peerRTPMin, peerRTPMax)
	self := os.Getpid()
	r.rssIdle = procRSS(self)
	rss := watchRSS(self)
	cpu0, times0 := procCPU(self), readCPUTimes()
	r.loadBefore, r.started = loadavg(), time.Now()

	scen, err := os.ReadFile("testdata/e2e.xml")
	if err != nil {
		b.Fatal(err)
	}
	k := len(callers)
	timeout := p.hold + time.Duration(p.calls/p.rate)*time.Second + 60*time.Second
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i, c := range callers {
		n := p.calls/k + btoi(i < p.calls%k)
		if n == 0 {
			continue
		}
		scenFile := filepath.Join(dir, c.tag+".xml")
		os.WriteFile(scenFile, []byte(strings.NewReplacer("{{WAV}}", c.wav,
			"{{HOLD_MS}}", strconv.Itoa(int(p.hold/time.Millisecond))).Replace(string(scen))), 0o644)
		// Each instance starts its first call i/k of a period in, then one
		// call per period, so the k instances together set up rate calls
		// per second.
		period := time.Duration(k) * time.Second / time.Duration(p.rate)
		args := []string{"-c", strconv.Itoa(sippCPU), "sipp", "-sf", scenFile, "-t", "un",
			"-i", "127.0.0.1", "-p", strconv.Itoa(freeUDPPort(b)), "-mp", strconv.Itoa(sippMediaPort + 4*i),
			"-cid_str", c.tag + "-%u-%p@%s", "-m", strconv.Itoa(n), "-l", strconv.Itoa(n), "-r", "1", "-rp", strconv.Itoa(int(period / time.Millisecond)),
			"-timeout", strconv.Itoa(int(timeout/time.Second)) + "s", "-timeout_error", "-nostdin", "-max_socket", "1000",
			"-trace_logs", "-log_file", filepath.Join(dir, c.tag+"_logs.log"),
			"-trace_err", "-error_file", filepath.Join(dir, c.tag+"_errors.log"),
			"127.0.0.1:" + strconv.Itoa(sipPort)}
		wg.Add(1)
		go func(delay time.Duration) {
			defer wg.Done()
			time.Sleep(delay)
			cmd := exec.Command("taskset", args...)
			cmd.Dir = dir
			out, _ := cmd.CombinedOutput()
			ok, failed := sippCounts(string(out))
			logs, _ := os.ReadFile(filepath.Join(dir, c.tag+"_logs.log"))
			mu.Lock()
			defer mu.Unlock()
			if ok+failed == 0 {
				b.Errorf("%s: could not read SIPp's call counts:\n%s", c.tag, out)
			}
			r.sippOK += ok
			r.sippFailed += failed
			r.endedBySwitch += strings.Count(string(logs), "ended-by-switch")
		}(period * time.Duration(i) / time.Duration(k))
	}
	wg.Wait()
	r.agents = agents.close(b)
	r.elapsed = time.Since(r.started)
	r.cpu = procCPU(self) - cpu0
	r.busy = busyShare(times0, readCPUTimes())
	r.loadAfter = loadavg()
	r.rssPeak = rss.close()
	streams, _, drops := capture.close(b)
	r.captureDrops = drops
	r.offered = r.sippOK + r.sippFailed
	waitIdle(metricsURL, 10*time.Second)
	r.metrics = scrape(metricsURL)
	r.events, r.warns, r.voiceprints = logs.snapshot()
	r.summarise(streams)
	return r
}

func btoi(v bool) int {
	if v {
		return 1
	}
	return 0
}

// waitIdle waits until the switch has no call up (the metrics of a call
// are added when it ends).
func waitIdle(url string, limit time.Duration) {
	for end := time.Now().Add(limit); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if v, ok := scrape(url)["voxdesk_calls_active"]; ok && v == 0 {
			return
		}
	}
}

func (r *e2eResult) summarise(streams map[streamKey]*rtpTrace) {
	// The agents' legs apart, so that the callers' figures (and the
	// call-minutes, from the callers' RTP) mean the same with agents or
	// without.
	isAgent := func(port uint16) bool {
		return int(port) >= agentMediaPort && int(port) < agentMediaPort+4*r.agent.agents
	}
	callers := map[streamKey]*rtpTrace{}
	var to, from []*rtpTrace
	for k, t := range streams {
		switch {
		case isAgent(k.dst):
			to = append(to, t)
		case isAgent(k.src):
			from = append(from, t)
		default:
			callers[k] = t
		}
	}
	r.toAgents, r.fromAgents = summariseRTP(to), summariseRTP(from)
	r.account(callers, r.calls)
	answered := 0
	for _, c := range r.events {
		if !c.started.IsZero() {
			answered++
		}
	}
	r.lost = r.offered - answered + r.sippFailed
}

// identOutcome sorts one call by who called and what the IVR decided.
func (r *e2eResult) identOutcome(callID string, c callEvents) string {
	var who *e2eCaller
	for i := range r.callers {
		if strings.HasPrefix(callID, r.callers[i].tag+"-") {
			who = &r.callers[i]
		}
	}
	switch {
	case who == nil:
		return "not a bench call"
	case c.started.IsZero():
		return "not answered by the IVR"
	case c.identified.IsZero():
		return "hung up before the identify step decided"
	case who.customer != "" && c.customer == who.customer:
		return "enrolled caller identified as themself"
	case who.customer != "" && c.customer != "":
		return "enrolled caller identified as ANOTHER customer"
	case who.customer != "":
		return "enrolled caller not identified"
	case c.customer != "":
		return "unknown caller identified as a customer"
	default:
		return "unknown caller not identified"
	}
}

func (r *e2eResult) markdown() string {
	var s strings.Builder
	fmt.Fprintf(&s, "# End-to-end load: IVR, identification, queue and SIP agents (bench/e2e_test.go)\n\n")
	fmt.Fprintf(&s, "Run %s; `VOXDESK_BENCH=1 VOXDESK_BENCH_CALLS=%d VOXDESK_BENCH_SECONDS=%d VOXDESK_BENCH_RATE=%d "+
		"VOXDESK_BENCH_AGENTS=%d VOXDESK_BENCH_THINK_MS=%d VOXDESK_BENCH_TALK_SECONDS=%d go test -run '^$' -bench E2ELoad -benchtime 1x -timeout 30m ./bench/` "+
		"(with VOXDESK_SPEECH and VOXDESK_MODEL_DIR set)\n\n",
		r.started.UTC().Format(time.RFC3339), r.calls, int(r.hold/time.Second), r.rate,
		r.agent.agents, int(r.agent.think/time.Millisecond), int(r.agent.talk/time.Second))
	if r.agent.agents == 0 {
		fmt.Fprintf(&s, "**Agents: none** (VOXDESK_BENCH_AGENTS=0): this measures the IVR and identification stage only; "+
			"every call ends waiting in the queue the hotline flow put it in (the bench's config lets queues take calls with no agent logged in: join_empty), until its caller hangs up.\n\n")
	} else {
		fmt.Fprintf(&s, "**Agents: %d SIP phones** (SIPp UAS on CPU %d, one per agent, phone-only accounts in sip.agents registered with digest authentication): "+
			"each rings %v, answers, streams speech for %v and hangs up (unless the caller left first); the router then keeps the agent in wrap-up for %v (routing.wrap_up). "+
			"Callers hang up after %v from the IVR's answer whether or not an agent took them: a call still queued then is abandoned.\n\n",
			r.agent.agents, sippCPU, r.agent.think, r.agent.talk, r.wrapUp, r.hold)
	}
	known := 0
	for _, c := range r.callers {
		known += btoi(c.customer != "")
	}
	fmt.Fprintf(&s, "Switch: service.New from examples/voxdesk.yaml on test ports, in the bench process pinned to CPU %d (hotline flow, %d voiceprints enrolled from the demo customers at start-up, which took %.1f s). "+
		"Callers: %d SIPp instances on CPU %d, one per voice (%d enrolled customers' held-out speech, %d voices nobody enrolled, from the Hyke telephone corpus), "+
		"all calling from a number no customer has, streaming their speech (sox, 8 kHz mu-law, looped) until they hang up after %v or the switch hangs up. "+
		"RTP is measured on the wire by a packet capture process on CPU %d. Load average before %s, after %s; CPU busy during the run (whoever ran): %s.\n\n",
		peerCPU, r.voiceprints, r.setup.Seconds(), len(r.callers), sippCPU, known, len(r.callers)-known, r.hold, sippCPU, r.loadBefore, r.loadAfter, pct(r.busy))
	fmt.Fprintf(&s, "| measure | value |\n| --- | --- |\n")
	answered := r.offered - r.lost + r.sippFailed
	fmt.Fprintf(&s, "| calls offered / answered by the IVR / lost | %d / %d / %d (SIPp: %d completed, %d failed; %d hung up by the switch) |\n",
		r.offered, answered, r.lost, r.sippOK, r.sippFailed, r.endedBySwitch)
	byAgent, abandoned, results := 0, 0, map[string]int{}
	var waitAnswered, waitAbandoned, startToAgent []time.Duration
	for _, c := range r.events {
		if !c.ended {
			continue
		}
		results[c.result]++
		switch c.result {
		case string(routing.ResultAnswered):
			byAgent++
			waitAnswered = append(waitAnswered, c.wait)
			if !c.started.IsZero() && !c.answered.IsZero() {
				startToAgent = append(startToAgent, c.answered.Sub(c.started))
			}
		case string(routing.ResultAbandoned):
			abandoned++
			waitAbandoned = append(waitAbandoned, c.wait)
		}
	}
	fmt.Fprintf(&s, "| calls answered by an agent / abandoned in the queue, of those queued | %d / %d of %d (router's results: %s) |\n",
		byAgent, abandoned, sumInts(results), countList(results))
	fmt.Fprintf(&s, "| queue wait (router's, offers' ringing included), answered calls: p50 / p99 / max | %s |\n", durQuantiles99(waitAnswered))
	fmt.Fprintf(&s, "| queue wait, abandoned calls: p50 / p99 / max | %s |\n", durQuantiles99(waitAbandoned))
	fmt.Fprintf(&s, "| flow start (the IVR's answer) to an agent's answer: p50 / p99 / max | %s |\n", durQuantiles99(startToAgent))
	if r.agent.agents > 0 {
		fmt.Fprintf(&s, "| agents' phones (SIPp) | %d calls completed, %d failed; %d hung up by the agent, %d by the switch (caller gone); %d offers withdrawn while ringing |\n",
			r.agents.ok, r.agents.failed, r.agents.endedByAgent, r.agents.endedBySwitch, r.agents.offerWithdrn)
		fmt.Fprintf(&s, "| RFC 3550 jitter switch -> agent, p50 / p99 over legs | %.2f / %.2f ms (%d legs, longest gap %.0f ms, %d of %d packets missing) |\n",
			ms(r.toAgents.jitterP50), ms(r.toAgents.jitterP99), r.toAgents.callsWithRTP, ms(r.toAgents.maxGap), r.toAgents.pktsExpected-r.toAgents.pktsIn, r.toAgents.pktsExpected)
		fmt.Fprintf(&s, "| RFC 3550 jitter agent (SIPp) -> switch, p50 / p99 over legs | %.2f / %.2f ms (%d legs, longest gap %.0f ms) |\n",
			ms(r.fromAgents.jitterP50), ms(r.fromAgents.jitterP99), r.fromAgents.callsWithRTP, ms(r.fromAgents.maxGap))
	}
	fmt.Fprintf(&s, "| set-up rate asked | %d calls/s, %d concurrent, each up to %v |\n", r.rate, r.calls, r.hold)
	outcomes := map[string]int{}
	var tIdent, tNone []time.Duration
	queues := map[string]int{}
	for id, c := range r.events {
		o := r.identOutcome(id, c)
		outcomes[o]++
		if !c.identified.IsZero() && !c.started.IsZero() {
			if c.customer != "" {
				tIdent = append(tIdent, c.identified.Sub(c.started))
			} else {
				tNone = append(tNone, c.identified.Sub(c.started))
			}
		}
		if c.queue != "" {
			queues[c.queue]++
		}
	}
	for _, o := range slices.Sorted(maps.Keys(outcomes)) {
		fmt.Fprintf(&s, "| %s | %d |\n", o, outcomes[o])
	}
	fmt.Fprintf(&s, "| flow start to identity, identified calls: p50 / p90 / max | %s |\n", durQuantiles(tIdent))
	fmt.Fprintf(&s, "| flow start to the identify step's end, calls not identified: p50 / p90 / max | %s |\n", durQuantiles(tNone))
	fmt.Fprintf(&s, "| calls queued, by queue | %s |\n", countList(queues))
	fmt.Fprintf(&s, "| switch CPU (bench process) | %.1f s over %.0f s (%.2f cores), %.4f CPU-s per call-minute |\n",
		r.cpu.Seconds(), r.elapsed.Seconds(), r.cpu.Seconds()/r.elapsed.Seconds(), r.cpuPerCallMinute)
	fmt.Fprintf(&s, "| switch RSS idle / peak, per call | %.1f / %.1f MB, %.2f MiB per identifying call |\n",
		float64(r.rssIdle)/1e6, float64(r.rssPeak)/1e6, r.memPerCall/(1<<20))
	fmt.Fprintf(&s, "| RFC 3550 jitter switch -> caller, p50 / p99 over calls | %.2f / %.2f ms (longest gap %.0f ms, %d of %d packets missing) |\n",
		ms(r.out.jitterP50), ms(r.out.jitterP99), ms(r.out.maxGap), r.out.pktsExpected-r.out.pktsIn, r.out.pktsExpected)
	fmt.Fprintf(&s, "| RFC 3550 jitter caller (SIPp) -> switch, p50 / p99 over calls | %.2f / %.2f ms (longest gap %.0f ms) |\n",
		ms(r.in.jitterP50), ms(r.in.jitterP99), ms(r.in.maxGap))
	in, conceal := r.metrics[`voxdesk_rtp_packets_total{direction="in"}`], r.metrics["voxdesk_rtp_concealed_frames_total"]
	fmt.Fprintf(&s, "| caller frames concealed (switch's /metrics) | %.0f of %.0f played out (%.2f %%); %.0f packets late, %.0f lost |\n",
		conceal, in+conceal, 100*conceal/math.Max(1, in+conceal), r.metrics["voxdesk_rtp_late_packets_total"], r.metrics["voxdesk_rtp_lost_packets_total"])
	fmt.Fprintf(&s, "| voice outcomes (switch's /metrics) | %s |\n", metricList(r.metrics, "voxdesk_voice_outcomes_total"))
	fmt.Fprintf(&s, "| identifying callers not admitted (voiceprint.max_streams; switch's /metrics) | %s |\n", metricList(r.metrics, "voxdesk_voice_not_admitted_total"))
	fmt.Fprintf(&s, "| capture drops | %d |\n", r.captureDrops)
	if len(r.warns) > 0 {
		fmt.Fprintf(&s, "| switch warnings and errors | %s |\n", strings.Join(r.warns[:min(8, len(r.warns))], "; "))
	}
	return s.String()
}

func pct(v []float64) string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = fmt.Sprintf("CPU%d %.0f %%", i, 100*x)
	}
	return strings.Join(out, ", ")
}

func durQuantiles(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	return fmt.Sprintf("%.2f / %.2f / %.2f s (%d calls)", quantile(ds, 0.5).Seconds(), quantile(ds, 0.9).Seconds(), quantile(ds, 1).Seconds(), len(ds))
}

// durQuantiles99 is durQuantiles with the 99th percentile for the 90th.
func durQuantiles99(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	return fmt.Sprintf("%.2f / %.2f / %.2f s (%d calls)", quantile(ds, 0.5).Seconds(), quantile(ds, 0.99).Seconds(), quantile(ds, 1).Seconds(), len(ds))
}

func sumInts(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func countList(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func metricList(m map[string]float64, name string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if strings.HasPrefix(k, name+"{") {
			parts = append(parts, fmt.Sprintf("%s %.0f", strings.TrimSuffix(strings.TrimPrefix(k, name+"{"), "}"), m[k]))
		}
	}
	return strings.Join(parts, ", ")
}
