package service

import (
	"strings"
	"testing"
)

func TestParseManifest(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []ManifestRow
		err      string
	}{
		{"columns in any order, others ignored, BOM", "\ufefffile,note,customer_id\na.wav,x,C-1\n\"b,\nc.wav\",y,C-2\n",
			[]ManifestRow{{Line: 2, CustomerID: "C-1", File: "a.wav"}, {Line: 3, CustomerID: "C-2", File: "b,\nc.wav"}}, ""},
		{"short rows kept for the enrolment to refuse", "customer_id,file\nC-1\n,x.wav\n",
			[]ManifestRow{{Line: 2, CustomerID: "C-1"}, {Line: 3, File: "x.wav"}}, ""},
		{"empty", "", nil, "empty file"},
		{"no file column", "customer_id,path\nC-1,a\n", nil, "lacks customer_id or file"},
		{"bad quoting", "customer_id,file\nC-1,\"a\nC-2,b\n", nil, "line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseManifest(strings.NewReader(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("row %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func FuzzParseManifest(f *testing.F) {
	for _, s := range []string{
		"customer_id,file\nC-1,a.wav\nC-1,b.wav\n",
		"file,customer_id\n\"x\ny\",C-2\n",
		"customer_id,file\n\"unterminated\n",
		"\ufeffcustomer_id,file\r\n,\r\n",
		"customer_id\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		rows, err := ParseManifest(strings.NewReader(in))
		if err != nil {
			return
		}
		last := 1
		for _, r := range rows {
			if r.Line <= last {
				t.Fatalf("row line %d after %d", r.Line, last)
			}
			last = r.Line
		}
	})
}
