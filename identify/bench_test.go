package identify

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// BenchmarkDecide is one whole-base decision: the caller's cohort
// statistics, the search, s-norm of the top 10 and the policy, over
// galleries of 1 000 to 100 000 voiceprints (cohort 1 000).
func BenchmarkDecide(b *testing.B) {
	p, err := New(DefaultCalibration(), Config{})
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{1000, 10000, 100000} {
		b.Run(fmt.Sprintf("voiceprints=%d", n), func(b *testing.B) {
			r := rand.New(rand.NewPCG(9, uint64(n)))
			g, err := NewGallery(GalleryConfig{})
			if err != nil {
				b.Fatal(err)
			}
			for i := range n {
				if err := g.Put(fmt.Sprint(i), randVec(r)); err != nil {
					b.Fatal(err)
				}
			}
			caller := randVec(r)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				pr, err := g.NewProbe(caller)
				if err != nil {
					b.Fatal(err)
				}
				sc, m, err := g.Search(pr, 10, nil)
				if err != nil {
					b.Fatal(err)
				}
				p.Decide(sc, m, 5*time.Second, 0)
			}
		})
	}
}
