package routing_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/routing"
)

// pagePhones stands for the agent API: it would push offers to the
// agent's page over its WebSocket.
type pagePhones struct{}

func (pagePhones) Ring(ctx context.Context, agentID string, o routing.Offer) error { return nil }
func (pagePhones) Cancel(ctx context.Context, agentID, callID, reason string) error {
	return nil
}
func (pagePhones) Leg(ctx context.Context, agentID, callID string) (call.Leg, error) {
	return nil, errors.New("no media in this example")
}

// An agent logs in, with the skills of their profile, and sets themselves
// available; the wallboard sees them staffing the French queue.
func Example() {
	r, err := routing.New(routing.Config{
		Queues: []routing.QueueConfig{{Name: "fr", Skills: []string{"french:2"}}},
		Agents: []routing.AgentInfo{{ID: "ann", Name: "Ann", Skills: map[string]int{"french": 3}}},
	}, routing.WithPhones(pagePhones{}))
	if err != nil {
		fmt.Println(err)
		return
	}
	go r.Run(context.Background())
	defer r.Close()

	ctx := context.Background()
	_ = r.Login(ctx, routing.AgentInfo{ID: "ann"})
	_ = r.SetState(ctx, "ann", routing.StateAvailable, "")
	s := r.Snapshot()
	fmt.Println(s.Agents[0].Name, s.Agents[0].State)
	fmt.Println(s.Queues[0].Name, "staffed", s.Queues[0].Staffed, "service level", s.Queues[0].ServiceLevel)
	// Output:
	// Ann available
	// fr staffed 1 service level 1
}
