// Package kernel holds the numerical kernels under the voiceprint network:
// a single-precision general matrix product (Sgemm) with the same
// row-major semantics as gonum's blas32.Implementation().Sgemm, and the
// dot products used by the voiceprint index.
//
// Sgemm computes
//
//	C = alpha * op(A) * op(B) + beta * C
//
// where op(X) is X or its transpose, op(A) is m×k, op(B) is k×n and C is
// m×n, all stored row-major with leading dimensions lda, ldb and ldc.
// The plain reference loop it must agree with is
//
//	for i := 0; i < m; i++ {
//		for j := 0; j < n; j++ {
//			var s float32
//			for p := 0; p < k; p++ {
//				av := a[i*lda+p] // a[p*lda+i] when transA
//				bv := b[p*ldb+j] // b[j*ldb+p] when transB
//				s += av * bv
//			}
//			if beta == 0 {
//				c[i*ldc+j] = alpha * s
//			} else {
//				c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
//			}
//		}
//	}
//
// As in gonum, beta == 0 overwrites C without reading it (NaN in C does
// not propagate) and bad dimensions or short slices panic: they are
// programmer errors, never input errors.
//
// The fast path is a cache-blocked product: B is packed into column
// panels, A (scaled by alpha) into row panels, and a register-blocked
// micro-kernel accumulates each tile of C. On amd64 the micro-kernel is
// Go assembly (AVX-512 or AVX2+FMA, picked at start-up from the CPU's
// feature bits); the build tag purego selects the portable Go
// micro-kernel everywhere, and CI tests both.
package kernel
