package agentapi

import (
	"context"
	"testing"
	"time"
)

// The demo serves plain http on 127.0.0.1 with the default Secure session
// cookie: Chromium treats loopback as a secure context and keeps the
// cookie, so the default works for `make run` without insecure_cookies.
func TestBrowserSecureCookieOnLoopback(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e := newEnv(t, func(s *Server) { s.cfg.InsecureCookies = false })
	tab, closeTab := browser(t, ctx)
	defer closeTab()
	loginAndGoAvailable(t, tab, e)
}
