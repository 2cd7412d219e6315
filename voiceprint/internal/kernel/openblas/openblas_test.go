//go:build openblas && cgo

package openblas

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/voxdesk/voxdesk/voiceprint/internal/kernel"
)

type shape struct {
	name    string
	transB  bool
	m, n, k int
}

var shapes = []shape{
	{"square/512", false, 512, 512, 512},
	{"tdnn2/700x1536to512", true, 700, 512, 1536},
	{"tdnn5/700x512to1500", true, 700, 1500, 512},
	{"xvector/1x3000to128", true, 1, 128, 3000},
}

func operands(s shape) (a, b []float32) {
	rng := rand.New(rand.NewPCG(1, 2))
	a = make([]float32, s.m*s.k)
	b = make([]float32, s.k*s.n)
	for i := range a {
		a[i] = rng.Float32()*2 - 1
	}
	for i := range b {
		b[i] = rng.Float32()*2 - 1
	}
	return a, b
}

func ldb(s shape) int {
	if s.transB {
		return s.k
	}
	return s.n
}

// TestAgreesWithKernel makes sure the comparison is between equal results.
func TestAgreesWithKernel(t *testing.T) {
	for _, s := range shapes {
		a, b := operands(s)
		c1 := make([]float32, s.m*s.n)
		c2 := make([]float32, s.m*s.n)
		Sgemm(false, s.transB, s.m, s.n, s.k, 1, a, s.k, b, ldb(s), 0, c1, s.n)
		kernel.Sgemm(false, s.transB, s.m, s.n, s.k, 1, a, s.k, b, ldb(s), 0, c2, s.n)
		for i := range c1 {
			if math.Abs(float64(c1[i]-c2[i])) > 1e-6*float64(s.k) {
				t.Fatalf("%s: C[%d] openblas %v kernel %v", s.name, i, c1[i], c2[i])
			}
		}
	}
}

// BenchmarkSgemm runs kernel.Sgemm and OpenBLAS (one thread) on the same
// shapes in one run: go test -tags openblas -bench . ./voiceprint/internal/kernel/openblas
func BenchmarkSgemm(b *testing.B) {
	for _, s := range shapes {
		a, bm := operands(s)
		c := make([]float32, s.m*s.n)
		for _, impl := range []struct {
			name string
			fn   func(bool, bool, int, int, int, float32, []float32, int, []float32, int, float32, []float32, int)
		}{{kernel.KernelName(), kernel.Sgemm}, {"openblas", Sgemm}} {
			b.Run(impl.name+"/"+s.name, func(b *testing.B) {
				for b.Loop() {
					impl.fn(false, s.transB, s.m, s.n, s.k, 1, a, s.k, bm, ldb(s), 0, c, s.n)
				}
				b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
