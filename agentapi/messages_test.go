package agentapi

import (
	"errors"
	"testing"
)

func FuzzParseClientMessage(f *testing.F) {
	for _, s := range []string{
		`{"type":"ping"}`,
		`{"id":3,"type":"state","state":"away","reason":"lunch"}`,
		`{"type":"answer","call":"c1"}`,
		`{"type":"transfer","call":"c1","queue":"sales"}`,
		`{"type":"wrapup","call":"c1","disposition":"resolved","notes":"line 1\nline 2"}`,
		`{"type":"signal","signal":{"type":"candidate","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host","sdpMid":"0"}}}`,
		`{"type":"signal","signal":{"type":"offer","sdp":"v=0\r\n"}}`,
		`{"type":"hold","call":"c1","on":true}`,
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
