package service_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/service"
	"github.com/voxdesk/voxdesk/sip"
)

// registrarSwitch runs a switch whose agents alice and bob have SIP
// secrets.
func registrarSwitch(t *testing.T, mutate func(*service.Config)) *testSwitch {
	t.Helper()
	return startSwitch(t, func(c *service.Config) {
		c.SIP.Agents = []service.SIPAgent{
			{ID: "alice", HA1: sip.HA1("alice", sip.DefaultRealm, "alice-phone-secret")},
			{ID: "bob", HA1: sip.HA1("bob", sip.DefaultRealm, "bob-phone-secret"), Ring: service.RingSIP},
		}
		if mutate != nil {
			mutate(c)
		}
	})
}

// register runs SIPp's REGISTER scenario as user with password, expecting
// status and a response matching re.
func register(user, password, contact, expires string, status int, re string) sipp {
	return sipp{scenario: "register.xml",
		vars: map[string]string{"USER": user, "CONTACT": contact, "EXPIRES": expires,
			"STATUS": strconv.Itoa(status), "HEADER_RE": re},
		args: []string{"-au", user, "-ap", password}, timeout: 10 * time.Second}
}

func phones(t *testing.T, sw *testSwitch, agent string) []string {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return sw.SIPPhones(ctx, agent)
}

func TestRegisterDigest(t *testing.T) {
	sw := registrarSwitch(t, nil)
	here := "[local_ip]:[local_port]"

	register("alice", "alice-phone-secret", here, "300", 200, `expires=300`).mustPass(t, sw)
	ps := phones(t, sw, "alice")
	if len(ps) != 1 || !strings.HasPrefix(ps[0], "sip:alice@127.0.0.1:") {
		t.Fatalf("alice's phones after REGISTER = %v, want one contact on 127.0.0.1", ps)
	}

	// A wrong secret and an unknown agent get the same answer.
	register("bob", "alice-phone-secret", here, "300", 403, `SIP/2.0 403 Forbidden`).mustPass(t, sw)
	register("mallory", "anything", here, "300", 403, `SIP/2.0 403 Forbidden`).mustPass(t, sw)
	if ps := phones(t, sw, "bob"); len(ps) != 0 {
		t.Errorf("bob registered with alice's secret: %v", ps)
	}
	if ps := phones(t, sw, "mallory"); len(ps) != 0 {
		t.Errorf("unknown agent registered: %v", ps)
	}
	// Alice is still registered after the failures.
	if ps := phones(t, sw, "alice"); len(ps) != 1 {
		t.Errorf("alice's phones after others' failures = %v, want 1", ps)
	}
}

func TestRegisterBadInput(t *testing.T) {
	sw := registrarSwitch(t, nil)
	here := "[local_ip]:[local_port]"
	register("alice", "alice-phone-secret", here, "600", 200, `expires=600`).mustPass(t, sw)

	cases := []struct {
		name    string
		contact string
		expires string
		status  int
		re      string
	}{
		{"expiry too brief", "127.0.0.1:5999", "10", 423, `Min-Expires: 60`},
		{"absurd expiry is bounded", "127.0.0.1:5998", "4294967295", 200, `expires=3600`},
		{"expiry beyond 32 bits", "127.0.0.1:5997", "99999999999", 400, `400 Bad Request`},
		{"contact at another public host", "192.0.2.7:5060", "600", 403, `Contact Host Must Be`},
		{"contact at the switch itself", "127.0.0.1:" + strconv.Itoa(sw.sipPort()), "600", 403, `Points At This Switch`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			register("alice", "alice-phone-secret", c.contact, c.expires, c.status, c.re).mustPass(t, sw)
		})
	}
	ps := phones(t, sw, "alice")
	if len(ps) != 2 {
		t.Fatalf("alice's phones = %v, want the first and the bounded one", ps)
	}
	for _, p := range ps {
		if strings.Contains(p, "192.0.2.7") || strings.Contains(p, ":"+strconv.Itoa(sw.sipPort())) {
			t.Errorf("refused contact %s was registered", p)
		}
	}
}

func TestUnregister(t *testing.T) {
	sw := registrarSwitch(t, nil)
	contact := "127.0.0.1:5990"
	register("alice", "alice-phone-secret", contact, "300", 200, `expires=300`).mustPass(t, sw)
	if ps := phones(t, sw, "alice"); len(ps) != 1 {
		t.Fatalf("alice's phones = %v, want 1", ps)
	}
	register("alice", "alice-phone-secret", contact, "0", 200, `SIP/2.0 200`).mustPass(t, sw)
	if ps := phones(t, sw, "alice"); len(ps) != 0 {
		t.Fatalf("alice's phones after Expires: 0 = %v, want none", ps)
	}
}
