package ivr_test

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/call/calltest"
	"github.com/voxdesk/voxdesk/ivr"
)

// frontDoor is the flow most runner cases walk: greet, identify, route by
// who called and when, menu fallback, 0 to a person.
const frontDoor = `
operator: agent
calendars:
  office:
    timezone: Europe/Paris
    hours:
      mon-fri: 08:00-18:00
    holidays: [2026-12-25]
steps:
  - id: greet
    play: p1s
    bargein: true
  - id: hours
    branch:
      - when: "not open('office')"
        goto: closed
  - id: who
    identify: p1s
    listen: 6s
  - id: route
    branch:
      - when: "identified and customer.vip"
        goto: vip
      - when: "method == 'voice' and customer.segment == 'gold'"
        goto: gold
  - id: menu
    menu: p2s
    choices:
      1: billing
      2: tech
    timeout: 3s
    retries: 1
    no-input: p500
    invalid: p500
    fail: agent
  - id: billing
    queue: billing
    skills: [billing]
  - id: tech
    queue: tech
    skills: [tech]
  - id: vip
    queue: vip
    priority: 10
    preferred: customer.advisor
  - id: gold
    queue: billing
    priority: 5
  - id: closed
    hangup: p1s
  - id: agent
    queue: general
`

// monday9 is a Monday, 09:00 in Paris.
var monday9 = time.Date(2026, 11, 23, 9, 0, 0, 0, mustLoc("Europe/Paris"))

