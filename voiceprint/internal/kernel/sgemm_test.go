package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// naiveSgemm is the reference loop from the package comment, accumulated
// in float64 so that it is the more accurate of the two.
func naiveSgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			if beta == 0 {
				c[i*ldc+j] = float32(float64(alpha) * s)
			} else {
				c[i*ldc+j] = float32(float64(alpha)*s + float64(beta)*float64(c[i*ldc+j]))
			}
		}
	}
}

type gemmCase struct {
	name           string
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	padA, padB     int // extra columns beyond the minimum leading dimension
	padC           int
}

func (tc gemmCase) run(t testing.TB, rng *rand.Rand, gemmFn func(bool, bool, int, int, int, float32, []float32, int, []float32, int, float32, []float32, int)) {
	ar, ac := tc.m, tc.k
	if tc.transA {
		ar, ac = tc.k, tc.m
	}
	br, bc := tc.k, tc.n
	if tc.transB {
		br, bc = tc.n, tc.k
	}
	lda, ldb, ldc := max(1, ac+tc.padA), max(1, bc+tc.padB), max(1, tc.n+tc.padC)
	a := randSlice(rng, ar*lda)
	b := randSlice(rng, br*ldb)
	c := randSlice(rng, tc.m*ldc)
	if tc.beta == 0 {
		// beta == 0 must overwrite C without reading it.
		for i := range c {
			c[i] = float32(math.NaN())
		}
	}
	want := append([]float32(nil), c...)
	naiveSgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, want, ldc)
	got := append([]float32(nil), c...)
	gemmFn(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, got, ldc)
	// Error bound for a float32 dot product of length k with terms in
	// [-1, 1): a few ulps per term, relative to the sum of magnitudes.
	tol := 1e-6*float64(tc.k+4)*math.Abs(float64(tc.alpha)) + 1e-6*math.Abs(float64(tc.beta))
	for i := 0; i < tc.m; i++ {
		for j := 0; j < ldc; j++ {
			idx := i*ldc + j
			if j >= tc.n {
				// Padding beyond n columns must be untouched.
				if math.Float32bits(got[idx]) != math.Float32bits(c[idx]) {
					t.Fatalf("%s: C[%d,%d] outside the matrix changed: %v -> %v", tc.name, i, j, c[idx], got[idx])
				}
				continue
			}
			if d := math.Abs(float64(got[idx] - want[idx])); !(d <= tol) {
				t.Fatalf("%s: C[%d,%d] = %v, want %v (diff %g > %g)", tc.name, i, j, got[idx], want[idx], d, tol)
			}
		}
	}
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = rng.Float32()*2 - 1
	}
	return s
}

func gemmCases() []gemmCase {
	cases := []gemmCase{
		{name: "empty m", m: 0, n: 5, k: 3, alpha: 1, beta: 1},
		{name: "empty n", m: 4, n: 0, k: 3, alpha: 1, beta: 1},
		{name: "k zero scales C by beta", m: 3, n: 4, k: 0, alpha: 1, beta: 0.5},
		{name: "k zero beta zero clears C", m: 3, n: 4, k: 0, alpha: 1, beta: 0},
		{name: "alpha zero keeps beta C", m: 5, n: 7, k: 9, alpha: 0, beta: 2},
		{name: "scalar", m: 1, n: 1, k: 1, alpha: 1, beta: 0},
		{name: "row vector times matrix", m: 1, n: 37, k: 70, alpha: 1, beta: 0},
		{name: "matrix times column", m: 41, n: 1, k: 70, alpha: 1, beta: 1},
		{name: "outer product", m: 33, n: 65, k: 1, alpha: -1, beta: 1},
		{name: "one micro tile", m: 12, n: 32, k: 16, alpha: 1, beta: 0},
		{name: "odd sizes", m: 13, n: 33, k: 17, alpha: 1.5, beta: -0.5},
		{name: "primes", m: 97, n: 101, k: 103, alpha: 1, beta: 1},
		{name: "larger than a k block", m: 30, n: 50, k: 700, alpha: 1, beta: 0},
		{name: "larger than an m block", m: 300, n: 40, k: 30, alpha: 1, beta: 0},
		{name: "larger than an n block", m: 20, n: 5000, k: 10, alpha: 1, beta: 0.25},
		{name: "strided all", m: 29, n: 31, k: 37, alpha: 0.7, beta: 0.3, padA: 3, padB: 5, padC: 7},
		{name: "tdnn layer slice", m: 70, n: 512, k: 1536, alpha: 1, beta: 0},
	}
	var out []gemmCase
	for _, tc := range cases {
		for _, tr := range []struct{ a, b bool }{{false, false}, {false, true}, {true, false}, {true, true}} {
			tc := tc
			tc.transA, tc.transB = tr.a, tr.b
			tc.name = fmt.Sprintf("%s/%s", tc.name, transName(tr.a, tr.b))
			out = append(out, tc)
		}
	}
	return out
}

func transName(a, b bool) string {
	s := [2]byte{'N', 'N'}
	if a {
		s[0] = 'T'
	}
	if b {
		s[1] = 'T'
	}
	return string(s[:])
}

func TestSgemmTable(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range gemmCases() {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, rng, Sgemm)
		})
	}
}

