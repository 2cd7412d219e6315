package service

import (
	"github.com/voxdesk/voxdesk/agentapi"
	"github.com/voxdesk/voxdesk/routing"
)

// monitorOption lets supervisors on the wallboard listen to, whisper to
// and barge into agents' calls: the agent API finds an agent's call
// through the router and taps its bridge (agentapi/monitor.go). It works
// for agents on the browser softphone and on SIP phones alike, since
// both are bridged by the router.
func monitorOption(r *routing.Router) agentapi.Option { return agentapi.WithMonitor(r) }

var _ agentapi.CallFinder = (*routing.Router)(nil)
