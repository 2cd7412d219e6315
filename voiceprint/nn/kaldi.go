package nn

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

// ErrFormat is wrapped by every error about a malformed Kaldi file.
var ErrFormat = errors.New("nn: malformed Kaldi data")

// FormatError reports where in a Kaldi binary stream parsing failed.
type FormatError struct {
	Component string // component being read, empty outside components
	Offset    int    // byte offset in the stream
	Msg       string
}

func (e *FormatError) Error() string {
	if e.Component != "" {
		return fmt.Sprintf("nn: component %q at byte %d: %s", e.Component, e.Offset, e.Msg)
	}
	return fmt.Sprintf("nn: at byte %d: %s", e.Offset, e.Msg)
}

// Unwrap makes errors.Is(err, ErrFormat) true.
func (e *FormatError) Unwrap() error { return ErrFormat }

// maxElems bounds matrix and vector sizes read from files (64 M floats), so
// a corrupt size field cannot make the reader allocate gigabytes.
const maxElems = 64 << 20

// reader walks a Kaldi binary stream ("\0B" mode): tokens separated by
// spaces, basic types prefixed by their size in one byte, little endian.
type reader struct {
	b    []byte
	p    int
	comp string // current component, for error messages
}

func (r *reader) errf(format string, args ...any) error {
	return &FormatError{Component: r.comp, Offset: r.p, Msg: fmt.Sprintf(format, args...)}
}

func (r *reader) skipSpace() {
	for r.p < len(r.b) && (r.b[r.p] == ' ' || r.b[r.p] == '\n' || r.b[r.p] == '\t' || r.b[r.p] == '\r') {
		r.p++
	}
}

// token reads a whitespace-delimited token and the single space after it.
func (r *reader) token() (string, error) {
	r.skipSpace()
	start := r.p
	for r.p < len(r.b) && r.b[r.p] != ' ' && r.b[r.p] != '\n' {
		r.p++
		if r.p-start > 256 {
			r.p = start
			return "", r.errf("token longer than 256 bytes")
		}
	}
	if r.p == start {
		return "", r.errf("unexpected end of data, want a token")
	}
	t := string(r.b[start:r.p])
	if r.p < len(r.b) {
		r.p++
	}
	return t, nil
}

func (r *reader) expect(want string) error {
	at := r.p
	got, err := r.token()
	if err != nil {
		return err
	}
	if got != want {
		r.p = at
		return r.errf("want token %s, got %q", want, got)
	}
	return nil
}

func (r *reader) int32() (int, error) {
	r.skipSpace()
	if r.p+5 > len(r.b) {
		return 0, r.errf("truncated integer")
	}
	if r.b[r.p] != 4 {
		return 0, r.errf("integer size byte %d, want 4", r.b[r.p])
	}
	v := int32(binary.LittleEndian.Uint32(r.b[r.p+1:]))
	r.p += 5
	return int(v), nil
}

// float reads a float written as 4 (float) or 8 (double) bytes.
func (r *reader) float() (float64, error) {
	r.skipSpace()
	if r.p >= len(r.b) {
		return 0, r.errf("truncated float")
	}
	switch r.b[r.p] {
	case 4:
		if r.p+5 > len(r.b) {
			return 0, r.errf("truncated float")
		}
		v := math.Float32frombits(binary.LittleEndian.Uint32(r.b[r.p+1:]))
		r.p += 5
		return float64(v), nil
	case 8:
		if r.p+9 > len(r.b) {
			return 0, r.errf("truncated double")
		}
		v := math.Float64frombits(binary.LittleEndian.Uint64(r.b[r.p+1:]))
		r.p += 9
		return v, nil
	}
	return 0, r.errf("float size byte %d, want 4 or 8", r.b[r.p])
}

func (r *reader) boolean() (bool, error) {
	r.skipSpace()
	if r.p >= len(r.b) {
		return false, r.errf("truncated boolean")
	}
	c := r.b[r.p]
	if c != 'T' && c != 'F' {
		return false, r.errf("boolean %q, want T or F", c)
	}
	r.p++
	return c == 'T', nil
}

