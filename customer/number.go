package customer

import (
	"context"
	"fmt"
	"strings"
)

// NumberPlan says how a phone number typed without its country code (on
// the web call-back form, by an agent) is read. The zero value accepts
// international numbers only (+33..., or 00 33...).
type NumberPlan struct {
	// CountryCode is the country calling code of national numbers: "33"
	// for France, "1" for North America.
	CountryCode string
	// TrunkPrefix is dropped from the start of a national number before
	// the country code is put in front: "0" in France, Germany or the
	// United Kingdom ("06 39 98 01 01" is +33 6 39 98 01 01), "1" in
	// North America (optional there), "" in Italy, whose national numbers
	// keep their 0 (06 1234 5678 is +39 06 1234 5678).
	TrunkPrefix string
	// InternationalPrefix, dialled before a country code, stands for "+":
	// "00" when empty (most of the world); "011" in North America.
	InternationalPrefix string
}

// Normalise returns the E.164 form of a typed number: separators people
// type (spaces, dots, dashes, slashes, brackets) and a bracketed trunk
// prefix ("+33 (0)6 ...") are dropped; a leading
// "+" or international prefix is followed by the country code, any other
// number is national and takes the plan's country code (after its trunk
// prefix is dropped). A number with letters, an extension or too few or
// too many digits is ErrInvalid.
func (p NumberPlan) Normalise(typed string) (string, error) {
	if len(typed) > 64 {
		return "", fmt.Errorf("%w: phone number of %d characters", ErrInvalid, len(typed))
	}
	var b strings.Builder
	plus := false
	// "+33 (0)6 ...": the bracketed 0 is the trunk prefix, dialled only
	// from within the country.
	for i, r := range strings.TrimSpace(strings.ReplaceAll(typed, "(0)", "")) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			plus = true
		case r == ' ' || r == '\u00a0' || r == '\u202f' || r == '.' || r == '-' || r == '/' || r == '(' || r == ')':
		default:
			return "", fmt.Errorf("%w: phone number %q: %q is not a digit", ErrInvalid, typed, r)
		}
	}
	digits := b.String()
	intl := p.InternationalPrefix
	if intl == "" {
		intl = "00"
	}
	var e164 string
	switch {
	case plus:
		e164 = "+" + digits
	case strings.HasPrefix(digits, intl):
		e164 = "+" + digits[len(intl):]
	case p.CountryCode == "":
		return "", fmt.Errorf("%w: phone number %q has no country code (+CC or %s CC)", ErrInvalid, typed, intl)
	default:
		national := digits
		if p.TrunkPrefix != "" {
			national = strings.TrimPrefix(national, p.TrunkPrefix)
		}
		e164 = "+" + p.CountryCode + national
	}
	if !IsE164(e164) {
		return "", fmt.Errorf("%w: phone number %q is not a valid number (read as %s)", ErrInvalid, typed, e164)
	}
	return e164, nil
}

// CustomersByTypedNumber looks up the customers holding a number as a
// person typed it (see NumberPlan.Normalise), and returns the E.164 form
// it was read as. A number that cannot be read is ErrInvalid; one that
// matches nobody gives no customer and no error.
func (d *DB) CustomersByTypedNumber(ctx context.Context, typed string, plan NumberPlan) ([]Customer, string, error) {
	e164, err := plan.Normalise(typed)
	if err != nil {
		return nil, "", err
	}
	cs, err := d.CustomersByNumber(ctx, e164)
	return cs, e164, err
}
