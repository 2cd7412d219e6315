package service_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/routing"
	"github.com/voxdesk/voxdesk/service"
	"github.com/voxdesk/voxdesk/sip"
)

// withCarol adds carol, a second agent on her SIP phone only, and a
// minute's wrap-up.
func withCarol(c *service.Config) {
	c.Routing.WrapUp = time.Minute
	c.SIP.Agents = append(c.SIP.Agents, service.SIPAgent{
		ID: "carol", HA1: sip.HA1("carol", sip.DefaultRealm, "carol-phone-secret"), Ring: service.RingSIP})
}

// talking makes each sink talk back its speech until the returned
// function is called.
func talking(said map[*rtpSink][]int16) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	var once sync.Once
	for s, pcm := range said {
		wg.Add(1)
		go func() {
			defer wg.Done()
			talkBack(s, pcm, done)
		}()
	}
	return func() { once.Do(func() { close(done); wg.Wait() }) }
}

// consultation is a run of bob's phone consulting carol: the speakers'
// sinks (each looping its own 800 ms of speech, all voiced: the prompt
// ends in silence after 2.6 s) and the SIPp runs.
type consultation struct {
	callerSaid, bobSaid, carolSaid                 []int16
	callerSink, bobSink, bobConsultSink, carolSink *rtpSink
	stop                                           func()
	bob, caller, carol                             <-chan error
}

// consultCarol runs bob's phone scenario (vars added to the answer after
// 300 ms, TALK_MS 1500, TARGET carol) and a caller hanging up after
// waitMS; once bob has the caller, carol's phone registers (so the
// caller is bob's) and runs carolScenario (phone.xml: answers after
// 500 ms).
func consultCarol(t *testing.T, sw *testSwitch, ctx context.Context, bobPort int, scenario string, vars map[string]string, waitMS, carolScenario string) *consultation {
	t.Helper()
	speech := callerSpeech(t)
	if len(speech) < 3*6400 {
		t.Fatalf("the speech prompt has %d samples, want 2.4 s", len(speech))
	}
	c := &consultation{callerSaid: speech[:6400], bobSaid: speech[6400:12800], carolSaid: speech[12800:19200],
		callerSink: newRTPSink(t), bobSink: newRTPSink(t), bobConsultSink: newRTPSink(t), carolSink: newRTPSink(t)}
	c.stop = talking(map[*rtpSink][]int16{c.callerSink: c.callerSaid, c.bobSink: c.bobSaid,
		c.bobConsultSink: c.bobSaid, c.carolSink: c.carolSaid})
	t.Cleanup(c.stop)
	v := map[string]string{"ANSWER_MS": "300", "TALK_MS": "1500", "TARGET": "carol"}
	for k, x := range vars {
		v[k] = x
	}
	c.bob = runAsync(t, sw, sipp{scenario: scenario, port: bobPort, timeout: 60 * time.Second,
		keys: map[string]string{"sink_port": c.bobSink.port(), "consult_port": c.bobConsultSink.port()},
		vars: v, args: []string{"-au", "bob", "-ap", "bob-phone-secret"}})
	time.Sleep(300 * time.Millisecond) // SIPp's UAS socket is bound
	c.caller = runAsync(t, sw, sipp{scenario: "sink_caller.xml", keys: map[string]string{"sink_port": c.callerSink.port()},
		vars: map[string]string{"WAIT_MS": waitMS}, timeout: 60 * time.Second})
	if err := waitFor(ctx, "bob talking to the caller", func() bool { return agentState(sw, "bob") == routing.StateBusy }); err != nil {
		t.Fatal(err)
	}
	carolPort := freePort(t, "udp")
	register("carol", "carol-phone-secret", "127.0.0.1:"+strconv.Itoa(carolPort), "300", 200, `expires=300`).mustPass(t, sw)
	c.carol = runAsync(t, sw, sipp{scenario: carolScenario, port: carolPort, timeout: 60 * time.Second,
		keys: map[string]string{"sink_port": c.carolSink.port()},
		vars: map[string]string{"ANSWER_MS": "500", "INVITE_RE": `INVITE sip:carol@`}})
	return c
}

