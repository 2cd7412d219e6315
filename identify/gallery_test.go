package identify

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/voxdesk/voxdesk/voiceprint"
)

func randVec(r *rand.Rand) []float32 {
	v := make([]float32, voiceprint.Dim)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

func TestGalleryCohort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	g, err := NewGallery(GalleryConfig{CohortSize: 60, MinCohort: 50})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 49 {
		if err := g.Put(string(rune('A'+i)), randVec(r)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := g.NewProbe(randVec(r)); !errors.Is(err, ErrSmallCohort) {
		t.Fatalf("49 members: %v, want ErrSmallCohort", err)
	}
	for i := 49; i < 80; i++ {
		if err := g.Put(string(rune('A'+i)), randVec(r)); err != nil {
			t.Fatal(err)
		}
	}
	if g.Len() != 80 || g.CohortLen() != 60 {
		t.Fatalf("len %d cohort %d, want 80 and 60", g.Len(), g.CohortLen())
	}
	// The watchlist beside it scores with the same cohort and never
	// joins it.
	w := g.Linked()
	crook := randVec(r)
	if err := w.Put("crook", crook); err != nil {
		t.Fatal(err)
	}
	if g.CohortLen() != 60 || g.Has("crook") {
		t.Fatal("a watchlist entry joined the customers")
	}
	p, err := g.NewProbe(crook)
	if err != nil {
		t.Fatal(err)
	}
	hit, _, err := w.Search(p, 5, nil)
	if err != nil || len(hit) != 1 || hit[0].ID != "crook" || hit[0].Score < 3 {
		t.Fatalf("watchlist search %+v %v", hit, err)
	}
	// An erased voiceprint leaves the cohort too.
	if err := g.Remove("A"); err != nil {
		t.Fatal(err)
	}
	if g.Has("A") || g.CohortLen() != 59 {
		t.Fatalf("after remove: has %v cohort %d", g.Has("A"), g.CohortLen())
	}
	if err := g.Put("bad", make([]float32, voiceprint.Dim)); err == nil {
		t.Error("zero vector put")
	}
	// A caller's own voiceprint scores high; the subset counts N.
	own, _ := g.Vector("B")
	p, _ = g.NewProbe(own)
	sc, n, err := g.Search(p, 3, []string{"B", "C", "C", "nobody"})
	if err != nil || n != 2 || sc[0].ID != "B" {
		t.Fatalf("subset search %+v n=%d %v", sc, n, err)
	}
}

// TestGalleryConcurrent: enrolments, erasures and decisions at once
// (run with -race).
func TestGalleryConcurrent(t *testing.T) {
	g, err := NewGallery(GalleryConfig{CohortSize: 80, MinCohort: 10})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 5))
	vecs := make([][]float32, 120)
	for i := range vecs {
		vecs[i] = randVec(r)
	}
	for i := range 60 {
		if err := g.Put(fmt.Sprint(i), vecs[i]); err != nil {
			t.Fatal(err)
		}
	}
	w := g.Linked()
	var wg sync.WaitGroup
	for k := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 60 {
				switch k {
				case 0:
					_ = g.Put(fmt.Sprint(60+i), vecs[60+i])
				case 1:
					_ = g.Remove(fmt.Sprint(i))
				case 2:
					_ = w.Put(fmt.Sprint("w", i), vecs[i])
				default:
					if p, err := g.NewProbe(vecs[i]); err == nil {
						_, _, _ = g.Search(p, 5, nil)
						_, _, _ = w.Search(p, 5, nil)
					}
				}
			}
		}()
	}
	wg.Wait()
	if g.Len() != 60 || g.CohortLen() > 80 {
		t.Fatalf("len %d cohort %d", g.Len(), g.CohortLen())
	}
}

// TestGallerySeal: once sealed, an enrolment neither joins the cohort
// nor makes the others' statistics stale; its own are computed at once.
func TestGallerySeal(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	g, err := NewGallery(GalleryConfig{CohortSize: 1000, MinCohort: 50})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 60 {
		if err := g.Put(fmt.Sprint(i), randVec(r)); err != nil {
			t.Fatal(err)
		}
	}
	g.Seal()
	p, err := g.NewProbe(randVec(r))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := g.Search(p, 60, nil); err != nil { // every voiceprint's statistics, computed
		t.Fatal(err)
	}
	version := g.co.version
	if err := g.Put("new", randVec(r)); err != nil {
		t.Fatal(err)
	}
	if g.CohortLen() != 60 || g.co.version != version {
		t.Fatalf("sealed cohort took the enrolment: %d members, version %d -> %d", g.CohortLen(), version, g.co.version)
	}
	g.mu.Lock()
	e, ok := g.stats["new"]
	stale := 0
	for _, s := range g.stats {
		if s.version != g.co.version {
			stale++
		}
	}
	g.mu.Unlock()
	if !ok || e.version != version || stale != 0 {
		t.Fatalf("after the enrolment: own statistics %v (%+v), %d stale", ok, e, stale)
	}
}
