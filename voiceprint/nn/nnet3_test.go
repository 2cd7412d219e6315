package nn

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"
)

// kw writes Kaldi binary-mode values for synthetic test models.
type kw struct{ bytes.Buffer }

func (w *kw) tok(s string)   { w.WriteString(s + " ") }
func (w *kw) i32(v int)      { w.WriteByte(4); binary.Write(&w.Buffer, binary.LittleEndian, int32(v)) }
func (w *kw) f32(v float32)  { w.WriteByte(4); binary.Write(&w.Buffer, binary.LittleEndian, v) }
func (w *kw) f64(v float64)  { w.WriteByte(8); binary.Write(&w.Buffer, binary.LittleEndian, v) }
func (w *kw) boolean(b bool) { w.WriteString(map[bool]string{true: "T", false: "F"}[b]) }
func (w *kw) vec(v []float32) {
	w.tok("FV")
	w.i32(len(v))
	binary.Write(&w.Buffer, binary.LittleEndian, v)
}
func (w *kw) mat(r, c int, v []float32) {
	w.tok("FM")
	w.i32(r)
	w.i32(c)
	binary.Write(&w.Buffer, binary.LittleEndian, v)
}

func seq(n int, scale float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = scale * float32((i*7)%11-5)
	}
	return v
}

func (w *kw) affine(name string, out, in int) {
	w.tok("<ComponentName>")
	w.tok(name)
	w.tok("<NaturalGradientAffineComponent>")
	w.tok("<MaxChange>")
	w.f32(0.75)
	w.tok("<LearningRate>")
	w.f32(0.001)
	w.tok("<LinearParams>")
	w.mat(out, in, seq(out*in, 0.1))
	w.tok("<BiasParams>")
	w.vec(seq(out, 0.01))
	w.tok("<RankIn>")
	w.i32(20)
	w.tok("</NaturalGradientAffineComponent>")
}

func (w *kw) relu(name string, dim int) {
	w.tok("<ComponentName>")
	w.tok(name)
	w.tok("<RectifiedLinearComponent>")
	w.tok("<Dim>")
	w.i32(dim)
	w.tok("<ValueAvg>")
	w.vec(seq(dim, 1))
	w.tok("<Count>")
	w.f64(3)
	w.tok("</RectifiedLinearComponent>")
}

func (w *kw) batchnorm(name string, dim int) {
	w.tok("<ComponentName>")
	w.tok(name)
	w.tok("<BatchNormComponent>")
	w.tok("<Dim>")
	w.i32(dim)
	w.tok("<BlockDim>")
	w.i32(dim)
	w.tok("<Epsilon>")
	w.f32(0.001)
	w.tok("<TargetRms>")
	w.f32(1)
	w.tok("<TestMode>")
	w.boolean(false)
	w.tok("<Count>")
	w.f64(100)
	w.tok("<StatsMean>")
	w.vec(seq(dim, 0.1))
	w.tok("<StatsVar>")
	v := seq(dim, 0.1)
	for i := range v {
		v[i] = v[i]*v[i] + 0.5
	}
	w.vec(v)
	w.tok("</BatchNormComponent>")
}

// tinyModel builds a small x-vector shaped nnet3 model: input 3 ->
// tdnn1 {-1,0,1} 9->4 -> tdnn2 {-2,0,2} 12->5 -> stats -> 10->2.
func tinyModel() []byte {
	var w kw
	w.WriteString("\x00B")
	w.tok("<Nnet3>")
	w.WriteString("\ninput-node name=input dim=3\n" +
		"component-node name=tdnn1.affine component=tdnn1.affine input=Append(Offset(input, -1), input, Offset(input, 1))\n" +
		"component-node name=tdnn1.relu component=tdnn1.relu input=tdnn1.affine\n" +
		"component-node name=tdnn1.batchnorm component=tdnn1.batchnorm input=tdnn1.relu\n" +
		"component-node name=tdnn2.affine component=tdnn2.affine input=Append(Offset(tdnn1.batchnorm, -2), tdnn1.batchnorm, Offset(tdnn1.batchnorm, 2))\n" +
		"component-node name=tdnn2.relu component=tdnn2.relu input=tdnn2.affine\n" +
		"component-node name=stats-extraction component=stats-extraction input=tdnn2.relu\n" +
		"component-node name=stats-pooling component=stats-pooling input=stats-extraction\n" +
		"component-node name=out.affine component=out.affine input=Round(stats-pooling, 1)\n" +
		"output-node name=output input=out.affine objective=linear\n\n")
	w.tok("<NumComponents>")
	w.i32(8)
	w.affine("tdnn1.affine", 4, 9)
	w.relu("tdnn1.relu", 4)
	w.batchnorm("tdnn1.batchnorm", 4)
	w.affine("tdnn2.affine", 5, 12)
	w.relu("tdnn2.relu", 5)
	w.tok("<ComponentName>")
	w.tok("stats-extraction")
	w.tok("<StatisticsExtractionComponent>")
	w.tok("<InputDim>")
	w.i32(5)
	w.tok("<InputPeriod>")
	w.i32(1)
	w.tok("<OutputPeriod>")
	w.i32(1)
	w.tok("<IncludeVarinance>")
	w.boolean(true)
	w.tok("</StatisticsExtractionComponent>")
	w.tok("<ComponentName>")
	w.tok("stats-pooling")
	w.tok("<StatisticsPoolingComponent>")
	w.tok("<InputDim>")
	w.i32(11)
	w.tok("<InputPeriod>")
	w.i32(1)
	w.tok("<LeftContext>")
	w.i32(0)
	w.tok("<RightContext>")
	w.i32(50)
	w.tok("<NumLogCountFeatures>")
	w.i32(0)
	w.tok("<OutputStddevs>")
	w.boolean(true)
	w.tok("<VarianceFloor>")
	w.f32(1e-10)
	w.tok("</StatisticsPoolingComponent>")
	w.affine("out.affine", 2, 10)
	w.tok("</Nnet3>")
	return w.Bytes()
}

