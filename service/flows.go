package service

import (
	"fmt"
	"io/fs"

	"github.com/voxdesk/voxdesk/ivr"
	"github.com/voxdesk/voxdesk/res"
)

// FlowOptions are the options the switch loads its flows with: the
// built-in prompts, and the switch's queues and agents' skills that a
// flow's queue and call-back steps must name, and the calendar overrides
// (ivr.calendars). `voxdesk flow check
// --config` checks flows with the same options, so a flow it passes is
// one the switch accepts.
func (c *Config) FlowOptions() (ivr.Options, error) {
	builtin, err := fs.Sub(res.Prompts, "prompts")
	if err != nil {
		return ivr.Options{}, fmt.Errorf("service: embedded prompts: %w", err)
	}
	return ivr.Options{Builtin: builtin, Switch: c.Catalog(), Calendars: c.IVR.Calendars}, nil
}

// Catalog lists the queues (routing.queues) and the skills of the agents
// (agents.accounts and routing.agents) flows are checked against. With
// no queues there is no router: queue steps hold the caller and their
// names are not checked. With no agent skills configured, skills are not
// checked. A switch that cannot record (no store, no key) refuses record
// steps.
func (c *Config) Catalog() *ivr.Catalog {
	cat := &ivr.Catalog{}
	for _, q := range c.Routing.Queues {
		cat.Queues = append(cat.Queues, q.Name)
	}
	add := func(skills map[string]int) {
		for s, lv := range skills {
			if cat.Skills == nil {
				cat.Skills = map[string]int{}
			}
			cat.Skills[s] = max(cat.Skills[s], lv)
		}
	}
	for _, a := range c.Agents.Accounts {
		add(a.Skills)
	}
	for _, a := range c.Routing.Agents {
		add(a.Skills)
	}
	cat.NoRecording = c.noRecording()
	return cat
}
