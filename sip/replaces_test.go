package sip

import (
	"testing"

	"github.com/emiago/sipgo/sip"
)

// TestParseReplacesFromReferTo: a Refer-To as phones send it (RFC 5589
// section 7.1, the Replaces escaped as a URI header) gives the dialog's
// Call-ID and tags; a Replaces missing a tag or the Call-ID is refused.
func TestParseReplacesFromReferTo(t *testing.T) {
	var u sip.Uri
	var params sip.HeaderParams
	v := `<sip:carol@127.0.0.1:5060?Replaces=consult%2F%2F%2F1-2%40h%3Bto-tag%3Dours%3Bfrom-tag%3Dtheirs>`
	if _, err := sip.ParseAddressValue(v, &u, &params); err != nil {
		t.Fatal(err)
	}
	raw, ok := u.Headers.Get("Replaces")
	if !ok {
		t.Fatalf("no Replaces in %v", u)
	}
	r, err := parseReplaces(raw)
	if err != nil {
		t.Fatal(err)
	}
	if want := (replaces{callID: "consult///1-2@h", toTag: "ours", fromTag: "theirs"}); r != want {
		t.Errorf("parsed %+v, want %+v", r, want)
	}
	for _, bad := range []string{"", "cid", "cid;to-tag=a", "cid;from-tag=b", ";to-tag=a;from-tag=b", "cid%3Bto-tag%3Da"} {
		if r, err := parseReplaces(bad); err == nil {
			t.Errorf("parseReplaces(%q) = %+v, want an error", bad, r)
		}
	}
}