func mustLoc(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

const (
	alice int16 = 1111 // customer C-1001, gold
	bob   int16 = 2222 // customer C-1002, VIP
	eve   int16 = 3333 // speaks but is not enrolled
)

func newDirectory() *fakeDirectory {
	return &fakeDirectory{
		numbers: map[string][]string{"+33100000001": {"C-1001"}, "+33100000002": {"C-1002", "C-1003"}},
		fields: map[string]map[string]string{
			"C-1001": {"segment": "gold", "vip": "false"},
			"C-1002": {"segment": "silver", "vip": "true", "advisor": "agent-7"},
		},
		pins: map[string]string{"C-1001": "1234"},
	}
}

func newIdentifier() *fakeIdentifier {
	return &fakeIdentifier{voices: map[int16]string{alice: "C-1001", bob: "C-1002"}, need: 2 * time.Second}
}

type runCase struct {
	name     string
	flow     string
	caller   string
	at       time.Time
	script   []calltest.Event
	cfg      func(*ivr.Config)
	wantPath string            // steps visited, space-separated
	wantVars map[string]string // call variables that must hold these values
	check    func(t *testing.T, leg *calltest.Leg, cfg ivr.Config)
	onCall   func(c *call.Call) // before the flow runs
}

// runFlow parses src and serves one scripted call with it.
func runFlow(t *testing.T, tc runCase) (string, *call.Call, *calltest.Leg, ivr.Config) {
	t.Helper()
	f, err := ivr.Parse(tc.name+".yaml", []byte(tc.flow), testOpts)
	if err != nil {
		t.Fatalf("Parse:\n%v", err)
	}
	id := newIdentifier()
	cfg := ivr.Config{Directory: newDirectory(), Identifier: id, Verifier: id, HoldLimit: 2 * time.Second, DecideEvery: 200 * time.Millisecond}
	if tc.cfg != nil {
		tc.cfg(&cfg)
	}
	at := tc.at
	if at.IsZero() {
		at = monday9
	}
	var path []string
	r := ivr.NewRunner(f, cfg, ivr.WithClock(func() time.Time { return at }), ivr.WithLogger(slog.New(slog.DiscardHandler)),
		ivr.OnStep(func(c *call.Call, f *ivr.Flow, step string) { path = append(path, step) }))
	leg := calltest.NewLeg(tc.script...)
	leg.MaxDuration = 5 * time.Minute
	c := call.New("test-call", leg, nil)
	c.Caller = tc.caller
	if tc.onCall != nil {
		tc.onCall(c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.ServeCall(ctx, c); err != nil {
		t.Fatalf("ServeCall: %v", err)
	}
	if !leg.Answered() {
		t.Errorf("call not answered")
	}
	if leg.Cause() == call.CauseNone {
		t.Errorf("call still up after the flow")
	}
	return strings.Join(path, " "), c, leg, cfg
}

func TestRunner(t *testing.T) {
	var transferTapped atomic.Int64 // caller's samples a tap on the call saw cross the transfer
	cases := []runCase{
		{
			name: "menu choice 1 reaches the billing queue", flow: frontDoor, caller: "+33199999999",
			script:   []calltest.Event{{At: 4 * time.Second, Digit: '1'}},
			wantPath: "greet hours who route menu billing",
			wantVars: map[string]string{call.VarQueue: "billing", call.VarSkills: "billing", call.VarIdentMethod: "none", call.VarCustomer: ""},
		},
		{
			name: "0 during the greeting reaches a person", flow: frontDoor,
			script:   []calltest.Event{{At: 500 * time.Millisecond, Digit: '0'}},
			wantPath: "greet agent",
			wantVars: map[string]string{call.VarQueue: "general"},
		},
		{
			name: "a key during the greeting skips identify and answers the menu", flow: frontDoor,
			script:   []calltest.Event{{At: 500 * time.Millisecond, Digit: '2'}},
			wantPath: "greet hours who route menu tech",
			check: func(t *testing.T, leg *calltest.Leg, cfg ivr.Config) {
				// Greeting cut at 0.5 s, no identify prompt, no menu prompt.
				if got := leg.Now(); got > 4*time.Second {
					t.Errorf("call lasted %v before queueing, want the prompts skipped", got)
				}
			},
		},
		{
			name: "no input twice falls to a person", flow: frontDoor,
			wantPath: "greet hours who route menu agent",
		},
		{
			name: "invalid key, then a valid one", flow: frontDoor,
			script:   []calltest.Event{{At: 9500 * time.Millisecond, Digit: '7'}, {At: 11 * time.Second, Digit: '2'}},
			wantPath: "greet hours who route menu tech",
		},
		{
			name: "voice of a customer linked to the number, gold, routed at once", flow: frontDoor, caller: "+33100000001",
			script:   []calltest.Event{{At: 2 * time.Second, Speech: voice(alice, 5*time.Second)}},
			wantPath: "greet hours who route gold",
			wantVars: map[string]string{call.VarCustomer: "C-1001", call.VarIdentMethod: "voice", call.VarIdentScore: "1.0000", call.VarCandidates: "C-1001", call.VarQueue: "billing", call.VarPriority: "5"},
			check: func(t *testing.T, leg *calltest.Leg, cfg ivr.Config) {
				// Confident after 2 s of speech: the 6 s window is cut short.
				if got := leg.Now(); got > 5*time.Second+2*time.Second {
					t.Errorf("identify took until %v, want it to stop once confident", got)
				}
			},
		},
		{
			name: "VIP found in the whole base when the number's customers do not match", flow: frontDoor, caller: "+33100000001",
			script:   []calltest.Event{{At: 2 * time.Second, Speech: voice(bob, 5*time.Second)}},
			wantPath: "greet hours who route vip",
			wantVars: map[string]string{call.VarCustomer: "C-1002", call.VarIdentMethod: "voice", call.VarQueue: "vip", call.VarPriority: "10", call.VarPreferredAgent: "agent-7"},
			check: func(t *testing.T, leg *calltest.Leg, cfg ivr.Config) {
				id := cfg.Identifier.(*fakeIdentifier)
				if len(id.listens) != 2 || len(id.listens[0]) != 1 || id.listens[1] != nil {
					t.Errorf("listens = %v, want the number's customers first, then the whole base", id.listens)
				}
			},
		},
		{
			name: "unknown voice, number of one customer: identified by number only", flow: frontDoor, caller: "+33100000001",
			script:   []calltest.Event{{At: 2 * time.Second, Speech: voice(eve, 3*time.Second)}, {At: 12 * time.Second, Digit: '1'}},
			wantPath: "greet hours who route menu billing",
			wantVars: map[string]string{call.VarCustomer: "C-1001", call.VarIdentMethod: "number"},
		},
		{
			name: "closed in the evening", flow: frontDoor, at: monday9.Add(10 * time.Hour),
			wantPath: "greet hours closed",
		},
		{
			name: "closed on a holiday", flow: frontDoor, at: time.Date(2026, 12, 25, 10, 0, 0, 0, mustLoc("Europe/Paris")),
			wantPath: "greet hours closed",
		},
		{
			name: "caller hangs up in the menu", flow: frontDoor,
			script:   []calltest.Event{{At: 9 * time.Second, Hangup: true}},
			wantPath: "greet hours who route menu",
		},
		{
			name: "router gets queue, skills, priority and preferred advisor", flow: frontDoor, caller: "+33100000002",
			script:   []calltest.Event{{At: 2 * time.Second, Speech: voice(bob, 3*time.Second)}},
			cfg:      func(c *ivr.Config) { c.Router = &fakeRouter{} },
			wantPath: "greet hours who route vip",
			check: func(t *testing.T, leg *calltest.Leg, cfg ivr.Config) {
				got := cfg.Router.(*fakeRouter).calls
				if len(got) != 1 || got[0] != "vip skills=[] prio=10 pref=agent-7" {
					t.Errorf("router calls = %q", got)
				}
			},
		},
		{
			name: "account and PIN identify the caller", caller: "+33199999999",
			flow:     pinFlow,
			script:   []calltest.Event{{At: 1500 * time.Millisecond, Digit: 'x'}},
			wantPath: "main:1 main:2 main:3 bad",
		},
		{
			name: "PIN accepted", flow: pinFlow,
			script:   append(digits(1500*time.Millisecond, "1001#"), digits(4*time.Second, "1234")...),
			wantPath: "main:1 main:2 main:3 main:4",
			wantVars: map[string]string{call.VarCustomer: "C-1001", call.VarIdentMethod: "pin", "account": "1001", "code": "1234"},
		},
		{
			name: "voice verification after the account number", flow: verifyFlow,
			script:   append(digits(1500*time.Millisecond, "1002#"), calltest.Event{At: 4 * time.Second, Speech: voice(bob, 4*time.Second)}),
			wantPath: "main:1 main:2 main:3",
			wantVars: map[string]string{call.VarCustomer: "C-1002", call.VarIdentMethod: "voice"},
		},
		{
			name: "voice verification fails for an impostor", flow: verifyFlow,
			script:   append(digits(1500*time.Millisecond, "1002#"), calltest.Event{At: 4 * time.Second, Speech: voice(alice, 4*time.Second)}),
			wantPath: "main:1 main:2 agent",
			wantVars: map[string]string{call.VarCustomer: ""},
		},
		{
			name: "sub-flow returns to its caller", flow: `
operator: none
steps:
  - call: greet
  - set:
      n: "len(caller)"
  - hangup
subflows:
  greet:
    - play: p500
    - return
`,
			wantPath: "main:1 greet:1 greet:2 main:2 main:3",
		},
		{
			name: "callback request then goodbye", flow: `
operator: none
steps:
  - callback: billing
    prompt: p500
  - hangup: p500
`, caller: "+33100000001",
			cfg:      func(c *ivr.Config) { c.Callbacks = &fakeCallbacks{} },
			wantPath: "main:1 main:2",
			check: func(t *testing.T, leg *calltest.Leg, cfg ivr.Config) {
				got := cfg.Callbacks.(*fakeCallbacks).got
				if len(got) != 1 || got[0] != "+33100000001  billing 09:00" {
					t.Errorf("callbacks = %q", got)
				}
			},
		},
		{
			name: "voicemail records until #", flow: `
operator: none
steps:
  - voicemail: sales
    prompt: p1s
  - hangup
`,
			script:   []calltest.Event{{At: 2 * time.Second, Speech: voice(alice, 3*time.Second)}, {At: 6 * time.Second, Digit: '#'}},
			cfg:      func(c *ivr.Config) { c.Voicemail = &fakeVoicemail{} },
			wantPath: "main:1 main:2",
			check: func(t *testing.T, leg *calltest.Leg, cfg ivr.Config) {
				vm := cfg.Voicemail.(*fakeVoicemail)
				if vm.box != "sales" || vm.voice != alice || vm.length < 4900*time.Millisecond || vm.length > 5100*time.Millisecond {
					t.Errorf("voicemail box %q voice %d length %v, want sales, alice, 5s", vm.box, vm.voice, vm.length)
				}
			},
		},
		{
			name: "enrolment with consent", flow: `
operator: none
steps:
  - set:
      who: "'1009'"
  - enrol: p1s
    customer: who
    prompt: p500
    speech: 3s
    fail: sorry
  - hangup
  - id: sorry
    hangup:
`,
			script:   []calltest.Event{{At: 1200 * time.Millisecond, Digit: '1'}, {At: 2 * time.Second, Speech: voice(eve, 5*time.Second)}},
			cfg:      func(c *ivr.Config) { c.Enroller = &fakeEnroller{} },
			wantPath: "main:1 main:2 main:3",
			wantVars: map[string]string{ivr.VarEnrolStatus: "done"},
			check: func(t *testing.T, leg *calltest.Leg, cfg ivr.Config) {
				e := cfg.Enroller.(*fakeEnroller)
				if len(e.consents) != 1 || e.consents[0] != "1009 true" || e.stored["1009"] < 3*time.Second {
					t.Errorf("consents %q stored %v", e.consents, e.stored)
				}
			},
		},
		{
			name: "enrolment refused", flow: `
operator: none
steps:
  - enrol: p1s
    customer: "'1009'"
    fail: sorry
  - hangup
  - id: sorry
    hangup:
`,
			script:   []calltest.Event{{At: 1200 * time.Millisecond, Digit: '2'}},
			cfg:      func(c *ivr.Config) { c.Enroller = &fakeEnroller{} },
			wantPath: "main:1 sorry",
			wantVars: map[string]string{ivr.VarEnrolStatus: "refused"},
		},
		{
			name: "transfer bridges the caller to the far end", flow: `
operator: none
steps:
  - transfer: sip:desk@127.0.0.1
`,
			script: []calltest.Event{{At: 100 * time.Millisecond, Speech: voice(alice, time.Second)}, {At: 2 * time.Second, Hangup: true}},
			cfg: func(c *ivr.Config) {
				far := calltest.NewLeg(calltest.Event{At: 5 * time.Second, Hangup: true})
				far.Pace = true
				c.Dialer = &fakeDialer{leg: far}
			},
			// A recorder or supervisor on the call's taps follows the
			// caller through the transfer's bridge.
			onCall: func(c *call.Call) {
				c.Taps.Observe(call.TapFunc(func(dir call.Direction, f []int16) {
					for _, v := range f {
						if dir == call.FromCaller && v == alice {
							transferTapped.Add(1)
						}
					}
				}))
			},
			wantPath: "main:1",
			check: func(t *testing.T, leg *calltest.Leg, cfg ivr.Config) {
				if n := transferTapped.Load(); n < call.SampleRate*9/10 {
					t.Errorf("the call's taps saw %d samples of the caller cross the transfer", n)
				}
				d := cfg.Dialer.(*fakeDialer)
				got := 0
				for _, v := range d.leg.(*calltest.Leg).Written() {
					if v == alice {
						got++
					}
				}
				if d.target != "sip:desk@127.0.0.1" || got < call.SampleRate*9/10 {
					t.Errorf("dialled %q, far end heard %d samples of the caller", d.target, got)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path, c, leg, cfg := runFlow(t, tc)
			if path != tc.wantPath {
				t.Errorf("path = %q, want %q", path, tc.wantPath)
			}
			if got, _ := c.Var(ivr.VarPath); got != tc.wantPath {
				t.Errorf("var %s = %q, want the steps run %q", ivr.VarPath, got, tc.wantPath)
			}
			for k, want := range tc.wantVars {
				if got, _ := c.Var(k); got != want {
					t.Errorf("var %s = %q, want %q", k, got, want)
				}
			}
			if tc.check != nil {
				tc.check(t, leg, cfg)
			}
		})
	}
}

const verifyFlow = `
operator: agent
steps:
  - collect: account
    prompt: p1s
  - verify: "'C-' + account"
    prompt: p1s
    listen: 5s
    fail: agent
  - queue: verified
  - id: agent
    queue: general
`

const pinFlow = `
operator: none
steps:
  - collect: account
    prompt: p1s
    max: 8
  - collect: code
    prompt: p1s
    max: 4
  - pin: code
    customer: "'C-' + account"
    fail: bad
  - queue: known
  - id: bad
    hangup: p500
`

// digits scripts key presses 200 ms apart from start.
func digits(start time.Duration, keys string) []calltest.Event {
	var out []calltest.Event
	for i, k := range keys {
		out = append(out, calltest.Event{At: start + time.Duration(i)*200*time.Millisecond, Digit: k})
	}
	return out
}
