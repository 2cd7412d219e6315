package service_test

import (
	"sync"

	"context"
	"github.com/pion/rtp"
	"github.com/voxdesk/voxdesk/media/dtmf"
	"github.com/voxdesk/voxdesk/media/g711"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/ivr"
	"github.com/voxdesk/voxdesk/routing"
	"github.com/voxdesk/voxdesk/service"
	"github.com/voxdesk/voxdesk/sip"
)

// identifyQueueFlow identifies the caller by number, then queues.
const identifyQueueFlow = `flow: q
operator: none
steps:
  - id: who
    identify: reason
    listen: 1s
  - id: wait
    queue: general
    fail: sorry
  - id: sorry
    hangup: goodbye
`

// phoneSwitch runs a switch with one queue, customers whose file the
// caller's number (+33140000001, SIPp's) finds, and bob, an agent who
// takes calls on his SIP phone only.
func phoneSwitch(t *testing.T, mutate func(*service.Config)) *testSwitch {
	t.Helper()
	return numberSwitch(t, 10*time.Second, func(c *service.Config) {
		c.SIP.Agents = []service.SIPAgent{
			{ID: "bob", HA1: sip.HA1("bob", sip.DefaultRealm, "bob-phone-secret"), Ring: service.RingSIP},
		}
		if mutate != nil {
			mutate(c)
		}
	})
}

// numberSwitch runs a switch whose flow identifies callers by number and
// queues them in "general" (+33140000001, SIPp's, is Zoé Lambert's,
// C-7), offers ringing for offerTimeout; agents adds the agents.
func numberSwitch(t *testing.T, offerTimeout time.Duration, agents func(*service.Config)) *testSwitch {
	t.Helper()
	flows := t.TempDir()
	if err := os.WriteFile(filepath.Join(flows, "q.yaml"), []byte(identifyQueueFlow), 0o644); err != nil {
		t.Fatal(err)
	}
	csv := filepath.Join(t.TempDir(), "customers.csv")
	if err := os.WriteFile(csv, []byte("id,name,phones,segment,vip\nC-7,Zoé Lambert,+33140000001,retail,false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return startSwitch(t, func(c *service.Config) {
		c.IVR = ivr.Settings{Dir: flows, Default: "q"}
		c.Routing = routing.Config{OfferTimeout: offerTimeout, Queues: []routing.QueueConfig{{Name: "general"}}}
		c.Customer.DSN = "sqlite:" + filepath.Join(t.TempDir(), "customers.db")
		c.Customer.Import = csv
		agents(c)
	})
}

// bobOnPhone starts phoneSwitch, registers bob's phone at a free port of
// 127.0.0.1 and waits for him to be available; the context bounds the test.
func bobOnPhone(t *testing.T, mutate func(*service.Config), within time.Duration) (*testSwitch, int, context.Context) {
	t.Helper()
	sw := phoneSwitch(t, mutate)
	phonePort := freePort(t, "udp")
	register("bob", "bob-phone-secret", "127.0.0.1:"+strconv.Itoa(phonePort), "300", 200, `expires=300`).mustPass(t, sw)
	ctx, cancel := context.WithTimeout(context.Background(), within)
	t.Cleanup(cancel)
	if err := waitFor(ctx, "bob available", func() bool { return agentState(sw, "bob") == routing.StateAvailable }); err != nil {
		t.Fatal(err)
	}
	return sw, phonePort, ctx
}

func agentState(sw *testSwitch, id string) routing.State {
	for _, a := range sw.Router().Snapshot().Agents {
		if a.ID == id {
			return a.State
		}
	}
	return routing.StateLoggedOut
}

// TestSIPPhoneRingsWithCustomer: bob's phone (SIPp) registers, which logs
// him in available; a caller identified by number is queued and bob's
// phone rings with the customer's name and a Call-Info pointing at the
// file; the phone answers and streams audio; the caller hangs up, the
// phone gets BYE and bob goes to wrap-up.
func TestSIPPhoneRingsWithCustomer(t *testing.T) {
	sw, phonePort, ctx := bobOnPhone(t, nil, 30*time.Second)
	callPhone(t, ctx, sw, phonePort)
}