func TestTinyModelForward(t *testing.T) {
	n, err := ParseNnet3(tinyModel())
	if err != nil {
		t.Fatal(err)
	}
	net, err := Build(n)
	if err != nil {
		t.Fatal(err)
	}
	if net.Left != 3 || net.Right != 3 || net.PoolDim != 5 || net.OutputDim != 2 || net.MaxChunk != 50 {
		t.Fatalf("got context %d/%d pool %d out %d chunk %d", net.Left, net.Right, net.PoolDim, net.OutputDim, net.MaxChunk)
	}
	// Compare the network with plain loops over the same parameters.
	const rows = 12
	in := seq(rows*3, 0.3)
	ws := net.NewWorkspace(rows)
	out, k := ws.Forward(in, rows)
	if k != rows-6 {
		t.Fatalf("got %d output rows, want %d", k, rows-6)
	}
	naive := func(l *Layer, x []float32, rows int) ([]float32, int) {
		nr := rows - l.Left() - l.Right()
		y := make([]float32, nr*l.Out)
		for r := 0; r < nr; r++ {
			for o := 0; o < l.Out; o++ {
				s := l.bias[o]
				for j, off := range l.Offsets {
					for i := 0; i < l.In; i++ {
						s += x[(r+off+l.Left())*l.In+i] * l.wt[(j*l.In+i)*l.Out+o]
					}
				}
				if l.relu && s < 0 {
					s = 0
				}
				if l.scale != nil {
					s = s*l.scale[o] + l.shift[o]
				}
				y[r*l.Out+o] = s
			}
		}
		return y, nr
	}
	x, r := in, rows
	for _, l := range net.Layers {
		x, r = naive(l, x, r)
	}
	for i := range x {
		if math.Abs(float64(x[i]-out[i])) > 1e-5 {
			t.Fatalf("output %d: got %v, naive %v", i, out[i], x[i])
		}
	}
	st := net.NewStats()
	st.Add(out, k)
	emb := make([]float32, 2)
	ws.Embed(st, emb)
	if math.IsNaN(float64(emb[0])) || (emb[0] == 0 && emb[1] == 0) {
		t.Fatalf("embedding %v", emb)
	}
}