// TestSIPPhoneAttendedTransfer: bob answers a caller on his SIP phone,
// holds the caller (re-INVITE), calls carol through the switch (digest
// challenge, then credentials): carol's phone rings with the caller's
// offer and answers, bob and carol talk on bob's second line; bob REFERs
// the caller's dialog to carol with Replaces naming that second call
// (RFC 5589 section 7): 202, NOTIFY 200, BYE on both of bob's calls.
// The caller then talks to carol (audio both ways), bob is in wrap-up,
// carol busy; when the caller hangs up, carol goes to wrap-up.
func TestSIPPhoneAttendedTransfer(t *testing.T) {
	sw, bobPort, ctx := bobOnPhone(t, withCarol, 90*time.Second)
	c := consultCarol(t, sw, ctx, bobPort, "phone_attended.xml", map[string]string{"CONSULT_MS": "3000"}, "16000", "phone.xml")
	if err := waitFor(ctx, "carol available", func() bool { return agentState(sw, "carol") == routing.StateAvailable }); err != nil {
		t.Fatal(err)
	}
	if err := <-c.bob; err != nil {
		t.Fatalf("bob's phone: %v", err)
	}
	if err := waitFor(ctx, "bob in wrap-up, carol talking", func() bool {
		return agentState(sw, "bob") == routing.StateWrapUp && agentState(sw, "carol") == routing.StateBusy
	}); err != nil {
		t.Fatalf("%v (bob %s, carol %s)", err, agentState(sw, "bob"), agentState(sw, "carol"))
	}
	if err := <-c.caller; err != nil {
		t.Fatalf("caller: %v", err)
	}
	if err := <-c.carol; err != nil {
		t.Fatalf("carol's phone: %v", err)
	}
	if err := waitFor(ctx, "carol in wrap-up", func() bool { return agentState(sw, "carol") == routing.StateWrapUp }); err != nil {
		t.Fatal(err)
	}
	c.stop()
	checkHeard(t, "the caller hears carol", c.callerSink, c.carolSaid)
	checkHeard(t, "carol hears the caller", c.carolSink, c.callerSaid)
	checkHeard(t, "carol hears bob in the consultation", c.carolSink, c.bobSaid)
	checkHeard(t, "bob hears carol on his second line", c.bobConsultSink, c.carolSaid)
	for _, want := range []string{"consultation connected on the phone", "attended transfer from the phone"} {
		if !strings.Contains(sw.log.String(), want) {
			t.Errorf("no %q in the log", want)
		}
	}
	waitIdle(t, sw, 10*time.Second)
}

// TestSIPPhoneAttendedTransferRefused: an INVITE from an agent's phone
// without credentials gets 401, with a wrong secret 403, and from a phone
// with no caller to consult on 403; bob, talking to a caller, holds it
// and calls an unknown agent: 404; his REFER whose Replaces names no
// dialog gets 202 and a NOTIFY 481 (RFC 5589 section 7). Through all of
// it the caller stays with bob, who is busy until he hangs up.
func TestSIPPhoneAttendedTransferRefused(t *testing.T) {
	sw, bobPort, ctx := bobOnPhone(t, withCarol, 60*time.Second)
	agentInvite := func(secret, status, reason string) sipp {
		return sipp{scenario: "agent_invite.xml", timeout: 10 * time.Second,
			vars: map[string]string{"TARGET": "carol", "STATUS": status, "REASON_RE": reason},
			args: []string{"-au", "bob", "-ap", secret}}
	}
	agentInvite("wrong-secret", "403", `SIP/2.0 403 Forbidden`).mustPass(t, sw)
	agentInvite("bob-phone-secret", "403", `SIP/2.0 403 No Call To Consult On`).mustPass(t, sw)
	if s := agentState(sw, "bob"); s != routing.StateAvailable {
		t.Fatalf("bob is %s after the refused INVITEs, want available", s)
	}

	bobSink, callerSink := newRTPSink(t), newRTPSink(t)
	stop := talking(map[*rtpSink][]int16{bobSink: callerSpeech(t)[8000:16000], callerSink: callerSpeech(t)[:8000]})
	defer stop()
	bob := runAsync(t, sw, sipp{scenario: "phone_attended_refused.xml", port: bobPort, timeout: 40 * time.Second,
		keys: map[string]string{"sink_port": bobSink.port(), "consult_port": strconv.Itoa(freePort(t, "udp"))},
		vars: map[string]string{"ANSWER_MS": "300", "TALK_MS": "1500", "TARGET": "nobody", "STATUS": "404"},
		args: []string{"-au", "bob", "-ap", "bob-phone-secret"}})
	time.Sleep(300 * time.Millisecond) // SIPp's UAS socket is bound
	caller := runAsync(t, sw, sipp{scenario: "sink_caller.xml", keys: map[string]string{"sink_port": callerSink.port()},
		vars: map[string]string{"WAIT_MS": "20000"}, timeout: 40 * time.Second})
	if err := waitFor(ctx, "the Replaces refused", func() bool {
		return strings.Contains(sw.log.String(), "Replaces names no dialog")
	}); err != nil {
		t.Fatal(err)
	}
	if s := agentState(sw, "bob"); s != routing.StateBusy {
		t.Errorf("bob is %s after the refused transfer, want busy with the caller", s)
	}
	if err := <-bob; err != nil {
		t.Fatalf("bob's phone: %v", err)
	}
	if err := waitFor(ctx, "bob in wrap-up", func() bool { return agentState(sw, "bob") == routing.StateWrapUp }); err != nil {
		t.Fatal(err)
	}
	if s := agentState(sw, "carol"); s != routing.StateLoggedOut {
		t.Errorf("carol is %s, want logged out (her phone never registered)", s)
	}
	for _, want := range []string{"agent call refused", "status=404"} {
		if !strings.Contains(sw.log.String(), want) {
			t.Errorf("no %q in the log", want)
		}
	}
	<-caller
	waitIdle(t, sw, 10*time.Second)
}

