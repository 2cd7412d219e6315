package agentapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/voxdesk/voxdesk/customer"
)

// Web tokens let the company website vouch for a logged-in customer who
// presses "call now" or "call me back". The website and the switch share
// a secret key (WebCallConfig.TokenKey, at least 32 bytes). A token is
//
//	base64url(claims JSON) "." base64url(HMAC-SHA256(key, "voxdesk-webcall-v1." + base64url(claims JSON)))
//
// with unpadded base64url (RFC 4648 section 5) and claims
//
//	{"sub":"C1001","name":"Ada Lovelace","phone":"+441632960001","iat":1767225600,"exp":1767226200,"jti":"3f0c..."}
//
// sub is the customer id, iat and exp are Unix seconds, jti a random
// value unique per token. The switch refuses a token whose MAC is wrong,
// which is expired or issued in the future (two minutes of clock skew are
// allowed), which lives longer than MaxTokenLifetime, or whose jti it has
// already seen (each token is good for one call). SignWebToken makes one;
// a website in another language follows the recipe above, e.g. in Python:
//
//	body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
//	mac = hmac.new(key, b"voxdesk-webcall-v1." + body, hashlib.sha256).digest()
//	token = body + b"." + base64.urlsafe_b64encode(mac).rstrip(b"=")
//
// The website passes the token to the widget page in the URL fragment
// (callback.html#token=...), which browsers do not send to servers.

// WebClaims are what a web token asserts.
type WebClaims struct {
	Customer string `json:"sub"`
	Name     string `json:"name,omitempty"`
	Phone    string `json:"phone,omitempty"`
	IssuedAt int64  `json:"iat"`
	Expires  int64  `json:"exp"`
	Nonce    string `json:"jti"`
}

// MaxTokenLifetime is the longest exp - iat accepted.
const MaxTokenLifetime = time.Hour

const (
	tokenContext = "voxdesk-webcall-v1."
	tokenSkew    = 2 * time.Minute
	maxTokenLen  = 2048
	minKeyLen    = 32
)

// ErrBadToken is wrapped by every web token refusal.
var ErrBadToken = errors.New("agentapi: bad web token")

func tokenMAC(key []byte, body string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(tokenContext))
	m.Write([]byte(body))
	return m.Sum(nil)
}

// SignWebToken returns a token for c signed with key, as the website makes
// them.
func SignWebToken(key []byte, c WebClaims) (string, error) {
	if len(key) < minKeyLen {
		return "", fmt.Errorf("agentapi: token key of %d bytes, need %d", len(key), minKeyLen)
	}
	b, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	body := base64.RawURLEncoding.EncodeToString(b)
	return body + "." + base64.RawURLEncoding.EncodeToString(tokenMAC(key, body)), nil
}

// VerifyWebToken checks tok's MAC and times and returns its claims. It
// does not check replay; the server does.
func VerifyWebToken(key []byte, tok string, now time.Time) (WebClaims, error) {
	var c WebClaims
	if len(key) < minKeyLen {
		return c, fmt.Errorf("%w: the switch has no token key", ErrBadToken)
	}
	if len(tok) > maxTokenLen {
		return c, fmt.Errorf("%w: too long", ErrBadToken)
	}
	body, sig, ok := strings.Cut(tok, ".")
	if !ok {
		return c, fmt.Errorf("%w: not body.signature", ErrBadToken)
	}
	mac, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(mac, tokenMAC(key, body)) {
		return c, fmt.Errorf("%w: signature does not match", ErrBadToken)
	}
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return c, fmt.Errorf("%w: body is not base64url", ErrBadToken)
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return WebClaims{}, fmt.Errorf("%w: claims: %v", ErrBadToken, err)
	}
	iat, exp := time.Unix(c.IssuedAt, 0), time.Unix(c.Expires, 0)
	switch {
	case c.Customer == "" || c.Nonce == "":
		return WebClaims{}, fmt.Errorf("%w: sub and jti are required", ErrBadToken)
	case iat.After(now.Add(tokenSkew)):
		return WebClaims{}, fmt.Errorf("%w: issued in the future", ErrBadToken)
	case !now.Before(exp):
		return WebClaims{}, fmt.Errorf("%w: expired", ErrBadToken)
	case exp.Sub(iat) > MaxTokenLifetime:
		return WebClaims{}, fmt.Errorf("%w: lifetime over %v", ErrBadToken, MaxTokenLifetime)
	}
	for _, f := range []struct{ name, v string }{{"sub", c.Customer}, {"name", c.Name}, {"phone", c.Phone}, {"jti", c.Nonce}} {
		if err := checkText(f.name, f.v, maxReasonLen, false); err != nil {
			return WebClaims{}, fmt.Errorf("%w: %v", ErrBadToken, err)
		}
	}
	if c.Phone != "" && !customer.IsE164(c.Phone) {
		return WebClaims{}, fmt.Errorf("%w: phone %q is not E.164", ErrBadToken, c.Phone)
	}
	return c, nil
}

// replayCache remembers the jti of accepted tokens until they expire.
// With a file it also appends each one there (synced before the token is
// accepted) and loads the live ones back at start, so a token used before
// a restart is still refused after it.
type replayCache struct {
	mu   sync.Mutex
	seen map[string]time.Time
	file *os.File
}

const maxReplayEntries = 100000

// newReplayCache returns a cache kept in path ("" keeps it in memory
// only). Expired entries are dropped from the file as it is loaded.
func newReplayCache(path string, now time.Time) (*replayCache, error) {
	r := &replayCache{seen: map[string]time.Time{}}
	if path == "" {
		return r, nil
	}
	if b, err := os.ReadFile(path); err == nil {
		for line := range strings.Lines(string(b)) {
			exp, jti, ok := strings.Cut(strings.TrimRight(line, "\r\n"), " ")
			sec, err := strconv.ParseInt(exp, 10, 64)
			if !ok || err != nil || jti == "" {
				continue // a torn last line after a crash
			}
			if t := time.Unix(sec, 0); now.Before(t) && len(r.seen) < maxReplayEntries {
				r.seen[jti] = t
			}
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("agentapi: webcall.replay_file: %w", err)
	}
	// Rewrite the live entries, then append to the new file.
	var b strings.Builder
	for jti, exp := range r.seen {
		fmt.Fprintf(&b, "%d %s\n", exp.Unix(), jti)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("agentapi: webcall.replay_file: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		return nil, fmt.Errorf("agentapi: webcall.replay_file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("agentapi: webcall.replay_file: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("agentapi: webcall.replay_file: %w", err)
	}
	r.file = f
	return r, nil
}

func (r *replayCache) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.file != nil {
		_ = r.file.Close()
		r.file = nil
	}
}

// use records jti, or reports that it was used already (or that the cache
// is full of live tokens, or cannot be written).
func (r *replayCache) use(jti string, exp, now time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.seen[jti]; ok {
		return fmt.Errorf("%w: already used", ErrBadToken)
	}
	if len(r.seen) >= maxReplayEntries {
		for k, e := range r.seen {
			if now.After(e) {
				delete(r.seen, k)
			}
		}
		if len(r.seen) >= maxReplayEntries {
			return fmt.Errorf("%w: too many live tokens", ErrBadToken)
		}
	}
	if r.file != nil {
		if _, err := fmt.Fprintf(r.file, "%d %s\n", exp.Unix(), jti); err != nil {
			return fmt.Errorf("agentapi: record used token: %w", err)
		}
		if err := r.file.Sync(); err != nil {
			return fmt.Errorf("agentapi: record used token: %w", err)
		}
	}
	r.seen[jti] = exp
	return nil
}
