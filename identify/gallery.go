package identify

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/voxdesk/voxdesk/voiceprint"
)

// GalleryConfig sizes a Gallery. The zero value uses the defaults.
type GalleryConfig struct {
	// CohortSize bounds the impostor cohort: the first CohortSize
	// voiceprints put in the gallery, plus Extra (default 1000).
	CohortSize int
	// CohortShare is the share of the cohort's members closest to a
	// voiceprint (or caller) whose scores give its statistics, adaptive
	// s-norm's closest-N as a share (default 0.5; at least 10 members).
	// A share, not a count, so the statistics mean the same thing for a
	// cohort of 50 and of 1000: with a fixed 25, a calibration made with
	// 99 cohort speakers gave thresholds 1.3 standard units above one
	// made with 49 (identify's leave-speakers-out test), and would hold
	// only for a cohort of its own size.
	CohortShare float64
	// MinCohort is the fewest cohort members normalised scores are
	// trusted with; below it every decision is NotSure (default 50).
	MinCohort int
	// Extra are cohort embeddings of speakers who are not enrolled (a
	// deployment's calibration cohort).
	Extra [][]float32
}

func (c *GalleryConfig) setDefaults() {
	if c.CohortSize == 0 {
		c.CohortSize = 1000
	}
	if c.CohortShare == 0 {
		c.CohortShare = 0.5
	}
	if c.MinCohort == 0 {
		c.MinCohort = 50
	}
}

// minTop is the fewest closest members cohort statistics use.
const minTop = 10

// ErrSmallCohort is returned when the cohort is too small to normalise.
var ErrSmallCohort = errors.New("identify: cohort too small to normalise scores")

// Gallery holds enrolled voiceprints with what scoring them needs: an
// index for the search and each voiceprint's s-norm statistics against
// the cohort, computed once when it is put (or, while the cohort is
// still filling, at its first decision) and kept until the cohort
// changes. It is safe for concurrent use.
type Gallery struct {
	cfg   GalleryConfig
	index *voiceprint.Index
	co    *cohort
	joins bool // puts join the cohort while it has room and is not sealed

	mu    sync.Mutex
	stats map[string]normEntry
}

// cohort is the impostor set scores are normalised against.
type cohort struct {
	mu      sync.RWMutex
	vecs    [][]float32 // unit vectors
	ids     []string    // gallery id of each member, "" for Extra ones
	room    int         // members puts may add, Extra aside
	version int         // bumped when the members change
	share   float64
	sealed  bool // puts no longer join (see Seal)
}

type normEntry struct {
	st      voiceprint.NormStats
	version int
}

// NewGallery returns an empty gallery.
func NewGallery(cfg GalleryConfig) (*Gallery, error) {
	cfg.setDefaults()
	if !(cfg.CohortShare > 0 && cfg.CohortShare <= 1) {
		return nil, fmt.Errorf("identify: cohort share %v outside (0, 1]", cfg.CohortShare)
	}
	co := &cohort{room: cfg.CohortSize, share: cfg.CohortShare}
	for i, e := range cfg.Extra {
		u, err := unit(e)
		if err != nil {
			return nil, fmt.Errorf("identify: cohort embedding %d: %w", i, err)
		}
		co.vecs = append(co.vecs, u)
		co.ids = append(co.ids, "")
	}
	return newGallery(cfg, co, true)
}

func newGallery(cfg GalleryConfig, co *cohort, joins bool) (*Gallery, error) {
	x, err := voiceprint.NewIndex(voiceprint.Dim)
	if err != nil {
		return nil, err
	}
	return &Gallery{cfg: cfg, index: x, co: co, joins: joins, stats: map[string]normEntry{}}, nil
}

// Linked returns an empty gallery that normalises against g's cohort
// and never joins it: a fraud watchlist beside the customers, scored
// with the same probe.
func (g *Gallery) Linked() *Gallery {
	l, _ := newGallery(g.cfg, g.co, false)
	return l
}

