package rtc

import (
	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/media/dtmf"
)

// digitDecoder turns the browser's RTCDTMFSender packets (RFC 4733
// telephone-events on the audio SSRC) into call digits.
type digitDecoder struct {
	d   dtmf.Decoder
	buf []dtmf.Digit
	out []call.Digit
}

func (dd *digitDecoder) decode(ssrc, ts uint32, payload []byte) []call.Digit {
	var err error
	dd.buf, err = dd.d.Decode(dd.buf[:0], ssrc, ts, payload)
	if err != nil {
		return nil
	}
	dd.out = dd.out[:0]
	for _, d := range dd.buf {
		dd.out = append(dd.out, call.Digit{Key: d.Key, Duration: d.Duration})
	}
	return dd.out
}
