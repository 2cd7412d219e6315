package ivr

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/voxdesk/voxdesk/call"
)

// Library holds the flows of a folder and keeps them current: Reload (or
// Watch, which polls) loads changed files, swaps each valid one in
// atomically and keeps the last good version of an invalid one. Calls in
// progress keep the *Flow they started with. Every valid version is kept
// by content hash in a versions folder, for `voxdesk flow diff`.
type Library struct {
	dir      string
	versions string
	opts     Options
	log      *slog.Logger

	reloading sync.Mutex // one Reload at a time (Watch and callers)

	mu    sync.RWMutex
	byKey map[string]*Flow     // current flow by name
	files map[string]fileState // by path
	known map[string]*Flow     // every version seen, by hash

	reloads  *prometheus.CounterVec
	failures *prometheus.CounterVec
	stats    *stats // of the runners it made
}

type fileState struct {
	hash string // last content seen, valid or not
	name string // flow name it provided when last valid
}

// LibraryOption configures a Library.
type LibraryOption func(*Library)

// WithLibraryLogger sets the Library's logger.
func WithLibraryLogger(l *slog.Logger) LibraryOption { return func(lib *Library) { lib.log = l } }

// WithVersionsDir sets where valid versions are kept (dir/.versions by
// default; "" keeps them in memory only).
func WithVersionsDir(dir string) LibraryOption { return func(lib *Library) { lib.versions = dir } }

// NewLibrary loads every *.yaml and *.yml file of dir. It fails, listing
// every error of every file, when one is invalid: a switch should not
// start with a broken flow. Later invalid edits only keep the old version.
func NewLibrary(dir string, opts Options, lopts ...LibraryOption) (*Library, error) {
	l := &Library{
		dir: dir, versions: filepath.Join(dir, ".versions"), opts: opts, log: slog.Default(),
		byKey: map[string]*Flow{}, files: map[string]fileState{}, known: map[string]*Flow{},
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "voxdesk", Subsystem: "ivr", Name: "flow_reloads_total",
			Help: "Flow files loaded and swapped in after a change.",
		}, []string{"file"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "voxdesk", Subsystem: "ivr", Name: "flow_reload_errors_total",
			Help: "Changed flow files refused as invalid (the last good version stays in use).",
		}, []string{"file"}),
		stats: newStats(),
	}
	for _, o := range lopts {
		o(l)
	}
	l.log = l.log.With("component", "ivr.library", "dir", dir)
	if err := l.Reload(); err != nil {
		return nil, err
	}
	return l, nil
}

// Describe implements prometheus.Collector.
func (l *Library) Describe(ch chan<- *prometheus.Desc) {
	l.reloads.Describe(ch)
	l.failures.Describe(ch)
	l.stats.describe(ch)
}

// Collect implements prometheus.Collector.
func (l *Library) Collect(ch chan<- prometheus.Metric) {
	l.reloads.Collect(ch)
	l.failures.Collect(ch)
	l.stats.collect(ch)
}

// Flow returns the current version of the named flow, or nil.
func (l *Library) Flow(name string) *Flow {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.byKey[name]
}

