package dtmf_test

import (
	"fmt"
	"time"

	"github.com/voxdesk/voxdesk/media/dtmf"
)

func ExampleDecoder() {
	// SIPp's pcap for '1': duration 0 first, the end packet three times.
	payloads := [][]byte{
		{1, 10, 0, 0}, {1, 10, 1, 64}, {1, 10, 2, 128},
		{1, 138, 3, 192}, {1, 138, 3, 192}, {1, 138, 3, 192},
	}
	var d dtmf.Decoder
	var digits []dtmf.Digit
	for _, p := range payloads {
		digits, _ = d.Decode(digits, 0xE05384E, 13280, p)
	}
	for _, g := range digits {
		fmt.Printf("%c %v\n", g.Key, g.Duration)
	}
	// Output: 1 120ms
}

func ExampleSequence() {
	evs, _ := dtmf.Sequence('#', 60*time.Millisecond, 20*time.Millisecond)
	for _, e := range evs {
		fmt.Println(e.Code, e.End, e.Duration)
	}
	// Output:
	// 11 false 160
	// 11 false 320
	// 11 true 480
	// 11 true 480
	// 11 true 480
}
