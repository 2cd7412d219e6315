package voiceprint

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

func TestIndexChanges(t *testing.T) {
	x, err := NewIndex(4)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name    string
		op      func() error
		wantErr error
		wantLen int
	}{
		{"add a", func() error { return x.Add("a", []float32{1, 0, 0, 0}) }, nil, 1},
		{"add b", func() error { return x.Add("b", []float32{0, 2, 0, 0}) }, nil, 2},
		{"add a again", func() error { return x.Add("a", []float32{0, 0, 1, 0}) }, ErrDuplicateID, 2},
		{"add wrong dimension", func() error { return x.Add("c", []float32{1, 0}) }, ErrDimension, 2},
		{"add zero vector", func() error { return x.Add("c", []float32{0, 0, 0, 0}) }, ErrZeroVector, 2},
		{"replace unknown", func() error { return x.Replace("zz", []float32{1, 0, 0, 0}) }, ErrUnknownID, 2},
		{"replace a", func() error { return x.Replace("a", []float32{0, 0, 3, 0}) }, nil, 2},
		{"remove unknown", func() error { return x.Remove("zz") }, ErrUnknownID, 2},
		{"remove a", func() error { return x.Remove("a") }, nil, 1},
		{"remove a twice", func() error { return x.Remove("a") }, ErrUnknownID, 1},
	}
	for _, st := range steps {
		err := st.op()
		if !errors.Is(err, st.wantErr) {
			t.Fatalf("%s: err = %v, want %v", st.name, err, st.wantErr)
		}
		if x.Len() != st.wantLen {
			t.Fatalf("%s: Len = %d, want %d", st.name, x.Len(), st.wantLen)
		}
	}
	v, ok := x.Vector("b")
	if !ok || v[1] != 1 {
		t.Fatalf("Vector(b) = %v, %v; want unit (0,1,0,0)", v, ok)
	}
	if _, ok := x.Vector("a"); ok {
		t.Fatal("removed id still has a vector")
	}
	if _, err := NewIndex(6); err == nil {
		t.Fatal("dimension 6 accepted")
	}
}

// bruteForce is the reference search.
func bruteForce(ids []string, vecs map[string][]float32, q []float32, k int) []Match {
	var ms []Match
	for _, id := range ids {
		ms = append(ms, Match{ID: id, Score: Cosine(q, vecs[id])})
	}
	return topK(ms, k)
}

// clustered returns unit vectors around a few centres, so that many
// scores crowd near the top: the hard case for the 8-bit pruning.
func clustered(rng *rand.Rand, n, dim, centres int, spread float64) [][]float32 {
	cs := make([][]float32, centres)
	for i := range cs {
		cs[i] = randUnit(rng, dim)
	}
	out := make([][]float32, n)
	for i := range out {
		c := cs[rng.IntN(centres)]
		v := make([]float32, dim)
		for j := range v {
			v[j] = c[j] + float32(spread*rng.NormFloat64())
		}
		out[i] = v
	}
	return out
}

func TestIndexSearchIsExact(t *testing.T) {
	tests := []struct {
		name            string
		n, dim, centres int
		spread          float64
		k               int
		remove          int
		subset          bool
	}{
		{name: "isotropic", n: 3000, dim: 128, centres: 3000, spread: 1, k: 10},
		{name: "tight clusters", n: 3000, dim: 128, centres: 5, spread: 0.01, k: 20},
		{name: "near duplicates", n: 1000, dim: 128, centres: 2, spread: 0.001, k: 50},
		{name: "k above size", n: 7, dim: 16, centres: 7, spread: 1, k: 20},
		{name: "after removals", n: 2000, dim: 128, centres: 50, spread: 0.05, k: 5, remove: 700},
		{name: "subset", n: 2000, dim: 128, centres: 50, spread: 0.05, k: 3, subset: true},
	}
	rng := rand.New(rand.NewPCG(41, 42))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, err := NewIndex(tt.dim)
			if err != nil {
				t.Fatal(err)
			}
			vecs := map[string][]float32{}
			var ids []string
			for i, v := range clustered(rng, tt.n, tt.dim, tt.centres, tt.spread) {
				id := fmt.Sprintf("c%05d", i)
				if err := x.Add(id, v); err != nil {
					t.Fatal(err)
				}
				vecs[id] = v
				ids = append(ids, id)
			}
			for i := 0; i < tt.remove; i++ {
				j := rng.IntN(len(ids))
				if err := x.Remove(ids[j]); err != nil {
					t.Fatal(err)
				}
				delete(vecs, ids[j])
				ids = slices.Delete(ids, j, j+1)
			}
			if x.Len() != len(ids) {
				t.Fatalf("Len = %d, want %d", x.Len(), len(ids))
			}
			queries := clustered(rng, 20, tt.dim, tt.centres, tt.spread)
			for qi, q := range queries {
				var subset []string
				pool := ids
				if tt.subset {
					subset = []string{ids[qi], ids[qi+1], ids[qi+2], ids[qi+3], "no-such-id", ids[qi]}
					pool = subset[:4]
				}
				got, err := x.Search(q, tt.k, subset)
				if err != nil {
					t.Fatal(err)
				}
				want := bruteForce(pool, vecs, q, tt.k)
				if len(got) != len(want) {
					t.Fatalf("query %d: %d results, want %d", qi, len(got), len(want))
				}
				for i := range want {
					// Equal scores may come in either order only if
					// they are equal to float32 precision.
					if math.Abs(got[i].Score-want[i].Score) > 1e-6 {
						t.Fatalf("query %d rank %d: %+v, want %+v", qi, i, got[i], want[i])
					}
					if got[i].ID != want[i].ID && math.Abs(Cosine(q, vecs[got[i].ID])-want[i].Score) > 1e-6 {
						t.Fatalf("query %d rank %d: id %s, want %s", qi, i, got[i].ID, want[i].ID)
					}
				}
			}
		})
	}
}