// Names returns the names of the flows held, sorted.
func (l *Library) Names() []string {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]string, 0, len(l.byKey))
	for n := range l.byKey {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Version returns a version seen by this Library by hash or unique hash
// prefix (at least 6 hex digits).
func (l *Library) Version(hash string) (*Flow, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var found *Flow
	if len(hash) >= 6 {
		for h, f := range l.known {
			if strings.HasPrefix(h, hash) {
				if found != nil && found != f {
					return nil, fmt.Errorf("ivr: version %s is ambiguous", hash)
				}
				found = f
			}
		}
	}
	if found == nil {
		return nil, fmt.Errorf("ivr: version %s: %w", hash, ErrNoFlow)
	}
	return found, nil
}

// Runner returns a Runner for the named flow that serves each call with
// the version current when the call arrives. Calls to a flow the Library
// does not hold are rejected (503).
func (l *Library) Runner(name string, cfg Config, opts ...Option) *Runner {
	r := newRunner(func(*call.Call) *Flow { return l.Flow(name) }, cfg, opts)
	r.stats = l.stats
	return r
}

// Dispatch returns a Runner that picks the flow for each call by the
// number or service name dialled (call.Call.Callee) in byCallee, and
// otherwise uses the flow named fallback; a call no flow matches is
// rejected (503). Like Runner, each call keeps the version current when
// it arrived.
func (l *Library) Dispatch(byCallee map[string]string, fallback string, cfg Config, opts ...Option) *Runner {
	routes := maps.Clone(byCallee)
	r := newRunner(func(c *call.Call) *Flow {
		if name, ok := routes[c.Callee]; ok {
			return l.Flow(name)
		}
		return l.Flow(fallback)
	}, cfg, opts)
	r.stats = l.stats
	return r
}

// Reload looks at every flow file once and swaps in the valid changes.
// It returns the errors of the files that are invalid now (their last
// good version, if any, stays in use).
func (l *Library) Reload() error {
	l.reloading.Lock()
	defer l.reloading.Unlock()
	paths, err := FlowFiles(l.dir)
	if err != nil {
		return fmt.Errorf("ivr: reload %s: %w", l.dir, err)
	}
	var errs []error
	seen := map[string]bool{}
	for _, p := range paths {
		seen[p] = true
		if err := l.reloadFile(p); err != nil {
			errs = append(errs, err)
		}
	}
	l.mu.Lock()
	for p, st := range l.files {
		if !seen[p] {
			l.log.Warn("ivr: flow file removed; its last version stays in use until restart", "file", p, "flow", st.name)
			delete(l.files, p)
		}
	}
	l.mu.Unlock()
	return errors.Join(errs...)
}

// FlowFiles lists the flow files of dir a Library loads: *.yaml and
// *.yml files whose name does not start with a dot.
func FlowFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if !e.IsDir() && (ext == ".yaml" || ext == ".yml") && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out, nil
}

func (l *Library) reloadFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed between listing and reading
		}
		return err
	}
	h := hashOf(data)
	opts := l.opts
	if opts.Prompts == nil {
		opts.Prompts = os.DirFS(filepath.Dir(path))
	}
	l.mu.RLock()
	prev, had := l.files[path]
	cur := l.byKey[prev.name]
	l.mu.RUnlock()
	if had && prev.hash == h && (cur == nil || cur.file != path || !cur.promptsChanged(opts.Prompts)) {
		return nil // unchanged, and so are its prompt files
	}
	f, err := Parse(path, data, opts)
	if err == nil {
		l.mu.RLock()
		if cur, taken := l.byKey[f.name]; taken && cur.file != path {
			err = ErrorList{{File: path, Pos: Pos{1, 1}, Msg: fmt.Sprintf("flow name %q is already used by %s", f.name, cur.file)}}
		}
		l.mu.RUnlock()
	}
	if err != nil {
		l.mu.Lock()
		l.files[path] = fileState{hash: h, name: prev.name}
		l.mu.Unlock()
		if had { // at start-up NewLibrary reports instead
			l.failures.WithLabelValues(filepath.Base(path)).Inc()
			l.log.Error("ivr: flow change refused; keeping the last good version", "file", path, "flow", prev.name, "err", err)
		}
		return err
	}
	l.mu.Lock()
	old := l.byKey[f.name]
	if prev.name != "" && prev.name != f.name {
		delete(l.byKey, prev.name) // renamed by its flow: key
	}
	l.byKey[f.name] = f
	l.known[f.hash] = f
	l.files[path] = fileState{hash: h, name: f.name}
	l.mu.Unlock()
	l.keep(f)
	if had {
		l.reloads.WithLabelValues(filepath.Base(path)).Inc()
		from := ""
		if old != nil {
			from = old.Version()
		}
		l.log.Info("ivr: flow reloaded", "file", path, "flow", f.name, "from", from, "to", f.Version())
	} else {
		l.log.Info("ivr: flow loaded", "file", path, "flow", f.name, "version", f.Version())
	}
	return nil
}

// keep writes a valid version to the versions folder, once.
func (l *Library) keep(f *Flow) {
	if l.versions == "" {
		return
	}
	p := filepath.Join(l.versions, f.name+"-"+f.Version()+".yaml")
	if _, err := os.Stat(p); err == nil {
		return
	}
	if err := os.MkdirAll(l.versions, 0o755); err != nil {
		l.log.Warn("ivr: cannot keep flow version", "err", err)
		return
	}
	if err := os.WriteFile(p, f.src, 0o644); err != nil {
		l.log.Warn("ivr: cannot keep flow version", "err", err)
	}
}

// Watch polls the folder every interval (1 s when zero) until ctx ends,
// and returns ctx.Err().
func (l *Library) Watch(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		interval = time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			_ = l.Reload() // failures are logged and counted
		}
	}
}
