package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/routing"
	"github.com/voxdesk/voxdesk/service"
	"github.com/voxdesk/voxdesk/sip"
)

// agentMediaPort is the first RTP port of the agents' SIPp phones (4
// apart, after the callers' 32 voices at sippMediaPort).
const agentMediaPort = sippMediaPort + 4*64

// e2eAgentParams: how many SIP agents, how long they let the phone ring
// (think time) and how long they talk before hanging up.
type e2eAgentParams struct {
	agents      int
	think, talk time.Duration
}

func e2eAgentID(i int) string     { return fmt.Sprintf("bench-a%02d", i+1) }
func e2eAgentSecret(i int) string { return "secret-" + e2eAgentID(i) }

// e2eSIPAgents are the switch's accounts of the bench agents: phone-only
// (ring: sip), so a REGISTER logs each in and makes it available.
func e2eSIPAgents(n int) []service.SIPAgent {
	out := make([]service.SIPAgent, n)
	for i := range out {
		out[i] = service.SIPAgent{ID: e2eAgentID(i), HA1: sip.HA1(e2eAgentID(i), sip.DefaultRealm, e2eAgentSecret(i)), Ring: service.RingSIP}
	}
	return out
}

// e2eAgentPhones are the agents' SIP phones: one answering SIPp
// (testdata/e2e_agent.xml) per agent on CPU sippCPU, each registered by a
// SIPp REGISTER with digest authentication (testdata/e2e_register.xml).
type e2eAgentPhones struct {
	dir    string
	closed bool
	cmds   []*exec.Cmd
	outs   []*strings.Builder
	waits  []chan error
}

// e2eAgentTally is what the agents' phones saw.
type e2eAgentTally struct {
	ok, failed                                int // SIPp's counts of calls offered to the phones
	endedByAgent, endedBySwitch, offerWithdrn int
}

// startE2EAgents starts p.agents phones streaming wav when they talk,
// registers them and waits until the router has every one available.
func startE2EAgents(b testing.TB, p e2eAgentParams, dir string, sipPort int, wav string, router *routing.Router) *e2eAgentPhones {
	b.Helper()
	a := &e2eAgentPhones{dir: dir}
	b.Cleanup(func() { a.close(b) }) // on a failure before the bench's own close
	if p.agents == 0 {
		return a
	}
	if most := (peerRTPMin - agentMediaPort) / 4; p.agents > most {
		b.Fatalf("%d agents: at most %d (their RTP ports would reach the switch's, %d)", p.agents, most, peerRTPMin)
	}
	uas, err := os.ReadFile("testdata/e2e_agent.xml")
	if err != nil {
		b.Fatal(err)
	}
	reg, err := os.ReadFile("testdata/e2e_register.xml")
	if err != nil {
		b.Fatal(err)
	}
	target := "127.0.0.1:" + strconv.Itoa(sipPort)
	for i := range p.agents {
		id := e2eAgentID(i)
		port := freeUDPPort(b)
		scen := filepath.Join(dir, id+".xml")
		os.WriteFile(scen, []byte(strings.NewReplacer("{{USER}}", id, "{{WAV}}", wav,
			"{{THINK_MS}}", strconv.Itoa(int(p.think/time.Millisecond)),
			"{{TALK_MS}}", strconv.Itoa(int(p.talk/time.Millisecond))).Replace(string(uas))), 0o644)
		cmd := exec.Command("taskset", "-c", strconv.Itoa(sippCPU), "sipp", "-sf", scen, "-t", "un",
			"-i", "127.0.0.1", "-p", strconv.Itoa(port), "-mi", "127.0.0.1", "-mp", strconv.Itoa(agentMediaPort+4*i),
			"-nostdin", "-max_socket", "1000", "-trace_logs", "-log_file", filepath.Join(dir, id+"_logs.log"),
			"-trace_err", "-error_file", filepath.Join(dir, id+"_errors.log"), target)
		cmd.Dir = dir
		out := &strings.Builder{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			b.Fatalf("agent %s: %v", id, err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		a.cmds, a.outs, a.waits = append(a.cmds, cmd), append(a.outs, out), append(a.waits, done)

		regScen := filepath.Join(dir, id+"_register.xml")
		os.WriteFile(regScen, []byte(strings.NewReplacer("{{USER}}", id,
			"{{CONTACT}}", "127.0.0.1:"+strconv.Itoa(port)).Replace(string(reg))), 0o644)
		rcmd := exec.Command("sipp", "-sf", regScen, "-t", "un", "-i", "127.0.0.1", "-p", strconv.Itoa(freeUDPPort(b)),
			"-m", "1", "-au", id, "-ap", e2eAgentSecret(i), "-timeout", "10s", "-timeout_error", "-nostdin", "-max_socket", "100",
			"-trace_err", "-error_file", filepath.Join(dir, id+"_register_errors.log"), target)
		rcmd.Dir = dir
		if out, err := rcmd.CombinedOutput(); err != nil {
			a.close(b)
			errs, _ := os.ReadFile(filepath.Join(dir, id+"_register_errors.log"))
			b.Fatalf("agent %s: REGISTER failed: %v\n%s\n%s", id, err, out[max(0, len(out)-2000):], errs)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		avail := 0
		for _, ag := range router.Snapshot().Agents {
			if strings.HasPrefix(ag.ID, "bench-a") && ag.State == routing.StateAvailable {
				avail++
			}
		}
		if avail == p.agents {
			return a
		}
		select {
		case <-ctx.Done():
			a.close(b)
			b.Fatalf("%d of %d agents available after registering", avail, p.agents)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// close stops the phones (SIGUSR1: SIPp takes no new call and exits once
// its calls are over; killed after 10 s) and tallies what they saw.
func (a *e2eAgentPhones) close(b testing.TB) e2eAgentTally {
	b.Helper()
	var t e2eAgentTally
	if a.closed {
		return t
	}
	a.closed = true
	for _, c := range a.cmds {
		c.Process.Signal(syscall.SIGUSR1)
	}
	limit := time.After(10 * time.Second)
	for i, done := range a.waits {
		select {
		case <-done:
		case <-limit:
			a.cmds[i].Process.Kill()
			<-done
		}
		ok, failed := sippCounts(a.outs[i].String())
		t.ok += ok
		t.failed += failed
		logs, _ := os.ReadFile(filepath.Join(a.dir, e2eAgentID(i)+"_logs.log"))
		t.endedByAgent += strings.Count(string(logs), "ended-by-agent")
		t.endedBySwitch += strings.Count(string(logs), "ended-by-switch")
		t.offerWithdrn += strings.Count(string(logs), "offer-withdrawn")
	}
	return t
}

// envCount is envInt for counts that may be 0.
func envCount(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v >= 0 {
		return v
	}
	return def
}

// runSwitch runs svc until the returned stop is called, which waits for
// Run and reports its error.
func runSwitch(tb testing.TB, svc *service.Service) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- svc.Run(ctx) }()
	return func() {
		cancel()
		if err := <-ran; err != nil && !errors.Is(err, context.Canceled) {
			tb.Errorf("switch: %v", err)
		}
	}
}
