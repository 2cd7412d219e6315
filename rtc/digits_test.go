package rtc

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/voxdesk/voxdesk/media/dtmf"
)

// TestLegSendsTelephoneEvents: to a browser that negotiated
// telephone-event (as payload type 126), SendDigit sends the key as RFC
// 4733 events in place of audio: one timestamp per key, the marker on
// the first packet, three end packets with the final duration; audio
// resumes after it. A browser without telephone-event gets
// ErrNoTelephoneEvents and nothing is sent; a key off the keypad is
// refused.
func TestLegSendsTelephoneEvents(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	e, err := New(Config{Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	p := newPeer(t, webrtc.MimeTypePCMU, mimeTelephoneEvent)
	defer p.close()
	leg := connectedLeg(t, ctx, e, p)
	for _, key := range "5#" {
		if err := leg.SendDigit(ctx, key, 100*time.Millisecond); err != nil {
			t.Fatalf("SendDigit(%c): %v", key, err)
		}
	}
	if err := leg.SendDigit(ctx, 'E', 100*time.Millisecond); err == nil {
		t.Error("key E sent")
	}
	time.Sleep(200 * time.Millisecond) // the last packets reach the peer
	p.mu.Lock()
	evs, audio := p.events, len(p.received)
	p.mu.Unlock()
	type press struct {
		key          rune
		marker       bool
		packets, end int
		dur          uint16
	}
	var got []press
	var ts uint32
	for _, pkt := range evs {
		ev, err := dtmf.ParseEvent(pkt.Payload)
		if err != nil {
			t.Fatal(err)
		}
		key, _ := dtmf.CodeToKey(ev.Code)
		if len(got) == 0 || pkt.Timestamp != ts {
			got = append(got, press{key: key, marker: pkt.Marker})
			ts = pkt.Timestamp
		}
		g := &got[len(got)-1]
		g.packets++
		if ev.End {
			g.end++
			g.dur = ev.Duration
		}
	}
	if len(got) != 2 {
		t.Fatalf("key presses received %+v, want 5 and #", got)
	}
	for i, want := range "5#" {
		if g := got[i]; g.key != want || !g.marker || g.end != dtmf.EndRepeats || g.dur != 800 || g.packets != 4+dtmf.EndRepeats {
			t.Errorf("press %d: %+v, want %c, marker, %d end packets, duration 800", i+1, g, want, dtmf.EndRepeats)
		}
	}
	time.Sleep(100 * time.Millisecond)
	p.mu.Lock()
	after := len(p.received)
	p.mu.Unlock()
	if after <= audio {
		t.Error("no audio after the keys")
	}

	// A browser without telephone-event.
	q := newPeer(t, webrtc.MimeTypePCMU)
	defer q.close()
	if err := connectedLeg(t, ctx, e, q).SendDigit(ctx, '5', 100*time.Millisecond); !errors.Is(err, ErrNoTelephoneEvents) {
		t.Fatalf("without telephone-event: %v, want ErrNoTelephoneEvents", err)
	}
}

// connectedLeg connects the peer to a new session of e and attaches a
// leg; the session is closed when the test ends.
func connectedLeg(t *testing.T, ctx context.Context, e *Engine, p *peer) *Leg {
	t.Helper()
	s := connect(t, e, p)
	t.Cleanup(func() { s.Close() })
	if err := s.WaitConnected(ctx); err != nil {
		t.Fatalf("connect: %v", err)
	}
	leg, err := s.Attach("web")
	if err != nil {
		t.Fatal(err)
	}
	return leg
}
