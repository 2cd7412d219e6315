package media_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/voxdesk/voxdesk/media"
)

// A prompt played into a Writer arrives as 20 ms frames, the last one
// padded with silence.
func ExamplePlay() {
	p := &media.Prompt{Name: "tone", Samples: make([]int16, 400)}
	frames := 0
	w := media.WriterFunc(func(ctx context.Context, frame []int16) error {
		frames++
		return nil
	})
	err := media.Play(context.Background(), w, p)
	fmt.Println(frames, err, p.Duration())
	// Output: 3 <nil> 50ms
}

func ExampleTap() {
	src := media.ReaderFunc(func(ctx context.Context, dst []int16) (int, error) {
		for i := range dst {
			dst[i] = 100
		}
		return len(dst), nil
	})
	var peak int16
	r := media.Tap(src, func(frame []int16) { peak = max(peak, frame[0]) })
	buf := make([]int16, media.FrameSamples)
	n, _ := r.ReadAudio(context.Background(), buf)
	fmt.Println(n, peak)
	// Output: 160 100
}

// Two RTP sessions on loopback: one sends a DTMF digit as RFC 4733
// telephone-events, the other reports it once, with its duration.
func ExampleRTPSession() {
	ca, _ := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	cb, _ := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	a, _ := media.NewRTPSession(ca, media.RTPConfig{
		PayloadType: 8, EventPayloadType: 101, Remote: cb.LocalAddr().(*net.UDPAddr).AddrPort()})
	defer a.Close()
	b, _ := media.NewRTPSession(cb, media.RTPConfig{
		PayloadType: 8, EventPayloadType: 101, Remote: ca.LocalAddr().(*net.UDPAddr).AddrPort()})
	defer b.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.SendDigit(ctx, '#', 120*time.Millisecond); err != nil {
		fmt.Println(err)
		return
	}
	select {
	case d := <-b.Digits():
		fmt.Printf("%c %v\n", d.Key, d.Duration)
	case <-ctx.Done():
		fmt.Println("no digit")
	}
	// Output: # 120ms
}
