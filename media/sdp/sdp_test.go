package sdp

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var local = Local{Addr: netip.MustParseAddrPort("127.0.0.1:20000"), SessionID: 42, SessionVersion: 1}

func sdpLines(lines ...string) []byte { return []byte(strings.Join(lines, "\r\n") + "\r\n") }

func offerWith(media ...string) []byte {
	return sdpLines(append([]string{"v=0", "o=- 1 1 IN IP4 192.0.2.10", "s=-", "c=IN IP4 192.0.2.10", "t=0 0"}, media...)...)
}

func TestAnswer(t *testing.T) {
	tests := []struct {
		name      string
		offer     []byte
		local     Local
		codec     Codec
		events    bool
		remote    string
		direction Direction // ours
	}{
		{"PCMU only", offerWith("m=audio 6000 RTP/AVP 0"), local, PCMU, false, "192.0.2.10:6000", SendRecv},
		{"our preference wins over the offer's order", offerWith("m=audio 6000 RTP/AVP 8 0"), local, PCMU, false, "192.0.2.10:6000", SendRecv},
		{"A-law preferred locally (European trunk)", offerWith("m=audio 6000 RTP/AVP 0 8"), Local{Addr: local.Addr, Codecs: []Codec{PCMA, PCMU}}, PCMA, false, "192.0.2.10:6000", SendRecv},
		{"PCMA only", offerWith("m=audio 6000 RTP/AVP 8 101", "a=rtpmap:101 telephone-event/8000"), local, PCMA, true, "192.0.2.10:6000", SendRecv},
		{"offer sendonly: answer recvonly", offerWith("m=audio 6000 RTP/AVP 0", "a=sendonly"), local, PCMU, false, "192.0.2.10:6000", RecvOnly},
		{"offer recvonly: answer sendonly", offerWith("m=audio 6000 RTP/AVP 0", "a=recvonly"), local, PCMU, false, "192.0.2.10:6000", SendOnly},
		{"offer inactive: answer inactive", offerWith("m=audio 6000 RTP/AVP 0", "a=inactive"), local, PCMU, false, "192.0.2.10:6000", Inactive},
		{"we hold a sendrecv offer: sendonly", offerWith("m=audio 6000 RTP/AVP 0"), Local{Addr: local.Addr, Hold: true}, PCMU, false, "192.0.2.10:6000", SendOnly},
		{"RFC 2543 hold c=0.0.0.0: recvonly", sdpLines("v=0", "o=- 1 2 IN IP4 0.0.0.0", "s=-", "c=IN IP4 0.0.0.0", "t=0 0", "m=audio 6000 RTP/AVP 0"), local, PCMU, false, "0.0.0.0:6000", RecvOnly},
		{"events dropped when we don't want them", offerWith("m=audio 6000 RTP/AVP 0 101", "a=rtpmap:101 telephone-event/8000"), Local{Addr: local.Addr, NoEvents: true}, PCMU, false, "192.0.2.10:6000", SendRecv},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			off, err := Parse(tc.offer)
			if err != nil {
				t.Fatal(err)
			}
			ans, m, err := Answer(off, tc.local)
			if err != nil {
				t.Fatal(err)
			}
			if m.Codec != tc.codec || m.HasEvents != tc.events || m.Remote.String() != tc.remote || m.Direction != tc.direction {
				t.Errorf("media = %+v", m)
			}
			// The answer itself parses, with our address and the mirrored direction.
			back, err := Parse(ans)
			if err != nil {
				t.Fatalf("answer does not parse: %v\n%s", err, ans)
			}
			if back.Addr != tc.local.Addr || back.Direction != tc.direction || len(back.Codecs) != 1 || back.Codecs[0] != tc.codec {
				t.Errorf("answer parsed as %+v\n%s", back, ans)
			}
			if back.HasEvents != tc.events {
				t.Errorf("answer events = %v", back.HasEvents)
			}
			if back.Ptime != DefaultPtime {
				t.Errorf("answer ptime %v", back.Ptime)
			}
		})
	}
}

