package media_test

import (
	"context"
	"fmt"

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
