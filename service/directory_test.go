package service

import (
	"context"
	"slices"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/voxdesk/voxdesk/customer"
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
		{"the Marchetti household landline", "+33199000103", []string{"C-1003", "C-1004"}},
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

func TestDirectoryCheckPIN(t *testing.T) {
	_, db := demoVoice(t)
	ctx := context.Background()
	hash, err := bcrypt.GenerateFromPassword([]byte("4321"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	for id, attrs := range map[string]map[string]string{
		"PIN-HASH":  {"pin_hash": string(hash)},
		"PIN-CLEAR": {"pin": "1234"},
		"PIN-NONE":  {},
		"PIN-BAD":   {"pin_hash": "not a bcrypt hash"},
	} {
		if err := db.PutCustomer(ctx, customer.Customer{ID: id, Name: id, Attributes: attrs}); err != nil {
			t.Fatal(err)
		}
	}
	d := directory{db}
	for _, tc := range []struct {
		name, id, pin string
		want          bool
		wantErr       bool
	}{
		{"hashed PIN right", "PIN-HASH", "4321", true, false},
		{"hashed PIN wrong", "PIN-HASH", "4320", false, false},
		{"clear PIN right", "PIN-CLEAR", "1234", true, false},
		{"clear PIN wrong", "PIN-CLEAR", "12345", false, false},
		{"no PIN on file never matches", "PIN-NONE", "", false, false},
		{"unknown customer never matches", "NOBODY", "1234", false, false},
		{"a corrupt hash is an error, not a match", "PIN-BAD", "1234", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := d.CheckPIN(ctx, tc.id, tc.pin)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("CheckPIN(%s, %q) = %v, %v", tc.id, tc.pin, got, err)
			}
		})
	}
}