// TestTruncated: every truncation of a valid model is an error naming a
// byte offset inside the data, and a component when it cuts one.
func TestTruncated(t *testing.T) {
	b := tinyModel()
	for n := 0; n < len(b)-1; n++ { // the final space is optional
		_, err := ParseNnet3(b[:n])
		if err == nil {
			t.Fatalf("truncated at %d: no error", n)
		}
		var fe *FormatError
		if !errors.As(err, &fe) || !errors.Is(err, ErrFormat) {
			t.Fatalf("truncated at %d: %v is not a *FormatError", n, err)
		}
		if fe.Offset < 0 || fe.Offset > n {
			t.Fatalf("truncated at %d: offset %d", n, fe.Offset)
		}
		if n > bytes.Index(b, []byte("tdnn1.affine <Natural")) && n < bytes.LastIndex(b, []byte("</NaturalGradientAffineComponent>")) && fe.Component == "" {
			t.Fatalf("truncated at %d inside components: %v names no component", n, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	good := tinyModel()
	cases := []struct {
		name string
		edit func([]byte) []byte
		want string
	}{
		{"unknown component", func(b []byte) []byte {
			return bytes.Replace(b, []byte("<RectifiedLinearComponent>"), []byte("<SigmoidComponentX>"), 1)
		}, `component "tdnn1.relu" at byte`},
		{"bad header", func(b []byte) []byte { return append([]byte("xB"), b[2:]...) }, "not a Kaldi nnet3"},
		{"bad size byte", func(b []byte) []byte {
			i := bytes.Index(b, []byte("<RankIn> ")) + len("<RankIn> ")
			c := bytes.Clone(b)
			c[i] = 3
			return c
		}, "integer size byte 3"},
		{"huge matrix", func(b []byte) []byte {
			i := bytes.Index(b, []byte("FM ")) + 3
			c := bytes.Clone(b)
			binary.LittleEndian.PutUint32(c[i+1:], 1<<30)
			return c
		}, "bad matrix size"},
		{"unknown tag", func(b []byte) []byte {
			return bytes.Replace(b, []byte("<RankIn>"), []byte("<Rankin>"), 1)
		}, "unexpected tag <Rankin>"},
		{"missing component", func(b []byte) []byte {
			return bytes.Replace(b, []byte("component=tdnn2.relu"), []byte("component=tdnn9.relu"), 1)
		}, `missing component "tdnn9.relu"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseNnet3(tc.edit(good))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	cases := []struct {
		name string
		old  string
		new  string
		want string
	}{
		{"descriptor with two nodes", "input=Append(Offset(tdnn1.batchnorm, -2), tdnn1.batchnorm, Offset(tdnn1.batchnorm, 2))",
			"input=Append(Offset(tdnn1.batchnorm, -2), input, Offset(tdnn1.batchnorm, 2))", "different nodes"},
		{"no output", "output-node name=output", "output-node name=other", "no output-node"},
		{"dims", "input-node name=input dim=3", "input-node name=input dim=4", "do not fit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n, err := ParseNnet3(bytes.Replace(tinyModel(), []byte(tc.old), []byte(tc.new), 1))
			if err == nil {
				_, err = Build(n)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestReadMatrixAndVector(t *testing.T) {
	var w kw
	w.WriteString("\x00B")
	w.mat(2, 3, []float32{1, 2, 3, 4, 5, 6})
	m, err := ReadMatrix(w.Bytes())
	if err != nil || m.Rows != 2 || m.Cols != 3 || m.Data[5] != 6 {
		t.Fatalf("got %+v, %v", m, err)
	}
	if _, err := ReadMatrix(w.Bytes()[:w.Len()-1]); err == nil {
		t.Fatal("truncated matrix: no error")
	}
	v, err := ReadTextVector([]byte(" [ 1.5 -2 3e-1 ]\n"))
	if err != nil || len(v) != 3 || v[1] != -2 {
		t.Fatalf("got %v, %v", v, err)
	}
	for _, bad := range []string{"", "[ 1 2", "[ 1 x ]", "[ nan ]"} {
		if _, err := ReadTextVector([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func FuzzParseNnet3(f *testing.F) {
	m := tinyModel()
	f.Add(m)
	f.Add(m[:len(m)/2])
	f.Add(m[:200])
	f.Add([]byte("\x00B<Nnet3> \n\n<NumComponents> \x04\x01\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := ParseNnet3(b)
		if err != nil {
			return
		}
		net, err := Build(n)
		if err != nil {
			return
		}
		// A model that builds must run on a few frames without panicking.
		rows := net.Left + net.Right + 2
		if rows > 64 || net.InputDim > 64 || net.PoolDim > 256 {
			return
		}
		for _, l := range net.Layers {
			if l.K()*l.Out > 1<<16 {
				return
			}
		}
		ws := net.NewWorkspace(rows)
		out, k := ws.Forward(make([]float32, rows*net.InputDim), rows)
		st := net.NewStats()
		st.Add(out, k)
		if k > 0 {
			ws.Embed(st, make([]float32, net.OutputDim))
		}
	})
}

func FuzzReadMatrix(f *testing.F) {
	var w kw
	w.WriteString("\x00B")
	w.mat(2, 2, []float32{1, 2, 3, 4})
	f.Add(w.Bytes())
	f.Add([]byte("\x00BDM \x04\x01\x00\x00\x00\x04\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\xf0\x3f"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ReadMatrix(b)
		if err == nil && len(m.Data) != m.Rows*m.Cols {
			t.Fatalf("%dx%d matrix with %d values", m.Rows, m.Cols, len(m.Data))
		}
	})
}

func FuzzReadTextVector(f *testing.F) {
	f.Add([]byte(" [ 1 2 3 ]\n"))
	f.Add([]byte("[]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ReadTextVector(b)
	})
}

func TestBuildRejectsZeroWidthInput(t *testing.T) {
	// An input node without a dimension feeding an empty weight matrix.
	c := &Component{Name: "a", Type: "AffineComponent",
		Matrix:  map[string]Matrix{"LinearParams": {Rows: 2, Cols: 0}},
		Vectors: map[string][]float32{"BiasParams": {1, 2}}}
	if _, err := newLayer(c, []int{0}, 0); err == nil {
		t.Fatal("zero-width layer accepted")
	}
}
