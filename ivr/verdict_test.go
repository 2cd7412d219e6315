package ivr_test

import (
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/call/calltest"
	"github.com/voxdesk/voxdesk/ivr"
)

// judgingIdentifier is an Identifier whose listeners give a Verdict: a
// fixed one per caller voice, confident when it verified a customer.
type judgingIdentifier struct {
	verdicts map[int16]ivr.Verdict
	listens  [][]string
}

func (j *judgingIdentifier) Listen(cands []string) ivr.Listener {
	j.listens = append(j.listens, cands)
	return &judgingListener{j: j}
}

func (j *judgingIdentifier) Verify(customer string) ivr.Listener {
	return &judgingListener{j: j}
}

type judgingListener struct {
	j     *judgingIdentifier
	heard int16
}

func (l *judgingListener) Write(frame []int16) error {
	for _, v := range frame {
		if _, ok := l.j.verdicts[v]; ok {
			l.heard = v
		}
	}
	return nil
}

func (l *judgingListener) Decide() (string, float64, bool, time.Duration) {
	v := l.j.verdicts[l.heard]
	return v.Customer, v.Score, v.Voice == call.VoiceVerified, 3 * time.Second
}

func (l *judgingListener) Verdict() ivr.Verdict { return l.j.verdicts[l.heard] }
func (l *judgingListener) Close()               {}

// verdictFlow warns the agent's queue when the voice does not match, and
// sends watchlist hits to a queue of their own.
const verdictFlow = `
operator: general
steps:
  - id: who
    identify: p1s
    listen: 4s
  - id: route
    branch:
      - when: "watchlist != ''"
        goto: fraud
      - when: "warning != '' and voice == 'unknown'"
        goto: check
  - id: general
    queue: general
  - id: check
    queue: check
  - id: fraud
    queue: fraud
`

func TestIdentifyVerdict(t *testing.T) {
	const (
		owner   int16 = 4001 // the number's customer
		other   int16 = 4002 // another customer, on C-1001's number
		strange int16 = 4003 // nobody the switch knows
		crook   int16 = 4004 // on the watchlist
	)
	verdicts := map[int16]ivr.Verdict{
		owner:   {Voice: call.VoiceVerified, Customer: "C-1001", Score: 6.1, FalseIdent: 0.005},
		other:   {Voice: call.VoiceVerified, Customer: "C-1002", Score: 7.0, FalseIdent: 0.005, Warning: call.VoiceMismatch},
		strange: {Voice: call.VoiceUnknown, Score: 1.2, FalseIdent: 0.005, Warning: call.VoiceMismatch},
		crook:   {Voice: call.VoiceUnknown, Score: 0.3, FalseIdent: 0.005, Warning: call.VoiceMismatch, Watchlist: "fraud ring 7"},
	}
	cases := []struct {
		name     string
		voice    int16
		wantPath string
		wantVars map[string]string
	}{
		{"the number's customer verified by voice", owner, "who route general", map[string]string{
			call.VarCustomer: "C-1001", call.VarIdentMethod: "voice", call.VarVoice: "verified", call.VarIdentWarning: "", call.VarIdentFalseRate: "0.005"}},
		{"another customer's voice on the number: theirs, with the warning", other, "who route general", map[string]string{
			call.VarCustomer: "C-1002", call.VarIdentMethod: "voice", call.VarIdentWarning: call.VoiceMismatch}},
		{"an unknown voice on the number: the number's customer by number, warned", strange, "who route check", map[string]string{
			call.VarCustomer: "C-1001", call.VarIdentMethod: "number", call.VarVoice: "unknown", call.VarIdentWarning: call.VoiceMismatch}},
		{"a watchlist voice", crook, "who route fraud", map[string]string{
			call.VarCustomer: "C-1001", call.VarIdentMethod: "number", call.VarWatchlist: "fraud ring 7"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j := &judgingIdentifier{verdicts: verdicts}
			path, cl, _, _ := runFlow(t, runCase{
				name: c.name, flow: verdictFlow, caller: "+33100000001",
				script: []calltest.Event{{At: 200 * time.Millisecond, Speech: voice(c.voice, 3*time.Second)}},
				cfg: func(cfg *ivr.Config) {
					cfg.Identifier, cfg.Verifier = j, j
					cfg.Router = nil
					cfg.HoldLimit = 200 * time.Millisecond
				},
			})
			if path != c.wantPath {
				t.Errorf("path %q, want %q", path, c.wantPath)
			}
			for k, want := range c.wantVars {
				if got, _ := cl.Var(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if len(j.listens) != 1 || len(j.listens[0]) != 1 {
				t.Errorf("listens %v: a judging identifier is asked once, with the number's customers", j.listens)
			}
		})
	}
}
