package ivr

import (
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // flows name time zones; do not depend on the host's zoneinfo
)

// calendar is a set of weekly opening hours in a time zone, minus holidays.
type calendar struct {
	name     string
	loc      *time.Location
	open     [7][]span // by time.Weekday
	holidays map[string]bool
}

// span is an opening period within a day, in minutes after midnight.
type span struct{ from, to int }

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// parseDays reads "mon-fri", "sat", "mon,wed,fri" or "sat-sun".
func parseDays(s string) ([]time.Weekday, error) {
	var out []time.Weekday
	for _, part := range strings.Split(s, ",") {
		part = strings.ToLower(strings.TrimSpace(part))
		a, b, isRange := strings.Cut(part, "-")
		from, ok1 := weekdays[strings.TrimSpace(a)]
		to := from
		ok2 := true
		if isRange {
			to, ok2 = weekdays[strings.TrimSpace(b)]
		}
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("bad days %q: want mon, tue, wed, thu, fri, sat, sun or a range like mon-fri", s)
		}
		for d := from; ; d = (d + 1) % 7 {
			out = append(out, d)
			if d == to {
				break
			}
		}
	}
	return out, nil
}

// parseSpans reads "08:30-12:00, 14:00-18:00".
func parseSpans(s string) ([]span, error) {
	var out []span
	for _, part := range strings.Split(s, ",") {
		a, b, ok := strings.Cut(strings.TrimSpace(part), "-")
		from, err1 := parseClock(a)
		to, err2 := parseClock(b)
		if !ok || err1 != nil || err2 != nil || to <= from {
			return nil, fmt.Errorf("bad hours %q: want ranges like 08:30-18:00, separated by commas", s)
		}
		out = append(out, span{from, to})
	}
	return out, nil
}

func parseClock(s string) (int, error) {
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil {
		if strings.TrimSpace(s) == "24:00" {
			return 24 * 60, nil
		}
		return 0, err
	}
	return t.Hour()*60 + t.Minute(), nil
}

// isOpen reports whether t falls in opening hours and not on a holiday.
func (c *calendar) isOpen(t time.Time) bool {
	t = t.In(c.loc)
	if c.isHoliday(t) {
		return false
	}
	m := t.Hour()*60 + t.Minute()
	for _, sp := range c.open[t.Weekday()] {
		if m >= sp.from && m < sp.to {
			return true
		}
	}
	return false
}

func (c *calendar) isHoliday(t time.Time) bool {
	return c.holidays[t.In(c.loc).Format(time.DateOnly)]
}
