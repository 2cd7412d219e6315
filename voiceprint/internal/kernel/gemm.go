package kernel

import "sync"

// microKernel is a register-blocked kernel and the cache blocking that
// suits it. fn adds to the mr×nr tile of C at c (row stride ldc) the
// product of kc steps of packed A (mr values per step) and packed B
// (nr values per step). The tile must be fully addressable.
type microKernel struct {
	name       string
	mr, nr     int
	kc, mc, nc int // cache blocks: kc steps, mc rows of A, nc columns of B
	fn         func(kc int, a, b, c []float32, ldc int)
}

// active is the micro-kernel Sgemm uses; set by the architecture files.
var active = goKernel

// withRows returns mk with fewer rows per tile and the kernel fn; the
// packed-B layout (nr, kc, nc) is unchanged.
func withRows(mk microKernel, name string, mr int, fn func(kc int, a, b, c []float32, ldc int)) microKernel {
	mk.name, mk.mr, mk.fn = name, mr, fn
	mk.mc = max(mr, mk.mc/mk.mr*mr)
	return mk
}

// forRows picks, for a product with m rows of A, the kernel among mk and
// its few-row variants that wastes least of its register tile.
func forRows(mk *microKernel, m int) *microKernel {
	if m >= mk.mr {
		return mk
	}
	for i := range fewRowKernels {
		f := &fewRowKernels[i]
		if f.nr == mk.nr && f.kc == mk.kc && f.nc == mk.nc && m <= f.mr {
			return f
		}
	}
	return mk
}

// KernelName reports which micro-kernel Sgemm uses on this machine
// ("avx512", "avx2" or "go").
func KernelName() string { return active.name }

// tinyFlops is the size (m*n*k) below which packing costs more than it saves.
const tinyFlops = 4 * 4 * 4

type gemmBufs struct {
	a, b, tile []float32
}

var bufPool = sync.Pool{New: func() any { return new(gemmBufs) }}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

func roundUp(x, to int) int { return (x + to - 1) / to * to }

// gemmBlocked is the three-level blocked product: a kc×nc block of B is
// packed once and reused against every mc×kc block of A; the micro-kernel
// then walks nr-wide B panels (held in L1) against mr-high A panels (L2).
// pb, when not nil, holds B already packed for mk and b is unused.
func gemmBlocked(mk *microKernel, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, pb *PackedB, c []float32, ldc int) {
	bufs := bufPool.Get().(*gemmBufs)
	defer bufPool.Put(bufs)
	kcMax := min(mk.kc, k)
	bufs.a = grow(bufs.a, roundUp(min(mk.mc, m), mk.mr)*kcMax)
	if pb == nil {
		bufs.b = grow(bufs.b, roundUp(min(mk.nc, n), mk.nr)*kcMax)
	}
	bufs.tile = grow(bufs.tile, mk.mr*mk.nr)
	for jc := 0; jc < n; jc += mk.nc {
		nc := min(mk.nc, n-jc)
		for pc := 0; pc < k; pc += mk.kc {
			kc := min(mk.kc, k-pc)
			bp := bufs.b
			if pb != nil {
				bp = pb.block(jc, pc)
			} else {
				packB(transB, b, ldb, pc, jc, kc, nc, mk.nr, bp)
			}
			for ic := 0; ic < m; ic += mk.mc {
				mc := min(mk.mc, m-ic)
				packA(transA, a, lda, ic, pc, mc, kc, mk.mr, alpha, bufs.a)
				macroKernel(mk, mc, nc, kc, bufs.a, bp, c[ic*ldc+jc:], ldc, bufs.tile)
			}
		}
	}
}

