package agentapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// Call-backs typed in national form are read with the configured number
// plan, as people write their own number; garbage gets a clear error and
// books nothing.
func TestCallbackNationalNumber(t *testing.T) {
	cb := &fakeCallbacks{}
	e := newEnv(t, WithCallbacks(cb), withWebCall(func(c *WebCallConfig) {
		c.NumberPlan = NumberPlan{CountryCode: "33", TrunkPrefix: "0"}
	}))
	for _, tc := range []struct {
		name, phone string
		status      int
		booked      string // E.164 number booked, "" when refused
		errHas      string
	}{
		{"national with spaces", "06 39 98 01 01", http.StatusOK, "+33639980101", ""},
		{"national with dots", "01.40.00.00.02", http.StatusOK, "+33140000002", ""},
		{"international with bracketed trunk prefix", "+33 (0)6 39 98 01 03", http.StatusOK, "+33639980103", ""},
		{"international prefix 00", "0044 1632 960001", http.StatusOK, "+441632960001", ""},
		{"letters", "06 39 XX 01 01", http.StatusBadRequest, "", "'X' is not a digit"},
		{"too short", "06 39", http.StatusBadRequest, "", "is not a valid number"},
		{"an extension", "01 40 00 00 04 ext 12", http.StatusBadRequest, "", "is not a digit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cb.mu.Lock()
			before := len(cb.booked)
			cb.mu.Unlock()
			res := e.post(t, "/api/webcall/callback", webIdentityRequest{Name: "Zoé", Phone: tc.phone}, nil, nil)
			var body struct {
				Error string `json:"error"`
			}
			_ = json.NewDecoder(res.Body).Decode(&body)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d (%q), want %d", res.StatusCode, body.Error, tc.status)
			}
			cb.mu.Lock()
			got := cb.booked[before:]
			cb.mu.Unlock()
			if tc.booked == "" {
				if len(got) != 0 || !strings.Contains(body.Error, tc.errHas) || !strings.Contains(body.Error, tc.phone) {
					t.Fatalf("refused with %q, booked %+v; want an error naming %q and %q", body.Error, got, tc.phone, tc.errHas)
				}
				return
			}
			if len(got) != 1 || got[0].Phone != tc.booked || got[0].Vars[VarWebPhone] != tc.booked {
				t.Fatalf("booked %+v, want %s", got, tc.booked)
			}
		})
	}
}

// Without a plan's country code a national number cannot be read: the
// visitor is asked for the international form.
func TestCallbackNationalNumberWithoutPlan(t *testing.T) {
	cb := &fakeCallbacks{}
	e := newEnv(t, WithCallbacks(cb))
	res := e.post(t, "/api/webcall/callback", webIdentityRequest{Name: "Zoé", Phone: "06 39 98 01 01"}, nil, nil)
	var body struct {
		Error string `json:"error"`
	}
	_ = json.NewDecoder(res.Body).Decode(&body)
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(body.Error, "international form") || len(cb.booked) != 0 {
		t.Fatalf("status %d %q, booked %+v", res.StatusCode, body.Error, cb.booked)
	}
}

func TestNumberPlanConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    NumberPlan
		ok   bool
	}{
		{"France", NumberPlan{CountryCode: "33", TrunkPrefix: "0"}, true},
		{"North America", NumberPlan{CountryCode: "1", TrunkPrefix: "1", InternationalPrefix: "011"}, true},
		{"none", NumberPlan{}, true},
		{"letters in the country code", NumberPlan{CountryCode: "3x"}, false},
		{"plus in the country code", NumberPlan{CountryCode: "+33"}, false},
		{"country code of four digits", NumberPlan{CountryCode: "3333"}, false},
		{"country code starting with 0", NumberPlan{CountryCode: "033"}, false},
		{"trunk prefix not digits", NumberPlan{CountryCode: "33", TrunkPrefix: "(0)"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := New(Config{WebCall: WebCallConfig{NumberPlan: tc.p}})
			if err == nil {
				srv.Close()
			}
			if (err == nil) != tc.ok {
				t.Fatalf("New: %v, want ok %v", err, tc.ok)
			}
		})
	}
}
