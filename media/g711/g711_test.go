package g711

import (
	"encoding/binary"
	"os"
	"testing"
)

func readS16(t testing.TB, path string) []int16 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int16, len(b)/2)
	for i := range out {
		out[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return out
}

func readBytes(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeMatchesSox(t *testing.T) {
	codes := readBytes(t, "testdata/codes.bin")
	tests := []struct {
		name   string
		golden string
		decode func([]int16, []byte) int
	}{
		{"ulaw", "testdata/codes_ul.s16", DecodeUlaw},
		{"alaw", "testdata/codes_al.s16", DecodeAlaw},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := readS16(t, tc.golden)
			got := make([]int16, len(codes))
			if n := tc.decode(got, codes); n != 256 {
				t.Fatalf("decoded %d, want 256", n)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("code 0x%02x: got %d, sox %d", i, got[i], want[i])
				}
			}
		})
	}
}

func TestEncodeMatchesSox(t *testing.T) {
	in := readS16(t, "testdata/sweep.s16")
	tests := []struct {
		name   string
		golden string
		encode func([]byte, []int16) int
	}{
		{"ulaw", "testdata/sweep.ul", EncodeUlaw},
		{"alaw", "testdata/sweep.al", EncodeAlaw},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := readBytes(t, tc.golden)
			if len(want) != len(in) {
				t.Fatalf("golden has %d samples, input %d", len(want), len(in))
			}
			got := make([]byte, len(in))
			tc.encode(got, in)
			bad := 0
			for i := range want {
				if got[i] != want[i] {
					bad++
					if bad < 10 {
						t.Errorf("sample %d (%d): got 0x%02x, sox 0x%02x", i, in[i], got[i], want[i])
					}
				}
			}
			if bad > 0 {
				t.Errorf("%d of %d samples differ", bad, len(in))
			}
		})
	}
}

// Every code word must survive decode -> encode unchanged (except mu-law's
// negative zero 0x7F, which decodes to 0 and re-encodes as positive zero).
func TestRoundTripCodeWords(t *testing.T) {
	for i := range 256 {
		u := uint8(i)
		if got := LinearToUlaw(UlawToLinear(u)); got != u && u != 0x7F {
			t.Errorf("ulaw 0x%02x -> %d -> 0x%02x", u, UlawToLinear(u), got)
		}
		if got := LinearToAlaw(AlawToLinear(u)); got != u {
			t.Errorf("alaw 0x%02x -> %d -> 0x%02x", u, AlawToLinear(u), got)
		}
	}
}

func TestSilence(t *testing.T) {
	if v := UlawToLinear(UlawSilence); v != 0 {
		t.Errorf("ulaw silence decodes to %d", v)
	}
	if v := AlawToLinear(AlawSilence); v != 8 {
		t.Errorf("alaw silence decodes to %d, want 8 (smallest step)", v)
	}
	if LinearToUlaw(0) != UlawSilence || LinearToAlaw(0) != AlawSilence {
		t.Errorf("zero encodes to 0x%02x / 0x%02x", LinearToUlaw(0), LinearToAlaw(0))
	}
}

// Fewer elements in dst than src: only len(dst) converted.
func TestShortDst(t *testing.T) {
	src := []int16{100, 200, 300}
	dst := make([]byte, 2)
	if n := EncodeUlaw(dst, src); n != 2 {
		t.Fatalf("n = %d", n)
	}
	pcm := make([]int16, 1)
	if n := DecodeAlaw(pcm, dst); n != 1 {
		t.Fatalf("n = %d", n)
	}
}

var sinkByte byte
var sinkInt int16

func BenchmarkEncodeUlaw160(b *testing.B) {
	src := readS16(b, "testdata/sweep.s16")[:160]
	dst := make([]byte, 160)
	b.ReportAllocs()
	b.SetBytes(160 * 2)
	for b.Loop() {
		EncodeUlaw(dst, src)
	}
	sinkByte = dst[0]
}

func BenchmarkEncodeAlaw160(b *testing.B) {
	src := readS16(b, "testdata/sweep.s16")[:160]
	dst := make([]byte, 160)
	b.ReportAllocs()
	b.SetBytes(160 * 2)
	for b.Loop() {
		EncodeAlaw(dst, src)
	}
	sinkByte = dst[0]
}

func BenchmarkDecodeUlaw160(b *testing.B) {
	src := readBytes(b, "testdata/sweep.ul")[:160]
	dst := make([]int16, 160)
	b.ReportAllocs()
	b.SetBytes(160)
	for b.Loop() {
		DecodeUlaw(dst, src)
	}
	sinkInt = dst[0]
}

func BenchmarkDecodeAlaw160(b *testing.B) {
	src := readBytes(b, "testdata/sweep.al")[:160]
	dst := make([]int16, 160)
	b.ReportAllocs()
	b.SetBytes(160)
	for b.Loop() {
		DecodeAlaw(dst, src)
	}
	sinkInt = dst[0]
}
