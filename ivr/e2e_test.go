package ivr_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/ivr"
	"github.com/voxdesk/voxdesk/service"
	"github.com/voxdesk/voxdesk/sip"
)

// trace records, per call, the steps the flow ran and the call's final
// variables.
type trace struct {
	mu    sync.Mutex
	steps map[string][]string
	vars  map[string]map[string]string
	hook  func(c *call.Call, step string)
}

func (tr *trace) onStep(c *call.Call, f *ivr.Flow, step string) {
	tr.mu.Lock()
	tr.steps[c.ID] = append(tr.steps[c.ID], step)
	hook := tr.hook
	tr.mu.Unlock()
	if hook != nil {
		hook(c, step)
	}
}

func (tr *trace) served(next call.Handler) call.Handler {
	return call.HandlerFunc(func(ctx context.Context, c *call.Call) error {
		err := next.ServeCall(ctx, c)
		tr.mu.Lock()
		tr.vars[c.ID] = c.Vars()
		tr.mu.Unlock()
		return err
	})
}

// only returns the steps and variables of the one call served since the
// last reset.
func (tr *trace) only(t *testing.T) ([]string, map[string]string) {
	t.Helper()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if len(tr.vars) != 1 {
		t.Fatalf("%d calls served, want 1 (steps %v)", len(tr.vars), tr.steps)
	}
	for id, v := range tr.vars {
		s := tr.steps[id]
		tr.steps, tr.vars = map[string][]string{}, map[string]map[string]string{}
		return s, v
	}
	return nil, nil
}

// TestEndToEndSIPp runs the example hotline flow in a whole switch on
// 127.0.0.1 and calls it with SIPp, which presses keys with RFC 2833
// events. It checks the step and queue each call reached, and that a flow
// edited during a call does not disturb that call while the next call
// gets the new version.
func TestEndToEndSIPp(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end SIPp calls take about 20 s")
	}
	if _, err := exec.LookPath("sipp"); err != nil {
		t.Skip("sipp not installed (Debian package sip-tester; make test installs it)")
	}
	if _, err := os.Stat("/usr/share/sip-tester/dtmf_2833_1.pcap"); err != nil {
		t.Skip("SIPp's DTMF pcaps are missing")
	}
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) }) // after the switch's cleanup

	// The example flows, copied so the test can edit them.
	dir := t.TempDir()
	copyTree(t, "../examples/flows", dir)
	logw := &lockedBuffer{}
	logger := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelInfo}))
	lib, err := ivr.NewLibrary(dir, ivr.Options{Builtin: builtin(t)}, ivr.WithLibraryLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	tr := &trace{steps: map[string][]string{}, vars: map[string]map[string]string{}}
	runner := lib.Runner("hotline", ivr.Config{HoldLimit: time.Minute}, ivr.WithLogger(logger), ivr.OnStep(tr.onStep),
		ivr.WithClock(func() time.Time { return monday9 })) // office hours whatever the time of the test

	svc, port := serveIVR(t, tr.served(runner), logger, logw, 48000)

	// Each case is one SIPp call: wait, press a key, stay, hang up.
	cases := []struct {
		name      string
		key       string
		wait      time.Duration
		wantSteps string
		wantQueue string
	}{
		// The key interrupts the welcome (barge-in) and answers the menu.
		{"1 reaches the billing queue", "1", 1500 * time.Millisecond, "welcome hours who known need billing", "billing"},
		// After the welcome, during the menu prompt.
		{"2 during the menu reaches support", "2", 6 * time.Second, "welcome hours who known need support", "support"},
		// 0 during the welcome reaches a person.
		{"0 reaches a person", "0", 1500 * time.Millisecond, "welcome advisor", "general"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			runSIPp(t, port, tc.key, tc.wait, 2*time.Second)
			waitIdle(t, svc)
			steps, vars := tr.only(t)
			if got := strings.Join(steps, " "); got != tc.wantSteps {
				t.Errorf("steps %q, want %q", got, tc.wantSteps)
			}
			if vars[call.VarQueue] != tc.wantQueue {
				t.Errorf("queue %q, want %q", vars[call.VarQueue], tc.wantQueue)
			}
		})
	}

	t.Run("an edit during a call does not disturb it; the next call gets it", func(t *testing.T) {
		old := lib.Flow("hotline")
		file := filepath.Join(dir, "hotline.yaml")
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		// Swap what 1 and 2 lead to.
		edited := strings.NewReplacer("1: billing", "1: support", "2: support", "2: billing").Replace(string(src))
		tr.mu.Lock()
		tr.hook = func(c *call.Call, step string) {
			if step == "hours" { // the call is under way with the old version
				tr.hook = nil
				if err := os.WriteFile(file, []byte(edited), 0o644); err != nil {
					t.Error(err)
				}
				if err := lib.Reload(); err != nil {
					t.Errorf("Reload: %v", err)
				}
			}
		}
		tr.mu.Unlock()
		runSIPp(t, port, "1", 1500*time.Millisecond, 2*time.Second)
		waitIdle(t, svc)
		_, vars := tr.only(t)
		if vars[call.VarQueue] != "billing" || vars[ivr.VarFlow] != "hotline@"+old.Version() {
			t.Errorf("call in progress: queue %q flow %q, want billing on %s", vars[call.VarQueue], vars[ivr.VarFlow], old.Version())
		}
		if lib.Flow("hotline") == old {
			t.Fatal("the edit was not loaded")
		}
		runSIPp(t, port, "1", 1500*time.Millisecond, 2*time.Second)
		waitIdle(t, svc)
		_, vars = tr.only(t)
		if vars[call.VarQueue] != "support" || vars[ivr.VarFlow] != "hotline@"+lib.Flow("hotline").Version() {
			t.Errorf("next call: queue %q flow %q, want support on the new version", vars[call.VarQueue], vars[ivr.VarFlow])
		}
	})
}

