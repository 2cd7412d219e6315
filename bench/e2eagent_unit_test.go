package bench

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/voxdesk/voxdesk/ivr"
	"github.com/voxdesk/voxdesk/service"
)

// queueOnlyFlow puts every call straight into the general queue.
const queueOnlyFlow = `flow: q
operator: none
steps:
  - id: wait
    queue: general
`

// TestE2EAgentPhones: the end-to-end bench's agents (two SIPp phones
// registered with digest authentication, testdata/e2e_register.xml and
// e2e_agent.xml) against a switch from the bench's configuration with the
// voice side off and a flow that only queues: a bench caller
// (testdata/e2e.xml) is answered by one agent after the think time, the
// agent talks and hangs up, and the switch hangs the caller up.
func TestE2EAgentPhones(t *testing.T) {
	for _, tool := range []string{"sipp", "sox", "taskset"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not installed (scripts/install-deps.sh): %v", tool, err)
		}
	}
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	dir := t.TempDir()
	flows := filepath.Join(dir, "flows")
	os.Mkdir(flows, 0o700)
	if err := os.WriteFile(filepath.Join(flows, "q.yaml"), []byte(queueOnlyFlow), 0o644); err != nil {
		t.Fatal(err)
	}
	wav := filepath.Join(dir, "tone.wav")
	if out, err := exec.Command("sox", "-n", "-r", "8000", "-c", "1", "-e", "u-law", "-b", "8", wav, "synth", "3", "sine", "440").CombinedOutput(); err != nil {
		t.Fatalf("sox: %v\n%s", err, out)
	}
	cfg := e2eConfig(t, dir, "", "off", 4, 2)
	cfg.IVR = ivr.Settings{Dir: flows, Default: "q"}
	cfg.Voiceprint.DemoSpeech = ""
	cfg.Routing.WrapUp = time.Second
	svc, err := service.New(cfg, service.WithIVROptions(ivr.WithClock(officeHours)))
	if err != nil {
		t.Fatal(err)
	}
	defer runSwitch(t, svc)()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sipPort := svc.SIPAddr("udp").(*net.UDPAddr).Port
	agents := startE2EAgents(t, e2eAgentParams{agents: 2, think: 500 * time.Millisecond, talk: 2 * time.Second}, dir, sipPort, wav, svc.Router())

	scen, err := os.ReadFile("testdata/e2e.xml")
	if err != nil {
		t.Fatal(err)
	}
	scenFile := filepath.Join(dir, "caller.xml")
	os.WriteFile(scenFile, []byte(strings.NewReplacer("{{WAV}}", wav, "{{HOLD_MS}}", "20000").Replace(string(scen))), 0o644)
	cmd := exec.CommandContext(ctx, "sipp", "-sf", scenFile, "-t", "un", "-i", "127.0.0.1", "-p", strconv.Itoa(freeUDPPort(t)),
		"-m", "1", "-timeout", "30s", "-timeout_error", "-nostdin", "-max_socket", "100",
		"-trace_logs", "-log_file", filepath.Join(dir, "caller_logs.log"), "127.0.0.1:"+strconv.Itoa(sipPort))
	cmd.Dir = dir
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	tally := agents.close(t)
	if err != nil {
		t.Fatalf("caller: %v\n%s", err, out[max(0, len(out)-2000):])
	}
	logs, _ := os.ReadFile(filepath.Join(dir, "caller_logs.log"))
	if !strings.Contains(string(logs), "ended-by-switch") {
		t.Errorf("the caller hung up itself after %v: the agent's BYE did not reach it", took)
	}
	// Ringing 0.5 s then talking 2 s: the switch hangs up well before the
	// caller's own 20 s.
	if took < 2500*time.Millisecond || took > 15*time.Second {
		t.Errorf("call took %v, want the think time + talk time (2.5 s) and some", took)
	}
	if tally.ok != 1 || tally.failed != 0 || tally.endedByAgent != 1 || tally.endedBySwitch != 0 || tally.offerWithdrn != 0 {
		t.Errorf("agents' phones: %+v, want 1 call answered and hung up by the agent", tally)
	}
}
