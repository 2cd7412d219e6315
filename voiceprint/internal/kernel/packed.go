package kernel

import "fmt"

// PackedB is the right-hand matrix of a product, packed once into the
// layout the micro-kernel reads, for matrices used again and again (a
// network's weights). Packing costs about one pass over the matrix; for a
// product with few rows of A (streaming one or two frames) that pass is
// most of the work, which SgemmPacked skips.
type PackedB struct {
	k, n int
	mk   *microKernel
	data []float32
	offs []int // start of block (jc, pc) at offs[jcIdx*nkc+pcIdx]
	nkc  int
}

// PackB packs op(B) (k×n; B is n×k when transB) for SgemmPacked with the
// micro-kernel Sgemm uses. The result does not alias b.
func PackB(transB bool, k, n int, b []float32, ldb int) *PackedB {
	return packBWith(&active, transB, k, n, b, ldb)
}

func packBWith(mk *microKernel, transB bool, k, n int, b []float32, ldb int) *PackedB {
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	if k < 0 || n < 0 {
		panic(fmt.Sprintf("kernel: PackB negative dimension k=%d n=%d", k, n))
	}
	checkMat("B", br, bc, b, ldb)
	p := &PackedB{k: k, n: n, mk: mk, nkc: (k + mk.kc - 1) / mk.kc}
	size := 0
	for jc := 0; jc < n; jc += mk.nc {
		nc := min(mk.nc, n-jc)
		for pc := 0; pc < k; pc += mk.kc {
			kc := min(mk.kc, k-pc)
			p.offs = append(p.offs, size)
			size += roundUp(nc, mk.nr) * kc
		}
	}
	p.data = make([]float32, size)
	i := 0
	for jc := 0; jc < n; jc += mk.nc {
		nc := min(mk.nc, n-jc)
		for pc := 0; pc < k; pc += mk.kc {
			kc := min(mk.kc, k-pc)
			packB(transB, b, ldb, pc, jc, kc, nc, mk.nr, p.data[p.offs[i]:])
			i++
		}
	}
	return p
}

// Dims returns the k×n shape of op(B).
func (p *PackedB) Dims() (k, n int) { return p.k, p.n }

func (p *PackedB) block(jc, pc int) []float32 {
	return p.data[p.offs[(jc/p.mk.nc)*p.nkc+pc/p.mk.kc]:]
}

// SgemmPacked computes C = alpha*op(A)*B + beta*C like Sgemm, with B
// packed by PackB; op(A) is m×k and C m×n for B's k×n.
func SgemmPacked(transA bool, m int, alpha float32, a []float32, lda int, pb *PackedB, beta float32, c []float32, ldc int) {
	k, n := pb.k, pb.n
	if m < 0 {
		panic(fmt.Sprintf("kernel: SgemmPacked negative dimension m=%d", m))
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	checkMat("A", ar, ac, a, lda)
	checkMat("C", m, n, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	scaleC(m, n, beta, c, ldc)
	if k == 0 || alpha == 0 {
		return
	}
	gemmBlocked(forRows(pb.mk, m), transA, false, m, n, k, alpha, a, lda, nil, 0, pb, c, ldc)
}
