package service

import "github.com/voxdesk/voxdesk/agentapi"

// ringModes says where an agent's calls ring now, as chosen in the agent's
// page (ok false: no choice to offer); *agentapi.Server implements it.
type ringModes interface {
	RingMode(agent string) (mode string, ok bool)
}

var _ ringModes = (*agentapi.Server)(nil)

// modes returns the configured ring mode of each SIP agent who can
// register a phone (has an ha1): the default the page's choice starts from.
func (a sipAccounts) modes() map[string]string {
	out := make(map[string]string, len(a))
	for id, ag := range a {
		if ag.HA1 != "" {
			out[id] = ag.Ring
		}
	}
	return out
}

// ringMode is where agent's calls ring: the choice made in the agent's
// page, else sip.agents[].ring.
func (p *sipPhones) ringMode(agent string) string {
	if p.svc.api != nil {
		var m ringModes = p.svc.api
		if mode, ok := m.RingMode(agent); ok {
			return mode
		}
	}
	return p.accounts.ring(agent)
}
