//go:build !amd64 || purego

package kernel

// asmKernels lists the assembly kernels this build can run: none.
func asmKernels() []microKernel { return nil }

func dotsU8S8(q []int8, blocks []uint8, nblocks int, out []int32) {
	dotsU8S8Go(q, blocks, nblocks, out)
}

// hasVNNI is whether DotsU8S8 runs on AVX-512 VNNI.
const hasVNNI = false

func gemmU8S8Kernel(groups int, a []uint8, b []int8, c []int32, ldc int) {
	gemmU8S8Go(groups, a, b, c, ldc)
}

// fewRowKernels are the few-row variants of the assembly kernels: none.
var fewRowKernels []microKernel