// callPhone: a caller identified as C-7 is queued; bob's phone (SIPp on
// phonePort) rings with the customer's name and Call-Info, answers after
// 500 ms; caller and phone hear each other; the caller hangs up, the
// phone gets BYE and bob goes to wrap-up.
func callPhone(t *testing.T, ctx context.Context, sw *testSwitch, phonePort int) {
	t.Helper()
	speech := callerSpeech(t)
	// The SDPs of the caller and the phone name sockets of the test, which
	// record what they receive and talk back from the same port
	// (symmetric RTP): the caller says one thing, the agent another.
	phoneSink, callerSink := newRTPSink(t), newRTPSink(t)
	stopTalk := make(chan struct{})
	var talkers sync.WaitGroup
	for _, c := range []struct {
		s   *rtpSink
		pcm []int16
	}{{phoneSink, speech[8000:16000]}, {callerSink, speech[:8000]}} {
		talkers.Add(1)
		go func() {
			defer talkers.Done()
			talkBack(c.s, c.pcm, stopTalk)
		}()
	}
	defer func() { close(stopTalk); talkers.Wait() }()
	phone := make(chan string, 1)
	go func() {
		code, report := sipp{scenario: "phone.xml", port: phonePort, timeout: 30 * time.Second,
			keys: map[string]string{"sink_port": phoneSink.port()},
			vars: map[string]string{"ANSWER_MS": "500",
				"INVITE_RE": `From: .Zo.{1,2} Lambert. .sip:\+33140000001@[^>]*>.*Call-Info: .http://127[.]0[.]0[.]1:[0-9]+/api/admin/customers[?]q=C-7>;purpose=info`}}.run(t, sw)
		if code != 0 {
			report = "FAILED " + report
		}
		phone <- report
	}()
	time.Sleep(300 * time.Millisecond) // SIPp's UAS socket is bound
	sipp{scenario: "sink_caller.xml", keys: map[string]string{"sink_port": callerSink.port()},
		vars: map[string]string{"WAIT_MS": "5000"}}.mustPass(t, sw)
	select {
	case report := <-phone:
		if strings.HasPrefix(report, "FAILED") {
			t.Fatalf("phone:\n%s", report)
		}
	case <-ctx.Done():
		t.Fatal("phone scenario did not end")
	}
	// Audio both ways: the phone hears the caller, the caller the phone.
	checkHeard(t, "the phone hears the caller", phoneSink, speech[:8000])
	checkHeard(t, "the caller hears the phone", callerSink, speech[8000:16000])
	if !strings.Contains(sw.log.String(), "answered on the phone") {
		t.Error("no 'answered on the phone' in the log")
	}
	if err := waitFor(ctx, "bob in wrap-up or available", func() bool {
		s := agentState(sw, "bob")
		return s == routing.StateWrapUp || s == routing.StateAvailable
	}); err != nil {
		t.Fatal(err)
	}
}

// checkHeard fails the test unless what s received (at least 2 s) holds
// all of said, up to 1 s of speech looped by the far end, in 100 ms parts.
func checkHeard(t *testing.T, who string, s *rtpSink, said []int16) {
	t.Helper()
	checkHeardSince(t, who, s, said, time.Time{})
}

// checkHeardSince is checkHeard on what s received after since.
func checkHeardSince(t *testing.T, who string, s *rtpSink, said []int16, since time.Time) {
	t.Helper()
	var rec []int16
	for _, p := range s.packets() {
		if p.at.After(since) {
			rec = append(rec, p.pcm...)
		}
	}
	ref := ulawRoundTrip(said)
	if len(rec) < 2*8000 {
		t.Errorf("%s: only %d samples received", who, len(rec))
		return
	}
	// Each 100 ms part of the looped speech must arrive
	// intact (correlation >= 0.95) in at least one of the call's four
	// passes, so a frame concealed on a loaded machine spoils one pass
	// but not the test, while a fault of the path, which damages the
	// same part in every pass, fails it (the caller's playout used to
	// resume 32 ms behind the newest audio after the agent's phone
	// rang: media TestReaderRejoinsLiveStreamAfterPause). No audio or
	// the wrong audio matches nothing (best 0.23 measured with the
	// other speaker's part).
	matched, worst, parts := 0, 1.0, len(ref)/800
	for i := 0; i+800 <= len(ref); i += 800 {
		corr, _ := bestCorrelation(rec, ref[i:i+800], len(rec)-800)
		worst = min(worst, corr)
		if corr >= 0.95 {
			matched++
		}
	}
	t.Logf("%s: %d samples, %d of %d 100 ms parts matched >= 0.95, worst %.3f", who, len(rec), matched, parts, worst)
	if matched < parts {
		t.Errorf("%s: %d of %d 100 ms parts of the speech arrived (correlation >= 0.95), want all", who, matched, parts)
	}
}

