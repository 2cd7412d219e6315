package customer_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"reflect"
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
