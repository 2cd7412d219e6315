package ivr_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/call/calltest"
	"github.com/voxdesk/voxdesk/ivr"
)

const libV1 = `flow: line
operator: none
steps:
  - id: a
    play: p1s
  - id: b
    play: p1s
  - id: end
    queue: one
`

func writeFile(t *testing.T, path, src string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// TestLibraryHotReload edits the flow while a call runs: that call keeps
// its version, the next call gets the new one, and an invalid edit keeps
// the last good version and counts a failure.
func TestLibraryHotReload(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "line.yaml")
	writeFile(t, file, libV1)
	lib, err := ivr.NewLibrary(dir, testOpts, ivr.WithLibraryLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(lib)
	v1 := lib.Flow("line")

	var edit func()
	r := lib.Runner("line", ivr.Config{HoldLimit: time.Second}, ivr.WithLogger(slog.New(slog.DiscardHandler)),
		ivr.OnStep(func(c *call.Call, f *ivr.Flow, step string) {
			if step == "b" && edit != nil {
				edit()
				edit = nil
			}
		}))
	serve := func() *call.Call {
		t.Helper()
		c := call.New("c", calltest.NewLeg(), nil)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := r.ServeCall(ctx, c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	queue := func(c *call.Call) string { q, _ := c.Var(call.VarQueue); return q }

	edit = func() {
		writeFile(t, file, strings.Replace(libV1, "queue: one", "queue: two", 1))
		if err := lib.Reload(); err != nil {
			t.Errorf("Reload: %v", err)
		}
	}
	c1 := serve()
	if got := queue(c1); got != "one" {
		t.Errorf("call in progress during the edit reached queue %q, want one (its own version)", got)
	}
	if v, _ := c1.Var(ivr.VarFlow); v != "line@"+v1.Version() {
		t.Errorf("call 1 flow = %q, want version %s", v, v1.Version())
	}
	if got := queue(serve()); got != "two" {
		t.Errorf("next call reached queue %q, want two (the new version)", got)
	}
	if got := counter(t, reg, "voxdesk_ivr_flow_reloads_total"); got != 1 {
		t.Errorf("reloads counter = %v, want 1", got)
	}
	if got := counter(t, reg, "voxdesk_ivr_calls_total"); got != 2 {
		t.Errorf("calls counter = %v, want 2", got)
	}

	v2 := lib.Flow("line")
	writeFile(t, file, strings.Replace(libV1, "play: p1s", "plya: p1s", 1))
	err = lib.Reload()
	var list ivr.ErrorList
	if !errors.As(err, &list) || !strings.Contains(err.Error(), `unknown step type "plya"`) {
		t.Fatalf("invalid edit: Reload = %v", err)
	}
	if lib.Flow("line") != v2 {
		t.Errorf("invalid edit replaced the flow")
	}
	if got := queue(serve()); got != "two" {
		t.Errorf("after an invalid edit the call reached %q, want two", got)
	}
	if got := counter(t, reg, "voxdesk_ivr_flow_reload_errors_total"); got != 1 {
		t.Errorf("reload errors counter = %v, want 1", got)
	}
	_ = lib.Reload() // the same bad content is not counted twice
	if got := counter(t, reg, "voxdesk_ivr_flow_reload_errors_total"); got != 1 {
		t.Errorf("reload errors counter = %v after an unchanged second look, want 1", got)
	}

	// Both good versions are kept by hash.
	for _, f := range []*ivr.Flow{v1, v2} {
		got, err := lib.Version(f.Hash()[:8])
		if err != nil || got.Hash() != f.Hash() {
			t.Errorf("Version(%s) = %v, %v", f.Version(), got, err)
		}
		if _, err := os.Stat(filepath.Join(dir, ".versions", "line-"+f.Version()+".yaml")); err != nil {
			t.Errorf("version %s not kept on disk: %v", f.Version(), err)
		}
	}
}

func TestLibraryRefusesInvalidAtStart(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "bad.yaml"), "operator: none\nsteps:\n  - goto: nowhere\n")
	_, err := ivr.NewLibrary(dir, testOpts, ivr.WithLibraryLogger(slog.New(slog.DiscardHandler)))
	if err == nil || !strings.Contains(err.Error(), `bad.yaml:3:11: step "nowhere" does not exist`) {
		t.Fatalf("NewLibrary = %v", err)
	}
}

func TestLibraryWatch(t *testing.T) {
	defer goleak.VerifyNone(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "line.yaml")
	writeFile(t, file, libV1)
	lib, err := ivr.NewLibrary(dir, testOpts, ivr.WithLibraryLogger(slog.New(slog.DiscardHandler)), ivr.WithVersionsDir(""))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- lib.Watch(ctx, 10*time.Millisecond) }()
	old := lib.Flow("line")
	writeFile(t, file, strings.Replace(libV1, "queue: one", "queue: three", 1))
	for lib.Flow("line") == old && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	if lib.Flow("line") == old {
		t.Fatal("Watch did not pick up the change")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Watch = %v, want context.Canceled", err)
	}
}

