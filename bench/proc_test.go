package bench

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// daemon is a process the bench started (a switch or a peer), stopped
// with SIGINT by stop, or killed 10 s later.
type daemon struct {
	cmd  *exec.Cmd
	done chan error
}

func startDaemon(b *testing.B, cmd *exec.Cmd) *daemon {
	b.Helper()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	d := &daemon{cmd: cmd, done: make(chan error, 1)}
	go func() { d.done <- cmd.Wait() }()
	return d
}

func (d *daemon) pid() int { return d.cmd.Process.Pid }

func (d *daemon) stop() {
	d.cmd.Process.Signal(os.Interrupt)
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		d.cmd.Process.Kill()
		<-d.done
	}
}

// pinned runs name on the given CPU with taskset.
func pinned(cpu int, name string, args ...string) *exec.Cmd {
	return exec.Command("taskset", append([]string{"-c", strconv.Itoa(cpu), name}, args...)...)
}

// pinSelf moves every thread of the bench process to one CPU (threads
// created later inherit it).
func pinSelf(cpu int) error {
	var set unix.CPUSet
	set.Set(cpu)
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, _ := strconv.Atoi(t.Name())
		if err := unix.SchedSetaffinity(tid, &set); err != nil {
			return fmt.Errorf("pin thread %d to CPU %d: %w", tid, cpu, err)
		}
	}
	return nil
}

// unpinSelf lets the bench process run on every CPU again.
func unpinSelf() {
	var set unix.CPUSet
	for i := range numCPU() {
		set.Set(i)
	}
	tasks, _ := os.ReadDir("/proc/self/task")
	for _, t := range tasks {
		tid, _ := strconv.Atoi(t.Name())
		unix.SchedSetaffinity(tid, &set)
	}
}

// rssPeak samples a process's resident set every 250 ms until stopped.
type rssPeak struct {
	peak atomic.Int64
	stop chan struct{}
	wg   sync.WaitGroup
}

func watchRSS(pid int) *rssPeak {
	w := &rssPeak{stop: make(chan struct{})}
	w.peak.Store(procRSS(pid))
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				if r := procRSS(pid); r > w.peak.Load() {
					w.peak.Store(r)
				}
			case <-w.stop:
				return
			}
		}
	}()
	return w
}

func (w *rssPeak) close() int64 {
	close(w.stop)
	w.wg.Wait()
	return w.peak.Load()
}

// cpuTimes is /proc/stat's busy and total ticks per CPU.
type cpuTimes struct{ busy, total []int64 }

func readCPUTimes() cpuTimes {
	var t cpuTimes
	data, _ := os.ReadFile("/proc/stat")
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 8 || !strings.HasPrefix(f[0], "cpu") || f[0] == "cpu" {
			continue
		}
		var total, idle int64
		for i, v := range f[1:] {
			n, _ := strconv.ParseInt(v, 10, 64)
			total += n
			if i == 3 || i == 4 { // idle, iowait
				idle += n
			}
		}
		t.busy = append(t.busy, total-idle)
		t.total = append(t.total, total)
	}
	return t
}

// busyShare is each CPU's busy share between two readings, whoever ran.
func busyShare(a, b cpuTimes) []float64 {
	out := make([]float64, min(len(a.busy), len(b.busy)))
	for i := range out {
		if dt := b.total[i] - a.total[i]; dt > 0 {
			out[i] = float64(b.busy[i]-a.busy[i]) / float64(dt)
		}
	}
	return out
}

// benchGate skips b unless VOXDESK_BENCH=1 and fails it when one of
// tools is missing or, with pinned set, when the machine has fewer than
// the two CPUs the bench pins the switch and its load to (taskset).
func benchGate(b *testing.B, name string, pinned bool, tools ...string) {
	b.Helper()
	if os.Getenv("VOXDESK_BENCH") != "1" {
		b.Skipf("set VOXDESK_BENCH=1 to run the %s bench", name)
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			b.Fatalf("%s not installed (scripts/install-deps.sh): %v", tool, err)
		}
	}
	if pinned && numCPU() < 2 {
		b.Fatalf("the %s bench pins the switch and SIPp to two different CPUs; this machine has one", name)
	}
}
