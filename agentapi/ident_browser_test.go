package agentapi

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/voxdesk/voxdesk/call"
)

// TestBrowserRingingShowsVoiceWarnings: a call whose voice did not match
// the number's customer, and whose voice is on the fraud watchlist, says
// both plainly on the ringing page before the agent answers.
func TestBrowserRingingShowsVoiceWarnings(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e := newEnv(t)
	tab, closeTab := browser(t, ctx)
	defer closeTab()
	loginAndGoAvailable(t, tab, e)
	o := adaOffer
	o.CallID, o.IdentMethod, o.IdentScore = "call-warned", call.MethodNumber, 0
	o.Vars = map[string]string{
		call.VarVoice:        call.VoiceUnknown,
		call.VarIdentWarning: call.VoiceMismatch,
		call.VarWatchlist:    "takeover ring 7",
	}
	if err := e.srv.Ring(tab, "alice", o); err != nil {
		t.Fatalf("Ring: %v", err)
	}
	var ident, warning, watch string
	err := chromedp.Run(tab,
		chromedp.WaitVisible(`#offer-file [data-testid="ident-warning"]`, chromedp.ByQuery),
		chromedp.Text(`#offer-file [data-testid="ident"]`, &ident, chromedp.ByQuery),
		chromedp.Text(`#offer-file [data-testid="ident-warning"]`, &warning, chromedp.ByQuery),
		chromedp.Text(`#offer-file [data-testid="watchlist"]`, &watch, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("ringing page: %v", err)
	}
	if !strings.Contains(ident, "number only") {
		t.Errorf("identified by %q, want number only", ident)
	}
	if !strings.Contains(warning, "voice does not match the number's customer") {
		t.Errorf("warning %q", warning)
	}
	if !strings.Contains(watch, "Fraud watchlist") || !strings.Contains(watch, "takeover ring 7") {
		t.Errorf("watchlist warning %q", watch)
	}
}
