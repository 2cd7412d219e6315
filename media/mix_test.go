package media

import (
	"slices"
	"sync"
	"testing"
)

func ramp(from, n int) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(from + i)
	}
	return s
}

func TestAddToSaturates(t *testing.T) {
	cases := []struct {
		name     string
		dst, src []int16
		want     []int16
	}{
		{"plain sum", []int16{1, -2, 300}, []int16{10, 20, -300}, []int16{11, 18, 0}},
		{"clips high", []int16{30000, 32767}, []int16{5000, 1}, []int16{32767, 32767}},
		{"clips low", []int16{-30000, -32768}, []int16{-5000, -1}, []int16{-32768, -32768}},
		{"shorter source leaves the rest", []int16{1, 2, 3}, []int16{1}, []int16{2, 2, 3}},
		{"longer source is cut", []int16{1}, []int16{1, 2, 3}, []int16{2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			AddTo(c.dst, c.src)
			if !slices.Equal(c.dst, c.want) {
				t.Fatalf("got %v, want %v", c.dst, c.want)
			}
		})
	}
}

func TestPCMBufferOrderAndWrap(t *testing.T) {
	b := NewPCMBuffer(8, 0)
	dst := make([]int16, 3)
	b.Write(ramp(0, 5))
	if !b.ReadTo(dst) || !slices.Equal(dst, []int16{0, 1, 2}) {
		t.Fatalf("first read %v", dst)
	}
	b.Write(ramp(5, 5)) // wraps round the ring end
	for _, want := range [][]int16{{3, 4, 5}, {6, 7, 8}} {
		if !b.ReadTo(dst) || !slices.Equal(dst, want) {
			t.Fatalf("read %v, want %v", dst, want)
		}
	}
	if b.ReadTo(dst) {
		t.Fatalf("a read with 1 sample held gave a frame %v", dst)
	}
	if b.Len() != 1 {
		t.Fatalf("held %d after a short read, want the 1 sample kept", b.Len())
	}
}

func TestPCMBufferOverflowDropsOldest(t *testing.T) {
	b := NewPCMBuffer(4, 0)
	if d := b.Write(ramp(0, 3)); d != 0 {
		t.Fatalf("dropped %d", d)
	}
	if d := b.Write(ramp(3, 3)); d != 2 {
		t.Fatalf("dropped %d, want 2", d)
	}
	dst := make([]int16, 4)
	if !b.ReadTo(dst) || !slices.Equal(dst, []int16{2, 3, 4, 5}) {
		t.Fatalf("after overflow read %v, want the newest 4", dst)
	}
	if d := b.Write(ramp(0, 10)); d != 6 {
		t.Fatalf("a write longer than the buffer dropped %d, want 6", d)
	}
	if !b.ReadTo(dst) || !slices.Equal(dst, []int16{6, 7, 8, 9}) {
		t.Fatalf("read %v", dst)
	}
	if b.Dropped() != 8 {
		t.Fatalf("Dropped %d, want 8", b.Dropped())
	}
}

// A buffer that ran dry waits for its prime, so a late frame costs one
// gap rather than a gap every other frame.
func TestPCMBufferPrime(t *testing.T) {
	b := NewPCMBuffer(10, 4)
	dst := make([]int16, 2)
	b.Write(ramp(0, 2))
	if b.ReadTo(dst) {
		t.Fatal("read before the prime was reached")
	}
	b.Write(ramp(2, 2))
	if !b.ReadTo(dst) || !b.ReadTo(dst) {
		t.Fatal("primed buffer gave nothing")
	}
	if b.ReadTo(dst) { // ran dry
		t.Fatal("empty buffer gave a frame")
	}
	b.Write(ramp(4, 2))
	if b.ReadTo(dst) {
		t.Fatal("buffer that ran dry gave a frame before the prime")
	}
	b.Write(ramp(6, 2))
	if !b.ReadTo(dst) || !slices.Equal(dst, []int16{4, 5}) {
		t.Fatalf("read %v after priming again", dst)
	}
	b.Reset()
	if b.Len() != 0 || b.ReadTo(dst) {
		t.Fatal("Reset kept audio")
	}
}

func TestNewPCMBufferRefusesBadSizes(t *testing.T) {
	for _, c := range []struct{ capacity, prime int }{{0, 0}, {4, 5}, {4, -1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewPCMBuffer(%d, %d) did not panic", c.capacity, c.prime)
				}
			}()
			NewPCMBuffer(c.capacity, c.prime)
		}()
	}
}

func TestMixerSumsAlignedInputs(t *testing.T) {
	m := NewMixer(MixerConfig{Inputs: 2, Capacity: 4 * mixFrame, Prime: mixFrame})
	a, b := make([]int16, mixFrame), make([]int16, mixFrame)
	for i := range a {
		a[i], b[i] = 1000, 30000
	}
	dst := make([]int16, mixFrame)
	if n := m.MixTo(dst); n != 0 || slices.ContainsFunc(dst, func(v int16) bool { return v != 0 }) {
		t.Fatalf("empty mixer: %d inputs, non-silent output", n)
	}
	// Input 0 writes its frame; input 1 is late: the mix carries input 0
	// alone and input 1's frame waits for the next period, aligned.
	m.Write(0, a)
	if n := m.MixTo(dst); n != 1 || dst[0] != 1000 {
		t.Fatalf("one input: %d inputs, sample %d", n, dst[0])
	}
	m.Write(1, b)
	m.Write(0, a)
	m.Write(0, b) // a burst from input 0: kept for the next period
	if n := m.MixTo(dst); n != 2 || dst[0] != 31000 {
		t.Fatalf("two inputs: %d inputs, sample %d, want 31000", n, dst[0])
	}
	m.Write(1, b)
	if n := m.MixTo(dst); n != 2 || dst[5] != 32767 {
		t.Fatalf("loud sum: %d inputs, sample %d, want saturation at 32767", n, dst[5])
	}
	m.Reset()
	if n := m.MixTo(dst); n != 0 {
		t.Fatalf("after Reset %d inputs mixed", n)
	}
}

// Writers and the reader run concurrently (go test -race).
func TestMixerConcurrent(t *testing.T) {
	m := NewMixer(MixerConfig{})
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := make([]int16, mixFrame)
			for j := range f {
				f[j] = int16(100 * (i + 1))
			}
			for range 500 {
				m.Write(i, f)
			}
		}()
	}
	dst := make([]int16, mixFrame)
	for range 500 {
		if m.MixTo(dst) > 0 {
			if v := dst[0]; v != 100 && v != 200 && v != 300 {
				t.Fatalf("mixed sample %d: not a sum of the inputs", v)
			}
		}
	}
	wg.Wait()
	if m.Input(0).Len() > 5*mixFrame || m.Input(1).Len() > 5*mixFrame {
		t.Fatal("an input grew past its capacity")
	}
}

func BenchmarkMixerFrame(b *testing.B) {
	m := NewMixer(MixerConfig{})
	f := ramp(0, mixFrame)
	dst := make([]int16, mixFrame)
	b.ReportAllocs()
	for b.Loop() {
		m.Write(0, f)
		m.Write(1, f)
		m.MixTo(dst)
	}
}
