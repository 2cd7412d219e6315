package agentapi

import (
	"context"

	"github.com/voxdesk/voxdesk/routing"
)

// Snapshotter gives the router's live figures; *routing.Router implements
// it.
type Snapshotter interface {
	Snapshot() routing.Snapshot
}

// RouterBoard adapts the router's snapshots to the wallboard.
func RouterBoard(r Snapshotter) Boarder {
	return BoarderFunc(func(ctx context.Context) (Board, error) {
		return boardOf(r.Snapshot()), nil
	})
}

func boardOf(s routing.Snapshot) Board {
	b := Board{At: s.Time, Queues: make([]QueueStats, 0, len(s.Queues)), Agents: make([]AgentView, 0, len(s.Agents))}
	for _, q := range s.Queues {
		b.Queues = append(b.Queues, QueueStats{
			Name: q.Name, Waiting: q.Waiting, LongestWait: q.LongestWait.Seconds(),
			ServiceLevel: q.ServiceLevel, ASA: q.AvgSpeedOfAnswer.Seconds(),
			Answered: q.Answered, Abandoned: q.Abandoned, Offered: q.Queued,
			AvgHandle: q.AvgHandleTime.Seconds(), Staffed: q.Staffed, Calls: waitingOf(q.Calls),
		})
	}
	for _, a := range s.Agents {
		b.Agents = append(b.Agents, AgentView{ID: a.ID, Name: a.Name, State: string(a.State), Reason: a.Reason,
			Since: a.Since, Until: a.Until, Call: a.CallID, Handled: a.Handled})
	}
	return b
}

// CallbackBooker books call-backs; *routing.Router implements it.
type CallbackBooker interface {
	BookCallback(ctx context.Context, req routing.CallbackRequest) (string, error)
	CallbackStatus(ctx context.Context, id string) (routing.CallbackStatus, error)
	CancelCallback(ctx context.Context, id string) error
}

// RouterCallbacks adapts the router's call-back booking to the website's
// "call me back".
func RouterCallbacks(b CallbackBooker) Callbacks { return routerCallbacks{b} }

type routerCallbacks struct{ b CallbackBooker }

func (rc routerCallbacks) Book(ctx context.Context, r CallbackRequest) (string, error) {
	return rc.b.BookCallback(ctx, routing.CallbackRequest{Number: r.Phone, Queue: r.Queue, Customer: r.Customer, Vars: r.Vars})
}

func (rc routerCallbacks) Status(ctx context.Context, id string) (CallbackStatus, error) {
	st, err := rc.b.CallbackStatus(ctx, id)
	if err != nil {
		return CallbackStatus{}, err
	}
	return CallbackStatus{State: st.State, Position: st.Position, EstimatedWait: st.EstimatedWait.Seconds(), WaitKnown: st.WaitKnown}, nil
}

func (rc routerCallbacks) Cancel(ctx context.Context, id string) error {
	return rc.b.CancelCallback(ctx, id)
}

func waitingOf(calls []routing.WaitingCall) []WaitingView {
	if len(calls) == 0 {
		return nil
	}
	out := make([]WaitingView, 0, len(calls))
	for _, c := range calls {
		out = append(out, WaitingView{Call: c.CallID, Caller: c.Caller, Customer: c.Customer, Method: c.Method,
			Watchlist: c.Watchlist, Waited: c.Waited.Seconds(), Callback: c.Callback, OfferedTo: c.OfferedTo})
	}
	return out
}
