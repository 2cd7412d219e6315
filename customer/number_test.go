package customer_test

import (
	"context"
	"errors"
	"testing"

	"github.com/voxdesk/voxdesk/customer"
)

var (
	france = customer.NumberPlan{CountryCode: "33", TrunkPrefix: "0"}
	nanp   = customer.NumberPlan{CountryCode: "1", TrunkPrefix: "1", InternationalPrefix: "011"}
	italy  = customer.NumberPlan{CountryCode: "39"}
)

func TestNormaliseNumber(t *testing.T) {
	for _, tc := range []struct {
		plan        customer.NumberPlan
		typed, want string
	}{
		{france, "06 39 98 01 01", "+33639980101"},
		{france, "06.39.98.01.01", "+33639980101"},
		{france, "+33 (0)6 39 98 01 01", "+33639980101"},
		{france, "+44 (0)20 7946 0958", "+442079460958"},
		{france, "+33 6 39 98 01 01", "+33639980101"},
		{france, "0033 6 39 98 01 01", "+33639980101"},
		{france, "+1 (202) 555-0101", "+12025550101"},
		{france, " +33639980101 ", "+33639980101"},
		{france, "06\u00a039\u202f98 01 01", "+33639980101"},
		{nanp, "(202) 555-0101", "+12025550101"},
		{nanp, "1-202-555-0101", "+12025550101"},
		{nanp, "011 33 6 39 98 01 01", "+33639980101"},
		{italy, "06 1234 5678", "+390612345678"},
		{customer.NumberPlan{}, "+44 20 7946 0958", "+442079460958"},
	} {
		got, err := tc.plan.Normalise(tc.typed)
		if err != nil || got != tc.want {
			t.Errorf("%+v Normalise(%q) = %q, %v; want %q", tc.plan, tc.typed, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		plan  customer.NumberPlan
		typed string
	}{
		{france, ""},
		{france, "call me"},
		{france, "06 39 98 01 01 x12"},
		{france, "06 39 98 01 01;ext=2"},
		{france, "6+3998"},
		{france, "12"},
		{france, "+0 639980101"},
		{france, "+33 6 39 98 01 01 01 01 01 01"},
		{customer.NumberPlan{}, "06 39 98 01 01"},
		{france, "0639980101\x00"},
	} {
		if got, err := tc.plan.Normalise(tc.typed); !errors.Is(err, customer.ErrInvalid) {
			t.Errorf("%+v Normalise(%q) = %q, %v; want ErrInvalid", tc.plan, tc.typed, got, err)
		}
	}
}

func FuzzNormaliseNumber(f *testing.F) {
	for _, s := range []string{"06 39 98 01 01", "+1 (202) 555-0101", "0033639980101", "x", "+", "00", "0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, typed string) {
		for _, plan := range []customer.NumberPlan{france, nanp, italy, {}} {
			got, err := plan.Normalise(typed)
			if err != nil {
				if !errors.Is(err, customer.ErrInvalid) {
					t.Fatalf("%q: error %v does not wrap ErrInvalid", typed, err)
				}
				continue
			}
			if !customer.IsE164(got) {
				t.Fatalf("%q read as %q, not E.164", typed, got)
			}
			if again, err := plan.Normalise(got); err != nil || again != got {
				t.Fatalf("%q: normalising %q again gives %q, %v", typed, got, again, err)
			}
		}
	})
}

// testTypedNumber: a number typed as people do finds its customers.
func testTypedNumber(t *testing.T, ctx context.Context, e *env) {
	put(t, ctx, e.s, customer.Customer{ID: "c1", Name: "Alice", Phones: []string{"+33639980101"}},
		customer.Customer{ID: "c2", Name: "Bob", Phones: []string{"+33639980101", "+12025550101"}})
	cs, e164, err := e.s.CustomersByTypedNumber(ctx, "06 39 98 01 01", france)
	if err != nil || e164 != "+33639980101" || len(cs) != 2 || cs[0].ID != "c1" || cs[1].ID != "c2" {
		t.Errorf("06 39 98 01 01: %v %q %v, want c1 and c2", cs, e164, err)
	}
	if cs, _, err := e.s.CustomersByTypedNumber(ctx, "+1 (202) 555-0101", france); err != nil || len(cs) != 1 || cs[0].ID != "c2" {
		t.Errorf("+1 (202) 555-0101: %v %v, want c2", cs, err)
	}
	if cs, _, err := e.s.CustomersByTypedNumber(ctx, "07 00 00 00 00", france); err != nil || len(cs) != 0 {
		t.Errorf("unknown number: %v %v, want nobody", cs, err)
	}
	if _, _, err := e.s.CustomersByTypedNumber(ctx, "'; DROP TABLE customers; --", france); !errors.Is(err, customer.ErrInvalid) {
		t.Errorf("garbage: %v, want ErrInvalid", err)
	}
}
