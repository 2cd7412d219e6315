package customer

import (
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Customer is one customer file.
type Customer struct {
	ID               string
	Name             string
	Phones           []string // E.164, e.g. +33612345678; a number may belong to several customers
	Segment          string
	VIP              bool
	PreferredAdvisor string // agent login the router prefers for this customer
	Notes            string
	Attributes       map[string]string // free attributes, stored as a JSON object
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// Field limits, in characters (runes). They are checked by PutCustomer and
// by the CSV import alike.
const (
	MaxIDLen        = 64
	MaxNameLen      = 200
	MaxSegmentLen   = 64
	MaxAdvisorLen   = 128
	MaxNotesLen     = 4000
	MaxPhones       = 10
	MaxAttributes   = 32
	MaxAttrKeyLen   = 64
	MaxAttrValueLen = 1000
)

// Validate reports every problem with c, joined in one error wrapping
// ErrInvalid, or nil.
func (c *Customer) Validate() error {
	probs := c.problems()
	if len(probs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: customer %q: %s", ErrInvalid, c.ID, strings.Join(probs, "; "))
}

// problems lists what is wrong with c.
func (c *Customer) problems() []string {
	var probs []string
	add := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }
	if c.ID == "" {
		add("id is empty")
	}
	if c.Name == "" {
		add("name is empty")
	}
	for _, f := range []struct {
		name, v   string
		max       int
		multiline bool
	}{
		{"id", c.ID, MaxIDLen, false},
		{"name", c.Name, MaxNameLen, false},
		{"segment", c.Segment, MaxSegmentLen, false},
		{"preferred_advisor", c.PreferredAdvisor, MaxAdvisorLen, false},
		{"notes", c.Notes, MaxNotesLen, true},
	} {
		if p := checkText(f.v, f.max, f.multiline); p != "" {
			add("%s %s", f.name, p)
		}
	}
	if len(c.Phones) > MaxPhones {
		add("%d phone numbers (at most %d)", len(c.Phones), MaxPhones)
	}
	seen := make(map[string]bool, len(c.Phones))
	for _, p := range c.Phones {
		if !IsE164(p) {
			add("phone %q is not an E.164 number (+ then 7 to 15 digits, no leading 0)", p)
		} else if seen[p] {
			add("phone %s listed twice", p)
		}
		seen[p] = true
	}
	if len(c.Attributes) > MaxAttributes {
		add("%d attributes (at most %d)", len(c.Attributes), MaxAttributes)
	}
	keys := make([]string, 0, len(c.Attributes))
	for k := range c.Attributes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "" {
			add("attribute with an empty name")
		} else if p := checkText(k, MaxAttrKeyLen, false); p != "" {
			add("attribute name %q %s", k, p)
		} else if reservedColumn(k) {
			add("attribute name %q is a reserved column", k)
		}
		if p := checkText(c.Attributes[k], MaxAttrValueLen, false); p != "" {
			add("attribute %q %s", k, p)
		}
	}
	return probs
}

// checkText returns what is wrong with s as a stored text field, or "".
// Control characters are refused everywhere except tab and line breaks in
// multi-line fields.
func checkText(s string, max int, multiline bool) string {
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	if n := utf8.RuneCountInString(s); n > max {
		return fmt.Sprintf("is %d characters long (at most %d)", n, max)
	}
	for i, r := range s {
		if multiline && (r == '\n' || r == '\r' || r == '\t') {
			continue
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return fmt.Sprintf("has control character %U at byte %d", r, i)
		}
	}
	return ""
}

// IsE164 reports whether s is an E.164 number as stored here: '+', a
// non-zero digit, then 6 to 14 more digits, nothing else.
func IsE164(s string) bool {
	if len(s) < 8 || len(s) > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9' {
		return false
	}
	for i := 2; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
