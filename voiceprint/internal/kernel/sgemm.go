package kernel

import (
	"fmt"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// fewRows is the largest m for which Sgemm does not pack.
const fewRows = 2

// gonumGemm accumulates C += alpha*op(A)*op(B) with gonum's blas32.
func gonumGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	ta, tb := blas.NoTrans, blas.NoTrans
	if transA {
		ta = blas.Trans
	}
	if transB {
		tb = blas.Trans
	}
	blas32.Implementation().Sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, 1, c, ldc)
}

// Sgemm computes C = alpha*op(A)*op(B) + beta*C for row-major float32
// matrices; op(X) is X, or X transposed when transX is true. op(A) is m×k,
// op(B) is k×n and C is m×n. See the package comment for the reference loop.
// It panics when a dimension is negative or a slice is too short for the
// dimensions and leading dimensions given.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemm(&active, false, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// sgemm is Sgemm on micro-kernel mk; tiny products take the plain loops
// unless alwaysBlocked.
func sgemm(mk *microKernel, alwaysBlocked, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	scaleC(m, n, beta, c, ldc)
	if k == 0 || alpha == 0 {
		return
	}
	if !alwaysBlocked && m*n*k <= tinyFlops {
		gemmRef(transA, transB, m, n, k, alpha, a, lda, b, ldb, c, ldc)
		return
	}
	if !alwaysBlocked && m <= fewRows {
		// Packing B costs as much as multiplying it by one or two rows:
		// gonum's unpacked SIMD dot/axpy loops are faster here. Reused
		// weights should go through PackB/SgemmPacked instead.
		gonumGemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, c, ldc)
		return
	}
	gemmBlocked(mk, transA, transB, m, n, k, alpha, a, lda, b, ldb, nil, c, ldc)
}

func checkGemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("kernel: Sgemm negative dimension m=%d n=%d k=%d", m, n, k))
	}
	// Rows and columns of A and B as stored.
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	checkMat("A", ar, ac, a, lda)
	checkMat("B", br, bc, b, ldb)
	checkMat("C", m, n, c, ldc)
}

func checkMat(name string, rows, cols int, x []float32, ld int) {
	if ld < max(1, cols) {
		panic(fmt.Sprintf("kernel: Sgemm ld%s=%d < %d columns", name, ld, cols))
	}
	if rows == 0 || cols == 0 {
		return
	}
	if need := (rows-1)*ld + cols; len(x) < need {
		panic(fmt.Sprintf("kernel: Sgemm %s has %d elements, need %d", name, len(x), need))
	}
}

// scaleC sets C = beta*C, writing zeros when beta is 0.
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	if beta == 1 {
		return
	}
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}
