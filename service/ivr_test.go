package service_test

import (
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/media"
	"github.com/voxdesk/voxdesk/service"
)

// TestExampleConfigServesTheHotline: the example configuration routes a
// call into the hotline flow of examples/flows, whose welcome prompt
// reaches the caller.
func TestExampleConfigServesTheHotline(t *testing.T) {
	mutate := exampleConfig(t)
	var flows string
	sw := startSwitch(t, func(c *service.Config) {
		mutate(c)
		flows = c.IVR.Dir
		for i := range c.Routing.Queues {
			c.Routing.Queues[i].JoinEmpty = true // queued with no agent logged in, below
		}
	})
	welcome, err := media.LoadPrompt(filepath.Join(flows, "prompts", "hotline_welcome.wav"))
	if err != nil {
		t.Fatal(err)
	}
	sink := newRTPSink(t)
	listen := welcome.Duration() + time.Second
	sipp{scenario: "listener.xml", vars: map[string]string{"PAUSE_MS": ms(listen)}, keys: map[string]string{"sink_port": sink.port()}}.mustPass(t, sw)
	waitIdle(t, sw, 5*time.Second)
	frames, _ := promptFrames(sink.packets(), welcome.Samples)
	if want := (len(welcome.Samples) + 159) / 160; frames != want {
		t.Errorf("%d of the hotline welcome's %d frames reached the caller", frames, want)
	}
	wantMetric(t, metricsText(t, sw), `voxdesk_calls_total{outcome="completed"} 1`)

	// Pressing 0 reaches a person: the call enters the general queue of
	// the router (no agent is logged in; join_empty lets it wait there
	// until the caller hangs up).
	sipp{scenario: "press0.xml", vars: map[string]string{"WAIT_MS": "2000"}}.mustPass(t, sw)
	waitIdle(t, sw, 5*time.Second)
	m := metricsText(t, sw)
	wantMetric(t, m, `voxdesk_routing_calls_queued_total{queue="general"} 1`)
	wantMetric(t, m, `voxdesk_routing_calls_abandoned_total{queue="general"} 1`)
	// The demo customers were imported and the agent pages are served.
	res, err := http.Get("http://" + sw.HTTPAddr().String() + "/agent.html")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("GET /agent.html: %s", res.Status)
	}
}
