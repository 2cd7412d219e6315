package voiceprint

import (
	"cmp"
	"container/heap"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/voxdesk/voxdesk/voiceprint/internal/kernel"
)

// Index errors.
var (
	// ErrUnknownID is returned for an id the index does not hold.
	ErrUnknownID = errors.New("voiceprint: unknown voiceprint id")
	// ErrDuplicateID is returned when adding an id the index already holds.
	ErrDuplicateID = errors.New("voiceprint: voiceprint id already in the index")
)

// Match is one search result: an enrolled voiceprint and its cosine
// similarity with the query.
type Match struct {
	ID    string
	Score float64
}

// Index holds enrolled voiceprints in memory for exact top-k cosine
// search. It is safe for concurrent use: searches share a read lock,
// changes take the write lock.
//
// Each vector is kept twice: in float32, and quantised to 8 bits with its
// own scale, interleaved 16 vectors at a time for the AVX-512 VNNI scan
// (kernel.DotsU8S8). A search scans the 8-bit copy (a quarter of the
// memory traffic), then rescores in float32 every vector that could be in
// the top k: the 8-bit score of vector x is within
// e_x + (1+e_x)*e_q of the true cosine, where e_x and e_q are the lengths
// of the rounding errors of x and of the query, so a vector whose 8-bit
// score plus that bound is below the k-th best lower bound cannot be in
// the top k. Results are therefore exact, not approximate.
type Index struct {
	mu     sync.RWMutex
	dim    int
	ids    []string       // slot -> id
	slot   map[string]int // id -> slot
	vecs   []float32      // slot*dim: unit vectors
	q8     []uint8        // blocked 8-bit vectors, offset by 128
	scale  []float32      // slot -> quantisation step
	errLen []float32      // slot -> length of the rounding error
}

// NewIndex returns an empty index of dim-dimensional voiceprints; dim
// must be a positive multiple of 4 (the model's is Dim).
func NewIndex(dim int) (*Index, error) {
	if dim <= 0 || dim%4 != 0 {
		return nil, fmt.Errorf("voiceprint: index dimension %d is not a positive multiple of 4", dim)
	}
	return &Index{dim: dim, slot: make(map[string]int)}, nil
}

// Len is the number of voiceprints held.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.ids)
}

// Add inserts a voiceprint under a new id; vec need not be unit length.
func (x *Index) Add(id string, vec []float32) error {
	u, err := x.check(vec)
	if err != nil {
		return fmt.Errorf("voiceprint: index add %q: %w", id, err)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if _, ok := x.slot[id]; ok {
		return fmt.Errorf("voiceprint: index add %q: %w", id, ErrDuplicateID)
	}
	s := len(x.ids)
	x.ids = append(x.ids, id)
	x.slot[id] = s
	x.vecs = append(x.vecs, u...)
	x.scale = append(x.scale, 0)
	x.errLen = append(x.errLen, 0)
	if need := (s/kernel.DotBlock + 1) * kernel.DotBlock * x.dim; len(x.q8) < need {
		grown := len(x.q8) + kernel.DotBlock*x.dim
		x.q8 = slices.Grow(x.q8, kernel.DotBlock*x.dim)[:grown]
		for i := grown - kernel.DotBlock*x.dim; i < grown; i++ {
			x.q8[i] = 128 // empty lanes are zero vectors
		}
	}
	x.store(s, u)
	return nil
}

// Replace changes the voiceprint of an id the index holds.
func (x *Index) Replace(id string, vec []float32) error {
	u, err := x.check(vec)
	if err != nil {
		return fmt.Errorf("voiceprint: index replace %q: %w", id, err)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	s, ok := x.slot[id]
	if !ok {
		return fmt.Errorf("voiceprint: index replace %q: %w", id, ErrUnknownID)
	}
	x.store(s, u)
	return nil
}

// Remove deletes an id's voiceprint. The last voiceprint moves into its
// place, so removal costs one vector copy.
func (x *Index) Remove(id string) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	s, ok := x.slot[id]
	if !ok {
		return fmt.Errorf("voiceprint: index remove %q: %w", id, ErrUnknownID)
	}
	last := len(x.ids) - 1
	if s != last {
		lastID := x.ids[last]
		x.ids[s] = lastID
		x.slot[lastID] = s
		x.store(s, x.vecs[last*x.dim:(last+1)*x.dim])
	}
	x.clearLane(last)
	delete(x.slot, id)
	x.ids = x.ids[:last]
	x.vecs = x.vecs[:last*x.dim]
	x.scale = x.scale[:last]
	x.errLen = x.errLen[:last]
	if len(x.q8) > (last+kernel.DotBlock-1)/kernel.DotBlock*kernel.DotBlock*x.dim {
		x.q8 = x.q8[:len(x.q8)-kernel.DotBlock*x.dim]
	}
	return nil
}

// IDs returns the ids held, in no particular order.
func (x *Index) IDs() []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return slices.Clone(x.ids)
}

