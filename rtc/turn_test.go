package rtc

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/turn/v5"
	"github.com/pion/webrtc/v4"

	"github.com/voxdesk/voxdesk/call"
)

// A switch told to use only relay candidates reaches the browser through
// a TURN server (pion's, on 127.0.0.1), with static credentials or with
// TURN REST credentials derived from a shared secret.
func TestSessionThroughTURN(t *testing.T) {
	for _, tc := range []struct {
		name   string
		server ICEServer
	}{
		{"static credentials", ICEServer{Username: "switch", Credential: "s3cret"}},
		{"shared secret", ICEServer{Secret: "shared-with-turn"}},
	} {
		t.Run(tc.name, func(t *testing.T) { testTURN(t, tc.server) })
	}
}

// turnAuth checks static credentials, or TURN REST ones ("expiry:user",
// base64 HMAC-SHA1 of it under the secret) computed here independently.
func turnAuth(ra *turn.RequestAttributes, want ICEServer, now time.Time) (string, []byte, bool) {
	if want.Secret == "" {
		if ra.Username != want.Username {
			return "", nil, false
		}
		return ra.Username, turn.GenerateAuthKey(ra.Username, ra.Realm, want.Credential), true
	}
	exp, user, ok := strings.Cut(ra.Username, ":")
	sec, err := strconv.ParseInt(exp, 10, 64)
	if !ok || err != nil || sec < now.Unix() || !strings.HasPrefix(user, "voxdesk-") {
		return "", nil, false
	}
	m := hmac.New(sha1.New, []byte(want.Secret))
	m.Write([]byte(ra.Username))
	return ra.Username, turn.GenerateAuthKey(ra.Username, ra.Realm, base64.StdEncoding.EncodeToString(m.Sum(nil))), true
}

func testTURN(t *testing.T, want ICEServer) {
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
			user, key, ok := turnAuth(ra, want, time.Now())
			if ok {
				auths.Add(1)
			}
			return user, key, ok
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

	server := want
	server.URLs = []string{"turn:" + udp.LocalAddr().String() + "?transport=udp"}
	e, err := New(Config{RelayOnly: true, ICEServers: []ICEServer{server}})
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

func TestICEServersForBrowsers(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	got := iceServersFor([]ICEServer{
		{URLs: []string{"stun:stun.example.net"}},
		{URLs: []string{"turn:turn.example.net"}, Secret: "k"},
	}, "alice", now)
	if got[0].Username != "" || got[0].Credential != "" {
		t.Fatalf("stun entry %+v", got[0])
	}
	want := strconv.FormatInt(now.Add(CredentialTTL).Unix(), 10) + ":alice"
	if got[1].Username != want || got[1].Secret != "" || got[1].Credential == "" {
		t.Fatalf("turn entry %+v, want username %q and no secret", got[1], want)
	}
	if _, err := New(Config{ICEServers: []ICEServer{{URLs: []string{"turn:x"}, Secret: "k", Username: "u"}}}); err == nil {
		t.Fatal("secret with a username accepted")
	}
}
