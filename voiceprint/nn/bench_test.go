package nn

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// peerInput returns the features the speed peers use
// (bench/voiceprint_peers.sh sets VOXDESK_PEERS_DIR) and the numpy output
// for them, or random features and nil.
func peerInput(tb testing.TB, frames int) ([]float32, []float32) {
	if dir := os.Getenv("VOXDESK_PEERS_DIR"); dir != "" {
		read := func(name string, n int) []float32 {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil || len(b) != 4*n {
				tb.Fatalf("%s: %v (%d bytes, want %d)", name, err, len(b), 4*n)
			}
			v := make([]float32, n)
			for i := range v {
				v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
			}
			return v
		}
		return read("feats.f32", frames*23), read("numpy.f32", 128)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	f := make([]float32, frames*23)
	for i := range f {
		f[i] = float32(rng.NormFloat64() * 3)
	}
	return f, nil
}

// BenchmarkNetwork runs the network alone (frame-level layers, pooling over
// all frames, tdnn6.affine) on VOXDESK_PEERS_FRAMES (default 700 = 7 s)
// input frames, in float32 and with 8-bit tdnn2..tdnn5: the figures
// compared with onnxruntime and numpy. GFLOP/s counts 2 operations per
// multiply-add whatever the precision.
func BenchmarkNetwork(b *testing.B) {
	f32, err := LoadNetwork(filepath.Join(modelDir(b), "final.ext.raw"))
	if err != nil {
		b.Fatal(err)
	}
	frames := 700
	if s := os.Getenv("VOXDESK_PEERS_FRAMES"); s != "" {
		frames, _ = strconv.Atoi(s)
	}
	feats, want := peerInput(b, frames)
	for _, tc := range []struct {
		name   string
		net    *Network
		minCos float64
	}{{"float32", f32, 0.9999}, {"int8", f32.QuantizeInt8(), 0.999}} {
		b.Run(tc.name, func(b *testing.B) {
			net := tc.net
			ws := net.NewWorkspace(frames)
			st := net.NewStats()
			out := make([]float32, net.OutputDim)
			run := func() {
				y, n := ws.Forward(feats, frames)
				st.Reset()
				st.Add(y, n)
				ws.Embed(st, out)
			}
			run()
			if want != nil {
				var d, na, nw float64
				for i := range out {
					d += float64(out[i]) * float64(want[i])
					na += float64(out[i]) * float64(out[i])
					nw += float64(want[i]) * float64(want[i])
				}
				if c := d / math.Sqrt(na*nw); c < tc.minCos {
					b.Fatalf("cosine to numpy %.6f < %v", c, tc.minCos)
				}
			}
			var macs float64
			rows := frames
			for _, l := range net.Layers {
				rows -= l.Left() + l.Right()
				macs += float64(rows) * float64(l.K()) * float64(l.Out)
			}
			macs += float64(2*net.PoolDim) * float64(net.OutputDim)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				run()
			}
			sec := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(sec*1000, "ms/op")
			b.ReportMetric(2*macs/sec/1e9, "GFLOP/s")
		})
	}
}