// Vector returns a copy of an id's unit-length voiceprint.
func (x *Index) Vector(id string) ([]float32, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	s, ok := x.slot[id]
	if !ok {
		return nil, false
	}
	return slices.Clone(x.vecs[s*x.dim : (s+1)*x.dim]), true
}

// Candidates returns the voiceprints of the matches, for Scorer.Identify;
// ids no longer in the index are left out.
func (x *Index) Candidates(ms []Match) []Candidate {
	x.mu.RLock()
	defer x.mu.RUnlock()
	cs := make([]Candidate, 0, len(ms))
	for _, m := range ms {
		if s, ok := x.slot[m.ID]; ok {
			cs = append(cs, Candidate{ID: m.ID, Vector: slices.Clone(x.vecs[s*x.dim : (s+1)*x.dim])})
		}
	}
	return cs
}

func (x *Index) check(vec []float32) ([]float32, error) {
	if len(vec) != x.dim {
		return nil, fmt.Errorf("%d values, index holds %d: %w", len(vec), x.dim, ErrDimension)
	}
	return unit(vec)
}

// lane returns the byte offset of value i of slot s in the blocked layout.
func (x *Index) lane(s, i int) int {
	b, l := s/kernel.DotBlock, s%kernel.DotBlock
	return b*x.dim*kernel.DotBlock + (i/4)*4*kernel.DotBlock + l*4 + i%4
}

func (x *Index) clearLane(s int) {
	for i := 0; i < x.dim; i++ {
		x.q8[x.lane(s, i)] = 128
	}
}

// store writes unit vector u into slot s (both copies).
func (x *Index) store(s int, u []float32) {
	copy(x.vecs[s*x.dim:], u)
	step, errLen := quantise(u, func(i int, v int8) { x.q8[x.lane(s, i)] = uint8(int(v) + 128) })
	x.scale[s] = step
	x.errLen[s] = errLen
}

// quantise rounds v to step*q with q in [-127, 127], step = max|v|/127,
// passing each q to put, and returns step and the length of v - step*q.
func quantise(v []float32, put func(i int, q int8)) (step, errLen float32) {
	var m float32
	for _, f := range v {
		m = max(m, float32(math.Abs(float64(f))))
	}
	if m == 0 {
		for i := range v {
			put(i, 0)
		}
		return 0, 0
	}
	st := float64(m) / 127
	var ss float64
	for i, f := range v {
		q := math.Round(float64(f) / st)
		q = max(-127, min(127, q))
		put(i, int8(q))
		d := float64(f) - st*q
		ss += d * d
	}
	return float32(st), float32(math.Sqrt(ss))
}

// scanChunk is how many blocks one kernel call scores (16K vectors,
// 64 KB of results).
const scanChunk = 1024

var scanPool = sync.Pool{New: func() any { s := make([]int32, scanChunk*kernel.DotBlock); return &s }}

// boundSlack covers float32 rounding in the bound arithmetic.
const boundSlack = 1e-5

