package customer

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// The CSV columns, in the order Export writes them.
var csvColumns = []string{"id", "name", "phones", "segment", "vip", "preferred_advisor", "notes"}

func reservedColumn(name string) bool {
	for _, c := range csvColumns {
		if strings.EqualFold(c, name) {
			return true
		}
	}
	return false
}

// Import limits.
const (
	MaxImportRows   = 1_000_000
	MaxImportErrors = 10_000 // reporting stops here; the import fails anyway
)

// RowError is one bad line of an import.
type RowError struct {
	Line     int    // 1-based line where the row starts
	ID       string // the row's id, if it had one
	Problems []string
}

func (e RowError) String() string {
	id := ""
	if e.ID != "" {
		id = fmt.Sprintf(" (id %q)", e.ID)
	}
	return fmt.Sprintf("line %d%s: %s", e.Line, id, strings.Join(e.Problems, "; "))
}

// ImportError lists every bad row of a rejected import. Nothing was
// written.
type ImportError struct {
	Rows      []RowError
	Truncated bool // more than MaxImportErrors bad rows; the rest are not listed
}

func (e *ImportError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "customer: import rejected, nothing imported: %d bad row(s)", len(e.Rows))
	if e.Truncated {
		fmt.Fprintf(&b, " (listing stopped at %d)", MaxImportErrors)
	}
	for _, r := range e.Rows {
		b.WriteString("\n  ")
		b.WriteString(r.String())
	}
	return b.String()
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *ImportError) Unwrap() error { return ErrInvalid }

// ParseCSV reads and checks a customer CSV file without touching a store.
//
// The first line is a header naming the columns id, name, phones,
// segment, vip, preferred_advisor and notes in any order (id and name
// must be present; other missing columns are empty); any further column
// becomes an attribute of that name, and an empty cell means the attribute
// is absent. Fields are RFC 4180 CSV (quotes for commas, quotes and line
// breaks). phones is a ';'-separated list of E.164 numbers (may be empty);
// vip is true/false, yes/no, 1/0 or empty (false). Text must be UTF-8
// without control characters (notes may hold tabs and line breaks) and
// within the Max*Len limits. An id may appear once per file. A UTF-8 byte
// order mark at the start is ignored.
//
// Spreadsheet formulas: Export writes a text cell that starts with = + - @,
// a tab or a CR with a single quote in front (so a spreadsheet shows it as
// text instead of running it), and ParseCSV drops a leading single quote
// that comes before one of those characters or before another quote. A
// file exported and imported again therefore gives back every value
// exactly, and a hand-written '=1+2 imports as =1+2 (as a spreadsheet
// shows it). Any other leading quote is kept ('t Hooft). phones and vip
// are never quoted this way: they cannot hold a formula.
//
// On failure the error is an *ImportError listing every bad row by line.
func ParseCSV(r io.Reader) ([]Customer, error) {
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && string(b) == "\ufeff" {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true

	header, err := cr.Read()
	if err == io.EOF {
		return nil, &ImportError{Rows: []RowError{{Line: 1, Problems: []string{"empty file: want a header line"}}}}
	}
	if err != nil {
		return nil, &ImportError{Rows: []RowError{{Line: 1, Problems: []string{"header: " + csvErr(err)}}}}
	}
	col, attrs, probs := parseHeader(header)
	if len(probs) > 0 {
		return nil, &ImportError{Rows: []RowError{{Line: 1, Problems: probs}}}
	}

	var out []Customer
	ie := &ImportError{}
	seen := map[string]int{} // id -> line
	fail := func(re RowError) bool {
		if len(ie.Rows) == MaxImportErrors {
			ie.Truncated = true
			return false
		}
		ie.Rows = append(ie.Rows, re)
		return true
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			line := 0
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.StartLine
			}
			if !fail(RowError{Line: line, Problems: []string{csvErr(err)}}) {
				break
			}
			continue
		}
		line, _ := cr.FieldPos(0)
		if len(out)+len(ie.Rows) >= MaxImportRows {
			fail(RowError{Line: line, Problems: []string{fmt.Sprintf("more than %d rows: split the file", MaxImportRows)}})
			break
		}
		c, probs := parseRow(rec, len(header), col, attrs)
		if prev, dup := seen[c.ID]; dup && c.ID != "" {
			probs = append(probs, fmt.Sprintf("id %q already used on line %d", c.ID, prev))
		} else if c.ID != "" {
			seen[c.ID] = line
		}
		if len(probs) > 0 {
			if !fail(RowError{Line: line, ID: c.ID, Problems: probs}) {
				break
			}
			continue
		}
		out = append(out, c)
	}
	if len(ie.Rows) > 0 {
		return nil, ie
	}
	return out, nil
}

