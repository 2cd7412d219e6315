package kernel

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func naiveDots(q []int8, blocks []uint8, nblocks int, out []int32) {
	dim := len(q)
	for b := 0; b < nblocks; b++ {
		for lane := 0; lane < DotBlock; lane++ {
			var s int32
			for i := 0; i < dim; i++ {
				g, j := i/4, i%4
				s += int32(blocks[b*dim*DotBlock+g*4*DotBlock+lane*4+j]) * int32(q[i])
			}
			out[b*DotBlock+lane] = s
		}
	}
}

func TestDotsU8S8(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	tests := []struct {
		name         string
		dim, nblocks int
		extreme      bool
	}{
		{name: "no blocks", dim: 128, nblocks: 0},
		{name: "one block", dim: 128, nblocks: 1},
		{name: "many blocks", dim: 128, nblocks: 37},
		{name: "extreme values", dim: 128, nblocks: 3, extreme: true},
		{name: "dim 16", dim: 16, nblocks: 5},
		{name: "dim 4 takes the Go path", dim: 4, nblocks: 2},
		{name: "dim 512", dim: 512, nblocks: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := make([]int8, tt.dim)
			blocks := make([]uint8, tt.dim*DotBlock*tt.nblocks)
			for i := range q {
				q[i] = int8(rng.IntN(256) - 128)
				if tt.extreme {
					q[i] = -128
				}
			}
			for i := range blocks {
				blocks[i] = uint8(rng.IntN(256))
				if tt.extreme {
					blocks[i] = 255
				}
			}
			want := make([]int32, tt.nblocks*DotBlock)
			naiveDots(q, blocks, tt.nblocks, want)
			for _, impl := range []struct {
				name string
				fn   func([]int8, []uint8, int, []int32)
			}{{"DotsU8S8", DotsU8S8}, {"go", dotsU8S8Go}} {
				got := make([]int32, len(want))
				impl.fn(q, blocks, tt.nblocks, got)
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("%s: out[%d] = %d, want %d", impl.name, i, got[i], want[i])
					}
				}
			}
		})
	}
}

func BenchmarkDotsU8S8(b *testing.B) {
	for _, n := range []int{10_000, 1_000_000} {
		const dim = 128
		nblocks := (n + DotBlock - 1) / DotBlock
		q := make([]int8, dim)
		blocks := make([]uint8, nblocks*dim*DotBlock)
		out := make([]int32, nblocks*DotBlock)
		b.Run(fmt.Sprintf("vectors=%d/vnni=%v", n, hasVNNI), func(b *testing.B) {
			for b.Loop() {
				DotsU8S8(q, blocks, nblocks, out)
			}
			b.ReportMetric(float64(len(blocks))*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
		})
	}
}