func TestLibraryDispatch(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "line.yaml"), libV1)
	writeFile(t, filepath.Join(dir, "other.yaml"), strings.NewReplacer("flow: line", "flow: other", "queue: one", "queue: other").Replace(libV1))
	lib, err := ivr.NewLibrary(dir, testOpts, ivr.WithLibraryLogger(slog.New(slog.DiscardHandler)), ivr.WithVersionsDir(""))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, callee, fallback string
		wantQueue              string
		wantReject             bool
	}{
		{"dialled number routed", "+33140000000", "line", "other", false},
		{"unknown number takes the fallback", "+33999", "line", "one", false},
		{"no flow at all is refused", "+33999", "missing", "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := lib.Dispatch(map[string]string{"+33140000000": "other"}, tc.fallback, ivr.Config{HoldLimit: time.Second}, ivr.WithLogger(slog.New(slog.DiscardHandler)))
			c := call.New("c", calltest.NewLeg(), nil)
			c.Callee = tc.callee
			err := r.ServeCall(context.Background(), c)
			var rej *call.RejectError
			if tc.wantReject {
				if !errors.As(err, &rej) || rej.Cause != call.CauseUnavailable {
					t.Fatalf("ServeCall = %v, want a 503 rejection", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if q, _ := c.Var(call.VarQueue); q != tc.wantQueue {
				t.Errorf("queue %q, want %q", q, tc.wantQueue)
			}
		})
	}
}

// TestLibraryPromptEdit: replacing a prompt file reloads the flows that
// use it; a broken prompt keeps the last good version.
func TestLibraryPromptEdit(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "line.yaml"), strings.ReplaceAll(libV1, "play: p1s", "play: greeting"))
	writeFile(t, filepath.Join(dir, "greeting.wav"), "1s")
	opts := ivr.Options{Decode: decodeTone} // prompts from the folder
	lib, err := ivr.NewLibrary(dir, opts, ivr.WithLibraryLogger(slog.New(slog.DiscardHandler)), ivr.WithVersionsDir(""))
	if err != nil {
		t.Fatal(err)
	}
	v1 := lib.Flow("line")
	if err := lib.Reload(); err != nil || lib.Flow("line") != v1 {
		t.Fatalf("nothing changed, yet Reload = %v and the flow was replaced: %v", err, lib.Flow("line") != v1)
	}
	writeFile(t, filepath.Join(dir, "greeting.wav"), "2s") // new size: a new recording
	if err := lib.Reload(); err != nil {
		t.Fatal(err)
	}
	v2 := lib.Flow("line")
	if v2 == v1 {
		t.Fatal("prompt edit not picked up")
	}
	writeFile(t, filepath.Join(dir, "greeting.wav"), "garbage!")
	if err := lib.Reload(); err == nil || !strings.Contains(err.Error(), `prompt "greeting"`) {
		t.Fatalf("broken prompt: Reload = %v", err)
	}
	if lib.Flow("line") != v2 {
		t.Error("a broken prompt replaced the flow")
	}
	// Durations played by each version tell them apart.
	for _, tc := range []struct {
		f    *ivr.Flow
		want time.Duration
	}{{v1, time.Second}, {v2, 2 * time.Second}} {
		res, err := ivr.Simulate(context.Background(), tc.f, ivr.Simulation{}, ivr.Config{HoldLimit: 20 * time.Millisecond}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Path[1].At; got != tc.want {
			t.Errorf("version %s: second step at %v, want %v", tc.f.Version(), got, tc.want)
		}
	}
}

func TestLibraryCallStats(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "line.yaml"), strings.Replace(libV1, "operator: none", "operator: end", 1))
	lib, err := ivr.NewLibrary(dir, testOpts, ivr.WithLibraryLogger(slog.New(slog.DiscardHandler)), ivr.WithVersionsDir(""))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(lib)
	r := lib.Runner("line", ivr.Config{HoldLimit: time.Second}, ivr.WithLogger(slog.New(slog.DiscardHandler)))
	for _, script := range [][]calltest.Event{nil, {{At: 1500 * time.Millisecond, Digit: '0'}}} {
		if err := r.ServeCall(context.Background(), call.New("c", calltest.NewLeg(script...), nil)); err != nil {
			t.Fatal(err)
		}
	}
	if got := counter(t, reg, "voxdesk_ivr_calls_total"); got != 2 {
		t.Errorf("calls = %v, want 2", got)
	}
	if got := counter(t, reg, "voxdesk_ivr_operator_total"); got != 1 {
		t.Errorf("operator = %v, want 1 (0 pressed in step b)", got)
	}
	out, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range out {
		if mf.GetName() == "voxdesk_ivr_operator_total" {
			labels := mf.GetMetric()[0].GetLabel()
			if labels[1].GetName() != "step" || labels[1].GetValue() != "b" {
				t.Errorf("operator labels %v, want step b", labels)
			}
		}
	}
}