func TestOfferAccept(t *testing.T) {
	off, err := Offer(local)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := Parse(off)
	if err != nil {
		t.Fatalf("%v\n%s", err, off)
	}
	if len(parsed.Codecs) != 2 || parsed.Codecs[0] != PCMU || parsed.Codecs[1] != PCMA || !parsed.HasEvents || parsed.Events != TelephoneEvent {
		t.Fatalf("offer parsed as %+v", parsed)
	}
	// A peer answering our offer with PCMA, sendrecv.
	ansSDP := sdpLines("v=0", "o=peer 9 9 IN IP4 192.0.2.20", "s=-", "c=IN IP4 192.0.2.20", "t=0 0",
		"m=audio 7000 RTP/AVP 8 101", "a=rtpmap:101 telephone-event/8000", "a=sendrecv")
	ans, err := Parse(ansSDP)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Accept(ans, local)
	if err != nil {
		t.Fatal(err)
	}
	if m.Codec != PCMA || !m.HasEvents || m.Remote.String() != "192.0.2.20:7000" || m.Direction != SendRecv {
		t.Errorf("accepted %+v", m)
	}
	// Holding: our offer is sendonly.
	held, _ := Offer(Local{Addr: local.Addr, Hold: true, SessionVersion: 2})
	hp, err := Parse(held)
	if err != nil || hp.Direction != SendOnly || hp.SessionVersion != 2 {
		t.Errorf("hold offer %+v %v", hp, err)
	}
	if _, err := Offer(Local{}); err == nil {
		t.Error("offer without address succeeded")
	}
}

func TestAcceptNoCommonCodec(t *testing.T) {
	ans, err := Parse(offerWith("m=audio 7000 RTP/AVP 8"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Accept(ans, Local{Addr: local.Addr, Codecs: []Codec{PCMU}}); !errors.Is(err, ErrNoCommonCodec) {
		t.Fatalf("err = %v", err)
	}
}

// Every error that ends an exchange maps to its SIP status.
func TestStatusCode(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"malformed", &ParseError{Reason: "x"}, 400},
		{"wrapped malformed", errors.Join(errors.New("ctx"), &ParseError{Reason: "x"}), 400},
		{"no common codec", ErrNoCommonCodec, 488},
		{"no audio", ErrNoAudio, 488},
		{"other", errors.New("boom"), 500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := StatusCode(tc.err); got != tc.want {
				t.Errorf("StatusCode = %d, want %d", got, tc.want)
			}
		})
	}
	var pe *ParseError
	_, err := Parse([]byte("nonsense"))
	if !errors.As(err, &pe) || !errors.Is(err, ErrMalformed) || pe.Reason == "" {
		t.Errorf("Parse(nonsense) = %v", err)
	}
}

func TestDirection(t *testing.T) {
	tests := []struct{ offer, reply Direction }{
		{SendRecv, SendRecv}, {SendOnly, RecvOnly}, {RecvOnly, SendOnly}, {Inactive, Inactive},
	}
	for _, tc := range tests {
		t.Run(tc.offer.String(), func(t *testing.T) {
			if got := tc.offer.Reply(); got != tc.reply {
				t.Errorf("Reply = %v, want %v", got, tc.reply)
			}
		})
	}
}

// The conformance corpus: every file in testdata/valid parses and can be
// answered; every file in testdata/invalid fails with the SIP status its
// name starts with.
func TestCorpus(t *testing.T) {
	valid, _ := filepath.Glob("testdata/valid/*.sdp")
	invalid, _ := filepath.Glob("testdata/invalid/*.sdp")
	if len(valid) < 10 || len(invalid) < 10 {
		t.Fatalf("corpus too small: %d valid, %d invalid", len(valid), len(invalid))
	}
	for _, f := range valid {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			off, err := Parse(b)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if _, m, err := Answer(off, local); err != nil {
				t.Fatalf("Answer: %v", err)
			} else if m.Codec.PayloadType != 0 && m.Codec.PayloadType != 8 {
				t.Errorf("codec %v", m.Codec)
			}
		})
	}
	for _, f := range invalid {
		t.Run(filepath.Base(f), func(t *testing.T) {
			want, err := strconv.Atoi(filepath.Base(f)[:3])
			if err != nil {
				t.Fatalf("file name must start with the status: %v", err)
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			off, err := Parse(b)
			if err == nil {
				_, _, err = Answer(off, local)
			}
			if err == nil {
				t.Fatal("accepted")
			}
			if got := StatusCode(err); got != want {
				t.Errorf("status %d (%v), want %d", got, err, want)
			}
		})
	}
}

