package g711_test

import (
	"fmt"

	"github.com/voxdesk/voxdesk/media/g711"
)

func Example() {
	pcm := []int16{0, 1000, -1000, 32767}
	ulaw := make([]byte, len(pcm))
	g711.EncodeUlaw(ulaw, pcm)
	back := make([]int16, len(ulaw))
	g711.DecodeUlaw(back, ulaw)
	fmt.Printf("% x\n%v\n", ulaw, back)
	// Output:
	// ff ce 4e 80
	// [0 988 -988 32124]
}
