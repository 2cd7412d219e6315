package kernel

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

type benchShape struct {
	name           string
	transA, transB bool
	m, n, k        int
}

// benchShapes is a square ladder plus the products of the x-vector TDNN
// over 7 s of speech (T=700 frames): weights are stored out×in as Kaldi
// keeps them, so the network multiplies frames by the transposed weights.
var benchShapes = []benchShape{
	{name: "square/64", m: 64, n: 64, k: 64},
	{name: "square/128", m: 128, n: 128, k: 128},
	{name: "square/256", m: 256, n: 256, k: 256},
	{name: "square/512", m: 512, n: 512, k: 512},
	{name: "square/1024", m: 1024, n: 1024, k: 1024},
	{name: "tdnn1/700x115to512", transB: true, m: 700, n: 512, k: 115},
	{name: "tdnn2/700x1536to512", transB: true, m: 700, n: 512, k: 1536},
	{name: "tdnn4/700x512to512", transB: true, m: 700, n: 512, k: 512},
	{name: "tdnn5/700x512to1500", transB: true, m: 700, n: 1500, k: 512},
	{name: "xvector/1x3000to128", transB: true, m: 1, n: 128, k: 3000},
	{name: "stream/2x1536to512", transB: true, m: 2, n: 512, k: 1536},
}

func benchGemm(b *testing.B, s benchShape, fn func(bool, bool, int, int, int, float32, []float32, int, []float32, int, float32, []float32, int)) {
	rng := rand.New(rand.NewPCG(7, 8))
	lda, ldb := s.k, s.n
	if s.transA {
		lda = s.m
	}
	if s.transB {
		ldb = s.k
	}
	a := randSlice(rng, s.m*s.k)
	bm := randSlice(rng, s.k*s.n)
	c := make([]float32, s.m*s.n)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		fn(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bm, ldb, 0, c, s.n)
	}
	flops := 2 * float64(s.m) * float64(s.n) * float64(s.k) * float64(b.N)
	b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func gonumSgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	scaleC(m, n, beta, c, ldc)
	gonumGemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, c, ldc)
}

// BenchmarkSgemm compares this package's Sgemm with gonum's pure-Go
// blas32 on the same shapes, one goroutine.
func BenchmarkSgemm(b *testing.B) {
	for _, s := range benchShapes {
		b.Run(fmt.Sprintf("%s/%s", KernelName(), s.name), func(b *testing.B) { benchGemm(b, s, Sgemm) })
		b.Run("gonum/"+s.name, func(b *testing.B) { benchGemm(b, s, gonumSgemm) })
	}
}

// BenchmarkSgemmPacked is the network's streaming case: few rows of A
// against weights packed once (vs Sgemm packing them on every call).
func BenchmarkSgemmPacked(b *testing.B) {
	for _, s := range []benchShape{
		{name: "stream/1x1536to512", m: 1, n: 512, k: 1536},
		{name: "stream/2x1536to512", m: 2, n: 512, k: 1536},
		{name: "stream/16x1536to512", m: 16, n: 512, k: 1536},
		{name: "stream/46x512to1500", m: 46, n: 1500, k: 512},
		{name: "xvector/1x3000to128", m: 1, n: 128, k: 3000},
		{name: "stream/4x1536to512", m: 4, n: 512, k: 1536},
		{name: "tdnn2/700x1536to512", m: 700, n: 512, k: 1536},
	} {
		rng := rand.New(rand.NewPCG(7, 8))
		a := randSlice(rng, s.m*s.k)
		bm := randSlice(rng, s.k*s.n)
		c := make([]float32, s.m*s.n)
		pb := PackB(false, s.k, s.n, bm, s.n)
		b.Run("packed/"+s.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				SgemmPacked(false, s.m, 1, a, s.k, pb, 0, c, s.n)
			}
			b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run("sgemm/"+s.name, func(b *testing.B) { benchGemm(b, s, Sgemm) })
	}
}