// macroKernel multiplies a packed mc×kc block of A by a packed kc×nc
// block of B into C.
func macroKernel(mk *microKernel, mc, nc, kc int, ap, bp, c []float32, ldc int, tile []float32) {
	mr, nr := mk.mr, mk.nr
	for jr := 0; jr < nc; jr += nr {
		nrr := min(nr, nc-jr)
		bpan := bp[jr*kc : jr*kc+nr*kc]
		for ir := 0; ir < mc; ir += mr {
			mrr := min(mr, mc-ir)
			apan := ap[ir*kc : ir*kc+mr*kc]
			if mrr == mr && nrr == nr {
				mk.fn(kc, apan, bpan, c[ir*ldc+jr:], ldc)
				continue
			}
			// Edge tile: compute the whole register tile into a scratch
			// tile, then add the part inside C.
			clear(tile)
			mk.fn(kc, apan, bpan, tile, nr)
			for i := 0; i < mrr; i++ {
				crow := c[(ir+i)*ldc+jr : (ir+i)*ldc+jr+nrr]
				trow := tile[i*nr : i*nr+nrr]
				for j, v := range trow {
					crow[j] += v
				}
			}
		}
	}
}

// packB copies the kc×nc block of op(B) starting at row pc, column jc
// into nr-wide panels: panel q holds, for each step p, the nr values
// op(B)[pc+p, jc+q*nr : jc+q*nr+nr], zero-padded past nc.
func packB(transB bool, b []float32, ldb, pc, jc, kc, nc, nr int, dst []float32) {
	for j0 := 0; j0 < nc; j0 += nr {
		w := min(nr, nc-j0)
		pan := dst[j0*kc : j0*kc+nr*kc]
		if !transB {
			for p := 0; p < kc; p++ {
				row := b[(pc+p)*ldb+jc+j0:]
				d := pan[p*nr : p*nr+nr]
				copy(d[:w], row[:w])
				clear(d[w:])
			}
			continue
		}
		// B is stored n×k: column j of op(B) is row j of B. Walk the
		// panel's rows of B side by side so that reads stay sequential
		// and writes contiguous.
		gatherPanel(b, ldb, (jc+j0)*ldb+pc, w, kc, nr, 1, pan)
	}
}

// packA copies alpha times the mc×kc block of op(A) starting at row ic,
// column pc into mr-high panels: panel q holds, for each step p, the mr
// values alpha*op(A)[ic+q*mr : ic+q*mr+mr, pc+p], zero-padded past mc.
func packA(transA bool, a []float32, lda, ic, pc, mc, kc, mr int, alpha float32, dst []float32) {
	for i0 := 0; i0 < mc; i0 += mr {
		h := min(mr, mc-i0)
		pan := dst[i0*kc : i0*kc+mr*kc]
		if transA {
			// A is stored k×m: row p of A holds column p of op(A).
			for p := 0; p < kc; p++ {
				src := a[(pc+p)*lda+ic+i0 : (pc+p)*lda+ic+i0+h]
				d := pan[p*mr : p*mr+mr]
				for i, v := range src {
					d[i] = alpha * v
				}
				clear(d[h:])
			}
			continue
		}
		gatherPanel(a, lda, (ic+i0)*lda+pc, h, kc, mr, alpha, pan)
	}
}

// gatherPanel transposes a w×kc block of x (rows ld apart, starting at
// off) into dst as kc groups of width values, scaling by alpha and
// zero-padding each group past w. It reads four rows at a time and
// writes four neighbouring values per step: reading all the rows side by
// side is three times slower when ld is a multiple of a large power of
// two, as the rows then share a few L1 sets.
func gatherPanel(x []float32, ld, off, w, kc, width int, alpha float32, dst []float32) {
	dst = dst[:kc*width]
	r := 0
	for ; r+4 <= w; r += 4 {
		r0 := x[off+r*ld : off+r*ld+kc]
		r1 := x[off+(r+1)*ld : off+(r+1)*ld+kc]
		r2 := x[off+(r+2)*ld : off+(r+2)*ld+kc]
		r3 := x[off+(r+3)*ld : off+(r+3)*ld+kc]
		for p := range r0 {
			d := dst[p*width+r : p*width+r+4 : p*width+r+4]
			d[0] = alpha * r0[p]
			d[1] = alpha * r1[p]
			d[2] = alpha * r2[p]
			d[3] = alpha * r3[p]
		}
	}
	for ; r < w; r++ {
		row := x[off+r*ld : off+r*ld+kc]
		d := dst[r:]
		for p, v := range row {
			d[p*width] = alpha * v
		}
	}
	if w < width {
		for p := 0; p < kc; p++ {
			clear(dst[p*width+w : p*width+width])
		}
	}
}
