package service_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/customer"
	"github.com/voxdesk/voxdesk/service"
)

// identFlow listens to the caller once and hangs up.
const identFlow = `flow: ident
operator: none
steps:
  - id: who
    identify: reason
    listen: 8s
  - id: bye
    hangup: goodbye
`

// identResult is what the switch logged for one call's identify step.
type identResult struct{ customer, method, voice, warning string }

// noCallPlaced is SIPp's statistics line when it never sent its INVITE.
var noCallPlaced = regexp.MustCompile(`Total Calls created\s+\|\s+\|\s+0\s`)

var identLine = regexp.MustCompile(`msg="ivr: identify".*call_id=(\S+).*customer=(\S*) method=(\S+).*voice=(\S*) warning=("[^"]*"|\S*)`)

// TestVoiceIdentEndToEnd: a switch with 80 enrolled customers (75 Hyke
// telephone speakers and 5 LibriSpeech ones) takes SIPp calls streaming
// held-out speech through the IVR's identify step, in four groups:
// enrolled callers on an unknown number and on their own number, unknown
// callers (8 Hyke and 5 LibriSpeech speakers never enrolled) on an
// unknown number and on an enrolled customer's number. No unknown caller
// may be shown as a customer by voice, and no enrolled caller as someone
// else; each group's outcomes are reported.
func TestVoiceIdentEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end voice test skipped with -short")
	}
	speech, model := service.IdentSpeech(t)
	start := time.Now()
	hyke, libri, _ := service.DevSpeakers(t, speech)
	if len(hyke) < 83 || len(libri) < 10 {
		t.Fatalf("%d Hyke and %d LibriSpeech speakers", len(hyke), len(libri))
	}
	enrolled := append(append([]service.DevSpeaker{}, hyke[:75]...), libri[:5]...)
	unknown := append(append([]service.DevSpeaker{}, hyke[75:]...), libri[5:]...)

	// The store: 80 customers, each with a phone number and a
	// voiceprint from their enrolment speech (with consent).
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "customers.db")
	keyText := customer.NewKey()
	service.EnrolDevStore(t, dsn, keyText, model, enrolled)
	t.Logf("80 customers enrolled in %v", time.Since(start).Round(time.Millisecond))

	flows := t.TempDir()
	if err := os.WriteFile(filepath.Join(flows, "ident.yaml"), []byte(identFlow), 0o644); err != nil {
		t.Fatal(err)
	}
	sw := startSwitch(t, func(c *service.Config) {
		c.Customer.DSN, c.Customer.Key = dsn, keyText
		c.Voiceprint = service.VoiceprintConfig{ModelDir: model}
		c.IVR.Dir, c.IVR.Default = flows, "ident"
		c.Log.Level = "info"
	})

	// The calls: 5 per group, held-out speech (about 12 s, looped by
	// SIPp while the switch listens).
	type placed struct {
		group, who, from string
		want             string // the customer the caller is, "" when unknown
		callID           string
	}
	var calls []placed
	add := func(group string, s service.DevSpeaker, want, from string) {
		calls = append(calls, placed{group: group, who: s.ID, from: from, want: want, callID: fmt.Sprintf("vid-%d-%d", os.Getpid(), len(calls))})
	}
	for i := range 5 {
		a, b := 7+16*i, 3+16*i // spread over the enrolled Hyke speakers
		add("enrolled, unknown number", enrolled[a], service.DevCustomer(a), fmt.Sprintf("+3319900%04d", i))
		add("enrolled, own number", enrolled[b], service.DevCustomer(b), service.DevPhone(b))
	}
	add("enrolled, unknown number", enrolled[77], "C-77", "+33199009999") // LibriSpeech
	for i := range 5 {
		add("unknown, unknown number", unknown[i], "", fmt.Sprintf("+3319800%04d", i))
		// Three Hyke strangers and two LibriSpeech ones.
		add("unknown, customer's number", unknown[5+i%3+5*(i/3)], "", service.DevPhone(11*i))
	}
	var wg sync.WaitGroup
	slots := make(chan struct{}, 5)
	failures := make(chan string, len(calls))
	speakerOf := map[string]service.DevSpeaker{}
	for _, s := range append(enrolled, unknown...) {
		speakerOf[s.ID] = s
	}
	for _, c := range calls {
		wav := filepath.Join(t.TempDir(), "call.wav")
		writeUlawWAV(t, wav, service.LoadUlaw(t, speakerOf[c.who].Calls, 12))
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			p := sipp{scenario: "e2e_caller.xml", vars: map[string]string{"FROM": c.from, "WAV": wav, "DIGITS": ""},
				args: []string{"-cid_str", c.callID + "-%u"}, timeout: 40 * time.Second}
			// Five SIPp at once pick their media ports (and the two above,
			// for video) from what was free a moment before: one that
			// finds a port taken fails before sending anything, and is
			// run again.
			for attempt := 1; ; attempt++ {
				code, report := p.run(t, sw)
				if code == 0 {
					return
				}
				if attempt < 3 && strings.Contains(report, "Address already in use") && noCallPlaced.MatchString(report) {
					continue
				}
				failures <- fmt.Sprintf("%s (%s): %s", c.callID, c.group, report)
				return
			}
		}()
	}
	wg.Wait()
	close(failures)
	for f := range failures {
		t.Errorf("SIPp call failed: %s", f)
	}
	waitIdle(t, sw, 10*time.Second)

	results := map[string]identResult{}
	sc := bufio.NewScanner(strings.NewReader(sw.log.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if m := identLine.FindStringSubmatch(sc.Text()); m != nil {
			id := m[1][:strings.LastIndexByte(m[1], '-')]
			results[id] = identResult{customer: strings.Trim(m[2], `"`), method: m[3], voice: m[4], warning: strings.Trim(m[5], `"`)}
		}
	}
	type tally struct{ calls, byVoiceRight, byVoiceWrong, byNumber, none, warned int }
	groups := map[string]*tally{}
	var order []string
	for _, c := range calls {
		g := groups[c.group]
		if g == nil {
			g = &tally{}
			groups[c.group] = g
			order = append(order, c.group)
		}
		r, ok := results[c.callID]
		if !ok {
			t.Errorf("%s (%s): no identify step logged", c.callID, c.group)
			continue
		}
		g.calls++
		if r.warning != "" {
			g.warned++
		}
		switch {
		case r.method == "voice" && r.customer == c.want && c.want != "":
			g.byVoiceRight++
		case r.method == "voice":
			g.byVoiceWrong++
			t.Errorf("%s (%s, %s): shown as customer %s by voice", c.callID, c.group, c.who, r.customer)
		case r.method == "number":
			g.byNumber++
		default:
			g.none++
		}
		t.Logf("%s %-28s %-22s -> customer %-5q method %-6s voice %-8s warning %q", c.callID, c.group, c.who, r.customer, r.method, r.voice, r.warning)
	}
	var report strings.Builder
	report.WriteString("| group | calls | by voice, right | by voice, someone else | by number only | not identified | warned |\n| --- | --- | --- | --- | --- | --- | --- |\n")
	for _, name := range order {
		g := groups[name]
		fmt.Fprintf(&report, "| %s | %d | %d | %d | %d | %d | %d |\n", name, g.calls, g.byVoiceRight, g.byVoiceWrong, g.byNumber, g.none, g.warned)
	}
	t.Logf("outcomes (80 enrolled customers, %v in all):\n%s", time.Since(start).Round(time.Second), report.String())
	if g := groups["unknown, customer's number"]; g != nil && g.warned < g.calls {
		t.Errorf("unknown voices on a customer's number: %d of %d calls warned the agent", g.warned, g.calls)
	}
}
