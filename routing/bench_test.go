package routing

import (
	"fmt"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/call/calltest"
)

// BenchmarkDispatch measures one pass of the dispatcher, which runs after
// every operation of the loop, with many calls waiting and agents mostly
// busy (the loaded case), for a size ladder.
func BenchmarkDispatch(b *testing.B) {
	for _, size := range []struct{ calls, agents, free int }{{50, 20, 0}, {500, 200, 0}, {500, 200, 1}, {2000, 500, 1}} {
		b.Run(fmt.Sprintf("calls=%d/agents=%d/free=%d", size.calls, size.agents, size.free), func(b *testing.B) {
			clk := newFakeClock()
			r, err := New(Config{Queues: []QueueConfig{{Name: "q", Skills: []string{"s"}}}}, WithClock(clk), WithPhones(newFakePhones()))
			if err != nil {
				b.Fatal(err)
			}
			q := r.queues["q"]
			for i := range size.agents {
				a := &agent{agentData: agentData{info: AgentInfo{ID: fmt.Sprint("a", i), Skills: map[string]int{"s": 1}}, state: StateBusy}}
				r.agents[a.info.ID] = a
			}
			for i := range size.calls {
				c := call.New(fmt.Sprint("c", i), calltest.NewLeg(), nil)
				e := &entry{c: c, log: c.Log, w: newWaiter(c.Log), entryData: entryData{id: c.ID, queue: q.cfg.Name, skills: q.skills,
					since: clk.Now().Add(time.Duration(i)), seq: uint64(i), tried: map[string]time.Time{}}}
				r.entries[e.id] = e
			}
			// free agents are offered a call each pass; put them back after.
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				n := 0
				for _, a := range r.agents {
					if n < size.free {
						a.state, a.callID = StateAvailable, ""
						n++
					}
				}
				for _, e := range r.entries {
					if e.state == callOffered {
						r.stopTimer(&e.offerTimer)
						e.state, e.agentID = callWaiting, ""
					}
				}
				r.phoneq.take()
				r.events.take()
				b.StartTimer()
				r.dispatch()
			}
		})
	}
}
