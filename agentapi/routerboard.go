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
		})
	}
	for _, a := range s.Agents {
		b.Agents = append(b.Agents, AgentView{ID: a.ID, Name: a.Name, State: string(a.State), Reason: a.Reason})
	}
	return b
}
