package agentapi

import (
	"errors"
	"strings"
	"testing"

	"github.com/voxdesk/voxdesk/media/dtmf"
)

func FuzzParseClientMessage(f *testing.F) {
	for _, s := range []string{
		`{"type":"ping"}`,
		`{"id":3,"type":"state","state":"away","reason":"lunch"}`,
		`{"type":"answer","call":"c1"}`,
		`{"type":"transfer","call":"c1","queue":"sales"}`,
		`{"type":"consult","call":"c1","agent":"bob"}`, `{"type":"consult_complete","call":"c1"}`, `{"type":"consult","call":"c1"}`,
		`{"type":"wrapup","call":"c1","disposition":"resolved","notes":"line 1\nline 2"}`,
		`{"type":"signal","signal":{"type":"candidate","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host","sdpMid":"0"}}}`,
		`{"type":"signal","signal":{"type":"offer","sdp":"v=0\r\n"}}`,
		`{"type":"hold","call":"c1","on":true}`,
		`{"type":"dtmf","call":"c1","digits":"12#*ABCD"}`, `{"type":"pick_customer","call":"c1","customer":"C2"}`, `{"type":"dtmf","call":"c1","digits":"5x"}`,
		`{"type":"state"}`, `{}`, `null`, `[]`, `{"type":"ping"} x`, `{"type":"hangup","call":"\u2028"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseClientMessage(b)
		if err != nil {
			if !errors.Is(err, ErrBadMessage) {
				t.Fatalf("error %v does not wrap ErrBadMessage", err)
			}
			return
		}
		if m.Type == "" {
			t.Fatal("accepted a message without type")
		}
		if err := m.validate(); err != nil {
			t.Fatalf("accepted message fails validate: %v", err)
		}
	})
}

func FuzzParseWebMessage(f *testing.F) {
	for _, s := range []string{
		`{"type":"start","token":"a.b"}`,
		`{"type":"start","name":"Ada","phone":"+441632960001","account":"42"}`,
		`{"type":"signal","signal":{"type":"offer","sdp":"v=0"}}`,
		`{"type":"hangup"}`, `{"type":"start","admin":true}`, `{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseWebMessage(b)
		if err != nil {
			if !errors.Is(err, ErrBadMessage) {
				t.Fatalf("error %v does not wrap ErrBadMessage", err)
			}
			return
		}
		if m.Type != "start" && m.Type != "signal" && m.Type != "hangup" {
			t.Fatalf("accepted type %q", m.Type)
		}
	})
}

// TestParseKeypad: the keypad takes 0-9, *, # and A-D, one to 32 at a
// time; anything else is refused naming the key.
func TestParseKeypad(t *testing.T) {
	for _, tc := range []struct {
		name, msg, wantErr string
	}{
		{"every key", `{"type":"dtmf","call":"c1","digits":"0123456789*#ABCD"}`, ""},
		{"a letter past D", `{"type":"dtmf","call":"c1","digits":"12E"}`, `'E' is not a keypad key`},
		{"lower case", `{"type":"dtmf","call":"c1","digits":"a"}`, `'a' is not a keypad key`},
		{"a space", `{"type":"dtmf","call":"c1","digits":"1 2"}`, `' ' is not a keypad key`},
		{"no digits", `{"type":"dtmf","call":"c1"}`, "dtmf needs digits"},
		{"no call", `{"type":"dtmf","digits":"1"}`, "dtmf needs a call id"},
		{"too many", `{"type":"dtmf","call":"c1","digits":"` + strings.Repeat("1", 33) + `"}`, "33 digits at once (at most 32)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseClientMessage([]byte(tc.msg))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrBadMessage) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want ErrBadMessage saying %q", err, tc.wantErr)
			}
		})
	}
}

// TestKeypadTones: every key's tones are heard as that key by the
// switch's own DTMF receiver (Goertzel, Q.24 limits), once each.
func TestKeypadTones(t *testing.T) {
	var det dtmf.Detector
	got := det.Process(nil, dtmfTones(keypadKeys))
	got = det.Flush(got)
	var keys []rune
	for _, d := range got {
		keys = append(keys, d.Key)
	}
	if string(keys) != keypadKeys {
		t.Fatalf("heard %q, want %q", string(keys), keypadKeys)
	}
}
