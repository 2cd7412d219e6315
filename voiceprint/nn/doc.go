// Package nn reads Kaldi nnet3 binary models and Kaldi matrices and
// vectors, and runs the x-vector network they describe: frame-level TDNN
// layers (spliced affine, ReLU, test-mode BatchNorm), statistics pooling
// (mean and standard deviation) and the segment-level affine that gives the
// embedding.
//
// Matrices go through gorgonia.org/tensor on an engine whose MatMul is the
// package's sgemm, so the matrix kernel can be swapped in one place. The
// tensor types stay inside this package.
//
// Format notes (Kaldi binary mode, "\0B" header): tokens are followed by one
// space; integers and floats are prefixed by their byte size (4, or 8 for
// double); booleans are a bare T or F; float matrices are "FM" rows cols
// then row-major float32 data, vectors "FV" dim then data.
package nn
