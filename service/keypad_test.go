package service_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/voxdesk/voxdesk/internal/browsertest"
	"github.com/voxdesk/voxdesk/media/dtmf"
	"github.com/voxdesk/voxdesk/routing"
)

// keyEvent is one key press as the caller's RTP carried it (RFC 4733).
type keyEvent struct {
	key     rune
	packets int
	marker  bool   // on the first packet (section 2.5.1.2)
	ends    int    // packets with the E bit (section 2.5.1.4: three)
	dur     uint16 // final duration, in samples
}

// telephoneEvents groups the sink's telephone-event packets (payload type
// pt) by RTP timestamp: one entry per key press, in order.
func telephoneEvents(pkts []sinkPacket, pt uint8) ([]keyEvent, error) {
	var out []keyEvent
	var ts uint32
	for _, p := range pkts {
		if p.hdr.PayloadType != pt {
			continue
		}
		ev, err := dtmf.ParseEvent(p.payload)
		if err != nil {
			return nil, err
		}
		key, ok := dtmf.CodeToKey(ev.Code)
		if !ok {
			return nil, fmt.Errorf("event code %d is not a key", ev.Code)
		}
		if len(out) == 0 || p.hdr.Timestamp != ts {
			out = append(out, keyEvent{key: key, marker: p.hdr.Marker})
			ts = p.hdr.Timestamp
		}
		e := &out[len(out)-1]
		if e.key != key {
			return nil, fmt.Errorf("key %c and %c under one timestamp", e.key, key)
		}
		e.packets++
		if ev.End {
			e.ends++
			e.dur = ev.Duration
		}
	}
	return out, nil
}

// TestKeypadSendsTelephoneEvents (issue 11): an agent on the page
// (Chromium) presses 5 and # on a SIP caller who offered telephone-event
// (payload type 101): the caller's RTP (a socket of the test) carries
// each key as RFC 4733 events (marker on the first packet, three end
// packets, 100 ms), not as tones; the page says each key was sent.
func TestKeypadSendsTelephoneEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped with -short")
	}
	browsertest.Path(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	sw, alice, _ := twoAgentSwitch(t, ctx, routing.Config{Queues: []routing.QueueConfig{{Name: "general"}}})
	pageLogin(t, alice, "http://"+sw.HTTPAddr().String()+"/agent.html", "alice", `#desk`)
	goAvailable(t, ctx, alice)

	sink := newRTPSink(t)
	caller := runAsync(t, sw, sipp{scenario: "sink_caller.xml", keys: map[string]string{"sink_port": sink.port()},
		vars: map[string]string{"WAIT_MS": "12000"}})
	if err := waitFor(ctx, "Alice's page rings", func() bool { return ringing(alice) }); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Run(alice, chromedp.Click("#btn-answer", chromedp.ByID), chromedp.WaitVisible("#talk", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"5", "#"} {
		if err := chromedp.Run(alice, chromedp.Click(`#keypad button[data-key="`+k+`"]`, chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		waitText(t, ctx, alice, "key "+k+" sent", `document.getElementById('status').innerText`, "Key "+k+": done.")
	}
	var evs []keyEvent
	if err := waitFor(ctx, "two key presses at the caller", func() bool {
		var err error
		evs, err = telephoneEvents(sink.packets(), 101)
		if err != nil {
			t.Fatal(err)
		}
		return len(evs) == 2 && evs[1].ends == dtmf.EndRepeats
	}); err != nil {
		t.Fatalf("%v: events %+v", err, evs)
	}
	for i, want := range []rune{'5', '#'} {
		e := evs[i]
		if e.key != want || !e.marker || e.ends != dtmf.EndRepeats || e.dur != 800 || e.packets < 6 {
			t.Errorf("key %d: %+v, want %c with a marker, %d end packets and 800 samples (100 ms)", i+1, e, want, dtmf.EndRepeats)
		}
	}
	if !strings.Contains(sw.log.String(), "method=rfc4733") {
		t.Error("no keypad log line saying the keys went as telephone-events")
	}
	if err := chromedp.Run(alice, chromedp.Click("#btn-hangup", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-caller: // the agent's hang-up sends a BYE SIPp did not script: its status is not checked
	case <-ctx.Done():
		t.Fatal("caller never finished")
	}
	waitIdle(t, sw, 5*time.Second)
}
