package service

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

// A Host passes only as an IP literal, localhost, a configured name or
// empty; anything else is 421, and no Host value panics.
func FuzzGuardHost(f *testing.F) {
	for _, h := range []string{"127.0.0.1:8080", "[::1]:80", "localhost", "LOCALHOST.:8080", "desk.example.com", "rebind.example:8080",
		"", "[", "]:80", "1.2.3.4.5", "desk.example.com.evil", "%00", "xn--bcher-kva.example"} {
		f.Add(h)
	}
	ok := guardHost([]string{"desk.example.com"}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	f.Fuzz(func(t *testing.T, host string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Host = host
		w := httptest.NewRecorder()
		ok.ServeHTTP(w, r)
		h := host
		if hh, _, err := net.SplitHostPort(h); err == nil {
			h = hh
		}
		h = strings.ToLower(strings.TrimSuffix(h, "."))
		_, ipErr := netip.ParseAddr(strings.Trim(h, "[]"))
		want := http.StatusOK
		if ipErr != nil && h != "" && h != "localhost" && h != "desk.example.com" {
			want = http.StatusMisdirectedRequest
		}
		if w.Code != want {
			t.Fatalf("Host %q: %d, want %d", host, w.Code, want)
		}
		if w.Code == http.StatusOK && strings.Contains(h, "example") && h != "desk.example.com" {
			t.Fatalf("Host %q let through", host)
		}
	})
}

func TestAddrKey(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"127.0.0.2:5000", "127.0.0.2"},
		{"[::ffff:192.0.2.1]:80", "192.0.2.1"},
		{"[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff::1]:443", "2001:db8:1:2::/64"}, // same /64: one subscriber
	} {
		a, err := net.ResolveTCPAddr("tcp", tc.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := addrKey(a); got != tc.want {
			t.Errorf("addrKey(%s) = %s, want %s", tc.addr, got, tc.want)
		}
	}
}
