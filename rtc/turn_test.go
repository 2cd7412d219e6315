package rtc

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/turn/v5"
	"github.com/pion/webrtc/v4"

	"github.com/voxdesk/voxdesk/call"
)

// A switch told to use only relay candidates reaches the browser through
// a TURN server (pion's, on 127.0.0.1) with the configured credentials.
func TestSessionThroughTURN(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var auths atomic.Int32
	srv, err := turn.NewServer(turn.ServerConfig{
		Realm: "voxdesk.test",
		AuthHandler: func(ra *turn.RequestAttributes) (string, []byte, bool) {
			if ra.Username != "switch" {
				return "", nil, false
			}
			auths.Add(1)
			return ra.Username, turn.GenerateAuthKey(ra.Username, ra.Realm, "s3cret"), true
		},
		PacketConnConfigs: []turn.PacketConnConfig{{
			PacketConn:            udp,
			RelayAddressGenerator: &turn.RelayAddressGeneratorStatic{RelayAddress: net.ParseIP("127.0.0.1"), Address: "127.0.0.1"},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	e, err := New(Config{RelayOnly: true, ICEServers: []ICEServer{{
		URLs: []string{"turn:" + udp.LocalAddr().String() + "?transport=udp"}, Username: "switch", Credential: "s3cret",
	}}})
	if err != nil {
		t.Fatal(err)
	}
	p := newPeer(t, webrtc.MimeTypePCMU)
	defer p.close()
	s := connect(t, e, p)
	defer s.Close()
	if err := s.WaitConnected(ctx); err != nil {
		t.Fatalf("no connection through TURN: %v", err)
	}
	if auths.Load() == 0 {
		t.Fatal("the TURN server never authenticated the switch")
	}
	leg, err := s.Attach("relayed")
	if err != nil {
		t.Fatal(err)
	}
	ph := 0
	for range 25 {
		if err := leg.WriteAudio(ctx, tone(call.FrameSamples, 440, 12000, &ph)); err != nil {
			t.Fatal(err)
		}
	}
	if err := waitUntil(ctx, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return loud(p.received) >= 10
	}); err != nil {
		t.Fatalf("relayed audio did not arrive: %v", err)
	}
	if _, err := New(Config{RelayOnly: true}); err == nil {
		t.Fatal("relay_only without a TURN server accepted")
	}
}

func loud(pcm []int16) int {
	n := 0
	for i := 0; i+call.FrameSamples <= len(pcm); i += call.FrameSamples {
		if rms(pcm[i:i+call.FrameSamples]) > 8000 {
			n++
		}
	}
	return n
}

func waitUntil(ctx context.Context, cond func() bool) error {
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}
