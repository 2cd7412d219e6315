package service_test

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/customer"
	"github.com/voxdesk/voxdesk/media"
	"github.com/voxdesk/voxdesk/media/g711"
	"github.com/voxdesk/voxdesk/service"
	"github.com/voxdesk/voxdesk/voiceprint"
)

// identSpeech is the development speech folder; outside CI its absence
// skips the test, in CI (where make test provides it) it fails it.
func identSpeech(t *testing.T) (speech, model string) {
	t.Helper()
	missing := func(format string, args ...any) {
		if os.Getenv("CI") == "true" {
			t.Fatalf(format, args...)
		}
		t.Skipf(format, args...)
	}
	speech = os.Getenv("VOXDESK_SPEECH")
	if speech == "" {
		speech = filepath.Join("..", "..", "shared", "speech")
	}
	if _, err := os.Stat(filepath.Join(speech, "hyke", "manifest.csv")); err != nil {
		missing("development speech absent (set VOXDESK_SPEECH): %v", err)
	}
	model, err := voiceprint.FindModelDir()
	if err != nil {
		missing("speaker model absent (voxdesk model fetch): %v", err)
	}
	return speech, model
}

// speaker is one development speaker: the files enrolment uses and the
// held-out ones calls stream.
type speaker struct {
	id           string
	enrol, calls []string
}

// devSpeakers lists Hyke's speakers (line 1 enrols, lines 2-5 call) and
// LibriSpeech test-other's (first two files enrol, the last two call).
// Hyke: Reda, Panjwani, Cutrell, NSDR 2011.
func devSpeakers(t *testing.T, root string) (hyke, libri []speaker) {
	t.Helper()
	read := func(path string) [][]string {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		rows, err := csv.NewReader(f).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return rows[1:]
	}
	idx := map[string]int{}
	for _, r := range read(filepath.Join(root, "hyke", "manifest.csv")) {
		i, ok := idx["h"+r[0]]
		if !ok {
			i = len(hyke)
			idx["h"+r[0]] = i
			hyke = append(hyke, speaker{id: "hyke:" + r[0]})
		}
		f := filepath.Join(root, "hyke", r[3])
		if r[2] == "1" {
			hyke[i].enrol = append(hyke[i].enrol, f)
		} else {
			hyke[i].calls = append(hyke[i].calls, f)
		}
	}
	files := map[string][]string{}
	var order []string
	for _, r := range read(filepath.Join(root, "librispeech-test-other", "manifest.csv")) {
		if _, ok := files[r[0]]; !ok {
			order = append(order, r[0])
		}
		files[r[0]] = append(files[r[0]], filepath.Join(root, "librispeech-test-other", r[4]))
	}
	for _, s := range order {
		fs := files[s]
		libri = append(libri, speaker{id: "libri:" + s, enrol: fs[:2], calls: fs[len(fs)-2:]})
	}
	return hyke, libri
}

// loadUlaw loads files joined, through a mu-law round trip, cut to secs
// (0: all).
func loadUlaw(t *testing.T, files []string, secs float64) []int16 {
	t.Helper()
	var pcm []int16
	for _, f := range files {
		p, err := media.LoadPCM(f, voiceprint.SampleRate)
		if err != nil {
			t.Fatal(err)
		}
		pcm = append(pcm, p...)
		if secs > 0 && len(pcm) >= int(secs*voiceprint.SampleRate) {
			pcm = pcm[:int(secs*voiceprint.SampleRate)]
			break
		}
	}
	for i, s := range pcm {
		pcm[i] = g711.UlawToLinear(g711.LinearToUlaw(s))
	}
	return pcm
}

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
	speech, model := identSpeech(t)
	start := time.Now()
	hyke, libri := devSpeakers(t, speech)
	if len(hyke) < 83 || len(libri) < 10 {
		t.Fatalf("%d Hyke and %d LibriSpeech speakers", len(hyke), len(libri))
	}
	enrolled := append(append([]speaker{}, hyke[:75]...), libri[:5]...)
	unknown := append(append([]speaker{}, hyke[75:]...), libri[5:]...)

	// The store: 80 customers, each with a phone number and a
	// voiceprint from their enrolment speech (with consent).
	ctx := context.Background()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "customers.db")
	keyText := customer.NewKey()
	key, _ := customer.ParseKey(keyText)
	db, err := customer.Open(ctx, dsn, customer.Config{Key: key}, customer.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	var rows strings.Builder
	rows.WriteString("id,name,phones\n")
	for i, s := range enrolled {
		fmt.Fprintf(&rows, "C-%02d,%s,+4420700%05d\n", i, s.id, i)
	}
	if err := db.Import(ctx, strings.NewReader(rows.String()), nil); err != nil {
		t.Fatal(err)
	}
	m, err := voiceprint.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	x := m.NewExtractor()
	for i, s := range enrolled {
		var utts []voiceprint.Embedding
		for _, f := range s.enrol {
			e, err := x.Embed(loadUlaw(t, []string{f}, 0), voiceprint.SampleRate)
			if err != nil {
				t.Fatal(err)
			}
			utts = append(utts, e)
		}
		vp, err := voiceprint.Enrol(utts)
		if err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprintf("C-%02d", i)
		if _, err := db.GiveConsent(ctx, customer.Consent{CustomerID: id, Method: customer.ConsentAgent, GivenBy: "test"}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SaveVoiceprint(ctx, customer.Voiceprint{CustomerID: id, ModelID: "vosk-model-spk-0.4", Embedding: vp.Vector, Utterances: len(utts), SpeechSeconds: vp.SpeechSeconds}, "test"); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
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
	add := func(group string, s speaker, want, from string) {
		calls = append(calls, placed{group: group, who: s.id, from: from, want: want, callID: fmt.Sprintf("vid-%d-%d", os.Getpid(), len(calls))})
	}
	for i := range 5 {
		a, b := 7+16*i, 3+16*i // spread over the enrolled Hyke speakers
		add("enrolled, unknown number", enrolled[a], fmt.Sprintf("C-%02d", a), fmt.Sprintf("+3319900%04d", i))
		add("enrolled, own number", enrolled[b], fmt.Sprintf("C-%02d", b), fmt.Sprintf("+4420700%05d", b))
	}
	add("enrolled, unknown number", enrolled[77], "C-77", "+33199009999") // LibriSpeech
	for i := range 5 {
		add("unknown, unknown number", unknown[i], "", fmt.Sprintf("+3319800%04d", i))
		// Three Hyke strangers and two LibriSpeech ones.
		add("unknown, customer's number", unknown[5+i%3+5*(i/3)], "", fmt.Sprintf("+4420700%05d", 11*i))
	}
	var wg sync.WaitGroup
	slots := make(chan struct{}, 5)
	failures := make(chan string, len(calls))
	speakerOf := map[string]speaker{}
	for _, s := range append(enrolled, unknown...) {
		speakerOf[s.id] = s
	}
	for _, c := range calls {
		wav := filepath.Join(t.TempDir(), "call.wav")
		writeUlawWAV(t, wav, loadUlaw(t, speakerOf[c.who].calls, 12))
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			p := sipp{scenario: "e2e_caller.xml", vars: map[string]string{"FROM": c.from, "WAV": wav, "DIGITS": ""},
				args: []string{"-cid_str", c.callID + "-%u"}, timeout: 40 * time.Second}
			if code, report := p.run(t, sw); code != 0 {
				failures <- fmt.Sprintf("%s (%s): %s", c.callID, c.group, report)
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
