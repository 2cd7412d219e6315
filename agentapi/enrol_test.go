package agentapi

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/routing"
)

func TestEnrolRules(t *testing.T) {
	e := newEnv(t)
	p := e.openPage(t, e.login(t, "alice", "alice-secret"))
	c := e.srv.agent("alice")
	// Calls that have been talked and are in wrap-up (set up directly: the
	// media path is covered by the browser tests).
	put := func(id, cust string, m call.Method) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.calls[id] = &agentCall{phase: phaseWrapUp, offer: routing.Offer{CallID: id, Customer: cust, IdentMethod: m, Queue: "support"},
			offeredAt: time.Now(), answered: time.Now(), ended: time.Now()}
	}
	put("unknown", "", call.MethodNone)
	put("ada-voice", "C1", call.MethodVoice)
	put("babbage", "C2", call.MethodNumber)
	put("ada-pin", "C1", call.MethodPIN)

	for i, tc := range []struct {
		name, typ, call, want string // want: "" for ok, else part of the error
	}{
		{"unidentified caller", MsgEnrol, "unknown", "identified customer"},
		{"nothing to confirm", MsgConfirmIdentity, "unknown", "not identified"},
		{"voice match not confirmed", MsgEnrol, "ada-voice", "confirm the caller's identity"},
		{"confirm", MsgConfirmIdentity, "ada-voice", ""},
		{"confirmed, consent on file", MsgEnrol, "ada-voice", ""},
		{"confirm without consent", MsgConfirmIdentity, "babbage", ""},
		{"no consent", MsgEnrol, "babbage", "no recorded consent"},
		{"PIN checked", MsgEnrol, "ada-pin", ""},
		{"someone else's call", MsgEnrol, "call-of-bob", "not your call"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p.send(ClientMessage{ID: int64(100 + i), Type: tc.typ, Call: tc.call})
			var m ServerMessage
			for {
				m = p.next2("ok", "error")
				if m.ID == int64(100+i) {
					break
				}
			}
			if tc.want == "" && m.Type != "ok" {
				t.Fatalf("refused: %s", m.Error)
			}
			if tc.want != "" && (m.Type != "error" || !strings.Contains(m.Error, tc.want)) {
				t.Fatalf("reply %+v, want an error about %q", m, tc.want)
			}
		})
	}
	e.bio.mu.Lock()
	got := strings.Join(e.bio.enrols, ";")
	e.bio.mu.Unlock()
	if got != "C1 ada-voice alice;C1 ada-pin alice" {
		t.Fatalf("enrolments %q", got)
	}

	// The wrap-up goes to the directory with the confirmation noted, once.
	p.send(ClientMessage{ID: 200, Type: MsgWrapUp, Call: "ada-voice", Disposition: "resolved", Notes: "ok"})
	p.next("ok")
	p.send(ClientMessage{ID: 201, Type: MsgWrapUp, Call: "ada-voice", Disposition: "resolved"})
	if m := p.next("error"); !strings.Contains(m.Error, "not your call") {
		t.Fatalf("second wrap-up: %+v", m)
	}
	w := e.dir.wrapUps()
	if len(w) != 1 || !w[0].IdentityConfirmed || w[0].CustomerID != "C1" || w[0].Disposition != "resolved" {
		t.Fatalf("wrap-ups %+v", w)
	}
}

// next2 reads until a message of either type.
func (p *page) next2(a, b string) ServerMessage {
	p.t.Helper()
	for {
		m := p.nextAny()
		if m.Type == a || m.Type == b {
			return m
		}
	}
}

func TestTransferRules(t *testing.T) {
	e := newEnv(t)
	p := e.openPage(t, e.login(t, "alice", "alice-secret"))
	c := e.srv.agent("alice")
	c.mu.Lock()
	c.calls["talk"] = &agentCall{phase: phaseTalking, offer: routing.Offer{CallID: "talk", Queue: "support"}}
	c.calls["ring"] = &agentCall{phase: phaseRinging, offer: routing.Offer{CallID: "ring", Queue: "support"}}
	c.mu.Unlock()
	for i, tc := range []struct {
		name         string
		msg          ClientMessage
		want, router string
	}{
		{"to a queue", ClientMessage{Call: "talk", Queue: "sales"}, "", "transfer alice talk sales "},
		{"to an agent", ClientMessage{Call: "talk", Agent: "bob"}, "", "transfer alice talk  bob"},
		{"to yourself", ClientMessage{Call: "talk", Agent: "alice"}, "yourself", ""},
		{"a ringing call", ClientMessage{Call: "ring", Queue: "sales"}, "not in a state", ""},
		{"nowhere", ClientMessage{Call: "talk"}, "queue or an agent", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.msg.ID, tc.msg.Type = int64(300+i), MsgTransfer
			p.send(tc.msg)
			m := p.next2("ok", "error")
			if tc.want == "" {
				if m.Type != "ok" || !e.router.has(tc.router) {
					t.Fatalf("reply %+v, router %v", m, e.router.recorded())
				}
				return
			}
			if m.Type != "error" || !strings.Contains(m.Error, tc.want) {
				t.Fatalf("reply %+v, want error about %q", m, tc.want)
			}
		})
	}
}

func TestSecondWindow(t *testing.T) {
	e := newEnv(t)
	alice := e.login(t, "alice", "alice-secret")
	first := e.openPage(t, alice)
	// While idle, a second window takes over.
	second := e.openPage(t, alice)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		if _, _, err := first.ws.Read(ctx); err != nil {
			if !strings.Contains(err.Error(), "another window") {
				t.Fatalf("first window closed with %v", err)
			}
			break
		}
	}
	// While talking, a third window is refused and the call stays.
	c := e.srv.agent("alice")
	c.mu.Lock()
	c.calls["talk"] = &agentCall{phase: phaseTalking}
	c.mu.Unlock()
	ws, _, err := e.dial(ctx, "/api/agent/ws", alice, e.ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	for {
		if _, _, err := ws.Read(ctx); err != nil {
			if !strings.Contains(err.Error(), "on a call in another window") {
				t.Fatalf("third window closed with %v", err)
			}
			break
		}
	}
	if e.srv.agent("alice") != c {
		t.Fatal("the window with the call was replaced")
	}
	second.send(ClientMessage{ID: 1, Type: MsgPing})
	second.next("ok")
}