// floats reads n little-endian float32 (or float64 when double) values.
func (r *reader) floats(n int, double bool) ([]float32, error) {
	size := 4
	if double {
		size = 8
	}
	if n < 0 || n > maxElems || r.p+n*size > len(r.b) {
		return nil, r.errf("truncated data: %d values do not fit in %d remaining bytes", n, len(r.b)-r.p)
	}
	out := make([]float32, n)
	for i := range out {
		if double {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(r.b[r.p+8*i:])))
		} else {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(r.b[r.p+4*i:]))
		}
	}
	r.p += n * size
	return out, nil
}

func (r *reader) matrix() (Matrix, error) {
	at := r.p
	t, err := r.token()
	if err != nil {
		return Matrix{}, err
	}
	if t != "FM" && t != "DM" {
		r.p = at
		return Matrix{}, r.errf("matrix kind %q, want FM or DM (compressed matrices are not supported)", t)
	}
	rows, err := r.int32()
	if err != nil {
		return Matrix{}, err
	}
	cols, err := r.int32()
	if err != nil {
		return Matrix{}, err
	}
	if rows < 0 || cols < 0 || (cols > 0 && rows > maxElems/cols) {
		return Matrix{}, r.errf("bad matrix size %dx%d", rows, cols)
	}
	d, err := r.floats(rows*cols, t == "DM")
	if err != nil {
		return Matrix{}, err
	}
	return Matrix{Rows: rows, Cols: cols, Data: d}, nil
}

func (r *reader) vector() ([]float32, error) {
	at := r.p
	t, err := r.token()
	if err != nil {
		return nil, err
	}
	if t != "FV" && t != "DV" {
		r.p = at
		return nil, r.errf("vector kind %q, want FV or DV", t)
	}
	n, err := r.int32()
	if err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, r.errf("negative vector size %d", n)
	}
	return r.floats(n, t == "DV")
}

// Matrix is a dense row-major float32 matrix as Kaldi stores it.
type Matrix struct {
	Rows, Cols int
	Data       []float32
}

// ReadMatrix parses a Kaldi binary matrix ("\0B" then FM or DM), as written
// by copy-matrix --binary=true (e.g. transform.mat).
func ReadMatrix(b []byte) (Matrix, error) {
	if !bytes.HasPrefix(b, []byte("\x00B")) {
		return Matrix{}, &FormatError{Msg: "not a Kaldi binary matrix (missing \\0B header)"}
	}
	r := &reader{b: b, p: 2}
	m, err := r.matrix()
	if err != nil {
		return Matrix{}, err
	}
	r.skipSpace()
	if r.p != len(b) {
		return Matrix{}, r.errf("%d trailing bytes after matrix", len(b)-r.p)
	}
	return m, nil
}

// ReadTextVector parses a Kaldi text vector "[ v1 v2 ... ]" (e.g. mean.vec).
func ReadTextVector(b []byte) ([]float32, error) {
	s := strings.TrimSpace(string(b))
	if !strings.HasPrefix(s, "[") || !strings.HasSuffix(s, "]") {
		return nil, &FormatError{Msg: "text vector must be enclosed in [ ]"}
	}
	f := strings.Fields(s[1 : len(s)-1])
	if len(f) > maxElems {
		return nil, &FormatError{Msg: "text vector too long"}
	}
	out := make([]float32, len(f))
	for i, w := range f {
		v, err := strconv.ParseFloat(w, 32)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, &FormatError{Msg: fmt.Sprintf("text vector element %d: bad number %q", i, w)}
		}
		out[i] = float32(v)
	}
	return out, nil
}

// readFile reads a whole model file with a size bound.
func readFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("nn: %s is %d bytes, more than the %d allowed", path, st.Size(), limit)
	}
	var buf bytes.Buffer
	buf.Grow(int(st.Size()))
	if _, err := buf.ReadFrom(bufio.NewReader(f)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