// csvErr describes a csv.Reader error without repeating the line number
// (RowError carries it).
func csvErr(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Sprintf("malformed CSV at column %d: %v", pe.Column, pe.Err)
	}
	return "malformed CSV: " + err.Error()
}

// parseHeader maps the known columns to their index (-1 if absent) and
// lists the attribute columns.
func parseHeader(h []string) (col map[string]int, attrs map[int]string, probs []string) {
	col = map[string]int{}
	for _, c := range csvColumns {
		col[c] = -1
	}
	attrs = map[int]string{}
	seen := map[string]bool{}
	for i, name := range h {
		name = unneutralise(strings.TrimSpace(name))
		key := strings.ToLower(name)
		switch {
		case name == "":
			probs = append(probs, fmt.Sprintf("column %d has no name", i+1))
			continue
		case seen[key]:
			probs = append(probs, fmt.Sprintf("column %q appears twice", name))
			continue
		}
		seen[key] = true
		if _, known := col[key]; known {
			col[key] = i
			continue
		}
		if p := checkText(name, MaxAttrKeyLen, false); p != "" {
			probs = append(probs, fmt.Sprintf("column name %q %s", name, p))
			continue
		}
		attrs[i] = name
	}
	for _, req := range []string{"id", "name"} {
		if col[req] < 0 {
			probs = append(probs, fmt.Sprintf("no %q column (header must name at least id and name)", req))
		}
	}
	if len(attrs) > MaxAttributes {
		probs = append(probs, fmt.Sprintf("%d attribute columns (at most %d)", len(attrs), MaxAttributes))
	}
	return col, attrs, probs
}

// parseRow turns one record into a customer and lists its problems.
func parseRow(rec []string, width int, col map[string]int, attrs map[int]string) (Customer, []string) {
	get := func(name string) string {
		if i := col[name]; i >= 0 && i < len(rec) {
			if name == "phones" || name == "vip" {
				return rec[i]
			}
			return unneutralise(rec[i])
		}
		return ""
	}
	c := Customer{
		ID:               get("id"),
		Name:             get("name"),
		Segment:          get("segment"),
		PreferredAdvisor: get("preferred_advisor"),
		Notes:            get("notes"),
	}
	var probs []string
	if len(rec) != width {
		probs = append(probs, fmt.Sprintf("%d fields, the header has %d", len(rec), width))
	}
	if ph := strings.TrimSpace(get("phones")); ph != "" {
		for _, p := range strings.Split(ph, ";") {
			c.Phones = append(c.Phones, strings.TrimSpace(p))
		}
	}
	switch strings.ToLower(strings.TrimSpace(get("vip"))) {
	case "", "false", "no", "0":
	case "true", "yes", "1":
		c.VIP = true
	default:
		probs = append(probs, fmt.Sprintf("vip %q is not true/false", get("vip")))
	}
	for i, name := range attrs {
		if i < len(rec) && rec[i] != "" {
			if c.Attributes == nil {
				c.Attributes = map[string]string{}
			}
			c.Attributes[name] = unneutralise(rec[i])
		}
	}
	return c, append(probs, c.problems()...)
}

