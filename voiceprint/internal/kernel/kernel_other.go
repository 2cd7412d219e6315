//go:build !amd64 || purego

package kernel

// asmKernels lists the assembly kernels this build can run: none.
func asmKernels() []microKernel { return nil }
