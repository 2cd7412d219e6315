package customer_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/voxdesk/voxdesk/customer"
)

// FuzzParseCSV feeds arbitrary bytes to the import parser: it must not
// panic; a rejection lists bad rows with line numbers in order; an
// accepted file holds only valid customers, and writing them back and
// parsing again gives the same customers.
func FuzzParseCSV(f *testing.F) {
	for _, tt := range badImports {
		f.Add([]byte(tt.csv))
	}
	f.Add([]byte("id,name,phones,segment,vip,preferred_advisor,notes,lang\nc1,\"A, \"\"B\"\"\",+33100000001;+15555550100,gold,yes,agent-7,\"l1\r\nl2\",fr\n"))
	f.Add([]byte("\ufeffid,name\n c1 ,x\n"))
	if b, err := os.ReadFile("../examples/customers.csv"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cs, err := customer.ParseCSV(bytes.NewReader(data))
		if err != nil {
			var ie *customer.ImportError
			if !errors.As(err, &ie) || len(ie.Rows) == 0 {
				t.Fatalf("rejection is not an *ImportError with rows: %v", err)
			}
			for i, r := range ie.Rows {
				if r.Line < 1 || (i > 0 && r.Line < ie.Rows[i-1].Line) || len(r.Problems) == 0 {
					t.Fatalf("bad row report %+v in %v", r, err)
				}
			}
			return
		}
		keys := map[string]bool{}
		for _, c := range cs {
			if err := c.Validate(); err != nil {
				t.Fatalf("accepted an invalid customer: %v", err)
			}
			for k := range c.Attributes {
				keys[k] = true
			}
		}
		var attrs []string
		for k := range keys {
			attrs = append(attrs, k)
		}
		sort.Strings(attrs)
		var out bytes.Buffer
		err = customer.WriteCSV(&out, attrs, func(yield func(customer.Customer) error) error {
			for _, c := range cs {
				if err := yield(c); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		again, err := customer.ParseCSV(&out)
		if err != nil {
			t.Fatalf("written file does not parse: %v\n%q", err, out.String())
		}
		if !reflect.DeepEqual(again, cs) {
			t.Fatalf("round trip changed the customers:\n%+v\n%+v", cs, again)
		}
	})
}

// TestExampleCustomers loads examples/customers.csv into a store, so the
// sample never rots, and checks what the demo relies on: one customer per
// speaker of the speech corpora, and numbers shared between customers.
func TestExampleCustomers(t *testing.T) {
	ctx := context.Background()
	b, err := os.ReadFile("../examples/customers.csv")
	if err != nil {
		t.Fatal(err)
	}
	s := openStore(t, backends[0].newDSN(t), customer.Config{})
	if err := s.Import(ctx, bytes.NewReader(b), nil); err != nil {
		t.Fatal(err)
	}
	speakers := map[string]string{}
	numbers := map[string]int{}
	if err := s.EachCustomer(ctx, func(c customer.Customer) error {
		if sp := c.Attributes["demo_speaker"]; sp != "" {
			if prev, dup := speakers[sp]; dup {
				t.Errorf("speaker %s is both %s and %s", sp, prev, c.ID)
			}
			speakers[sp] = c.ID
		}
		for _, p := range c.Phones {
			numbers[p]++
			// Fictional ranges only: France's +33 1 99 00 and +33 6 39 98
			// (reserved for fiction), North America's NPA-555-01XX.
			if !strings.HasPrefix(p, "+33199") && !strings.HasPrefix(p, "+33639") &&
				!(strings.HasPrefix(p, "+1") && len(p) == 12 && p[5:10] == "55501") {
				t.Errorf("%s: number %s outside the fictional +33 and +1 555-01XX ranges", c.ID, p)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{"george", "jackson", "lucas", "nicolas", "theo", "yweweler",
		"1688", "1998", "2033", "2414", "2609", "3005", "3080", "3331", "367", "533"}
	for _, sp := range want {
		if speakers[sp] == "" {
			t.Errorf("no customer for speaker %s", sp)
		}
	}
	shared := 0
	for _, n := range numbers {
		if n > 1 {
			shared++
		}
	}
	if shared == 0 {
		t.Error("no number is shared between customers")
	}
	// If the speech corpus is here, the LibriSpeech ids must be its speakers.
	dir := os.Getenv("VOXDESK_SPEECH")
	if dir == "" {
		dir = "../../shared/speech"
	}
	manifest, err := os.ReadFile(dir + "/librispeech-test-other/manifest.csv")
	if err != nil {
		t.Logf("speech corpus not found (%v): speaker ids not cross-checked", err)
		return
	}
	for _, line := range strings.Split(string(manifest), "\n")[1:] {
		if id, _, ok := strings.Cut(line, ","); ok && speakers[id] == "" {
			t.Errorf("LibriSpeech speaker %s of the manifest has no customer", id)
		}
	}
}

// TestExportNeutralisesFormulas: cells a spreadsheet would run as a
// formula are exported with a leading quote (OWASP CSV injection), and
// importing the export gives every value back exactly.
func TestExportNeutralisesFormulas(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, "sqlite:"+t.TempDir()+"/v.db", customer.Config{})
	in := []customer.Customer{
		{ID: "c1", Name: `=cmd|' /C calc'!A0`, Phones: []string{"+33639980101"}, Notes: "\tindented"},
		{ID: "c2", Name: "+SUM(1+1)*cmd|' /C calc'!A0", Segment: "@SUM(1)", Notes: "\rcarriage"},
		{ID: "c3", Name: "-2+3", PreferredAdvisor: "=agent", Attributes: map[string]string{"=HYPERLINK": `=HYPERLINK("http://x","y")`}},
		{ID: "c4", Name: "'t Hooft", Notes: "'=already quoted", Attributes: map[string]string{"=HYPERLINK": "''"}},
		{ID: "=c5", Name: "plain"},
	}
	put(t, ctx, s, in...)
	out := exportString(t, ctx, s)
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	phones := slices.Index(recs[0], "phones")
	for i, rec := range recs {
		for j, cell := range rec {
			if j != phones && cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("row %d column %q: %q would run as a formula", i, recs[0][j], cell)
			}
		}
	}
	for _, want := range []string{`'=cmd|' /C calc'!A0`, "'+SUM(1+1)", "'@SUM(1)", "'-2+3", "'=agent", "'=HYPERLINK", "'\tindented", "'t Hooft", "''=already quoted", "'=c5", "+33639980101"} {
		if !strings.Contains(out, want) {
			t.Errorf("export lacks %q:\n%s", want, out)
		}
	}
	again := openStore(t, "sqlite:"+t.TempDir()+"/w.db", customer.Config{})
	if err := again.Import(ctx, strings.NewReader(out), nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range in {
		got, err := again.Customer(ctx, c.ID)
		if err != nil {
			t.Errorf("%s after round trip: %v", c.ID, err)
			continue
		}
		same(t, got, c)
	}
	// A hand-written quote before a formula is the spreadsheet's way to
	// say text: it is dropped; other leading quotes are data.
	cs, err := customer.ParseCSV(strings.NewReader("id,name,notes\nc1,'=1+2,'t is\n"))
	if err != nil || cs[0].Name != "=1+2" || cs[0].Notes != "'t is" {
		t.Errorf("hand-written quotes: %+v, %v", cs, err)
	}
}
