package customer

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
)

// batchRows is how many customers one multi-row statement writes.
// 500 rows x 9 parameters stays under both databases' parameter limits.
const batchRows = 500

// PutCustomer implements Store.
func (d *DB) PutCustomer(ctx context.Context, c Customer) error {
	if err := c.Validate(); err != nil {
		return err
	}
	err := d.inTx(ctx, func(tx *sql.Tx) error { return d.putCustomers(ctx, tx, []Customer{c}) })
	if err != nil {
		return fmt.Errorf("customer: put %q: %w", c.ID, err)
	}
	return nil
}

// putCustomers upserts validated customers, replacing their numbers.
func (d *DB) putCustomers(ctx context.Context, tx *sql.Tx, cs []Customer) error {
	now := d.now().UnixMicro()
	for len(cs) > 0 {
		n := min(len(cs), batchRows)
		batch := cs[:n]
		cs = cs[n:]

		var q strings.Builder
		args := make([]any, 0, 9*n)
		q.WriteString(`INSERT INTO customers (id, name, segment, vip, preferred_advisor, notes, attributes, created_us, updated_us) VALUES `)
		ids := make([]any, 0, n)
		var del strings.Builder
		del.WriteString(`DELETE FROM customer_phones WHERE customer_id IN (`)
		phones := 0
		for i, c := range batch {
			attrs, err := encodeAttributes(c.Attributes)
			if err != nil {
				return err
			}
			if i > 0 {
				q.WriteString(", ")
				del.WriteString(", ")
			}
			d.dialect.values(&q, len(args), 9)
			args = append(args, c.ID, c.Name, c.Segment, c.VIP, c.PreferredAdvisor, c.Notes, attrs, now, now)
			ids = append(ids, c.ID)
			del.WriteString(d.dialect.param(i + 1))
			phones += len(c.Phones)
		}
		q.WriteString(` ON CONFLICT (id) DO UPDATE SET name = excluded.name, segment = excluded.segment,
			vip = excluded.vip, preferred_advisor = excluded.preferred_advisor, notes = excluded.notes,
			attributes = excluded.attributes, updated_us = excluded.updated_us`)
		del.WriteString(")")
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, del.String(), ids...); err != nil {
			return err
		}
		if phones == 0 {
			continue
		}
		q.Reset()
		args = args[:0]
		q.WriteString(`INSERT INTO customer_phones (customer_id, e164, position) VALUES `)
		for _, c := range batch {
			for pos, p := range c.Phones {
				if len(args) > 0 {
					q.WriteString(", ")
				}
				d.dialect.values(&q, len(args), 3)
				args = append(args, c.ID, p, pos)
			}
		}
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

func encodeAttributes(m map[string]string) (string, error) {
	if len(m) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(m) // keys sorted
	return string(b), err
}

const customerColumns = `id, name, segment, vip, preferred_advisor, notes, attributes, created_us, updated_us`

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// readCustomers reads customer rows (customerColumns) and closes rows.
func readCustomers(rows *sql.Rows) ([]Customer, error) {
	defer rows.Close()
	var cs []Customer
	for rows.Next() {
		var c Customer
		var attrs string
		var created, updated sql.NullInt64
		if err := rows.Scan(&c.ID, &c.Name, &c.Segment, &c.VIP, &c.PreferredAdvisor, &c.Notes, &attrs, &created, &updated); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(attrs), &c.Attributes); err != nil {
			return nil, fmt.Errorf("customer %q: attributes: %w", c.ID, err)
		}
		if len(c.Attributes) == 0 {
			c.Attributes = nil
		}
		c.CreatedAt, c.UpdatedAt = unstamp(created), unstamp(updated)
		cs = append(cs, c)
	}
	return cs, rows.Err()
}

// fillPhones adds their numbers to cs: where selects the customer_phones
// rows that may belong to them.
func fillPhones(ctx context.Context, q querier, cs []Customer, where string, args ...any) error {
	if len(cs) == 0 {
		return nil
	}
	byID := make(map[string]int, len(cs))
	for i, c := range cs {
		byID[c.ID] = i
	}
	rows, err := q.QueryContext(ctx,
		`SELECT customer_id, e164 FROM customer_phones WHERE `+where+` ORDER BY customer_id, position`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, p string
		if err := rows.Scan(&id, &p); err != nil {
			return err
		}
		if i, ok := byID[id]; ok {
			cs[i].Phones = append(cs[i].Phones, p)
		}
	}
	return rows.Err()
}

// queryCustomers runs a customer query and fills in the numbers.
func queryCustomers(ctx context.Context, q querier, query string, args []any, phonesWhere string, phonesArgs ...any) ([]Customer, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	cs, err := readCustomers(rows)
	if err != nil {
		return nil, err
	}
	return cs, fillPhones(ctx, q, cs, phonesWhere, phonesArgs...)
}

// Customer implements Store.
func (d *DB) Customer(ctx context.Context, id string) (Customer, error) {
	cs, err := queryCustomers(ctx, d.db, `SELECT `+customerColumns+` FROM customers WHERE id = $1`, []any{id},
		`customer_id = $1`, id)
	if err != nil {
		return Customer{}, fmt.Errorf("customer: get %q: %w", id, err)
	}
	if len(cs) == 0 {
		return Customer{}, fmt.Errorf("customer: get %q: %w", id, ErrNotFound)
	}
	return cs[0], nil
}

// CustomersByNumber implements Store.
func (d *DB) CustomersByNumber(ctx context.Context, e164 string) ([]Customer, error) {
	if !IsE164(e164) {
		return nil, fmt.Errorf("%w: %q is not an E.164 number", ErrInvalid, e164)
	}
	cs, err := queryCustomers(ctx, d.db, `SELECT `+prefixed("c.", customerColumns)+`
		FROM customers c JOIN customer_phones p ON p.customer_id = c.id
		WHERE p.e164 = $1 ORDER BY c.id`, []any{e164},
		`customer_id IN (SELECT customer_id FROM customer_phones WHERE e164 = $1)`, e164)
	if err != nil {
		return nil, fmt.Errorf("customer: by number %s: %w", e164, err)
	}
	return cs, nil
}

func prefixed(p, cols string) string {
	parts := strings.Split(cols, ", ")
	for i := range parts {
		parts[i] = p + parts[i]
	}
	return strings.Join(parts, ", ")
}

// EachCustomer implements Store. It reads one consistent snapshot, in
// pages of batchRows customers.
func (d *DB) EachCustomer(ctx context.Context, fn func(Customer) error) error {
	tx, err := d.db.BeginTx(ctx, d.dialect.snapshot)
	if err != nil {
		return fmt.Errorf("customer: list: %w", err)
	}
	defer tx.Rollback()
	after := "" // ids are never empty
	for {
		rows, err := tx.QueryContext(ctx, `SELECT `+customerColumns+` FROM customers
			WHERE id > $1 ORDER BY id LIMIT $2`, after, batchRows)
		if err != nil {
			return fmt.Errorf("customer: list: %w", err)
		}
		cs, err := readCustomers(rows)
		if err == nil && len(cs) > 0 {
			// The page's numbers: those of every id from its first to its last.
			err = fillPhones(ctx, tx, cs, `customer_id >= $1 AND customer_id <= $2`, cs[0].ID, cs[len(cs)-1].ID)
		}
		if err != nil {
			return fmt.Errorf("customer: list: %w", err)
		}
		for _, c := range cs {
			if err := fn(c); err != nil {
				return err
			}
		}
		if len(cs) < batchRows {
			return nil
		}
		after = cs[len(cs)-1].ID
	}
}
