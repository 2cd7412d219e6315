//go:build amd64 && !purego

package kernel

import "golang.org/x/sys/cpu"

//go:generate sh -c "go run gen_amd64.go > sgemm_amd64.s"

//go:noescape
func sgemmKernelAVX512(kc int, a, b, c *float32, ldc int)

//go:noescape
func sgemmKernelAVX2(kc int, a, b, c *float32, ldc int)

//go:noescape
func dotsU8S8VNNI(q *int8, blocks *uint8, nblocks, groups int, out *int32)

// hasVNNI is whether DotsU8S8 runs on AVX-512 VNNI.
var hasVNNI = cpu.X86.HasAVX512F && cpu.X86.HasAVX512VNNI

func dotsU8S8(q []int8, blocks []uint8, nblocks int, out []int32) {
	if !hasVNNI || len(q)%16 != 0 {
		dotsU8S8Go(q, blocks, nblocks, out)
		return
	}
	dotsU8S8VNNI(&q[0], &blocks[0], nblocks, len(q)/4, &out[0])
}

//go:noescape
func gemmU8S8KernelVNNI(groups int, a *uint8, b *int8, c *int32, ldc int)

func gemmU8S8Kernel(groups int, a []uint8, b []int8, c []int32, ldc int) {
	if !hasVNNI {
		gemmU8S8Go(groups, a, b, c, ldc)
		return
	}
	_ = a[groups*s8MR*4-1]
	_ = b[groups*s8NR*4-1]
	_ = c[(s8MR-1)*ldc+s8NR-1]
	gemmU8S8KernelVNNI(groups, &a[0], &b[0], &c[0], ldc)
}

var avx512Kernel = microKernel{
	name: "avx512",
	mr:   14, nr: 32,
	kc: 128, mc: 168, nc: 2048,
	fn: func(kc int, a, b, c []float32, ldc int) {
		_ = a[14*kc-1]
		_ = b[32*kc-1]
		_ = c[13*ldc+31]
		sgemmKernelAVX512(kc, &a[0], &b[0], &c[0], ldc)
	},
}

//go:noescape
func sgemmKernelAVX512x4(kc int, a, b, c *float32, ldc int)

//go:noescape
func sgemmKernelAVX512x1(kc int, a, b, c *float32, ldc int)

// fewRowKernels are avx512Kernel's blocking with fewer rows, for
// products of one to a few rows of A against the same packed B.
var fewRowKernels = []microKernel{
	withRows(avx512Kernel, "avx512x1", 1, func(kc int, a, b, c []float32, ldc int) {
		_ = a[kc-1]
		_ = b[32*kc-1]
		_ = c[31]
		sgemmKernelAVX512x1(kc, &a[0], &b[0], &c[0], ldc)
	}),
	withRows(avx512Kernel, "avx512x4", 4, func(kc int, a, b, c []float32, ldc int) {
		_ = a[4*kc-1]
		_ = b[32*kc-1]
		_ = c[3*ldc+31]
		sgemmKernelAVX512x4(kc, &a[0], &b[0], &c[0], ldc)
	}),
}

var avx2Kernel = microKernel{
	name: "avx2",
	mr:   6, nr: 16,
	kc: 256, mc: 120, nc: 2048,
	fn: func(kc int, a, b, c []float32, ldc int) {
		_ = a[6*kc-1]
		_ = b[16*kc-1]
		_ = c[5*ldc+15]
		sgemmKernelAVX2(kc, &a[0], &b[0], &c[0], ldc)
	},
}

// asmKernels lists the assembly kernels this CPU can run, best first.
func asmKernels() []microKernel {
	var ks []microKernel
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL {
		ks = append(ks, avx512Kernel)
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, avx2Kernel)
	}
	return ks
}

func init() {
	if ks := asmKernels(); len(ks) > 0 {
		active = ks[0]
	}
}
