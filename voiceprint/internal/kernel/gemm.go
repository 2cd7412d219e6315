package kernel

// gemm accumulates C += alpha*op(A)*op(B); C is already scaled by beta.
func gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	gemmRef(transA, transB, m, n, k, alpha, a, lda, b, ldb, c, ldc)
}
