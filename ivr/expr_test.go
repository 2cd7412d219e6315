package ivr

import (
	"strings"
	"testing"
	"time"
)

type testScope struct{}

func (testScope) lookup(name string) (refKind, Type, error) {
	switch name {
	case "score":
		return refBuiltin, TypeNumber, nil
	case "caller", "method":
		return refBuiltin, TypeString, nil
	case "identified":
		return refBuiltin, TypeBool, nil
	case "customer.vip":
		return refField, TypeBool, nil
	case "customer.segment":
		return refField, TypeString, nil
	case "tries":
		return refVar, TypeNumber, nil
	}
	return 0, 0, errUnknown(name)
}

type errUnknown string

func (e errUnknown) Error() string { return "unknown variable " + string(e) }

func (testScope) calendar(name string) bool { return name == "office" }

type testEnv map[string]value

func (e testEnv) builtin(name string) value         { return e[name] }
func (e testEnv) field(name string) value           { return e["customer."+name] }
func (e testEnv) userVar(name string, t Type) value { return e[name] }
func (e testEnv) open(string) bool                  { return e["open"].b }
func (e testEnv) holiday(string) bool               { return false }

func TestExprEval(t *testing.T) {
	en := testEnv{
		"score": {t: TypeNumber, n: 0.85}, "caller": {t: TypeString, s: "+33123456789"},
		"method": {t: TypeString, s: "voice"}, "identified": {t: TypeBool, b: true},
		"customer.vip": {t: TypeBool, b: false}, "customer.segment": {t: TypeString, s: "gold"},
		"tries": {t: TypeNumber, n: 2}, "open": {t: TypeBool, b: true},
	}
	cases := []struct {
		src  string
		want string
	}{
		{"score >= 0.8 and customer.segment == 'gold'", "true"},
		{`score > 0.9 or customer.vip`, "false"},
		{"not identified", "false"},
		{"startswith(caller, '+33') and open('office')", "true"},
		{"customer.segment in ['gold', 'platinum']", "true"},
		{"method in ['pin']", "false"},
		{"len(caller)", "12"},
		{"tries * 10 + 1", "21"},
		{"-tries + 5", "3"},
		{"(score - 0.05) * 100 == 80", "true"},
		{"10 / 0", "0"},
		{"num('42') + 1", "43"},
		{"contains(caller, '2345') and endswith(caller, '89')", "true"},
		{"'abc' < 'abd'", "true"},
		{"'C-' + customer.segment + '!'", "C-gold!"},
		{"identified == true", "true"},
	}
	for _, tc := range cases {
		t.Run(tc.src, func(t *testing.T) {
			e, err := compileExpr(tc.src, testScope{}, TypeInvalid)
			if err != nil {
				t.Fatal(err)
			}
			if got := e.eval(en).String(); got != tc.want {
				t.Errorf("= %s, want %s", got, tc.want)
			}
		})
	}
}

func TestExprErrors(t *testing.T) {
	cases := []struct {
		src  string
		want Type
		off  int
		msg  string
	}{
		{"score == 'high'", TypeBool, 6, "type error: == compares a number with a string"},
		{"score >= 0.8 and customer.segment", TypeBool, 17, "type error: and needs bools on both sides, got a string"},
		{"customer.segment", TypeBool, 0, `type error: "customer.segment" is a string, want a bool`},
		{"score = 1", TypeBool, 6, `"=" is not an operator`},
		{"score && identified", TypeBool, 6, `'&' is not an operator`},
		{"open('home')", TypeBool, 5, `unknown calendar "home"`},
		{"open(caller)", TypeBool, 5, "open wants a calendar name in quotes"},
		{"len(score)", TypeNumber, 4, "type error: argument 1 of len is a number, want a string"},
		{"nope > 1", TypeBool, 0, "unknown variable nope"},
		{"frobnicate(1)", TypeBool, 0, `unknown function "frobnicate"`},
		{"'open", TypeBool, 0, "string not closed"},
		{"score >", TypeBool, 7, "want a value"},
		{"(score > 1", TypeBool, 10, "want )"},
		{"score > 1 identified", TypeBool, 10, `unexpected "identified"`},
		{"caller in [1, 2]", TypeBool, 7, "type error: in compares a string with a list of numbers"},
		{"not score", TypeBool, 4, "type error: not needs a bool"},
		{"caller + 1", TypeBool, 7, "type error: + needs two numbers or two strings, got a string and a number"},
		{"caller * 2", TypeBool, 7, "type error: * needs numbers, got a string and a number"},
		{"identified < true", TypeBool, 11, "type error: < does not apply to bools"},
		{strings.Repeat("(", 60) + "1" + strings.Repeat(")", 60), TypeNumber, 50, "condition nested too deeply"},
	}
	for _, tc := range cases {
		t.Run(tc.src, func(t *testing.T) {
			_, err := compileExpr(tc.src, testScope{}, tc.want)
			ee, ok := err.(*exprError)
			if !ok {
				t.Fatalf("err = %v, want an exprError", err)
			}
			if ee.off != tc.off || !strings.HasPrefix(ee.msg, tc.msg) {
				t.Errorf("got %d: %s, want %d: %s", ee.off, ee.msg, tc.off, tc.msg)
			}
		})
	}
}

func TestCalendar(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	days, _ := parseDays("mon-fri")
	spans, _ := parseSpans("08:30-12:00, 14:00-18:00")
	c := &calendar{loc: paris, holidays: map[string]bool{"2026-12-25": true}}
	for _, d := range days {
		c.open[d] = spans
	}
	cases := []struct {
		name string
		at   time.Time
		want bool
	}{
		{"monday morning", time.Date(2026, 11, 23, 9, 0, 0, 0, paris), true},
		{"lunch break", time.Date(2026, 11, 23, 13, 0, 0, 0, paris), false},
		{"closing minute", time.Date(2026, 11, 23, 18, 0, 0, 0, paris), false},
		{"monday 9:00 Paris given in UTC", time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC), true},
		{"saturday", time.Date(2026, 11, 28, 10, 0, 0, 0, paris), false},
		{"christmas on a friday", time.Date(2026, 12, 25, 10, 0, 0, 0, paris), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := c.isOpen(tc.at); got != tc.want {
				t.Errorf("isOpen = %v, want %v", got, tc.want)
			}
		})
	}
	for _, bad := range []string{"mon-fry", "", "weekdays"} {
		if _, err := parseDays(bad); err == nil {
			t.Errorf("parseDays(%q) accepted", bad)
		}
	}
	for _, bad := range []string{"18:00-08:00", "8h-9h", "08:00", "25:00-26:00"} {
		if _, err := parseSpans(bad); err == nil {
			t.Errorf("parseSpans(%q) accepted", bad)
		}
	}
}
