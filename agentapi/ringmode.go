package agentapi

import (
	"fmt"
	"maps"
	"sync"
)

// Ring modes: where an agent's calls ring (MsgRing).
const (
	RingBrowser = "browser" // the agent page only
	RingSIP     = "sip"     // the agent's registered SIP phone only (the page still shows the offer and file)
	RingBoth    = "both"    // page and phone; the first to answer takes the call
)

// ringChoices holds where each agent with a SIP phone account wants their
// calls to ring: the mode chosen in their page, else the configured one.
// Choices live as long as the switch runs.
type ringChoices struct {
	mu       sync.Mutex
	defaults map[string]string // configured (sip.agents[].ring), by agent
	chosen   map[string]string // chosen in the page, by agent
}

// WithRingModes lets the agents with a SIP phone account choose in their
// page where their calls ring (MsgRing); defaults maps each such agent to
// the configured mode (RingBrowser, RingSIP or RingBoth). Agents not in
// defaults ring in the page only and cannot choose.
func WithRingModes(defaults map[string]string) Option {
	return func(s *Server) { s.ring.defaults = maps.Clone(defaults) }
}

// RingMode returns where agent's calls ring now: the mode the agent chose
// in the page, else the configured one. ok is false for an agent without a
// SIP phone account (their calls ring the page).
func (s *Server) RingMode(agent string) (mode string, ok bool) {
	r := &s.ring
	r.mu.Lock()
	defer r.mu.Unlock()
	mode, ok = r.defaults[agent]
	if c, chosen := r.chosen[agent]; ok && chosen {
		mode = c
	}
	return mode, ok
}

// setRingMode records the agent's choice (a mode checked by
// ClientMessage.validate).
func (s *Server) setRingMode(c *agentConn, mode string) error {
	r := &s.ring
	r.mu.Lock()
	_, ok := r.defaults[c.acct.ID]
	if ok {
		if r.chosen == nil {
			r.chosen = map[string]string{}
		}
		r.chosen[c.acct.ID] = mode
	}
	r.mu.Unlock()
	if !ok {
		return fmt.Errorf("agentapi: ring mode: %s has no SIP phone account (sip.agents): calls ring this page", c.acct.ID)
	}
	c.log.Info("ring mode chosen", "ring", mode)
	return nil
}
