// Package openblas wraps OpenBLAS's cblas_sgemm (through cgo, one thread)
// so that benchmarks can compare kernel.Sgemm with it in one run. It is
// built only with -tags openblas; nothing in voxdesk imports it. Debian's
// libopenblas0 ships the library without headers, so the prototypes are
// declared here. (A cgo package cannot hold Go assembly, hence its own
// package.)
package openblas
