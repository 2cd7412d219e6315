package agentapi

import (
	"strings"
	"testing"
)

// TestRingModeChosenInPage: an agent with a SIP phone account sees the
// configured ring mode in hello, changes it from the page, and the choice
// is what RingMode (read by the ringing side) returns, and what the next
// page shows. A mode that does not exist, or a choice by an agent without
// a SIP phone, is refused and changes nothing.
func TestRingModeChosenInPage(t *testing.T) {
	e := newEnv(t, WithRingModes(map[string]string{"bob": RingBoth}))
	bob := e.login(t, "bob", "bob-secret")
	page, hello := e.helloOf(t, bob)
	if hello.Ring != RingBoth {
		t.Fatalf("hello ring %q, want the configured %q", hello.Ring, RingBoth)
	}
	page.send(ClientMessage{ID: 1, Type: MsgRing, Ring: "phone"})
	if m := page.next("error"); !strings.Contains(m.Error, `ring "phone" (want browser, sip or both)`) {
		t.Fatalf("bad mode: %+v", m)
	}
	if mode, _ := e.srv.RingMode("bob"); mode != RingBoth {
		t.Fatalf("after a refused mode, ring mode %q", mode)
	}
	page.send(ClientMessage{ID: 2, Type: MsgRing, Ring: RingSIP})
	if m := page.next("ok"); m.ID != 2 {
		t.Fatalf("reply %+v", m)
	}
	if mode, ok := e.srv.RingMode("bob"); mode != RingSIP || !ok {
		t.Fatalf("RingMode(bob) = %q %v, want sip", mode, ok)
	}
	page.ws.CloseNow()
	if _, hello := e.helloOf(t, bob); hello.Ring != RingSIP {
		t.Fatalf("the next page's hello says ring %q, want the choice (sip)", hello.Ring)
	}

	// alice has no SIP phone: her calls ring her page, she cannot choose.
	alice := e.login(t, "alice", "alice-secret")
	ap, hello := e.helloOf(t, alice)
	if hello.Ring != "" {
		t.Fatalf("alice's hello says ring %q", hello.Ring)
	}
	ap.send(ClientMessage{ID: 3, Type: MsgRing, Ring: RingSIP})
	if m := ap.next("error"); m.ID != 3 || !strings.Contains(m.Error, "alice has no SIP phone account") {
		t.Fatalf("alice choosing: %+v", m)
	}
	if mode, ok := e.srv.RingMode("alice"); ok || mode != "" {
		t.Fatalf("RingMode(alice) = %q %v", mode, ok)
	}
}
