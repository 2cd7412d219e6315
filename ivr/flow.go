package ivr

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"time"
)

// Flow is one flow file, checked and ready to run. A Flow is immutable: a
// call keeps the *Flow it started with even when the file is reloaded.
type Flow struct {
	name     string
	file     string
	hash     string // hex SHA-256 of src
	desc     string
	src      []byte
	operator string // step reached by pressing 0; "" when the flow says none

	calendars map[string]*calendar
	fields    map[string]Type // customer fields the conditions may read
	vars      map[string]Type // flow variables (set, collect)
	main      *seq
	subs      map[string]*seq
	subOrder  []string
	steps     map[string]*Step // every step by id
	prompts   map[string][]int16
	stamps    map[string]stamp // prompt files of the flow's folder, as loaded
}

// stamp identifies a file's content cheaply, to notice prompt edits.
type stamp struct {
	size int64
	mod  time.Time
}

// promptsChanged reports whether a prompt file in fsys differs from the
// one the flow loaded.
func (f *Flow) promptsChanged(fsys fs.FS) bool {
	for name, st := range f.stamps {
		fi, err := fs.Stat(fsys, name)
		if err != nil || fi.Size() != st.size || !fi.ModTime().Equal(st.mod) {
			return true
		}
	}
	return false
}

// Name returns the flow's name (its flow: key, or the file name).
func (f *Flow) Name() string { return f.name }

// File returns the path or name the flow was loaded from.
func (f *Flow) File() string { return f.file }

// Hash returns the hex SHA-256 of the flow's source: its version.
func (f *Flow) Hash() string { return f.hash }

// Version returns the first 12 hex digits of Hash, for logs and listings.
func (f *Flow) Version() string { return f.hash[:12] }

// Source returns a copy of the flow's YAML source.
func (f *Flow) Source() []byte { return append([]byte(nil), f.src...) }

// Description returns the flow's description: text.
func (f *Flow) Description() string { return f.desc }

// StepIDs returns the ids of the main flow's steps, then each sub-flow's,
// in file order. Steps without an id: get one like "main:3".
func (f *Flow) StepIDs() []string {
	var out []string
	for _, s := range f.seqs() {
		for _, st := range s.steps {
			out = append(out, st.id)
		}
	}
	return out
}

func (f *Flow) seqs() []*seq {
	out := []*seq{f.main}
	for _, n := range f.subOrder {
		out = append(out, f.subs[n])
	}
	return out
}

// seq is the main step list or one sub-flow.
type seq struct {
	name  string // "main" or the sub-flow's name
	pos   Pos
	steps []*Step
}

// Step is one step of a flow: what every kind of step has, and the
// options of its kind (stepKinds). Its fields are read by the runner and
// the graph and diff writers; they never change after loading.
type Step struct {
	id    string
	kind  string
	pos   Pos
	seq   *seq
	index int
	auto  bool // id made up by the loader

	next     string // explicit next: target; "" falls through
	operator bool   // pressing 0 during this step reaches the operator
	fail     string // fail: target, for the kinds that can fail; "" continues as usual

	opts stepOptions // of the kind's own type
}

// following is the step a completed step continues with: its next:, the
// next step of its list, or exit at the end of the list.
func (s *Step) following() string {
	if s.next != "" {
		return s.next
	}
	if s.index+1 < len(s.seq.steps) {
		return s.seq.steps[s.index+1].id
	}
	return exit
}

// ID returns the step's id.
func (s *Step) ID() string { return s.id }

// Kind returns the step's type (play, menu...).
func (s *Step) Kind() string { return s.kind }

func hashOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