func TestIndexSearchEdgeCases(t *testing.T) {
	x, _ := NewIndex(8)
	if got, err := x.Search([]float32{1, 0, 0, 0, 0, 0, 0, 0}, 3, nil); err != nil || len(got) != 0 {
		t.Fatalf("empty index: %v, %v", got, err)
	}
	if _, err := x.Search([]float32{1}, 3, nil); !errors.Is(err, ErrDimension) {
		t.Fatalf("wrong dimension: err = %v", err)
	}
	if _, err := x.Search(make([]float32, 8), 3, nil); !errors.Is(err, ErrZeroVector) {
		t.Fatalf("zero query: err = %v", err)
	}
	_ = x.Add("a", []float32{1, 0, 0, 0, 0, 0, 0, 0})
	if got, _ := x.Search([]float32{1, 0, 0, 0, 0, 0, 0, 0}, 0, nil); len(got) != 0 {
		t.Fatalf("k=0 gave %v", got)
	}
	got, _ := x.Search([]float32{-1, 0, 0, 0, 0, 0, 0, 0}, 1, nil)
	if len(got) != 1 || got[0].ID != "a" || got[0].Score != -1 {
		t.Fatalf("opposite vector: %v", got)
	}
	if cs := x.Candidates([]Match{{ID: "a"}, {ID: "gone"}}); len(cs) != 1 || cs[0].ID != "a" {
		t.Fatalf("Candidates = %v", cs)
	}
}

// TestIndexConcurrent searches while others add, replace and remove; run
// with -race.
func TestIndexConcurrent(t *testing.T) {
	x, _ := NewIndex(16)
	rng := rand.New(rand.NewPCG(51, 52))
	for i := 0; i < 200; i++ {
		_ = x.Add(fmt.Sprint(i), randUnit(rng, 16))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 53))
			for i := 0; i < 200; i++ {
				id := fmt.Sprintf("g%d-%d", g, i)
				if err := x.Add(id, randUnit(r, 16)); err != nil {
					errs <- err
					return
				}
				if err := x.Replace(id, randUnit(r, 16)); err != nil {
					errs <- err
					return
				}
				if i%2 == 0 {
					if err := x.Remove(id); err != nil {
						errs <- err
						return
					}
				}
				ms, err := x.Search(randUnit(r, 16), 5, nil)
				if err != nil || len(ms) != 5 {
					errs <- fmt.Errorf("search: %v, %d results", err, len(ms))
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if want := 200 + 4*100; x.Len() != want {
		t.Fatalf("Len = %d, want %d", x.Len(), want)
	}
}

// BenchmarkSearch is 1:N search over random 128-d voiceprints, top 10.
func BenchmarkSearch(b *testing.B) {
	for _, size := range []struct {
		name string
		n    int
	}{{"10k", 10_000}, {"100k", 100_000}, {"1M", 1_000_000}} {
		b.Run(size.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(61, 62))
			x, _ := NewIndex(Dim)
			for i := 0; i < size.n; i++ {
				if err := x.Add(fmt.Sprint(i), randUnit(rng, Dim)); err != nil {
					b.Fatal(err)
				}
			}
			queries := make([][]float32, 64)
			for i := range queries {
				queries[i] = randUnit(rng, Dim)
			}
			b.ReportAllocs()
			b.ResetTimer()
			i := 0
			for b.Loop() {
				if _, err := x.Search(queries[i%len(queries)], 10, nil); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(size.n)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mvectors/s")
		})
	}
}
