package rtc

import (
	"errors"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/media/dtmf"
)

func FuzzParseSignal(f *testing.F) {
	for _, seed := range []string{
		`{"type":"offer","sdp":"v=0\r\n"}`,
		`{"type":"candidate","candidate":{"candidate":"candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0}}`,
		`{"type":"candidate","candidate":{"candidate":""}}`,
		`{"type":"answer","sdp":"x"}`,
		`{"type":"candidate"}`,
		`{"type":7}`,
		`[]`, `null`, ``, `{"type":"offer","sdp":"` + string(make([]byte, 40)) + `"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSignal(b)
		if err != nil {
			if !errors.Is(err, ErrBadSignal) {
				t.Fatalf("error %v does not wrap ErrBadSignal", err)
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("parsed signal fails Validate: %v", err)
		}
		// Chooses a codec or refuses; never panics.
		if s.Type == SignalOffer {
			_, _ = chooseCodec(s.SDP, []string{codecPCMU, codecPCMA})
		}
	})
}

func TestChooseCodec(t *testing.T) {
	const head = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
	for _, tc := range []struct {
		name  string
		sdp   string
		prefs []string
		want  string
		err   error
	}{
		{"static types without rtpmap", head + "m=audio 9 RTP/AVP 8 0\r\n", []string{"PCMU", "PCMA"}, "PCMU", nil},
		{"our preference wins", head + "m=audio 9 RTP/AVP 0 8\r\n", []string{"PCMA", "PCMU"}, "PCMA", nil},
		{"rtpmap on a dynamic type", head + "m=audio 9 RTP/AVP 96\r\na=rtpmap:96 PCMA/8000\r\n", []string{"PCMU", "PCMA"}, "PCMA", nil},
		{"video first", head + "m=video 9 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\nm=audio 9 RTP/AVP 0\r\n", []string{"PCMU"}, "PCMU", nil},
		{"no audio", head + "m=video 9 RTP/AVP 96\r\n", []string{"PCMU"}, "", ErrNoCodec},
		{"G722 only", head + "m=audio 9 RTP/AVP 9\r\na=rtpmap:9 G722/8000\r\n", []string{"PCMU", "PCMA"}, "", ErrNoCodec},
		{"not sdp", "hello", []string{"PCMU"}, "", ErrBadSignal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := chooseCodec(tc.sdp, tc.prefs)
			if !errors.Is(err, tc.err) || got != tc.want {
				t.Fatalf("chooseCodec = %q, %v; want %q, %v", got, err, tc.want, tc.err)
			}
		})
	}
}

func TestDigitDecoder(t *testing.T) {
	evs, err := dtmf.Sequence('7', 100*time.Millisecond, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	var d digitDecoder
	var got []rune
	for _, ev := range evs {
		for _, dg := range d.decode(42, 16000, ev.AppendTo(nil)) {
			got = append(got, dg.Key)
		}
	}
	if string(got) != "7" {
		t.Fatalf("digits %q, want \"7\" once", string(got))
	}
	if out := d.decode(42, 17000, []byte{1}); out != nil {
		t.Fatalf("short payload gave %v", out)
	}
}
