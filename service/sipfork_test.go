package service_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/routing"
	"github.com/voxdesk/voxdesk/service"
)

// bobOnPhones is bobOnPhone with n phones registered for bob (n SIPp
// ports of 127.0.0.1, n contacts), returned in order.
func bobOnPhones(t *testing.T, n int, mutate func(*service.Config)) (*testSwitch, []int, context.Context) {
	t.Helper()
	sw, first, ctx := bobOnPhone(t, mutate, 60*time.Second)
	ports := []int{first}
	for len(ports) < n {
		p := freePort(t, "udp")
		register("bob", "bob-phone-secret", "127.0.0.1:"+strconv.Itoa(p), "300", 200, `expires=300`).mustPass(t, sw)
		ports = append(ports, p)
	}
	if ps := phones(t, sw, "bob"); len(ps) != n {
		t.Fatalf("bob's phones: %v, want %d", ps, n)
	}
	return sw, ports, ctx
}

// phonesRing runs one SIPp UAS scenario per phone port and then a
// queued caller, and fails the test unless every one of them passes.
func phonesRing(t *testing.T, sw *testSwitch, ports []int, phones []sipp, callerWaitMS string) {
	t.Helper()
	done := make([]<-chan error, len(phones))
	for i, p := range phones {
		p.port, p.timeout = ports[i], 30*time.Second
		done[i] = runAsync(t, sw, p)
	}
	time.Sleep(300 * time.Millisecond) // SIPp's UAS sockets are bound
	caller := runAsync(t, sw, sipp{scenario: "queued_caller.xml", vars: map[string]string{"WAV": helloWAV(t), "WAIT_MS": callerWaitMS}})
	var failed []string
	for i, d := range done {
		if err := <-d; err != nil {
			failed = append(failed, phones[i].scenario+": "+err.Error())
		}
	}
	if err := <-caller; err != nil {
		failed = append(failed, "caller: "+err.Error())
	}
	if len(failed) > 0 {
		t.Fatalf("%d SIPp runs failed:\n%s", len(failed), strings.Join(failed, "\n\n"))
	}
}

// TestSIPPhoneForkFirstAnswerWins: bob has four phones registered; a
// queued call rings them all at once. One declines at once (486), which
// does not stop the others; one answers after 4 s and gets the call
// (ACK, then BYE when the caller hangs up); one that is still ringing
// gets CANCEL and answers 487; one answers after our CANCEL anyway and
// gets ACK then BYE. bob is busy with one call and ends in wrap-up.
func TestSIPPhoneForkFirstAnswerWins(t *testing.T) {
	sw, ports, ctx := bobOnPhones(t, 4, func(c *service.Config) { c.Routing.WrapUp = time.Minute })
	phonesRing(t, sw, ports, []sipp{
		{scenario: "uas_check.xml", vars: map[string]string{"INVITE_RE": "INVITE", "STATUS": "486", "REASON": "Busy Here", "REFUSE_MS": "0"}},
		{scenario: "uas_slow_answer.xml"},
		{scenario: "uas_ring.xml"},
		{scenario: "uas_late_answer.xml"},
	}, "8000")
	log := sw.log.String()
	if n := strings.Count(log, "answered on the phone"); n != 1 {
		t.Errorf("%d phones answered the call, want 1", n)
	}
	if !strings.Contains(log, "answered after the call was given up") {
		t.Error("the late answer was not logged as hung up")
	}
	if err := waitFor(ctx, "bob in wrap-up", func() bool { return agentState(sw, "bob") == routing.StateWrapUp }); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, sw, 10*time.Second)
}

// TestSIPPhoneForkAllDecline: bob's two phones both decline (486 and
// 603): the offer is declined, as with the page's button, not missed,
// and bob stays available.
func TestSIPPhoneForkAllDecline(t *testing.T) {
	sw, ports, _ := bobOnPhones(t, 2, func(c *service.Config) { c.Routing.ReofferAfter = time.Minute })
	phonesRing(t, sw, ports, []sipp{
		{scenario: "uas_check.xml", vars: map[string]string{"INVITE_RE": "INVITE", "STATUS": "486", "REASON": "Busy Here", "REFUSE_MS": "0"}},
		{scenario: "uas_check.xml", vars: map[string]string{"INVITE_RE": "INVITE", "STATUS": "603", "REASON": "Decline", "REFUSE_MS": "1000"}},
	}, "4000")
	log := sw.log.String()
	if !strings.Contains(log, "phone declined the call") {
		t.Error("the offer was not declined")
	}
	if strings.Contains(log, routing.ReasonMissedOffers) {
		t.Error("the declines counted as a missed offer")
	}
	if s := agentState(sw, "bob"); s != routing.StateAvailable {
		t.Errorf("bob is %s after both phones declined, want available", s)
	}
}
