package nn

import (
	"os"
	"path/filepath"
	"testing"
)

// modelDir finds the unpacked model: $VOXDESK_MODEL_DIR, or
// .cache/models/vosk-model-spk-0.4 under the module root.
func modelDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("VOXDESK_MODEL_DIR"); d != "" {
		return d
	}
	wd, _ := os.Getwd()
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			m := filepath.Join(d, ".cache", "models", "vosk-model-spk-0.4")
			if _, err := os.Stat(filepath.Join(m, "final.ext.raw")); err != nil {
				t.Skipf("model not installed at %s (run `voxdesk model fetch`)", m)
			}
			return m
		}
		if filepath.Dir(d) == d {
			t.Skip("no go.mod above the test directory")
		}
	}
}

func TestLoadRealModel(t *testing.T) {
	dir := modelDir(t)
	net, err := LoadNetwork(filepath.Join(dir, "final.ext.raw"))
	if err != nil {
		t.Fatal(err)
	}
	type shape struct {
		offs    []int
		in, out int
	}
	want := []shape{{[]int{-2, -1, 0, 1, 2}, 23, 512}, {[]int{-2, 0, 2}, 512, 512}, {[]int{-3, 0, 3}, 512, 512}, {[]int{0}, 512, 512}, {[]int{0}, 512, 1500}}
	if len(net.Layers) != len(want) {
		t.Fatalf("got %d layers, want %d", len(net.Layers), len(want))
	}
	for i, w := range want {
		l := net.Layers[i]
		if l.In != w.in || l.Out != w.out || len(l.Offsets) != len(w.offs) || !l.relu || l.scale == nil {
			t.Errorf("layer %d: got in %d out %d offsets %v relu %v", i, l.In, l.Out, l.Offsets, l.relu)
		}
		for j := range w.offs {
			if l.Offsets[j] != w.offs[j] {
				t.Errorf("layer %d offsets %v, want %v", i, l.Offsets, w.offs)
			}
		}
	}
	if net.Left != 7 || net.Right != 7 || net.PoolDim != 1500 || net.OutputDim != 128 || net.MaxChunk != 400 || net.VarianceFloor < 9e-11 || net.VarianceFloor > 1.1e-10 {
		t.Errorf("got context %d/%d pool %d out %d chunk %d floor %g", net.Left, net.Right, net.PoolDim, net.OutputDim, net.MaxChunk, net.VarianceFloor)
	}
	m, err := LoadMatrix(filepath.Join(dir, "transform.mat"))
	if err != nil || m.Rows != 128 || m.Cols != 128 {
		t.Errorf("transform.mat: %v %dx%d", err, m.Rows, m.Cols)
	}
	v, err := LoadTextVector(filepath.Join(dir, "mean.vec"))
	if err != nil || len(v) != 128 {
		t.Errorf("mean.vec: %v len %d", err, len(v))
	}
}
