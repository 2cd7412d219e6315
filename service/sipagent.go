package service

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/voxdesk/voxdesk/sip"
)

// SIPAgent is an agent's SIP phone account (sip.agents[] in
// voxdesk.yaml): the agent registers a desk phone or softphone with its
// id as the user name.
type SIPAgent struct {
	// ID is the agent's id (agents.accounts[].id): the phone's user name.
	ID string `yaml:"id"`
	// HA1 is MD5("id:realm:secret") in hex, the form the registrar keeps
	// instead of the secret; `voxdesk agent sip-secret` prints it.
	HA1 string `yaml:"ha1"`
	// Ring says where the agent's calls ring: "browser" (the page only),
	// "sip" (the registered phone only) or "both" (default "both"; with
	// no phone registered the page rings alone).
	Ring string `yaml:"ring"`
}

// Ring modes of SIPAgent.Ring.
const (
	RingBrowser = "browser"
	RingSIP     = "sip"
	RingBoth    = "both"
)

var ha1Pattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// sipAccounts looks agents' SIP credentials up for the registrar.
type sipAccounts map[string]SIPAgent

var _ sip.Accounts = sipAccounts(nil)

func (a sipAccounts) SIPHA1(user string) (string, bool) {
	ag, ok := a[user]
	return ag.HA1, ok && ag.HA1 != ""
}

// newSIPAccounts checks sip.agents and indexes them by id.
func newSIPAccounts(agents []SIPAgent) (sipAccounts, error) {
	out := sipAccounts{}
	for i, ag := range agents {
		switch {
		case ag.ID == "":
			return nil, fmt.Errorf("service: sip.agents[%d]: no id", i)
		case out[ag.ID].ID != "":
			return nil, fmt.Errorf("service: sip.agents: %q twice", ag.ID)
		case ag.HA1 == "" && ag.Ring != RingBrowser:
			return nil, fmt.Errorf("service: sip.agents %q: no ha1 (voxdesk agent sip-secret prints one)", ag.ID)
		case ag.HA1 != "" && !ha1Pattern.MatchString(strings.ToLower(ag.HA1)):
			return nil, fmt.Errorf("service: sip.agents %q: ha1 is not 32 hex digits", ag.ID)
		}
		switch ag.Ring {
		case "":
			ag.Ring = RingBoth
		case RingBrowser, RingSIP, RingBoth:
		default:
			return nil, fmt.Errorf("service: sip.agents %q: ring %q (want browser, sip or both)", ag.ID, ag.Ring)
		}
		ag.HA1 = strings.ToLower(ag.HA1)
		out[ag.ID] = ag
	}
	return out, nil
}

// SIPPhones returns the contacts the agent's phones registered, none when
// no phone is registered or the registrar is off.
func (s *Service) SIPPhones(ctx context.Context, agent string) []string {
	bs, err := s.sip.Contacts(ctx, agent)
	if err != nil {
		return nil
	}
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.Contact.String()
	}
	return out
}
