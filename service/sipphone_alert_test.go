package service_test

import (
	"strings"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/routing"
	"github.com/voxdesk/voxdesk/service"
	"github.com/voxdesk/voxdesk/sip"
)

// TestSIPPhoneAlertInfo: bob's phone (SIPp) rings for a caller identified
// as C-7 with an Alert-Info header: by default the customer file's
// address with info=voxdesk-customer, or what sip.alert_info says. The
// phone checks the INVITE's text and declines.
func TestSIPPhoneAlertInfo(t *testing.T) {
	for _, c := range []struct {
		name, tmpl, want string
	}{
		// (&lt; is < in SIPp's XML.)
		{"default: the customer file", "",
			`Alert-Info: &lt;http://127[.]0[.]0[.]1:[0-9]+/api/admin/customers[?]q=C-7>;info=voxdesk-customer`},
		{"configured ring tone per customer", "<http://ring.example/tones/{id}.wav>;info=vip",
			`Alert-Info: &lt;http://ring[.]example/tones/C-7[.]wav>;info=vip`},
	} {
		t.Run(c.name, func(t *testing.T) {
			sw, phonePort, _ := bobOnPhone(t, func(cfg *service.Config) {
				cfg.SIP.AlertInfo = c.tmpl
				cfg.Routing.ReofferAfter = time.Minute
			}, 30*time.Second)
			phone := runAsync(t, sw, sipp{scenario: "uas_check.xml", port: phonePort, timeout: 20 * time.Second,
				vars: map[string]string{"INVITE_RE": c.want, "STATUS": "486", "REASON": "Busy Here", "REFUSE_MS": "100"}})
			time.Sleep(300 * time.Millisecond) // SIPp's UAS socket is bound
			caller := runAsync(t, sw, sipp{scenario: "queued_caller.xml", vars: map[string]string{"WAV": helloWAV(t), "WAIT_MS": "3000"}})
			perr, cerr := <-phone, <-caller
			if perr != nil {
				t.Fatalf("phone (INVITE must match %s): %v", c.want, perr)
			}
			if cerr != nil {
				t.Fatalf("caller: %v", cerr)
			}
		})
	}
}

// TestSIPPhoneBadAlertInfo: a sip.alert_info that is not `<URI>;params`
// stops New with an error naming the setting.
func TestSIPPhoneBadAlertInfo(t *testing.T) {
	for _, bad := range []string{"http://ring.example/a.wav", "<http://ring.example/a.wav", "<nouri>", "<http://x>;info=a b", "<http://x>info"} {
		err := newPhoneServiceErr(func(c *service.Config) { c.SIP.AlertInfo = bad })
		if err == nil || !strings.Contains(err.Error(), "alert_info") {
			t.Errorf("alert_info %q: error %v, want one naming alert_info", bad, err)
		}
	}
}

// newPhoneServiceErr builds (and closes) a switch with a queue and bob on
// his SIP phone, changed by mutate, and returns New's error.
func newPhoneServiceErr(mutate func(*service.Config)) error {
	cfg := service.DefaultConfig()
	cfg.HTTP.Listen, cfg.SIP.UDP, cfg.SIP.TCP = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.Routing = routing.Config{Queues: []routing.QueueConfig{{Name: "general"}}}
	cfg.SIP.Agents = []service.SIPAgent{{ID: "bob", HA1: sip.HA1("bob", sip.DefaultRealm, "s"), Ring: service.RingSIP}}
	mutate(cfg)
	svc, err := service.New(cfg)
	if err == nil {
		svc.Close()
	}
	return err
}
