package kernel

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func naiveU8S8(m, n, k int, a []uint8, lda int, b []int8, ldb int, c []int32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s int32
			for p := 0; p < k; p++ {
				s += int32(a[i*lda+p]) * int32(b[p*ldb+j])
			}
			c[i*ldc+j] = s
		}
	}
}

func TestGemmU8S8(t *testing.T) {
	tests := []struct {
		name          string
		m, n, k       int
		padA, padC    int
		extreme, odds bool
	}{
		{name: "empty", m: 0, n: 5, k: 8},
		{name: "k zero clears C", m: 3, n: 5, k: 0},
		{name: "one tile", m: 14, n: 32, k: 16},
		{name: "k not a multiple of 4", m: 15, n: 33, k: 7},
		{name: "odd everything", m: 29, n: 45, k: 131, padA: 3, padC: 5},
		{name: "several cache blocks", m: 130, n: 70, k: 600},
		{name: "tdnn2 slice", m: 40, n: 512, k: 1536},
		{name: "extreme values do not overflow", m: 15, n: 33, k: 1536, extreme: true},
		{name: "one row (streaming)", m: 1, n: 512, k: 1536},
	}
	rng := rand.New(rand.NewPCG(71, 72))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lda, ldb, ldc := max(1, tt.k+tt.padA), max(1, tt.n), max(1, tt.n+tt.padC)
			a := make([]uint8, tt.m*lda)
			b := make([]int8, tt.k*ldb)
			for i := range a {
				a[i] = uint8(rng.IntN(256))
				if tt.extreme {
					a[i] = 255
				}
			}
			for i := range b {
				b[i] = int8(rng.IntN(256) - 128)
				if tt.extreme {
					b[i] = -128
				}
			}
			want := make([]int32, tt.m*ldc)
			for i := range want {
				want[i] = -7 // padding sentinel; the matrix part is overwritten
			}
			got := append([]int32(nil), want...)
			naiveU8S8(tt.m, tt.n, tt.k, a, lda, b, ldb, want, ldc)
			pb := PackS8(tt.k, tt.n, b, ldb)
			if k, n := pb.Dims(); k != tt.k || n != tt.n {
				t.Fatalf("Dims %d,%d", k, n)
			}
			GemmU8S8(tt.m, a, lda, pb, got, ldc)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("C[%d,%d] = %d, want %d", i/ldc, i%ldc, got[i], want[i])
				}
			}
		})
	}
}

func TestGemmU8S8GoKernel(t *testing.T) {
	// The assembly kernel runs above when the CPU has VNNI; check the Go
	// kernel against it (or against itself elsewhere) on one tile.
	rng := rand.New(rand.NewPCG(73, 74))
	const groups = 9
	a := make([]uint8, groups*s8MR*4)
	b := make([]int8, groups*s8NR*4)
	for i := range a {
		a[i] = uint8(rng.IntN(256))
	}
	for i := range b {
		b[i] = int8(rng.IntN(256) - 128)
	}
	c1 := make([]int32, s8MR*s8NR)
	c2 := make([]int32, s8MR*s8NR)
	gemmU8S8Go(groups, a, b, c1, s8NR)
	gemmU8S8Kernel(groups, a, b, c2, s8NR)
	for i := range c1 {
		if c1[i] != c2[i] {
			t.Fatalf("tile[%d]: go %d, kernel %d", i, c1[i], c2[i])
		}
	}
}

func BenchmarkGemmU8S8(b *testing.B) {
	for _, s := range []benchShape{
		{name: "tdnn2/700x1536to512", m: 700, n: 512, k: 1536},
		{name: "tdnn5/700x512to1500", m: 700, n: 1500, k: 512},
		{name: "stream/16x1536to512", m: 16, n: 512, k: 1536},
	} {
		b.Run(fmt.Sprintf("vnni=%v/%s", hasVNNI, s.name), func(b *testing.B) {
			a := make([]uint8, s.m*s.k)
			bm := make([]int8, s.k*s.n)
			for i := range a {
				a[i] = uint8(i * 7)
			}
			for i := range bm {
				bm[i] = int8(i * 13)
			}
			pb := PackS8(s.k, s.n, bm, s.n)
			c := make([]int32, s.m*s.n)
			b.ReportAllocs()
			for b.Loop() {
				GemmU8S8(s.m, a, s.k, pb, c, s.n)
			}
			b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GOP/s")
		})
	}
}