func unit(v []float32) ([]float32, error) {
	if len(v) != voiceprint.Dim {
		return nil, fmt.Errorf("%d values, want %d: %w", len(v), voiceprint.Dim, voiceprint.ErrDimension)
	}
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	if ss == 0 || math.IsNaN(ss) || math.IsInf(ss, 0) {
		return nil, voiceprint.ErrZeroVector
	}
	u := make([]float32, len(v))
	inv := 1 / math.Sqrt(ss)
	for i, x := range v {
		u[i] = float32(float64(x) * inv)
	}
	return u, nil
}

// Len is the number of voiceprints.
func (g *Gallery) Len() int { return g.index.Len() }

// CohortLen is the number of cohort members.
func (g *Gallery) CohortLen() int {
	g.co.mu.RLock()
	defer g.co.mu.RUnlock()
	return len(g.co.vecs)
}

// Has reports whether id has a voiceprint.
func (g *Gallery) Has(id string) bool {
	_, ok := g.index.Vector(id)
	return ok
}

// Vector returns id's voiceprint (unit length).
func (g *Gallery) Vector(id string) ([]float32, bool) { return g.index.Vector(id) }

// IDs returns the ids held, in no particular order.
func (g *Gallery) IDs() []string { return g.index.IDs() }

// Put adds or replaces id's voiceprint.
func (g *Gallery) Put(id string, vec []float32) error {
	u, err := unit(vec)
	if err != nil {
		return fmt.Errorf("identify: put %s: %w", id, err)
	}
	if _, ok := g.index.Vector(id); ok {
		err = g.index.Replace(id, u)
	} else {
		err = g.index.Add(id, u)
	}
	if err != nil {
		return fmt.Errorf("identify: put %s: %w", id, err)
	}
	co := g.co
	co.mu.Lock()
	if g.joins {
		if i := slices.Index(co.ids, id); i >= 0 {
			co.vecs[i] = u
			co.version++
		} else if co.room > 0 && (!co.sealed || len(co.vecs) < g.cfg.MinCohort) {
			co.vecs = append(co.vecs, u)
			co.ids = append(co.ids, id)
			co.room--
			co.version++
		}
	}
	var e normEntry
	if co.sealed || co.room == 0 || !g.joins {
		// The cohort will not move for this voiceprint: this is the one
		// time its statistics are computed.
		e = normEntry{co.statsLocked(u, id), co.version}
	}
	co.mu.Unlock()
	g.mu.Lock()
	delete(g.stats, id)
	if e.st.Std > 0 {
		g.stats[id] = e
	}
	g.mu.Unlock()
	return nil
}

// Seal stops later puts from joining the cohort (unless it has fewer
// than MinCohort members): call it once the stored voiceprints are
// loaded, so an enrolment computes its own statistics once and leaves
// everyone else's valid. Until then, every put that joins the cohort
// makes the others' statistics stale, and they are computed again at
// their next decision. Erasures still leave the cohort at once.
func (g *Gallery) Seal() {
	g.co.mu.Lock()
	g.co.sealed = true
	g.co.mu.Unlock()
}

// Remove deletes id's voiceprint from the index and from the cohort, so
// no copy of an erased voiceprint lingers.
func (g *Gallery) Remove(id string) error {
	err := g.index.Remove(id)
	if g.joins {
		co := g.co
		co.mu.Lock()
		if i := slices.Index(co.ids, id); i >= 0 {
			co.vecs = slices.Delete(co.vecs, i, i+1)
			co.ids = slices.Delete(co.ids, i, i+1)
			co.room++
			co.version++
		}
		co.mu.Unlock()
	}
	g.mu.Lock()
	delete(g.stats, id)
	g.mu.Unlock()
	if err != nil && !errors.Is(err, voiceprint.ErrUnknownID) {
		return fmt.Errorf("identify: remove %s: %w", id, err)
	}
	return nil
}