// Search returns the k voiceprints most similar to query, best first,
// with their exact cosine. When subset is not nil only those ids are
// considered (ids not in the index are skipped): the caller's number
// usually narrows the search to a few customers.
func (x *Index) Search(query []float32, k int, subset []string) ([]Match, error) {
	q, err := x.check(query)
	if err != nil {
		return nil, fmt.Errorf("voiceprint: index search: %w", err)
	}
	if k <= 0 {
		return nil, nil
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	if subset != nil {
		return x.searchSubset(q, k, subset), nil
	}
	n := len(x.ids)
	if n == 0 {
		return nil, nil
	}
	q8 := make([]int8, x.dim)
	qStep, qErr := quantise(q, func(i int, v int8) { q8[i] = v })
	var qSum int32
	for _, v := range q8 {
		qSum += int32(v)
	}
	offset := 128 * qSum // the stored bytes are x8+128

	// lows holds the k largest lower bounds seen; any vector whose upper
	// bound is below the smallest of them cannot be in the top k.
	lows := make(minHeap, 0, k)
	floor := math.Inf(-1)
	var cands []candidate
	bufp := scanPool.Get().(*[]int32)
	defer scanPool.Put(bufp)
	buf := *bufp
	nblocks := (n + kernel.DotBlock - 1) / kernel.DotBlock
	blockBytes := x.dim * kernel.DotBlock
	for b0 := 0; b0 < nblocks; b0 += scanChunk {
		nb := min(scanChunk, nblocks-b0)
		kernel.DotsU8S8(q8, x.q8[b0*blockBytes:(b0+nb)*blockBytes], nb, buf)
		s0 := b0 * kernel.DotBlock
		end := min(n, s0+nb*kernel.DotBlock)
		scale, errLen := x.scale[s0:end], x.errLen[s0:end]
		for i, acc := range buf[:end-s0] {
			approx := float64(scale[i]) * float64(qStep) * float64(acc-offset)
			e := float64(errLen[i])
			bound := e + (1+e)*float64(qErr) + boundSlack
			hi := approx + bound
			if hi < floor {
				continue
			}
			cands = append(cands, candidate{s0 + i, hi})
			lo := approx - bound
			if len(lows) < k {
				heap.Push(&lows, lo)
				if len(lows) == k {
					floor = lows[0]
				}
			} else if lo > floor {
				lows[0] = lo
				heap.Fix(&lows, 0)
				floor = lows[0]
			}
			if len(cands) >= 4096 && len(cands) > 8*k {
				cands = prune(cands, floor)
			}
		}
	}
	cands = prune(cands, floor)
	res := make([]Match, 0, len(cands))
	for _, c := range cands {
		res = append(res, Match{ID: x.ids[c.slot], Score: dot(q, x.vecs[c.slot*x.dim:(c.slot+1)*x.dim])})
	}
	return topK(res, k), nil
}

func (x *Index) searchSubset(q []float32, k int, subset []string) []Match {
	res := make([]Match, 0, len(subset))
	seen := make(map[string]bool, len(subset))
	for _, id := range subset {
		s, ok := x.slot[id]
		if !ok || seen[id] {
			continue
		}
		seen[id] = true
		res = append(res, Match{ID: id, Score: dot(q, x.vecs[s*x.dim:(s+1)*x.dim])})
	}
	return topK(res, k)
}

// topK sorts by score, best first (ties by id), and keeps k.
func topK(ms []Match, k int) []Match {
	slices.SortFunc(ms, func(a, b Match) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return ms[:min(k, len(ms))]
}

type candidate struct {
	slot int
	hi   float64 // upper bound of its cosine
}

func prune(cs []candidate, floor float64) []candidate {
	return slices.DeleteFunc(cs, func(c candidate) bool { return c.hi < floor })
}

type minHeap []float64

func (h minHeap) Len() int           { return len(h) }
func (h minHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h minHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *minHeap) Push(v any)        { *h = append(*h, v.(float64)) }
func (h *minHeap) Pop() any {
	old := *h
	v := old[len(old)-1]
	*h = old[:len(old)-1]
	return v
}
