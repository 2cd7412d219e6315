package rtc

import (
	"testing"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/media/g711"
)

// BenchmarkFramer is the receive path's per-packet work: decode a 20 ms
// G.711 payload and cut it into frames for the leg.
func BenchmarkFramer(b *testing.B) {
	for _, tc := range []struct {
		name string
		ms   int
	}{{"10ms", 10}, {"20ms", 20}, {"30ms", 30}} {
		b.Run(tc.name, func(b *testing.B) {
			payload := make([]byte, tc.ms*8)
			for i := range payload {
				payload[i] = byte(i)
			}
			var f framer
			frames := 0
			b.ReportAllocs()
			b.SetBytes(int64(len(payload)))
			for b.Loop() {
				f.push(payload, false, func([]int16) { frames++ })
			}
			if frames == 0 {
				b.Fatal("no frames")
			}
		})
	}
}

// BenchmarkEncodeFrame is the send path's per-tick work.
func BenchmarkEncodeFrame(b *testing.B) {
	frame := make([]int16, call.FrameSamples)
	payload := make([]byte, call.FrameSamples)
	for i := range frame {
		frame[i] = int16(i * 97)
	}
	b.ReportAllocs()
	for b.Loop() {
		g711.EncodeUlaw(payload, frame)
	}
}
