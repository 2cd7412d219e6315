package agentapi

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var testKey = []byte(strings.Repeat("k", 32))

func TestWebToken(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	good := WebClaims{Customer: "C1", Name: "Ada Lovelace", Phone: "+441632960001", IssuedAt: now.Unix() - 60, Expires: now.Unix() + 540, Nonce: "n1"}
	sign := func(c WebClaims, key []byte) string {
		tok, err := SignWebToken(key, c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	with := func(f func(*WebClaims)) WebClaims { c := good; f(&c); return c }
	tok := sign(good, testKey)
	body, sig, _ := strings.Cut(tok, ".")
	for _, tc := range []struct {
		name, tok string
		want      string // "" for accepted
	}{
		{"valid", tok, ""},
		{"other key", sign(good, []byte(strings.Repeat("x", 32))), "signature"},
		{"tampered body", strings.Replace(body, body[2:6], "AAAA", 1) + "." + sig, "signature"},
		{"no signature", body, "body.signature"},
		{"empty", "", "body.signature"},
		{"expired", sign(with(func(c *WebClaims) { c.Expires = now.Unix() }), testKey), "expired"},
		{"issued in the future", sign(with(func(c *WebClaims) { c.IssuedAt = now.Add(10 * time.Minute).Unix(); c.Expires = c.IssuedAt + 60 }), testKey), "future"},
		{"lives too long", sign(with(func(c *WebClaims) { c.Expires = now.Add(2 * time.Hour).Unix() }), testKey), "lifetime"},
		{"no customer", sign(with(func(c *WebClaims) { c.Customer = "" }), testKey), "sub and jti"},
		{"no nonce", sign(with(func(c *WebClaims) { c.Nonce = "" }), testKey), "sub and jti"},
		{"phone not E.164", sign(with(func(c *WebClaims) { c.Phone = "01632 960001" }), testKey), "E.164"},
		{"control character in name", sign(with(func(c *WebClaims) { c.Name = "Ada\x00" }), testKey), "control"},
		{"too long", strings.Repeat("a", maxTokenLen+1), "too long"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := VerifyWebToken(testKey, tc.tok, now)
			if tc.want == "" {
				if err != nil || c != good {
					t.Fatalf("VerifyWebToken = %+v, %v", c, err)
				}
				return
			}
			if !errors.Is(err, ErrBadToken) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want ErrBadToken mentioning %q", err, tc.want)
			}
		})
	}
	if _, err := VerifyWebToken([]byte("short"), tok, now); !errors.Is(err, ErrBadToken) {
		t.Fatalf("short key accepted: %v", err)
	}
	if _, err := SignWebToken([]byte("short"), good); err == nil {
		t.Fatal("signing with a short key accepted")
	}
}

func TestReplayCache(t *testing.T) {
	now := time.Now()
	r, err := newReplayCache("", now)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.use("a", now.Add(time.Minute), now); err != nil {
		t.Fatal(err)
	}
	if err := r.use("a", now.Add(time.Minute), now); !errors.Is(err, ErrBadToken) {
		t.Fatalf("replay accepted: %v", err)
	}
}

// A token used before a restart is refused after it when the used ids
// are kept in a file; expired ids are dropped from the file at start.
func TestReplayFileSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "used-tokens")
	now := time.Now()
	r, err := newReplayCache(path, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct {
		jti string
		exp time.Time
	}{{"live one", now.Add(time.Hour)}, {"old", now.Add(time.Second)}} {
		if err := r.use(u.jti, u.exp, now); err != nil {
			t.Fatal(err)
		}
	}
	r.close()
	later := now.Add(time.Minute)
	r, err = newReplayCache(path, later)
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	if err := r.use("live one", now.Add(time.Hour), later); !errors.Is(err, ErrBadToken) {
		t.Fatalf("token used before the restart accepted again: %v", err)
	}
	if err := r.use("old", later.Add(time.Hour), later); err != nil {
		t.Fatalf("expired entry kept: %v", err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("replay file %v, %v: want mode 0600", fi, err)
	}
}

// Without a replay file, a restarted switch refuses tokens issued before
// it started (they may have been used before the restart).
func TestTokenFromBeforeRestartRefused(t *testing.T) {
	now := time.Now()
	srv, err := New(Config{WebCall: WebCallConfig{TokenKey: string(testKey)}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	old, _ := SignWebToken(testKey, WebClaims{Customer: "C1", IssuedAt: now.Unix() - 60, Expires: now.Unix() + 600, Nonce: "n1"})
	if _, err := srv.identify(webIdentityRequest{Token: old}); !errors.Is(err, ErrBadToken) {
		t.Fatalf("token from before the start accepted: %v", err)
	}
	fresh, _ := SignWebToken(testKey, WebClaims{Customer: "C1", IssuedAt: time.Now().Unix(), Expires: now.Unix() + 600, Nonce: "n2"})
	if _, err := srv.identify(webIdentityRequest{Token: fresh}); err != nil {
		t.Fatalf("fresh token refused: %v", err)
	}
}

func FuzzVerifyWebToken(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	tok, _ := SignWebToken(testKey, WebClaims{Customer: "C1", IssuedAt: now.Unix(), Expires: now.Unix() + 60, Nonce: "x"})
	for _, s := range []string{tok, "", ".", "a.b", tok[:len(tok)-2], strings.Replace(tok, ".", "..", 1)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := VerifyWebToken(testKey, s, now)
		if err != nil {
			if !errors.Is(err, ErrBadToken) {
				t.Fatalf("error %v does not wrap ErrBadToken", err)
			}
			return
		}
		// Only a token we signed can verify: re-signing gives it back.
		again, err := SignWebToken(testKey, c)
		if err != nil || c.Customer == "" || c.Nonce == "" {
			t.Fatalf("accepted claims %+v (%v)", c, err)
		}
		_ = again
	})
}
