package agentapi

import (
	"sync"
	"time"

	"github.com/voxdesk/voxdesk/routing"
)

// Occupancy is the share of time taking calls that was spent on calls,
// over three windows: the last 15 minutes, the last 60 minutes and the
// shift (since the agent logged in). As Genesys Cloud and Amazon Connect
// count it, time on calls is talking (with hold) and wrap-up; time taking
// calls adds the time available or ringing; away time counts in neither.
// A window without time taking calls is nil (shown as "-").
type Occupancy struct {
	Last15 *float64 `json:"last_15m"`
	Last60 *float64 `json:"last_60m"`
	Shift  *float64 `json:"shift"`
}

// Occupancy windows.
const (
	occShort = 15 * time.Minute
	occLong  = 60 * time.Minute
)

// occupancyLog follows the agents' routing states (routing.
// EventAgentState, fed by RoutingEvent) to compute their occupancy over
// time. The zero value is ready to use.
type occupancyLog struct {
	mu     sync.Mutex
	agents map[string]*agentUse
}

// agentUse is how one agent's time was spent.
type agentUse struct {
	state routing.State // "" before the first event
	since time.Time     // start of state
	shift time.Time     // login; zero while logged out
	// spans are the closed periods taking calls of the last hour, oldest
	// first; shiftOn and shiftBusy add up those of the shift.
	spans              []useSpan
	shiftOn, shiftBusy time.Duration
}

type useSpan struct {
	from, to time.Time
	busy     bool
}

func takingCalls(s routing.State) bool {
	return s == routing.StateAvailable || s == routing.StateOffered || onCall(s)
}

func onCall(s routing.State) bool { return s == routing.StateBusy || s == routing.StateWrapUp }

// observe records an agent's change of state.
func (l *occupancyLog) observe(ev routing.Event) {
	if ev.Type != routing.EventAgentState || ev.AgentStatus == nil || ev.Agent == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.agents == nil {
		l.agents = map[string]*agentUse{}
	}
	a := l.agents[ev.Agent]
	if a == nil {
		a = &agentUse{}
		l.agents[ev.Agent] = a
	}
	next, t := ev.AgentStatus.State, ev.Time
	if takingCalls(a.state) && t.After(a.since) {
		sp := useSpan{from: a.since, to: t, busy: onCall(a.state)}
		a.spans = append(a.spans, sp)
		a.shiftOn += t.Sub(a.since)
		if sp.busy {
			a.shiftBusy += t.Sub(a.since)
		}
	}
	switch {
	case next == routing.StateLoggedOut:
		a.shift, a.shiftOn, a.shiftBusy = time.Time{}, 0, 0
	case a.shift.IsZero():
		a.shift = t // a login, or the first state seen
	}
	a.state, a.since = next, t
	i := 0
	for i < len(a.spans) && a.spans[i].to.Before(t.Add(-occLong)) {
		i++
	}
	a.spans = a.spans[i:]
}

// window returns the time taking calls and the time on calls of a in
// [from, now].
func (a *agentUse) window(from, now time.Time) (on, busy time.Duration) {
	add := func(s, e time.Time, b bool) {
		s = later(s, from)
		if e.After(now) {
			e = now
		}
		if d := e.Sub(s); d > 0 {
			on += d
			if b {
				busy += d
			}
		}
	}
	for _, sp := range a.spans {
		add(sp.from, sp.to, sp.busy)
	}
	if takingCalls(a.state) {
		add(a.since, now, onCall(a.state))
	}
	return on, busy
}

// shiftTotals returns the time taking calls and on calls since login.
func (a *agentUse) shiftTotals(now time.Time) (on, busy time.Duration) {
	on, busy = a.shiftOn, a.shiftBusy
	if takingCalls(a.state) && now.After(a.since) {
		on += now.Sub(a.since)
		if onCall(a.state) {
			busy += now.Sub(a.since)
		}
	}
	return on, busy
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// occTotals sums the three windows' durations.
type occTotals struct{ on, busy [3]time.Duration }

func (t *occTotals) add(o occTotals) {
	for i := range t.on {
		t.on[i] += o.on[i]
		t.busy[i] += o.busy[i]
	}
}

func (t occTotals) view() *Occupancy {
	share := func(i int) *float64 {
		if t.on[i] <= 0 {
			return nil
		}
		x := float64(t.busy[i]) / float64(t.on[i])
		return &x
	}
	return &Occupancy{Last15: share(0), Last60: share(1), Shift: share(2)}
}

// fill sets the occupancy of the board's agents (those followed) and of
// the team (their sum) at now.
func (l *occupancyLog) fill(b *Board, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var team occTotals
	seen := false
	for i := range b.Agents {
		a := l.agents[b.Agents[i].ID]
		if a == nil || a.state == "" {
			continue
		}
		var t occTotals
		t.on[0], t.busy[0] = a.window(now.Add(-occShort), now)
		t.on[1], t.busy[1] = a.window(now.Add(-occLong), now)
		t.on[2], t.busy[2] = a.shiftTotals(now)
		b.Agents[i].Occupancy = t.view()
		team.add(t)
		seen = true
	}
	if seen {
		b.Occupancy = team.view()
	}
}
