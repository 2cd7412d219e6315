package ivr_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/ivr"
)

// noAdvisor is a switch whose router refuses every call (no agent of
// the queue logged in), with a voicemail.
func noAdvisor(c *ivr.Config) {
	c.Router = &fakeRouter{err: errors.New("routing: no agent of the queue is logged in")}
	c.Voicemail = &fakeVoicemail{}
}

// TestExamples loads every example flow and walks the main paths of the
// two lines with the simulator, so the examples never rot.
func TestExamples(t *testing.T) {
	files, _ := filepath.Glob("../examples/flows/*.yaml")
	if len(files) < 2 {
		t.Fatalf("example flows missing: %v", files)
	}
	flows := map[string]*ivr.Flow{}
	for _, file := range files {
		f, err := ivr.Load(file, ivr.Options{Builtin: builtin(t)})
		if err != nil {
			t.Fatalf("%s:\n%v", file, err)
		}
		flows[f.Name()] = f
	}
	sunday := time.Date(2026, 11, 29, 11, 0, 0, 0, mustLoc("Europe/Paris"))
	cases := []struct {
		name, flow string
		sim        ivr.Simulation
		cfg        func(*ivr.Config)
		wantLast   string
		wantVars   map[string]string
		wantPath   string        // steps run, when set
		within     time.Duration // the last step starts by then, when set
	}{
		{name: "hotline: billing by menu", flow: "hotline", sim: ivr.Simulation{Digits: []rune("1"), Speech: speechPrompt(t, "reason.wav"), At: monday9},
			wantLast: "billing", wantVars: map[string]string{call.VarQueue: "billing", call.VarSkills: "billing"}},
		{name: "hotline: 0 in the menu reaches a person", flow: "hotline", sim: ivr.Simulation{Digits: []rune("0"), At: monday9},
			wantLast: "advisor", wantVars: map[string]string{call.VarQueue: "general"}},
		{name: "hotline: silence ends with a person", flow: "hotline", sim: ivr.Simulation{At: monday9},
			wantLast: "advisor", wantPath: "welcome hours who advisor", within: 12 * time.Second},
		{name: "hotline: VIP recognised by voice skips the menu", flow: "hotline",
			sim:      ivr.Simulation{Caller: "+33100000002", Speech: voice(bob, 4*time.Second), At: monday9},
			wantLast: "vip", wantVars: map[string]string{call.VarCustomer: "C-1002", call.VarIdentMethod: "voice", call.VarPreferredAgent: "agent-7", call.VarPriority: "10"}},
		{name: "hotline: nobody to take the call, a message", flow: "hotline", sim: ivr.Simulation{Digits: []rune("0"), At: monday9},
			cfg:      noAdvisor,
			wantLast: "bye", wantVars: map[string]string{call.VarQueue: "general"}},
		{name: "account: nobody to take the call, a message", flow: "account",
			sim: ivr.Simulation{Caller: "+33199999999", Digits: []rune("1001#1234#"), At: monday9},
			cfg: noAdvisor, wantLast: "message", wantVars: map[string]string{call.VarQueue: "general"}},
		{name: "hotline: closed on Sunday, voicemail", flow: "hotline", sim: ivr.Simulation{At: sunday},
			cfg:      func(c *ivr.Config) { c.Voicemail = &fakeVoicemail{} },
			wantLast: "bye"},
		{name: "hotline: call-back", flow: "hotline", sim: ivr.Simulation{Digits: []rune("3"), Speech: speechPrompt(t, "reason.wav"), At: monday9, Caller: "+33199999999"},
			cfg:      func(c *ivr.Config) { c.Callbacks = &fakeCallbacks{} },
			wantLast: "bye"},
		{name: "account: sure voice goes straight to accounts", flow: "account",
			sim:      ivr.Simulation{Caller: "+33100000001", Speech: voice(alice, 4*time.Second), At: monday9},
			wantLast: "accounts", wantVars: map[string]string{call.VarCustomer: "C-1001", call.VarPriority: "10"}},
		{name: "account: unsure voice, account and PIN", flow: "account",
			sim:      ivr.Simulation{Caller: "+33199999999", Digits: []rune("1001#1234#"), At: monday9},
			wantLast: "accounts", wantVars: map[string]string{call.VarCustomer: "C-1001", call.VarIdentMethod: "pin"}},
		{name: "account: wrong PIN to a person", flow: "account",
			sim:      ivr.Simulation{Caller: "+33199999999", Digits: []rune("1001#9999#"), At: monday9},
			wantLast: "advisor", wantVars: map[string]string{call.VarCustomer: "", call.VarQueue: "general"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := newIdentifier()
			cfg := ivr.Config{Directory: newDirectory(), Identifier: id, Verifier: id, HoldLimit: time.Second}
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			res, err := ivr.Simulate(ctx, flows[tc.flow], tc.sim, cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Path) == 0 || res.Path[len(res.Path)-1].ID != tc.wantLast {
				t.Fatalf("path %v, want it to end at %s", res.Path, tc.wantLast)
			}
			last := res.Path[len(res.Path)-1]
			if tc.within > 0 && last.At > tc.within {
				t.Errorf("%s reached at %v of the call, want by %v", last.ID, last.At, tc.within)
			}
			if tc.wantPath != "" {
				var ids []string
				for _, st := range res.Path {
					ids = append(ids, st.ID)
				}
				if got := strings.Join(ids, " "); got != tc.wantPath {
					t.Errorf("path %q, want %q", got, tc.wantPath)
				}
			}
			for k, want := range tc.wantVars {
				if got := res.Vars[k]; got != want {
					t.Errorf("var %s = %q, want %q", k, got, want)
				}
			}
		})
	}
}