// serveIVR runs a switch on 127.0.0.1 serving every call with h, RTP
// ports from rtpMin, until the test ends; its log is printed if the test
// failed.
func serveIVR(t *testing.T, h call.Handler, logger *slog.Logger, logw *lockedBuffer, rtpMin int) (*service.Service, int) {
	t.Helper()
	cfg := service.DefaultConfig()
	cfg.HTTP.Listen = "off"
	cfg.SIP.UDP = "127.0.0.1:0"
	cfg.SIP.TCP = "off"
	cfg.SIP.Trunks = []sip.Trunk{{Name: "local", Networks: []string{"127.0.0.0/8"}}}
	cfg.Media.RTPPortMin, cfg.Media.RTPPortMax = rtpMin, rtpMin+999
	svc, err := service.New(cfg, service.WithLogger(logger), service.WithHandler(h))
	if err != nil {
		t.Fatal(err)
	}
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
			t.Logf("switch log:\n%s", logw.String())
		}
	})
	return svc, svc.SIPAddr("udp").(*net.UDPAddr).Port
}

// runSIPp places one call with testdata/sipp/caller.xml and fails the
// test unless SIPp reports it passed.
func runSIPp(t *testing.T, port int, key string, wait, stay time.Duration) {
	t.Helper()
	src, err := os.ReadFile("testdata/sipp/caller.xml")
	if err != nil {
		t.Fatal(err)
	}
	runScenario(t, port, strings.NewReplacer("{{KEY}}", key, "{{WAIT_MS}}", strconv.Itoa(int(wait/time.Millisecond)),
		"{{STAY_MS}}", strconv.Itoa(int(stay/time.Millisecond))).Replace(string(src)))
}

// runScenario places one call with the SIPp scenario text and fails the
// test unless SIPp reports it passed.
func runScenario(t *testing.T, port int, text string) {
	t.Helper()
	dir := t.TempDir()
	scen := filepath.Join(dir, "caller.xml")
	if err := os.WriteFile(scen, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sipp", "-sf", scen, "-t", "un",
		"-i", "127.0.0.1", "-p", strconv.Itoa(freeUDPPort(t)), "-mi", "127.0.0.1", "-mp", strconv.Itoa(freeUDPPort(t)),
		"-m", "1", "-l", "1", "-timeout", "30s", "-timeout_error", "-nostdin", "-max_socket", "100", "-trace_err",
		"-error_file", filepath.Join(dir, "errors.log"), "127.0.0.1:"+strconv.Itoa(port))
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		errs, _ := os.ReadFile(filepath.Join(dir, "errors.log"))
		t.Fatalf("sipp: %v\n%s\n%s", err, tail(string(out), 30), errs)
	}
}

func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

func waitIdle(t *testing.T, svc *service.Service) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for svc.ActiveCalls() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d calls still up", svc.ActiveCalls())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// copyTree copies the regular files below src into dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") && p != src {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(filepath.Join(dst, rel))
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
