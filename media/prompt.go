package media

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"time"
)

// Prompt is a recorded message decoded to 8 kHz mono PCM at load time,
// so playing it cannot fail on the file.
type Prompt struct {
	Name    string // file name without extension, e.g. "welcome"
	Samples []int16
}

// Duration is the prompt's length.
func (p *Prompt) Duration() time.Duration {
	return time.Duration(len(p.Samples)) * time.Second / SampleRate
}

// LoadPrompt reads a WAV or FLAC file (any rate, depth, channels) as a
// prompt named after the file.
func LoadPrompt(file string) (*Prompt, error) {
	pcm, err := LoadPCM(file, SampleRate)
	if err != nil {
		return nil, err
	}
	return &Prompt{Name: promptName(file), Samples: pcm}, nil
}

// LoadPromptFS reads a prompt from fsys (for example res.Prompts).
func LoadPromptFS(fsys fs.FS, file string) (*Prompt, error) {
	data, err := fs.ReadFile(fsys, file)
	if err != nil {
		return nil, fmt.Errorf("media: load prompt %s: %w", file, err)
	}
	pcm, err := DecodePCM(data, SampleRate)
	if err != nil {
		return nil, fmt.Errorf("media: load prompt %s: %w", file, err)
	}
	return &Prompt{Name: promptName(file), Samples: pcm}, nil
}

func promptName(file string) string {
	base := path.Base(strings.ReplaceAll(file, string(os.PathSeparator), "/"))
	return strings.TrimSuffix(base, path.Ext(base))
}

// Prompts is a set of prompts by name, loaded once and read-only after.
type Prompts struct {
	byName map[string]*Prompt
}

// LoadPrompts loads every .wav and .flac file in dir of fsys (use
// os.DirFS for a folder on disk). Any unreadable file fails the whole
// load with an error naming it.
func LoadPrompts(fsys fs.FS, dir string) (*Prompts, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("media: prompts %s: %w", dir, err)
	}
	ps := &Prompts{byName: map[string]*Prompt{}}
	for _, e := range entries {
		ext := strings.ToLower(path.Ext(e.Name()))
		if e.IsDir() || (ext != ".wav" && ext != ".flac") {
			continue
		}
		p, err := LoadPromptFS(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		if _, dup := ps.byName[p.Name]; dup {
			return nil, fmt.Errorf("media: prompts %s: two files named %q", dir, p.Name)
		}
		ps.byName[p.Name] = p
	}
	return ps, nil
}

// Add puts p in the set, replacing a prompt of the same name. Call it
// while building the set, before it is shared: Get and Lookup are safe
// for concurrent use only while nothing is added.
func (ps *Prompts) Add(p *Prompt) {
	if ps.byName == nil {
		ps.byName = map[string]*Prompt{}
	}
	ps.byName[p.Name] = p
}

// Get returns the prompt called name, or nil.
func (ps *Prompts) Get(name string) *Prompt { return ps.byName[name] }

// Lookup returns the prompt called name and whether it exists.
func (ps *Prompts) Lookup(name string) (*Prompt, bool) {
	p, ok := ps.byName[name]
	return p, ok
}

// Names lists the prompts, sorted.
func (ps *Prompts) Names() []string {
	names := make([]string, 0, len(ps.byName))
	for n := range ps.byName {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Play writes p to w one FrameSamples frame at a time (the last padded
// with silence); w paces it. Cancelling ctx stops it between frames (a
// barge-in) and Play returns ctx.Err().
func Play(ctx context.Context, w Writer, p *Prompt) error {
	if p == nil {
		return fmt.Errorf("media: play: nil prompt")
	}
	var frame [FrameSamples]int16
	for off := 0; off < len(p.Samples); off += FrameSamples {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := copy(frame[:], p.Samples[off:])
		clear(frame[n:])
		if err := w.WriteAudio(ctx, frame[:]); err != nil {
			return fmt.Errorf("media: play %s: %w", p.Name, err)
		}
	}
	return nil
}
