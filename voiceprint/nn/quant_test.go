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

func TestRowMax(t *testing.T) {
	cases := []struct {
		name string
		row  []float32
		want float32
	}{
		{"empty", nil, 0},
		{"zeros", []float32{0, 0, 0, 0, 0}, 0},
		{"max in the tail", []float32{1, 2, 3, 4, 9}, 9},
		{"max in a lane", []float32{1, 7, 3, 4, 2, 0}, 7},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := rowMax(tc.row); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
