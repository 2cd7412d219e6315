package routing

import (
	"strings"
	"testing"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/call/calltest"
)

// FuzzRequestFromVars feeds the call variables the IVR (and through it,
// callers' key presses and web forms) controls: bad values give errors,
// never panics, and what parses is sane.
func FuzzRequestFromVars(f *testing.F) {
	for _, s := range [][4]string{
		{"sales", "billing,french:2", "3", "ann"},
		{"", "", "", ""},
		{"q", ":2", "-1", ""},
		{"q", "fr:x", "99999999999999999999", "x"},
		{"q", " , ,vip: 1 ", "+4", ""},
		{"q", "a:-3", "0x10", ""},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	f.Fuzz(func(t *testing.T, queue, skills, prio, preferred string) {
		c := call.New("f", calltest.NewLeg(), nil)
		c.SetVar(call.VarQueue, queue)
		c.SetVar(call.VarSkills, skills)
		c.SetVar(call.VarPriority, prio)
		c.SetVar(call.VarPreferredAgent, preferred)
		req, err := requestFromVars(c, Request{})
		if err != nil {
			return
		}
		if req.Queue != queue || req.Preferred != preferred {
			t.Fatalf("request %+v from queue %q preferred %q", req, queue, preferred)
		}
		sk, err := parseSkills(req.Skills)
		if err != nil {
			return
		}
		for _, s := range sk {
			if s.name == "" || s.level < 0 || strings.ContainsAny(s.name, ",") {
				t.Fatalf("parsed skill %+v from %q", s, skills)
			}
		}
	})
}

// FuzzValidNumber checks that only dialable digit strings pass as
// call-back numbers.
func FuzzValidNumber(f *testing.F) {
	for _, s := range []string{"+33140000000", "0140000000", "sip:a@b", "+", "", "+1 555", "١٢٣٤"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !validNumber(s) {
			return
		}
		d := strings.TrimPrefix(s, "+")
		if len(d) < 3 || len(d) > 20 || strings.Trim(d, "0123456789") != "" {
			t.Fatalf("%q accepted", s)
		}
	})
}