func TestPtime(t *testing.T) {
	s, err := Parse(offerWith("m=audio 6000 RTP/AVP 0", "a=ptime:30"))
	if err != nil || s.Ptime != 30*time.Millisecond {
		t.Fatalf("ptime %v %v", s, err)
	}
}

// Parse and Answer never panic; an accepted offer yields an answer that
// parses back with the chosen codec.
func FuzzParseAnswer(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.sdp")
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("v=0\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		off, err := Parse(b)
		if err != nil {
			if s := StatusCode(err); s != 400 && s != 488 {
				t.Fatalf("error %v maps to %d", err, s)
			}
			return
		}
		ans, m, err := Answer(off, local)
		if err != nil {
			if !errors.Is(err, ErrNoCommonCodec) {
				t.Fatalf("Answer: %v", err)
			}
			return
		}
		back, err := Parse(ans)
		if err != nil {
			t.Fatalf("our answer does not parse: %v\n%s", err, ans)
		}
		if len(back.Codecs) != 1 || back.Codecs[0] != m.Codec {
			t.Fatalf("answer codecs %v, chose %v", back.Codecs, m.Codec)
		}
	})
}

func TestRTCPAttribute(t *testing.T) {
	tests := []struct {
		name, attr, want string
	}{
		{"port only: the stream's address", "a=rtcp:53020", "192.0.2.10:53020"},
		{"port and address", "a=rtcp:53020 IN IP4 198.51.100.7", "198.51.100.7:53020"},
		{"absent", "", "invalid AddrPort"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lines := []string{"m=audio 6000 RTP/AVP 0"}
			if tc.attr != "" {
				lines = append(lines, tc.attr)
			}
			off, err := Parse(offerWith(lines...))
			if err != nil {
				t.Fatal(err)
			}
			_, m, err := Answer(off, local)
			if err != nil {
				t.Fatal(err)
			}
			if m.RemoteRTCP.String() != tc.want {
				t.Errorf("RemoteRTCP %v, want %s", m.RemoteRTCP, tc.want)
			}
		})
	}
}

// An answer has as many m= lines as the offer, in order, the ones we do
// not take rejected with port 0 (RFC 3264 section 6), and our audio with
// the offer's profile.
func TestAnswerKeepsEveryMediaLine(t *testing.T) {
	off, err := Parse(offerWith(
		"m=video 5006 RTP/AVP 96", "a=rtpmap:96 H264/90000",
		"m=audio 0 RTP/AVP 0",
		"m=audio 5004 RTP/AVPF 8",
		"m=application 5008 UDP/BFCP *"))
	if err != nil {
		t.Fatal(err)
	}
	ans, _, err := Answer(off, local)
	if err != nil {
		t.Fatal(err)
	}
	var mlines []string
	for _, l := range strings.Split(string(ans), "\r\n") {
		if strings.HasPrefix(l, "m=") {
			mlines = append(mlines, l)
		}
	}
	want := []string{"m=video 0 RTP/AVP 96", "m=audio 0 RTP/AVP 0", "m=audio 20000 RTP/AVPF 8", "m=application 0 UDP/BFCP *"}
	if strings.Join(mlines, "|") != strings.Join(want, "|") {
		t.Errorf("answer m= lines\n%v\nwant\n%v\n%s", mlines, want, ans)
	}
	back, err := Parse(ans)
	if err != nil || back.Addr != local.Addr || len(back.Codecs) != 1 || back.Codecs[0] != PCMA {
		t.Errorf("answer parses as %+v, %v", back, err)
	}
}

func TestEventsOnlyOnDynamicType(t *testing.T) {
	off, err := Parse(offerWith("m=audio 6000 RTP/AVP 0 8", "a=rtpmap:8 telephone-event/8000"))
	if err != nil {
		t.Fatal(err)
	}
	if off.HasEvents || len(off.Codecs) != 1 || off.Codecs[0] != PCMU {
		t.Errorf("parsed %+v", off)
	}
}
