package kernel

import (
	"encoding/binary"
	"fmt"
	"sync"
)

// The int8 product's fixed register tile: 14 rows of A by 32 columns of B,
// 4 values of k per step (what one VPDPBUSD consumes).
const (
	s8MR     = 14
	s8NR     = 32
	s8MC     = 8 * s8MR // rows of A packed at a time
	s8Groups = 64       // groups of 4 k values per cache block
)

// PackedS8 is a k×n signed 8-bit matrix packed once for GemmU8S8.
type PackedS8 struct {
	k, n, groups int
	data         []int8 // per 32-column panel: groups x 32 columns x 4 bytes
}

// PackS8 packs the k×n row-major matrix b (row stride ldb) for GemmU8S8.
func PackS8(k, n int, b []int8, ldb int) *PackedS8 {
	if k < 0 || n < 0 || ldb < max(1, n) || (k > 0 && n > 0 && len(b) < (k-1)*ldb+n) {
		panic(fmt.Sprintf("kernel: PackS8 k=%d n=%d ldb=%d with %d values", k, n, ldb, len(b)))
	}
	groups := (k + 3) / 4
	panels := (n + s8NR - 1) / s8NR
	p := &PackedS8{k: k, n: n, groups: groups, data: make([]int8, panels*groups*s8NR*4)}
	for q := 0; q < panels; q++ {
		pan := p.data[q*groups*s8NR*4:]
		for col := 0; col < min(s8NR, n-q*s8NR); col++ {
			j := q*s8NR + col
			for kk := 0; kk < k; kk++ {
				pan[(kk/4)*s8NR*4+col*4+kk%4] = b[kk*ldb+j]
			}
		}
	}
	return p
}

// Dims returns the k×n shape.
func (p *PackedS8) Dims() (k, n int) { return p.k, p.n }

var s8Pool = sync.Pool{New: func() any { return new(s8Bufs) }}

type s8Bufs struct {
	a    []uint8
	tile [s8MR * s8NR]int32
}

// GemmU8S8 computes C = A*B with A an m×k matrix of unsigned bytes
// (row stride lda), B packed by PackS8 and C an m×n int32 matrix (row
// stride ldc), overwritten:
//
//	for i := 0; i < m; i++ {
//		for j := 0; j < n; j++ {
//			var s int32
//			for p := 0; p < k; p++ {
//				s += int32(a[i*lda+p]) * int32(bkn[p][j])
//			}
//			c[i*ldc+j] = s
//		}
//	}
//
// The sums are exact while k*255*128 fits in int32 (k up to 65,793). On
// AVX-512 VNNI one instruction does 64 multiply-adds (four times the
// float32 FMA rate); elsewhere a Go loop computes the same.
func GemmU8S8(m int, a []uint8, lda int, b *PackedS8, c []int32, ldc int) {
	k, n := b.k, b.n
	if m < 0 || lda < max(1, k) || ldc < max(1, n) ||
		(m > 0 && k > 0 && len(a) < (m-1)*lda+k) || (m > 0 && n > 0 && len(c) < (m-1)*ldc+n) {
		panic(fmt.Sprintf("kernel: GemmU8S8 m=%d k=%d n=%d lda=%d ldc=%d with %d and %d values", m, k, n, lda, ldc, len(a), len(c)))
	}
	for i := 0; i < m; i++ {
		clear(c[i*ldc : i*ldc+n])
	}
	if m == 0 || n == 0 || k == 0 {
		return
	}
	bufs := s8Pool.Get().(*s8Bufs)
	defer s8Pool.Put(bufs)
	groups := b.groups
	bufs.a = growBytes(bufs.a, s8MC*groups*4)
	for ic := 0; ic < m; ic += s8MC {
		mc := min(s8MC, m-ic)
		packU8(a, lda, ic, mc, k, groups, bufs.a)
		for g0 := 0; g0 < groups; g0 += s8Groups {
			ng := min(s8Groups, groups-g0)
			for jr := 0; jr < n; jr += s8NR {
				nrr := min(s8NR, n-jr)
				bpan := b.data[(jr/s8NR)*groups*s8NR*4+g0*s8NR*4:]
				for ir := 0; ir < mc; ir += s8MR {
					mrr := min(s8MR, mc-ir)
					apan := bufs.a[(ir/s8MR)*groups*s8MR*4+g0*s8MR*4:]
					if mrr == s8MR && nrr == s8NR {
						gemmU8S8Kernel(ng, apan, bpan, c[(ic+ir)*ldc+jr:], ldc)
						continue
					}
					tile := bufs.tile[:]
					clear(tile)
					gemmU8S8Kernel(ng, apan, bpan, tile, s8NR)
					for i := 0; i < mrr; i++ {
						crow := c[(ic+ir+i)*ldc+jr : (ic+ir+i)*ldc+jr+nrr]
						for j, v := range tile[i*s8NR : i*s8NR+nrr] {
							crow[j] += v
						}
					}
				}
			}
		}
	}
}

func growBytes(s []uint8, n int) []uint8 {
	if cap(s) < n {
		return make([]uint8, n)
	}
	return s[:n]
}

// packU8 copies rows ic..ic+mc of A into 14-row panels: panel q holds,
// for each group g, 14 rows x 4 bytes A[row][4g:4g+4], zero-padded past
// k and past mc. Bytes move four at a time.
func packU8(a []uint8, lda, ic, mc, k, groups int, dst []uint8) {
	const step = s8MR * 4 // bytes between groups in a panel
	full := k / 4
	rows := roundUp(mc, s8MR)
	for r := 0; r < rows; r++ {
		pan := dst[(r/s8MR)*groups*step+(r%s8MR)*4:]
		pan = pan[:(groups-1)*step+4]
		if r >= mc {
			for g := 0; g < groups; g++ {
				binary.LittleEndian.PutUint32(pan[g*step:], 0)
			}
			continue
		}
		row := a[(ic+r)*lda : (ic+r)*lda+k]
		for g := 0; g < full; g++ {
			binary.LittleEndian.PutUint32(pan[g*step:], binary.LittleEndian.Uint32(row[4*g:]))
		}
		if full < groups {
			var tail [4]uint8
			copy(tail[:], row[4*full:])
			copy(pan[full*step:full*step+4], tail[:])
		}
	}
}

// gemmU8S8Go is the portable micro-kernel: the 14×32 tile of C at c
// (row stride ldc) += groups steps of packed A and packed B.
func gemmU8S8Go(groups int, a []uint8, b []int8, c []int32, ldc int) {
	var acc [s8MR][s8NR]int32
	for g := 0; g < groups; g++ {
		ag := a[g*s8MR*4 : (g+1)*s8MR*4]
		bg := b[g*s8NR*4 : (g+1)*s8NR*4]
		for i := 0; i < s8MR; i++ {
			a0, a1, a2, a3 := int32(ag[4*i]), int32(ag[4*i+1]), int32(ag[4*i+2]), int32(ag[4*i+3])
			row := &acc[i]
			for j := 0; j < s8NR; j++ {
				bj := bg[4*j : 4*j+4 : 4*j+4]
				row[j] += a0*int32(bj[0]) + a1*int32(bj[1]) + a2*int32(bj[2]) + a3*int32(bj[3])
			}
		}
	}
	for i := 0; i < s8MR; i++ {
		crow := c[i*ldc : i*ldc+s8NR]
		for j, v := range acc[i] {
			crow[j] += v
		}
	}
}
