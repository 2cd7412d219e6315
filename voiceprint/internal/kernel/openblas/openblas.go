//go:build openblas && cgo

package openblas

/*
#cgo LDFLAGS: -l:libopenblas.so.0
void cblas_sgemm(int order, int transA, int transB, int m, int n, int k, float alpha,
	const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);
void openblas_set_num_threads(int n);
*/
import "C"

import "fmt"

// CBLAS enum values.
const (
	rowMajor = 101
	noTrans  = 111
	trans    = 112
)

func init() { C.openblas_set_num_threads(1) }

// Sgemm has kernel.Sgemm's signature and semantics.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m <= 0 || n <= 0 || k <= 0 {
		panic(fmt.Sprintf("openblas: Sgemm wants positive sizes, got m=%d n=%d k=%d", m, n, k))
	}
	ta, tb := noTrans, noTrans
	if transA {
		ta = trans
	}
	if transB {
		tb = trans
	}
	C.cblas_sgemm(rowMajor, C.int(ta), C.int(tb), C.int(m), C.int(n), C.int(k), C.float(alpha),
		(*C.float)(&a[0]), C.int(lda), (*C.float)(&b[0]), C.int(ldb), C.float(beta), (*C.float)(&c[0]), C.int(ldc))
}
