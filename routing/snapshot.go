package routing

import (
	"context"
	"sort"
	"time"

	"github.com/voxdesk/voxdesk/call"
)

// AgentStatus is an agent as the wallboard shows them.
type AgentStatus struct {
	ID      string         `json:"id"`
	Name    string         `json:"name,omitempty"`
	State   State          `json:"state"`
	Reason  string         `json:"reason,omitempty"`
	Since   time.Time      `json:"since"`
	Until   time.Time      `json:"until,omitzero"` // in wrap-up: when the agent is made available again
	Skills  map[string]int `json:"skills,omitempty"`
	CallID  string         `json:"call_id,omitempty"` // offered or connected call
	Missed  int            `json:"missed"`            // offers missed in a row
	Handled int            `json:"handled"`           // calls finished since login
}

func (a *agent) status() AgentStatus {
	s := AgentStatus{ID: a.info.ID, Name: a.info.Name, State: a.state, Reason: a.reason, Since: a.since,
		Skills: cloneSkills(a.info.Skills), Missed: a.missed, Handled: a.handled}
	s.CallID = a.callID
	if a.state == StateWrapUp {
		s.Until = a.wrapUntil
	}
	return s
}

// WaitingCall is a call in a queue, in queue order.
type WaitingCall struct {
	CallID    string        `json:"call_id"`
	Caller    string        `json:"caller"`
	Customer  string        `json:"customer,omitempty"`
	Method    string        `json:"method,omitempty"`    // how the caller was identified (call.Method)
	Watchlist string        `json:"watchlist,omitempty"` // fraud watchlist entry the voice matched
	Position  int           `json:"position"`
	Waited    time.Duration `json:"waited"`
	Priority  int           `json:"priority"`
	Callback  bool          `json:"callback"`             // booked call-back
	OfferedTo string        `json:"offered_to,omitempty"` // agent it rings
}

// QueueStats are a queue's live figures since the router started.
type QueueStats struct {
	Name          string        `json:"name"`
	Waiting       int           `json:"waiting"` // incl. ringing and booked call-backs
	Callbacks     int           `json:"callbacks"`
	LongestWait   time.Duration `json:"longest_wait"`
	Staffed       int           `json:"staffed"`   // logged-in agents with the skills, not away
	Available     int           `json:"available"` // of which free now
	EstimatedWait time.Duration `json:"estimated_wait"`
	WaitKnown     bool          `json:"wait_known"`

	Queued       int `json:"queued"`
	Answered     int `json:"answered"`
	AnsweredInSL int `json:"answered_in_sl"`
	Abandoned    int `json:"abandoned"`
	Overflowed   int `json:"overflowed"`
	TimedOut     int `json:"timed_out"`
	// NoAgents counts calls not queued, or sent back to their flow,
	// because no agent able to take them was logged in.
	NoAgents int `json:"no_agents"`
	// ServiceLevel is answered within ServiceLevelThreshold over answered
	// plus abandoned after it; 1 before any call.
	ServiceLevel          float64       `json:"service_level"`
	ServiceLevelThreshold time.Duration `json:"service_level_threshold"`
	AvgSpeedOfAnswer      time.Duration `json:"avg_speed_of_answer"`
	// AbandonRate is abandoned over answered plus abandoned.
	AbandonRate   float64       `json:"abandon_rate"`
	AvgHandleTime time.Duration `json:"avg_handle_time"`

	Calls []WaitingCall `json:"calls"`
}

// Snapshot is the whole router at one instant.
type Snapshot struct {
	Time   time.Time     `json:"time"`
	Queues []QueueStats  `json:"queues"`
	Agents []AgentStatus `json:"agents"`
}

// Snapshot returns the router's queues and agents now. It returns an empty
// Snapshot when the router is not running.
func (r *Router) Snapshot() Snapshot {
	var s Snapshot
	if !r.running.Load() {
		return s
	}
	_ = r.exec(context.Background(), func() { s = r.snapshot() })
	return s
}

func (r *Router) snapshot() Snapshot {
	now := r.clock.Now()
	s := Snapshot{Time: now}
	for _, q := range r.qorder {
		qs := QueueStats{Name: q.cfg.Name, Queued: q.queued, Answered: q.answered, AnsweredInSL: q.answeredInSL,
			Abandoned: q.abandoned, Overflowed: q.overflowed, TimedOut: q.timedOut, NoAgents: q.noAgents,
			ServiceLevel: q.serviceLevel(), ServiceLevelThreshold: q.cfg.ServiceLevel, AvgHandleTime: q.aht}
		if q.answered > 0 {
			qs.AvgSpeedOfAnswer = q.answerWait / time.Duration(q.answered)
		}
		if n := q.answered + q.abandoned; n > 0 {
			qs.AbandonRate = float64(q.abandoned) / float64(n)
		}
		for _, a := range r.agents {
			if a.state != StateAway && a.qualifies(q.skills) {
				qs.Staffed++
				if a.state == StateAvailable {
					qs.Available++
				}
			}
		}
		var es []*entry
		for _, e := range r.entries {
			if e.queue == q.cfg.Name && e.unanswered() {
				es = append(es, e)
			}
		}
		sort.Slice(es, func(i, j int) bool { return before(es[i], es[j]) })
		for i, e := range es {
			w := now.Sub(e.since)
			qs.LongestWait = max(qs.LongestWait, w)
			wc := WaitingCall{CallID: e.id, Caller: e.c.Caller, Customer: customerOf(e.c), Position: i + 1,
				Waited: w, Priority: e.prio, Callback: e.booked}
			wc.Method, _ = e.c.Var(call.VarIdentMethod)
			wc.Watchlist, _ = e.c.Var(call.VarWatchlist)
			if e.booked {
				qs.Callbacks++
				wc.Caller = e.cbNumber
			}
			if e.state == callOffered {
				wc.OfferedTo = e.agentID
			}
			qs.Calls = append(qs.Calls, wc)
		}
		qs.Waiting = len(es)
		qs.EstimatedWait, qs.WaitKnown = r.estimatedWait(q, len(es)+1)
		s.Queues = append(s.Queues, qs)
	}
	for _, a := range r.agents {
		s.Agents = append(s.Agents, a.status())
	}
	sort.Slice(s.Agents, func(i, j int) bool { return s.Agents[i].ID < s.Agents[j].ID })
	return s
}
