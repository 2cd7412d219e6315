package service_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/media/dtmf"
)

// TestSIPPhoneKeysReachCaller (issue 12: DTMF from the phone behaves
// like the page's keypad): bob answers a SIP caller on his desk phone
// (SIPp, RTP from a socket of the test) and presses 7 there as RFC 4733
// telephone-events; the caller, who offered telephone-event, receives
// the key as events (marker first, three end packets), not lost in the
// bridge, which carries audio only.
func TestSIPPhoneKeysReachCaller(t *testing.T) {
	sw, phonePort, ctx := bobOnPhone(t, nil, 30*time.Second)
	speech := callerSpeech(t)
	phoneSink, callerSink := newRTPSink(t), newRTPSink(t)
	stop, keys := make(chan struct{}), make(chan rune, 1)
	var talkers sync.WaitGroup
	talkers.Add(2)
	go func() { defer talkers.Done(); talkBackKeys(phoneSink, speech[8000:16000], stop, keys) }()
	go func() { defer talkers.Done(); talkBack(callerSink, speech[:8000], stop) }()
	defer func() { close(stop); talkers.Wait() }()

	phone := runAsync(t, sw, sipp{scenario: "phone.xml", port: phonePort, timeout: 30 * time.Second,
		keys: map[string]string{"sink_port": phoneSink.port()},
		vars: map[string]string{"ANSWER_MS": "500", "INVITE_RE": "INVITE"}})
	time.Sleep(300 * time.Millisecond) // SIPp's UAS socket is bound
	caller := runAsync(t, sw, sipp{scenario: "sink_caller.xml", keys: map[string]string{"sink_port": callerSink.port()},
		vars: map[string]string{"WAIT_MS": "8000"}})

	// Once the phone hears the caller, the call is bridged: press 7.
	if err := waitFor(ctx, "the phone hears the caller", func() bool { return len(phoneSink.packets()) >= 25 }); err != nil {
		t.Fatal(err)
	}
	keys <- '7'
	var evs []keyEvent
	if err := waitFor(ctx, "the caller receives the phone's key", func() bool {
		var err error
		if evs, err = telephoneEvents(callerSink.packets(), 101); err != nil {
			t.Fatal(err)
		}
		return len(evs) == 1 && evs[0].ends == dtmf.EndRepeats
	}); err != nil {
		t.Fatalf("%v: events %+v", err, evs)
	}
	if e := evs[0]; e.key != '7' || !e.marker || e.dur < 480 {
		t.Errorf("caller got %+v, want 7 with a marker lasting at least 60 ms (480 samples)", e)
	}
	if !strings.Contains(sw.log.String(), "key from the agent's phone passed to the caller") {
		t.Error("no log line for the relayed key")
	}
	for name, done := range map[string]<-chan error{"caller": caller, "phone": phone} {
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
		case <-ctx.Done():
			t.Fatalf("%s scenario did not end", name)
		}
	}
}
