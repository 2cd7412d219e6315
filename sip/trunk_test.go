package sip

import (
	"net/netip"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

func mustTrunks(t *testing.T, ts ...Trunk) []*Trunk {
	t.Helper()
	var out []*Trunk
	for i := range ts {
		tr := ts[i]
		if err := tr.init(); err != nil {
			t.Fatal(err)
		}
		out = append(out, &tr)
	}
	return out
}

func invite(t *testing.T, authz string) *sip.Request {
	t.Helper()
	req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: "1000", Host: "127.0.0.1"})
	if authz != "" {
		req.AppendHeader(sip.NewHeader("Authorization", authz))
	}
	return req
}

func TestTrunkConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		tr   Trunk
	}{
		{"no name", Trunk{Networks: []string{"10.0.0.0/8"}}},
		{"neither networks nor credentials", Trunk{Name: "x"}},
		{"password without username", Trunk{Name: "x", Networks: []string{"10.0.0.0/8"}, Password: "p"}},
		{"bad CIDR", Trunk{Name: "x", Networks: []string{"10.0.0.0/33"}}},
		{"bad transport", Trunk{Name: "x", Networks: []string{"10.0.0.1"}, Transport: "sctp"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.tr.init(); err == nil {
				t.Fatalf("init accepted %+v", tc.tr)
			}
		})
	}
}

func TestTrunkMatch(t *testing.T) {
	a := newAuthenticator()
	trunks := mustTrunks(t,
		Trunk{Name: "sbc", Networks: []string{"192.0.2.0/24", "2001:db8::/32"}},
		Trunk{Name: "carrier", Networks: []string{"198.51.100.0/24"}, Username: "vox", Password: "secret"},
		Trunk{Name: "anywhere", Username: "roam", Password: "pw", Realm: "voxdesk"},
	)
	// A correct answer to a challenge from the carrier trunk.
	answer := func(tr *Trunk, user, pass string, nonce string) string {
		cred, err := digest.Digest(&digest.Challenge{Realm: tr.Realm, Nonce: nonce, Algorithm: "MD5", QOP: []string{"auth"}},
			digest.Options{Method: "INVITE", URI: "sip:1000@127.0.0.1", Username: user, Password: pass})
		if err != nil {
			t.Fatal(err)
		}
		return cred.String()
	}
	good := answer(trunks[1], "vox", "secret", a.nonce())
	wrongPass := answer(trunks[1], "vox", "guess", a.nonce())
	forged := answer(trunks[1], "vox", "secret", "bm90LW91ci1ub25jZQ")
	old := func() string {
		a.now = func() time.Time { return time.Now().Add(-2 * nonceLifetime) }
		defer func() { a.now = time.Now }()
		return answer(trunks[1], "vox", "secret", a.nonce())
	}()
	for _, tc := range []struct {
		name      string
		src       string
		authz     string
		trunk     string
		challenge string
		stale     bool
	}{
		{"source in the SBC network", "192.0.2.7", "", "sbc", "", false},
		{"IPv6 source in the SBC network", "2001:db8::5", "", "sbc", "", false},
		{"carrier network without credentials is challenged", "198.51.100.9", "", "", "carrier", false},
		{"carrier with the right digest", "198.51.100.9", good, "carrier", "", false},
		{"carrier with a wrong password", "198.51.100.9", wrongPass, "", "carrier", false},
		{"carrier with a nonce we never issued", "198.51.100.9", forged, "", "carrier", false},
		{"carrier with an expired nonce is told stale", "198.51.100.9", old, "", "carrier", true},
		{"right digest from outside the carrier network falls to the open trunk", "203.0.113.1", good, "", "anywhere", false},
		{"unknown source is challenged by the open trunk", "203.0.113.1", "", "", "anywhere", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			acc := a.match(trunks, netip.MustParseAddr(tc.src), invite(t, tc.authz))
			gotTrunk, gotChal := "", ""
			if acc.trunk != nil {
				gotTrunk = acc.trunk.Name
			}
			if acc.challenge != nil {
				gotChal = acc.challenge.Name
			}
			if gotTrunk != tc.trunk || gotChal != tc.challenge || acc.stale != tc.stale {
				t.Fatalf("match = trunk %q challenge %q stale %v, want %q %q %v", gotTrunk, gotChal, acc.stale, tc.trunk, tc.challenge, tc.stale)
			}
		})
	}
	t.Run("no trunk for the source and none open", func(t *testing.T) {
		acc := a.match(trunks[:1], netip.MustParseAddr("203.0.113.1"), invite(t, ""))
		if acc.trunk != nil || acc.challenge != nil {
			t.Fatalf("match = %+v, want refusal", acc)
		}
	})
}

func TestCallerNumber(t *testing.T) {
	for _, tc := range []struct {
		name    string
		from    string
		pai     string
		trusted bool
		want    string
	}{
		{"untrusted trunk uses From", "<sip:+33145@carrier>;tag=1", "<sip:+33999@carrier>", false, "+33145"},
		{"trusted trunk uses P-Asserted-Identity", "<sip:anonymous@anonymous.invalid>;tag=1", `"Alice" <sip:+33145;npdi@carrier;user=phone>`, true, "+33145"},
		{"tel URI in P-Asserted-Identity", "<sip:x@y>;tag=1", "<tel:+4930123;cpc=ordinary>", true, "+4930123"},
		{"trusted trunk without PAI falls back to From", "<sip:0612@carrier>;tag=1", "", true, "0612"},
		{"unparsable PAI falls back to From", "<sip:0612@carrier>;tag=1", "garbage", true, "0612"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: "1000", Host: "h"})
			var from sip.FromHeader
			var params sip.HeaderParams = sip.NewParams()
			name, err := sip.ParseAddressValue(tc.from, &from.Address, &params)
			if err != nil {
				t.Fatal(err)
			}
			from.DisplayName, from.Params = name, params
			req.AppendHeader(&from)
			if tc.pai != "" {
				req.AppendHeader(sip.NewHeader("P-Asserted-Identity", tc.pai))
			}
			if got := callerNumber(req, tc.trusted); got != tc.want {
				t.Fatalf("callerNumber = %q, want %q", got, tc.want)
			}
		})
	}
}
