package nn

import (
	"errors"
	"fmt"
	"slices"

	"github.com/voxdesk/voxdesk/voiceprint/internal/kernel"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gorgonia.org/tensor"
)

// sgemm is the one matrix product the network runs: row-major
// C = alpha*op(A)*op(B) + beta*C, the signature of gonum blas32's Sgemm.
// It is the single switch point between implementations: our blocked
// kernel (AVX-512/AVX2 micro-kernels, pure Go with -tags purego).
var sgemm = kernel.Sgemm

// gonumSgemm is gonum's pure-Go Sgemm with the same signature, kept for
// comparison in tests and benchmarks.
func gonumSgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ta, tb := blas.NoTrans, blas.NoTrans
	ar, ac := m, k
	if transA {
		ta, ar, ac = blas.Trans, k, m
	}
	br, bc := k, n
	if transB {
		tb, br, bc = blas.Trans, n, k
	}
	blas32.Gemm(ta, tb, alpha,
		blas32.General{Rows: ar, Cols: ac, Stride: lda, Data: a},
		blas32.General{Rows: br, Cols: bc, Stride: ldb, Data: b},
		beta,
		blas32.General{Rows: m, Cols: n, Stride: ldc, Data: c})
}

// engine is a gorgonia tensor engine whose MatMul runs our kernel rather
// than the default gonum one. A network's weights are packed once for the
// kernel (kernel.PackB) when the network is built; a product whose
// right-hand side is one of them (found by its backing array) skips the
// packing, which is most of the work for the stream's few-row products.
// Everything else falls back to the standard engine.
type engine struct {
	tensor.StdEng
	packed map[*float32]*kernel.PackedB // read-only once the network is built
}

// newEngine packs the weights of every layer of n and points the layers'
// weight tensors at the new engine.
func newEngine(n *Network) *engine {
	e := &engine{packed: map[*float32]*kernel.PackedB{}}
	for _, l := range append(slices.Clone(n.Layers), n.Output) {
		k := l.K()
		e.packed[&l.wt[0]] = kernel.PackB(false, k, l.Out, l.wt, l.Out)
		l.w = tensor.New(tensor.WithShape(k, l.Out), tensor.WithBacking(l.wt), tensor.WithEngine(e))
	}
	return e
}

var errMatMul = errors.New("nn: matmul wants row-major float32 *tensor.Dense matrices")

// MatMul computes prealloc = a x b for row-major float32 matrices.
func (e *engine) MatMul(a, b, prealloc tensor.Tensor) error {
	ad, ok1 := a.(*tensor.Dense)
	bd, ok2 := b.(*tensor.Dense)
	cd, ok3 := prealloc.(*tensor.Dense)
	if !ok1 || !ok2 || !ok3 || ad.Dtype() != tensor.Float32 || bd.Dtype() != tensor.Float32 || cd.Dtype() != tensor.Float32 {
		return errMatMul
	}
	as, bs, cs := ad.Shape(), bd.Shape(), cd.Shape()
	if len(as) != 2 || len(bs) != 2 || len(cs) != 2 || as[1] != bs[0] || cs[0] != as[0] || cs[1] != bs[1] {
		return fmt.Errorf("nn: matmul shapes %v x %v -> %v", as, bs, cs)
	}
	if !ad.DataOrder().IsRowMajor() || !bd.DataOrder().IsRowMajor() || !cd.DataOrder().IsRowMajor() || ad.IsView() || bd.IsView() || cd.IsView() {
		return errMatMul
	}
	m, k, n := as[0], as[1], bs[1]
	bf := bd.Float32s()
	if pb := e.packed[&bf[0]]; pb != nil && usePacked {
		if pk, pn := pb.Dims(); pk == k && pn == n {
			kernel.SgemmPacked(false, m, 1, ad.Float32s(), k, pb, 0, cd.Float32s(), n)
			return nil
		}
	}
	sgemm(false, false, m, n, k, 1, ad.Float32s(), k, bf, n, 0, cd.Float32s(), n)
	return nil
}

// usePacked selects the packed-weights path (switched off in tests that
// compare it with plain Sgemm).
var usePacked = true

// dense wraps a row-major buffer as a tensor on engine e.
func dense(e *engine, rows, cols int, data []float32) *tensor.Dense {
	return tensor.New(tensor.WithShape(rows, cols), tensor.WithBacking(data[:rows*cols]), tensor.WithEngine(e))
}
