package service

import (
	"context"
	"slices"
	"testing"
)

func TestDirectoryByNumber(t *testing.T) {
	_, db := demoVoice(t)
	d := directory{db}
	for _, tc := range []struct {
		name, number string
		want         []string
	}{
		{"one customer's mobile", "+33639980101", []string{"C-1001"}},
		{"a household number shared by three customers", "+33199000118", []string{"C-1018", "C-1019", "C-1020"}},
		{"an unknown number", "+33100000000", nil},
		{"a withheld caller is nobody, not an error", "anonymous", nil},
		{"a SIP user name is nobody, not an error", "sipp", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := d.ByNumber(context.Background(), tc.number)
			if err != nil {
				t.Fatalf("ByNumber(%q): %v", tc.number, err)
			}
			if !slices.Equal(got, tc.want) && (len(got) != 0 || len(tc.want) != 0) {
				t.Fatalf("ByNumber(%q) = %v, want %v", tc.number, got, tc.want)
			}
		})
	}
}
