package service_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/ivr"
	"github.com/voxdesk/voxdesk/routing"
	"github.com/voxdesk/voxdesk/service"
)

// queueFlow waits in the general queue; when the router refuses the call
// (no agent logged in, or the maximum wait passed) it says goodbye.
const queueFlow = `flow: q
operator: none
steps:
  - id: wait
    queue: general
    fail: sorry
  - id: sorry
    hangup: goodbye
`

// routingSwitch starts a switch whose calls run queueFlow against one
// general queue, with the RTP timeout and queue settings given.
func routingSwitch(t *testing.T, rtpTimeout time.Duration, q routing.QueueConfig) *testSwitch {
	t.Helper()
	flows := t.TempDir()
	if err := os.WriteFile(filepath.Join(flows, "q.yaml"), []byte(queueFlow), 0o644); err != nil {
		t.Fatal(err)
	}
	q.Name = "general"
	return startSwitch(t, func(c *service.Config) {
		c.Media.RTPTimeout = rtpTimeout
		c.IVR = ivr.Settings{Dir: flows, Default: "q"}
		c.Routing = routing.Config{Queues: []routing.QueueConfig{q}}
	})
}

// helloWAV is 1 s of the caller's speech, as a mu-law WAV for SIPp.
func helloWAV(t *testing.T) string {
	t.Helper()
	wav := filepath.Join(t.TempDir(), "hello.wav")
	writeUlawWAV(t, wav, callerSpeech(t)[:8000])
	return wav
}

// loginAway logs an agent of the queue in, away: the queue has someone,
// but nobody answers.
func loginAway(t *testing.T, sw *testSwitch) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := sw.Router().Login(ctx, routing.AgentInfo{ID: "alice"}); err != nil {
		t.Fatal(err)
	}
}

// queueCall runs one SIPp caller who streams 1 s of speech then waits for the
// switch's BYE (scenario silent.xml or wait_bye.xml), waits for the
// switch to be idle, and returns how long the call took and the metrics.
func queueCall(t *testing.T, sw *testSwitch, scenario string, byeWithin time.Duration) (time.Duration, string) {
	t.Helper()
	start := time.Now()
	sipp{scenario: scenario, vars: map[string]string{"WAV": helloWAV(t), "BYE_WITHIN_MS": ms(byeWithin)}}.mustPass(t, sw)
	waitIdle(t, sw, 5*time.Second)
	return time.Since(start), metricsText(t, sw)
}

// TestSecurityRoutingSilentQueuedCaller: a queued caller who stops
// sending RTP, without a BYE, is hung up by the media timeout and leaves
// the queue at once, counted abandoned, never answered (issue 10: such a
// caller stayed queued for minutes, then was answered as dead air and
// counted answered).
func TestSecurityRoutingSilentQueuedCaller(t *testing.T) {
	sw := routingSwitch(t, time.Second, routing.QueueConfig{})
	loginAway(t, sw)
	if d, m := queueCall(t, sw, "silent.xml", 6*time.Second); d > 8*time.Second {
		t.Errorf("the silent caller was let go after %v", d)
	} else {
		t.Logf("silent queued caller (1 s of speech, rtp_timeout 1 s) hung up and out of the queue %v after the INVITE", d.Round(10*time.Millisecond))
		wantMetric(t, m, `voxdesk_routing_calls_queued_total{queue="general"} 1`)
		wantMetric(t, m, `voxdesk_routing_calls_abandoned_total{queue="general"} 1`)
		wantMetric(t, m, `voxdesk_routing_calls_answered_total{queue="general"} 0`)
		wantMetric(t, m, `voxdesk_calls_total{outcome="timeout"} 1`)
	}
	s := sw.Router().Snapshot()
	if len(s.Queues) != 1 || s.Queues[0].Waiting != 0 || s.Queues[0].Abandoned != 1 || s.Queues[0].Answered != 0 {
		t.Fatalf("queue after the call %+v", s.Queues)
	}
	if !regexp.MustCompile(`msg="caller hung up in queue".*call_id=|call_id=\S+.*msg="caller hung up in queue"`).MatchString(sw.log.String()) {
		t.Error("no 'caller hung up in queue' log line with the call_id")
	}
}

// TestSecurityRoutingNoAgentNotQueued: with no agent of the queue logged
// in, the call is not queued: the flow takes its fail: way at once (here:
// goodbye) and the log says why, with the call_id (issue 10: callers
// waited minutes in a queue nobody staffed).
func TestSecurityRoutingNoAgentNotQueued(t *testing.T) {
	sw := routingSwitch(t, 30*time.Second, routing.QueueConfig{})
	d, m := queueCall(t, sw, "wait_bye.xml", 8*time.Second)
	if d > 10*time.Second {
		t.Errorf("hung up after %v", d)
	}
	t.Logf("caller for a queue with no agent logged in: fail: way (goodbye) and BYE %v after the INVITE", d.Round(10*time.Millisecond))
	wantMetric(t, m, `voxdesk_routing_calls_queued_total{queue="general"} 0`)
	wantMetric(t, m, `voxdesk_routing_calls_no_agents_total{queue="general"} 1`)
	wantMetric(t, m, `voxdesk_routing_calls_abandoned_total{queue="general"} 0`)
	log := sw.log.String()
	if !regexp.MustCompile(`call_id=\S+.*not queued: no agent of the queue is logged in|not queued: no agent of the queue is logged in.*call_id=`).MatchString(log) {
		t.Errorf("no 'not queued: no agent...' log line with the call_id")
	}
	if !strings.Contains(log, `msg="ivr: step failed: queue refused the call"`) {
		t.Errorf("the flow did not log taking its fail: way")
	}
}

// TestSecurityRoutingMaxWait: a caller nobody answers leaves the queue
// after its max_wait and the flow goes on to its fail: way; the call is
// counted as timed out, not abandoned or answered.
func TestSecurityRoutingMaxWait(t *testing.T) {
	sw := routingSwitch(t, 30*time.Second, routing.QueueConfig{MaxWait: 2 * time.Second})
	loginAway(t, sw)
	d, m := queueCall(t, sw, "wait_bye.xml", 10*time.Second)
	if d < 2*time.Second {
		t.Errorf("hung up after %v, before the 2 s max_wait", d)
	}
	wantMetric(t, m, `voxdesk_routing_calls_queued_total{queue="general"} 1`)
	wantMetric(t, m, `voxdesk_routing_calls_max_wait_total{queue="general"} 1`)
	wantMetric(t, m, `voxdesk_routing_calls_abandoned_total{queue="general"} 0`)
	wantMetric(t, m, `voxdesk_routing_calls_answered_total{queue="general"} 0`)
}
