package sip

import "testing"

func TestValidAlertInfo(t *testing.T) {
	for _, c := range []struct {
		v  string
		ok bool
	}{
		{"<http://192.0.2.1/api/admin/customers?q=C-7>;info=voxdesk-customer", true},
		{"<http://ring.example/vip.wav>", true},
		{"<urn:alert:service:normal>", true},
		{"", false},
		{"http://ring.example/vip.wav", false},
		{"<http://ring.example/vip.wav", false},
		{"<vip.wav>", false},
		{"<http://x/a b.wav>", false},
		{"<http://x>info=a", false},
		{"<http://x>;info=a\r\nX-Injected: 1", false},
		{`<http://x>;info="a"`, false},
	} {
		if err := ValidAlertInfo(c.v); (err == nil) != c.ok {
			t.Errorf("ValidAlertInfo(%q) = %v, want ok %v", c.v, err, c.ok)
		}
	}
}