// TestSIPPhoneConsultationGivenUp: bob, on his SIP phone, holds the
// caller and calls the queue general through the switch, which rings its
// one available agent, carol; carol answers, then bob
// hangs that call up (the page's cancel): the consultation ends, carol's
// phone gets BYE and she is free again, and bob takes the caller back
// (re-INVITE a=sendrecv): the caller hears him again until he hangs up
// and goes to wrap-up.
func TestSIPPhoneConsultationGivenUp(t *testing.T) {
	sw, bobPort, ctx := bobOnPhone(t, withCarol, 90*time.Second)
	c := consultCarol(t, sw, ctx, bobPort, "phone_attended_cancel.xml", map[string]string{"CONSULT_MS": "3000", "RESUMED_MS": "4000", "TARGET": "general"}, "25000", "phone.xml")
	if err := waitFor(ctx, "carol consulted", func() bool { return agentState(sw, "carol") == routing.StateBusy }); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(ctx, "carol free again", func() bool { return agentState(sw, "carol") == routing.StateAvailable }); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	if s := agentState(sw, "bob"); s != routing.StateBusy {
		t.Errorf("bob is %s once the consultation is given up, want busy with the caller", s)
	}
	if err := <-c.carol; err != nil {
		t.Fatalf("carol's phone: %v", err)
	}
	if err := <-c.bob; err != nil {
		t.Fatalf("bob's phone: %v", err)
	}
	if err := waitFor(ctx, "bob in wrap-up", func() bool { return agentState(sw, "bob") == routing.StateWrapUp }); err != nil {
		t.Fatal(err)
	}
	if s := agentState(sw, "carol"); s != routing.StateAvailable {
		t.Errorf("carol is %s after the consultation, want available", s)
	}
	<-c.caller
	c.stop()
	checkHeard(t, "carol hears bob in the consultation", c.carolSink, c.bobSaid)
	checkHeardSince(t, "the caller hears bob again", c.callerSink, c.bobSaid, back)
	for _, want := range []string{"consulted=carol queue=general", "the phone ended its consultation call", "reason=cancelled"} {
		if !strings.Contains(sw.log.String(), want) {
			t.Errorf("no %q in the log", want)
		}
	}
	if strings.Contains(sw.log.String(), "transferred after consultation") {
		t.Error("the call was transferred")
	}
	waitIdle(t, sw, 10*time.Second)
}

// TestSIPPhoneConsultationDeclined: carol's phone declines the
// consultation bob's phone places (486): his INVITE gets 486, carol stays
// available, and the caller is still bob's, who holds it until he hangs
// up (his REFER naming no dialog on the way gets NOTIFY 481).
func TestSIPPhoneConsultationDeclined(t *testing.T) {
	sw, bobPort, ctx := bobOnPhone(t, withCarol, 60*time.Second)
	c := consultCarol(t, sw, ctx, bobPort, "phone_attended_refused.xml", map[string]string{"STATUS": "486"}, "20000", "uas_busy.xml")
	if err := <-c.carol; err != nil {
		t.Fatalf("carol's phone: %v", err)
	}
	if err := waitFor(ctx, "the REFER answered", func() bool {
		return strings.Contains(sw.log.String(), "Replaces names no dialog")
	}); err != nil {
		t.Fatal(err)
	}
	if b, cs := agentState(sw, "bob"), agentState(sw, "carol"); b != routing.StateBusy || cs != routing.StateAvailable {
		t.Errorf("after the decline bob is %s, carol %s; want busy with the caller, available", b, cs)
	}
	if err := <-c.bob; err != nil {
		t.Fatalf("bob's phone: %v", err)
	}
	if err := waitFor(ctx, "bob in wrap-up", func() bool { return agentState(sw, "bob") == routing.StateWrapUp }); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sw.log.String(), "reason=declined") {
		t.Error("no consultation declined in the log")
	}
	<-c.caller
	waitIdle(t, sw, 10*time.Second)
}