// statsLocked are u's statistics against the cohort without member
// exclude ("" excludes nobody): the mean and deviation of its highest
// cosines, the cohort's share of them (at least minTop).
func (co *cohort) statsLocked(u []float32, exclude string) voiceprint.NormStats {
	top := make([]float64, 0, len(co.vecs))
	for i, c := range co.vecs {
		if exclude != "" && co.ids[i] == exclude {
			continue
		}
		top = append(top, voiceprint.Cosine(u, c))
	}
	if len(top) == 0 {
		return voiceprint.NormStats{Mean: 0, Std: 1}
	}
	if k := max(minTop, int(math.Round(co.share*float64(len(top))))); len(top) > k {
		slices.Sort(top)
		top = top[len(top)-k:]
	}
	m, s := meanStd(top)
	return voiceprint.NormStats{Mean: m, Std: max(s, 1e-3)}
}

// enrolStats are id's statistics, computed now if the cohort changed
// since they were.
func (g *Gallery) enrolStats(id string, u []float32) voiceprint.NormStats {
	co := g.co
	co.mu.RLock()
	defer co.mu.RUnlock()
	g.mu.Lock()
	e, ok := g.stats[id]
	g.mu.Unlock()
	if ok && e.version == co.version {
		return e.st
	}
	st := co.statsLocked(u, id)
	g.mu.Lock()
	g.stats[id] = normEntry{st, co.version}
	g.mu.Unlock()
	return st
}

// Probe is a caller's embedding made ready for scoring: its own
// statistics against the cohort, computed once per decision.
type Probe struct {
	vec []float32
	st  voiceprint.NormStats
}

// NewProbe prepares a test embedding. It fails with ErrSmallCohort when
// the cohort has fewer than MinCohort members.
func (g *Gallery) NewProbe(test []float32) (Probe, error) { return g.newProbe(test, "") }

// newProbe leaves cohort member exclude out of the probe's statistics.
func (g *Gallery) newProbe(test []float32, exclude string) (Probe, error) {
	u, err := unit(test)
	if err != nil {
		return Probe{}, fmt.Errorf("identify: probe: %w", err)
	}
	co := g.co
	co.mu.RLock()
	defer co.mu.RUnlock()
	if len(co.vecs) < g.cfg.MinCohort {
		return Probe{}, fmt.Errorf("%w: %d members, need %d", ErrSmallCohort, len(co.vecs), g.cfg.MinCohort)
	}
	return Probe{vec: u, st: co.statsLocked(u, exclude)}, nil
}

// Score is the s-norm score of the probe against id's voiceprint, and
// the score a perfect match would get.
func (g *Gallery) Score(p Probe, id string) (Scored, bool) {
	u, ok := g.index.Vector(id)
	if !ok {
		return Scored{}, false
	}
	es := g.enrolStats(id, u)
	raw := voiceprint.Cosine(p.vec, u)
	return Scored{ID: id, Score: voiceprint.SNorm(raw, es, p.st), Ceiling: voiceprint.SNorm(1, es, p.st)}, true
}

// Search scores the probe against the k voiceprints closest to it by
// cosine, among subset (nil: all). n is the number of voiceprints the
// search covered: the N of the false-identification rate.
func (g *Gallery) Search(p Probe, k int, subset []string) (scored []Scored, n int, err error) {
	ms, err := g.index.Search(p.vec, k, subset)
	if err != nil {
		return nil, 0, fmt.Errorf("identify: search: %w", err)
	}
	n = g.index.Len()
	if subset != nil {
		n = 0
		seen := map[string]bool{}
		for _, id := range subset {
			if !seen[id] && g.Has(id) {
				n++
			}
			seen[id] = true
		}
	}
	for _, m := range ms {
		if s, ok := g.Score(p, m.ID); ok {
			scored = append(scored, s)
		}
	}
	return scored, n, nil
}