// TestSgemmRandomShapes is a property test: any shape, transpose, stride
// and scalar pair agrees with the naive loop.
func TestSgemmRandomShapes(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n := 300
	if testing.Short() {
		n = 60
	}
	scalars := []float32{0, 1, -1, 0.5, 2.25}
	for i := 0; i < n; i++ {
		tc := gemmCase{
			transA: rng.IntN(2) == 1,
			transB: rng.IntN(2) == 1,
			m:      rng.IntN(80),
			n:      rng.IntN(80),
			k:      rng.IntN(300),
			alpha:  scalars[rng.IntN(len(scalars))],
			beta:   scalars[rng.IntN(len(scalars))],
			padA:   rng.IntN(3),
			padB:   rng.IntN(3),
			padC:   rng.IntN(3),
		}
		tc.name = fmt.Sprintf("random %d %s m=%d n=%d k=%d alpha=%v beta=%v", i, transName(tc.transA, tc.transB), tc.m, tc.n, tc.k, tc.alpha, tc.beta)
		tc.run(t, rng, Sgemm)
	}
}

func TestSgemmPanicsOnBadArguments(t *testing.T) {
	tests := []struct {
		name string
		call func()
	}{
		{"negative m", func() { Sgemm(false, false, -1, 1, 1, 1, []float32{1}, 1, []float32{1}, 1, 0, []float32{1}, 1) }},
		{"lda too small", func() {
			Sgemm(false, false, 2, 2, 3, 1, make([]float32, 6), 2, make([]float32, 6), 2, 0, make([]float32, 4), 2)
		}},
		{"A too short", func() {
			Sgemm(false, false, 2, 2, 3, 1, make([]float32, 5), 3, make([]float32, 6), 2, 0, make([]float32, 4), 2)
		}},
		{"B too short transposed", func() {
			Sgemm(false, true, 2, 2, 3, 1, make([]float32, 6), 3, make([]float32, 5), 3, 0, make([]float32, 4), 2)
		}},
		{"C too short", func() {
			Sgemm(false, false, 2, 2, 3, 1, make([]float32, 6), 3, make([]float32, 6), 2, 0, make([]float32, 3), 2)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			tt.call()
		})
	}
}

// withKernel returns Sgemm forced onto one micro-kernel and always
// through the blocked path, so every kernel this build has gets tested on
// this machine, not only the one picked at start-up.
func withKernel(mk microKernel) func(bool, bool, int, int, int, float32, []float32, int, []float32, int, float32, []float32, int) {
	return func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
		sgemm(&mk, true, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	}
}

func TestEveryKernel(t *testing.T) {
	kernels := append([]microKernel{goKernel}, asmKernels()...)
	t.Logf("Sgemm uses the %s kernel; testing %d kernels", KernelName(), len(kernels))
	for _, mk := range kernels {
		t.Run(mk.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(5, 6))
			for _, tc := range gemmCases() {
				tc.run(t, rng, withKernel(mk))
			}
			// Small cache blocks force every blocking loop to iterate.
			small := mk
			small.kc, small.mc, small.nc = 7, 2*mk.mr+1, 3*mk.nr-1
			for _, tc := range gemmCases() {
				if tc.m*tc.n*tc.k <= 1<<20 { // the large case adds nothing with tiny blocks
					tc.run(t, rng, withKernel(small))
				}
			}
		})
	}
}

// TestSgemmPacked runs the table through PackB + SgemmPacked on every
// kernel, with small blocks too, and reuses one packed matrix for several
// products.
func TestSgemmPacked(t *testing.T) {
	kernels := append([]microKernel{goKernel}, asmKernels()...)
	for _, mk := range kernels {
		small := mk
		small.kc, small.mc, small.nc = 7, 2*mk.mr+1, 3*mk.nr-1
		for _, mk := range []microKernel{mk, small} {
			t.Run(fmt.Sprintf("%s/kc%d", mk.name, mk.kc), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(9, 10))
				for _, tc := range gemmCases() {
					if mk.kc < 16 && tc.m*tc.n*tc.k > 1<<20 {
						continue // the large case adds nothing with tiny blocks
					}
					tc.run(t, rng, func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
						pb := packBWith(&mk, transB, k, n, b, ldb)
						if gk, gn := pb.Dims(); gk != k || gn != n {
							t.Fatalf("Dims = %d,%d, want %d,%d", gk, gn, k, n)
						}
						SgemmPacked(transA, m, alpha, a, lda, pb, beta, c, ldc)
					})
				}
			})
		}
	}
	// Public path: PackB with the active kernel, reused.
	rng := rand.New(rand.NewPCG(13, 14))
	k, n := 300, 70
	b := randSlice(rng, k*n)
	pb := PackB(false, k, n, b, n)
	for _, m := range []int{1, 2, 16, 45} {
		a := randSlice(rng, m*k)
		got := make([]float32, m*n)
		want := make([]float32, m*n)
		SgemmPacked(false, m, 1, a, k, pb, 0, got, n)
		naiveSgemm(false, false, m, n, k, 1, a, k, b, n, 0, want, n)
		for i := range got {
			if d := math.Abs(float64(got[i] - want[i])); d > 1e-4 {
				t.Fatalf("m=%d: C[%d] = %v, want %v", m, i, got[i], want[i])
			}
		}
	}
}