// TestSIPPhoneExpiredNotOffered: bob's registration expires, which logs
// him out: a caller then finds no agent (the flow's fail step), and
// nothing rings on the phone's port.
func TestSIPPhoneExpiredNotOffered(t *testing.T) {
	sw := phoneSwitch(t, func(c *service.Config) { c.SIP.Registrar.MinExpires = time.Second })
	phone, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer phone.Close()
	contact := phone.LocalAddr().String()
	register("bob", "bob-phone-secret", contact, "2", 200, `expires=2`).mustPass(t, sw)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := waitFor(ctx, "bob available", func() bool { return agentState(sw, "bob") == routing.StateAvailable }); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(ctx, "bob logged out on expiry", func() bool { return agentState(sw, "bob") == routing.StateLoggedOut }); err != nil {
		t.Fatal(err)
	}
	if ps := phones(t, sw, "bob"); len(ps) != 0 {
		t.Fatalf("bob's phones after expiry: %v", ps)
	}
	code, report := sipp{scenario: "queued_caller.xml", vars: map[string]string{"WAV": helloWAV(t), "WAIT_MS": "3000"}}.run(t, sw)
	if code == 0 {
		t.Errorf("the caller waited in a queue with no agent logged in:\n%s", report)
	}
	if !strings.Contains(sw.log.String(), `reason=expired`) {
		t.Error("no 'unregistered ... reason=expired' log line")
	}
	phone.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	buf := make([]byte, 2048)
	if n, _, err := phone.ReadFrom(buf); err == nil {
		t.Errorf("the expired phone got %q", buf[:n])
	}
}

// TestSIPPhoneUnregisterLogsOut: Expires 0 logs a phone-only agent out.
func TestSIPPhoneUnregisterLogsOut(t *testing.T) {
	sw := phoneSwitch(t, nil)
	contact := "127.0.0.1:5994"
	register("bob", "bob-phone-secret", contact, "300", 200, `expires=300`).mustPass(t, sw)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := waitFor(ctx, "bob available", func() bool { return agentState(sw, "bob") == routing.StateAvailable }); err != nil {
		t.Fatal(err)
	}
	register("bob", "bob-phone-secret", contact, "0", 200, `SIP/2.0 200`).mustPass(t, sw)
	if err := waitFor(ctx, "bob logged out", func() bool { return agentState(sw, "bob") == routing.StateLoggedOut }); err != nil {
		t.Fatal(err)
	}
}

// talkBack sends pcm, looped, as PCMU RTP every 20 ms from s's socket to
// where the first packet s received came from, until stop.
func talkBack(s *rtpSink, pcm []int16, stop <-chan struct{}) { talkBackKeys(s, pcm, stop, nil) }

// talkBackKeys is talkBack from a phone whose keys pressed (keys) go as
// RFC 4733 telephone-events (payload type 101, 160 ms each) in place of
// the audio frames they take, as a desk phone sends them.
func talkBackKeys(s *rtpSink, pcm []int16, stop <-chan struct{}, keys <-chan rune) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var to net.Addr
	var start time.Time
	sent := 0
	var events []dtmf.Event // of the key being sent
	var eventTS uint32
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		if to == nil {
			s.mu.Lock()
			to = s.from
			s.mu.Unlock()
			if to == nil {
				continue
			}
			start = time.Now()
		}
		// Send every frame due by now, so the rate stays 50/s when a tick
		// comes late on a loaded machine (as a phone's clock would).
		for sent < int(time.Since(start)/(20*time.Millisecond))+1 {
			if events == nil {
				select {
				case k := <-keys:
					evs, err := dtmf.Sequence(k, 160*time.Millisecond, 20*time.Millisecond)
					if err != nil {
						return
					}
					events, eventTS = evs, uint32(sent*160)
				default:
				}
			}
			pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: uint16(sent + 1),
				Timestamp: uint32(sent * 160), SSRC: 0x5eed1234}}
			if events != nil {
				pkt.PayloadType, pkt.Timestamp = 101, eventTS
				pkt.Marker = pkt.Timestamp == uint32(sent*160)
				pkt.Payload = events[0].AppendTo(nil)
				if events = events[1:]; len(events) == 0 {
					events = nil
				}
			} else {
				frame := make([]int16, 160)
				for i := range frame {
					frame[i] = pcm[(sent*160+i)%len(pcm)]
				}
				pkt.Payload = make([]byte, 160)
				g711.EncodeUlaw(pkt.Payload, frame)
			}
			b, err := pkt.Marshal()
			if err != nil {
				return
			}
			if _, err := s.conn.WriteTo(b, to); err != nil {
				return
			}
			sent++
		}
	}
}

