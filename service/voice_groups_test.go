package service

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/customer"
	"github.com/voxdesk/voxdesk/identify"
	"github.com/voxdesk/voxdesk/ivr"
	"github.com/voxdesk/voxdesk/voiceprint"
)

// TestVoiceGroupsTable measures bench/RESULTS-voiceprint.md's table: a
// voice side with 80 enrolled customers (70 Hyke speakers, 10
// LibriSpeech), every held-out recording streamed as a call to 3 s and
// to 7 s of net speech, in the four groups of the end-to-end test, with
// the switch's policy and with the raw cosine rule it replaced (cosine
// >= 0.5, the number's customers first, then the whole base). Unknown
// callers: Hyke's other 13 speakers and FSDD's 6. Long, so gated:
//
//	VOXDESK_BENCH=1 go test ./service -run TestVoiceGroupsTable -v
func TestVoiceGroupsTable(t *testing.T) {
	if os.Getenv("VOXDESK_BENCH") == "" {
		t.Skip("a measurement for bench/RESULTS-voiceprint.md; set VOXDESK_BENCH=1")
	}
	speech, model := IdentSpeech(t)
	hyke, libri, fsdd := DevSpeakers(t, speech)
	enrolled := append(slices.Clone(hyke[:70]), libri...)
	unknown := append(slices.Clone(hyke[70:]), fsdd...)
	keyText := customer.NewKey()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "vx.db")
	vps := EnrolDevStore(t, dsn, keyText, model, enrolled)
	key, _ := customer.ParseKey(keyText)
	db, err := customer.Open(context.Background(), dsn, customer.Config{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	network := os.Getenv("VOXDESK_NETWORK")
	v, err := newVoice(context.Background(), VoiceprintConfig{ModelDir: model, Network: network}, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := v.model
	// One call per held-out recording (FSDD: ten digits joined).
	type callee struct {
		speaker string
		own     int // index of the customer, -1 for strangers
		pcm     []int16
	}
	var known, strangers []callee
	for i, s := range enrolled {
		for _, f := range s.Calls {
			known = append(known, callee{s.ID, i, LoadUlaw(t, []string{f}, 0)})
		}
	}
	for _, s := range unknown {
		if strings.HasPrefix(s.ID, "fsdd:") {
			for k := 0; k+10 <= len(s.Calls); k += 10 {
				strangers = append(strangers, callee{s.ID, -1, LoadUlaw(t, s.Calls[k:k+10], 0)})
			}
			continue
		}
		for _, f := range s.Calls {
			strangers = append(strangers, callee{s.ID, -1, LoadUlaw(t, []string{f}, 0)})
		}
	}
	type cell struct{ calls, right, wrong int }
	type row struct {
		group string
		cells map[string]*cell // "policy 3", "cosine 7"...
	}
	rows := []*row{{group: "enrolled, unknown number"}, {group: "enrolled, own number"}, {group: "unknown, unknown number"}, {group: "unknown, customer's number"}}
	for _, r := range rows {
		r.cells = map[string]*cell{}
	}
	count := func(r *row, key string, got string, want string) {
		c := r.cells[key]
		if c == nil {
			c = &cell{}
			r.cells[key] = c
		}
		c.calls++
		switch {
		case got != "" && got == want:
			c.right++
		case got != "":
			c.wrong++
		}
	}
	// cosineRule is the replaced rule on an embedding.
	cosineRule := func(emb []float32, number []string) string {
		best, bestScore := "", -1.0
		pick := func(ids []string) {
			for _, id := range ids {
				if s := voiceprint.Cosine(emb, vps[id]); s > bestScore {
					best, bestScore = id, s
				}
			}
		}
		pick(number)
		if bestScore >= 0.5 {
			return best
		}
		best, bestScore = "", -1
		all := make([]string, 0, len(vps))
		for id := range vps {
			all = append(all, id)
		}
		pick(all)
		if bestScore >= 0.5 {
			return best
		}
		return ""
	}
	// listen streams pcm into l until secs of net speech and decides.
	listen := func(l ivr.Listener, pcm []int16, secs float64) (ivr.Verdict, bool) {
		defer l.Close()
		ll := l.(*listener)
		for k := 0; k+call.FrameSamples <= len(pcm); k += call.FrameSamples {
			ll.Write(pcm[k : k+call.FrameSamples])
			if ll.stream.Speech() >= secs {
				ll.Decide()
				return ll.Verdict(), true
			}
		}
		return ivr.Verdict{}, false
	}
	for _, secs := range []float64{3, 7} {
		embs := func(pcm []int16) []float32 {
			e := identify.StreamCuts(m, pcm, []float64{secs})
			if len(e) == 0 {
				return nil
			}
			return e[0].Vector
		}
		for i, c := range append(slices.Clone(known), strangers...) {
			want := ""
			if c.own >= 0 {
				want = DevCustomer(c.own)
			}
			emb := embs(c.pcm)
			if emb == nil {
				continue // the recording has less speech than secs
			}
			unknownNumber := []string(nil)
			ownNumber := []string{DevCustomer(max(c.own, 0))}
			if c.own < 0 {
				ownNumber = []string{DevCustomer((i * 7) % len(enrolled))} // a customer's number
			}
			groups := []struct {
				r      *row
				number []string
			}{{rows[0], unknownNumber}, {rows[1], ownNumber}}
			if c.own < 0 {
				groups = []struct {
					r      *row
					number []string
				}{{rows[2], unknownNumber}, {rows[3], ownNumber}}
			}
			for _, g := range groups {
				vd, ok := listen(v.Listen(g.number), c.pcm, secs)
				if !ok {
					continue
				}
				count(g.r, fmt.Sprintf("policy %g", secs), vd.Customer, want)
				count(g.r, fmt.Sprintf("cosine %g", secs), cosineRule(emb, g.number), want)
			}
		}
	}
	var b strings.Builder
	b.WriteString("| group | speech | calls | raw cosine 0.5: right | raw cosine: false identifications | policy: right | policy: false identifications |\n| --- | --- | --- | --- | --- | --- | --- |\n")
	for _, r := range rows {
		for _, secs := range []float64{3, 7} {
			p, c := r.cells[fmt.Sprintf("policy %g", secs)], r.cells[fmt.Sprintf("cosine %g", secs)]
			if p == nil {
				continue
			}
			fmt.Fprintf(&b, "| %s | %g s | %d | %d | %d | %d | %d |\n", r.group, secs, p.calls, c.right, c.wrong, p.right, p.wrong)
		}
	}
	t.Logf("80 enrolled customers, network %s, calibration defaults:\n%s", v.cfg.Network, b.String())
	for _, r := range rows {
		for k, c := range r.cells {
			if strings.HasPrefix(k, "policy") && c.wrong > 0 {
				t.Errorf("%s, %s: %d false identifications", r.group, k, c.wrong)
			}
		}
	}
}
