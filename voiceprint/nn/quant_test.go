package nn

import (
	"math"
	"testing"
)

func TestFoldKeepsOutputs(t *testing.T) {
	n, err := ParseNnet3(tinyModel())
	if err != nil {
		t.Fatal(err)
	}
	net, err := Build(n)
	if err != nil {
		t.Fatal(err)
	}
	const rows = 20
	in := seq(rows*3, 0.37)
	run := func(net *Network) []float32 {
		ws := net.NewWorkspace(rows)
		y, k := ws.Forward(in, rows)
		st := net.NewStats()
		st.Add(y, k)
		out := make([]float32, net.OutputDim)
		ws.Embed(st, out)
		return out
	}
	want := run(net)
	folded := run(net.fold(false))
	quant := run(net.QuantizeInt8())
	for i := range want {
		if math.Abs(float64(folded[i]-want[i])) > 1e-4*math.Max(1, math.Abs(float64(want[i]))) {
			t.Errorf("folded output %d: %v, want %v", i, folded[i], want[i])
		}
		if math.Abs(float64(quant[i]-want[i])) > 0.05*math.Max(1, math.Abs(float64(want[i]))) {
			t.Errorf("int8 output %d: %v, want about %v", i, quant[i], want[i])
		}
	}
	// The original network is untouched.
	if again := run(net); again[0] != want[0] {
		t.Error("QuantizeInt8 changed the network it was called on")
	}
}

func TestQuantizeRows(t *testing.T) {
	x := []float32{0, 1, 2.5, 255, 0, 0, 0, 0}
	quantizeRows(x, 2, 4)
	if x[1] != 1 || x[3] != 255 || x[2] < 2 || x[2] > 3 || x[4] != 0 {
		t.Errorf("got %v", x)
	}
}
