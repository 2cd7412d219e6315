package sdp_test

import (
	"fmt"
	"net/netip"

	"github.com/voxdesk/voxdesk/media/sdp"
)

func ExampleAnswer() {
	offer, err := sdp.Parse([]byte("v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n" +
		"m=audio 40000 RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=sendonly\r\n"))
	if err != nil {
		fmt.Println(sdp.StatusCode(err), err)
		return
	}
	_, m, err := sdp.Answer(offer, sdp.Local{Addr: netip.MustParseAddrPort("198.51.100.1:20000")})
	if err != nil {
		fmt.Println(sdp.StatusCode(err), err)
		return
	}
	fmt.Println(m.Codec.Name, m.Events.PayloadType, m.Remote, m.Direction, m.Direction.Sends())
	// Output: PCMU 101 192.0.2.10:40000 recvonly false
}

func ExampleStatusCode() {
	_, err := sdp.Parse([]byte("not sdp"))
	fmt.Println(sdp.StatusCode(err))
	offer, _ := sdp.Parse([]byte("v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 4000 RTP/AVP 18\r\n"))
	_, _, err = sdp.Answer(offer, sdp.Local{Addr: netip.MustParseAddrPort("198.51.100.1:20000")})
	fmt.Println(sdp.StatusCode(err), err)
	// Output:
	// 400
	// 488 sdp: no common codec
}