// TestSIPPhoneRingsDuringRegisterFlood: while another address floods the
// registrar with REGISTERs for bob with a wrong secret (rate-limited: 503,
// then dropped), bob's registered phone is still offered a call, rings and
// talks.
func TestSIPPhoneRingsDuringRegisterFlood(t *testing.T) {
	sw, phonePort, ctx := bobOnPhone(t, nil, 40*time.Second)
	flood := register("bob", "wrong-secret", "127.0.0.2:5060", "300", 200, `expires=300`)
	flood.ip, flood.calls, flood.rate, flood.limit = "127.0.0.2", 1000, 500, 1000
	flood.timeout = 8 * time.Second
	flooded := make(chan string, 1)
	go func() { _, report := flood.run(t, sw); flooded <- report }()
	time.Sleep(500 * time.Millisecond) // the flood is on
	callPhone(t, ctx, sw, phonePort)
	report := <-flooded
	if !strings.Contains(sw.log.String(), "rate limit exceeded") {
		t.Errorf("the flood was not rate-limited:\n%s", report)
	}
	if ps := phones(t, sw, "bob"); len(ps) != 1 {
		t.Errorf("bob's phones after the flood = %v, want his one phone", ps)
	}
}

// TestSIPPhoneHangsUp: the agent hangs up on the phone (BYE from the
// phone): the call ends and bob goes to wrap-up, as with the page's
// hang-up button.
func TestSIPPhoneHangsUp(t *testing.T) {
	sw, phonePort, ctx := bobOnPhone(t, func(c *service.Config) { c.Routing.WrapUp = time.Minute }, 30*time.Second)
	phone := make(chan string, 1)
	go func() {
		code, report := sipp{scenario: "phone_bye.xml", port: phonePort, timeout: 20 * time.Second,
			vars: map[string]string{"ANSWER_MS": "300", "TALK_MS": "1000"}}.run(t, sw)
		if code != 0 {
			report = "FAILED " + report
		}
		phone <- report
	}()
	time.Sleep(300 * time.Millisecond) // SIPp's UAS socket is bound
	caller := runAsync(t, sw, sipp{scenario: "queued_caller.xml", vars: map[string]string{"WAV": helloWAV(t), "WAIT_MS": "8000"}})
	if err := waitFor(ctx, "bob talking", func() bool { return agentState(sw, "bob") == routing.StateBusy }); err != nil {
		t.Fatal(err)
	}
	if report := <-phone; strings.HasPrefix(report, "FAILED") {
		t.Fatalf("phone:\n%s", report)
	}
	if err := waitFor(ctx, "bob in wrap-up", func() bool { return agentState(sw, "bob") == routing.StateWrapUp }); err != nil {
		t.Fatal(err)
	}
	<-caller // the caller is hung up on (or ends): either way the call is over
	waitIdle(t, sw, 5*time.Second)
}

// TestSIPPhoneDeclines: the agent rejects the ringing call on the phone
// (486): the offer is declined, like the page's decline button, not
// missed, and bob stays available.
func TestSIPPhoneDeclines(t *testing.T) {
	sw, phonePort, ctx := bobOnPhone(t, func(c *service.Config) { c.Routing.ReofferAfter = time.Minute }, 30*time.Second)
	phone := runAsync(t, sw, sipp{scenario: "uas_busy.xml", port: phonePort, timeout: 20 * time.Second})
	time.Sleep(300 * time.Millisecond) // SIPp's UAS socket is bound
	caller := runAsync(t, sw, sipp{scenario: "queued_caller.xml", vars: map[string]string{"WAV": helloWAV(t), "WAIT_MS": "3000"}})
	if err := <-phone; err != nil {
		t.Fatalf("phone: %v", err)
	}
	if err := waitFor(ctx, "the decline logged", func() bool { return strings.Contains(sw.log.String(), "phone declined the call") }); err != nil {
		t.Fatal(err)
	}
	if err := <-caller; err != nil {
		t.Fatalf("caller: %v", err)
	}
	if s := agentState(sw, "bob"); s != routing.StateAvailable {
		t.Errorf("bob is %s after declining on the phone, want available", s)
	}
	if strings.Contains(sw.log.String(), routing.ReasonMissedOffers) {
		t.Error("the decline counted as a missed offer")
	}
}