// formulaStart reports whether a spreadsheet would take a cell starting
// with b for a formula (OWASP, "CSV Injection"): = + - @, tab, CR.
func formulaStart(b byte) bool {
	switch b {
	case '=', '+', '-', '@', '\t', '\r':
		return true
	}
	return false
}

// neutralise makes a text cell safe to open in a spreadsheet: a value a
// spreadsheet would run as a formula gets a leading single quote, which
// spreadsheets show as text, as OWASP recommends. So that unneutralise
// gives every value back exactly, a value that already starts with a
// quote followed by such a character (or by another quote) gets one too.
func neutralise(s string) string {
	if s == "" {
		return s
	}
	if formulaStart(s[0]) || (s[0] == '\'' && len(s) > 1 && (formulaStart(s[1]) || s[1] == '\'')) {
		return "'" + s
	}
	return s
}

// unneutralise undoes neutralise: a leading quote before = + - @, tab, CR
// or another quote is dropped. Any other leading quote is data (the
// surname 't Hooft).
func unneutralise(s string) string {
	if len(s) > 1 && s[0] == '\'' && (formulaStart(s[1]) || s[1] == '\'') {
		return s[1:]
	}
	return s
}

// WriteCSV writes customers in the format ParseCSV reads, with one
// attribute column per name in attrs (in that order). Text cells a
// spreadsheet would run as a formula (starting with = + - @, tab or CR)
// are written with a leading single quote, which ParseCSV removes again
// (see ParseCSV).
func WriteCSV(w io.Writer, attrs []string, customers func(yield func(Customer) error) error) error {
	cw := csv.NewWriter(w)
	header := append([]string(nil), csvColumns...)
	for _, a := range attrs {
		header = append(header, neutralise(a))
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	rec := make([]string, len(header))
	n := neutralise
	err := customers(func(c Customer) error {
		vip := "false"
		if c.VIP {
			vip = "true"
		}
		// phones (checked E.164: '+' and digits) and vip cannot hold a formula.
		copy(rec, []string{n(c.ID), n(c.Name), strings.Join(c.Phones, ";"), n(c.Segment), vip, n(c.PreferredAdvisor), n(c.Notes)})
		for i, a := range attrs {
			rec[len(csvColumns)+i] = n(c.Attributes[a])
		}
		return cw.Write(rec)
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// Import implements Store: see ParseCSV for the format and the package
// documentation for the rules. progress, if not nil, is called with the
// number of customers written so far and the total.
func (d *DB) Import(ctx context.Context, r io.Reader, progress func(done, total int)) error {
	cs, err := ParseCSV(r)
	if err != nil {
		return err
	}
	if progress == nil {
		progress = func(int, int) {}
	}
	progress(0, len(cs))
	err = d.inTx(ctx, func(tx *sql.Tx) error {
		for done := 0; done < len(cs); {
			n := min(batchRows, len(cs)-done)
			if err := d.putCustomers(ctx, tx, cs[done:done+n]); err != nil {
				return err
			}
			done += n
			progress(done, len(cs))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("customer: import: nothing imported: %w", err)
	}
	d.log.Info("customer: import done", "customers", len(cs))
	return nil
}

// Export implements Store.
func (d *DB) Export(ctx context.Context, w io.Writer) error {
	keys := map[string]bool{}
	if err := d.EachCustomer(ctx, func(c Customer) error {
		for k := range c.Attributes {
			keys[k] = true
		}
		return nil
	}); err != nil {
		return fmt.Errorf("customer: export: %w", err)
	}
	attrs := make([]string, 0, len(keys))
	for k := range keys {
		attrs = append(attrs, k)
	}
	sort.Strings(attrs)
	err := WriteCSV(w, attrs, func(yield func(Customer) error) error {
		return d.EachCustomer(ctx, func(c Customer) error {
			for k := range c.Attributes {
				if !keys[k] {
					return fmt.Errorf("customer %q gained attribute %q during the export; run it again", c.ID, k)
				}
			}
			return yield(c)
		})
	})
	if err != nil {
		return fmt.Errorf("customer: export: %w", err)
	}
	return nil
}