// TestSIPPhoneBlindTransfer: the agent transfers the call to alice from
// the phone (REFER): 202, NOTIFY with sipfrag 200, the phone's leg is hung
// up, bob goes to wrap-up and the call is offered to alice.
func TestSIPPhoneBlindTransfer(t *testing.T) {
	sw, phonePort, ctx := bobOnPhone(t, func(c *service.Config) { c.Routing.WrapUp = time.Minute }, 30*time.Second)
	if err := sw.Router().Login(ctx, routing.AgentInfo{ID: "alice"}); err != nil {
		t.Fatal(err)
	}
	caller := referFromPhone(t, sw, phonePort, "phone_refer.xml", "alice")
	if err := waitFor(ctx, "bob in wrap-up", func() bool { return agentState(sw, "bob") == routing.StateWrapUp }); err != nil {
		t.Fatal(err)
	}
	// alice (no page open: the offer reaches nobody) becomes available
	// only now, so the transferred call is hers alone.
	if err := sw.Router().SetState(ctx, "alice", routing.StateAvailable, ""); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sw.log.String(), "transferred by REFER") {
		t.Error("no 'transferred by REFER' in the log")
	}
	offeredAlice := func() bool {
		for _, line := range strings.Split(sw.log.String(), "\n") {
			if strings.Contains(line, "msg=offer ") && strings.Contains(line, "agent=alice") {
				return true
			}
		}
		return false
	}
	if err := waitFor(ctx, "the call offered to alice", offeredAlice); err != nil {
		t.Fatal(err)
	}
	<-caller
	waitIdle(t, sw, 5*time.Second)
}

// TestSIPPhoneTransferRefused: a REFER to nobody the switch knows gets
// 403 and the call goes on until the phone hangs up.
func TestSIPPhoneTransferRefused(t *testing.T) {
	sw, phonePort, ctx := bobOnPhone(t, nil, 30*time.Second)
	caller := referFromPhone(t, sw, phonePort, "phone_refer_refused.xml", "nobody")
	if !strings.Contains(sw.log.String(), "transfer refused") {
		t.Error("no 'transfer refused' in the log")
	}
	if err := waitFor(ctx, "bob out of the call", func() bool { return agentState(sw, "bob") != routing.StateBusy }); err != nil {
		t.Fatal(err)
	}
	<-caller
	waitIdle(t, sw, 5*time.Second)
}

// referFromPhone runs a queued caller and bob's phone scenario (answer
// after 300 ms, REFER to target 800 ms later) until the phone's part
// ends; it returns the caller's outcome.
func referFromPhone(t *testing.T, sw *testSwitch, phonePort int, scenario, target string) <-chan error {
	t.Helper()
	phone := runAsync(t, sw, sipp{scenario: scenario, port: phonePort, timeout: 20 * time.Second,
		vars: map[string]string{"ANSWER_MS": "300", "TALK_MS": "800", "TARGET": target}})
	time.Sleep(300 * time.Millisecond) // SIPp's UAS socket is bound
	caller := runAsync(t, sw, sipp{scenario: "queued_caller.xml", vars: map[string]string{"WAV": helloWAV(t), "WAIT_MS": "5000"}})
	if err := <-phone; err != nil {
		t.Fatalf("phone: %v", err)
	}
	return caller
}

// TestSIPPhoneHolds: the agent holds the caller from the phone (re-INVITE
// a=sendonly, answered a=recvonly), takes the call back (a=sendrecv) and
// hangs up: the call stays up through both and bob goes to wrap-up.
func TestSIPPhoneHolds(t *testing.T) {
	sw, phonePort, ctx := bobOnPhone(t, func(c *service.Config) { c.Routing.WrapUp = time.Minute }, 30*time.Second)
	phone := runAsync(t, sw, sipp{scenario: "phone_hold.xml", port: phonePort, timeout: 20 * time.Second,
		vars: map[string]string{"ANSWER_MS": "300", "TALK_MS": "500"}})
	time.Sleep(300 * time.Millisecond) // SIPp's UAS socket is bound
	caller := runAsync(t, sw, sipp{scenario: "queued_caller.xml", vars: map[string]string{"WAV": helloWAV(t), "WAIT_MS": "8000"}})
	if err := <-phone; err != nil {
		t.Fatalf("phone: %v", err)
	}
	if err := waitFor(ctx, "bob in wrap-up", func() bool { return agentState(sw, "bob") == routing.StateWrapUp }); err != nil {
		t.Fatal(err)
	}
	<-caller
	waitIdle(t, sw, 5*time.Second)
}
