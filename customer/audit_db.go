package customer

import (
	"context"
	"database/sql"
	"fmt"
)

// AuditLog implements Store.
func (d *DB) AuditLog(ctx context.Context, customerID string, n int) ([]AuditEntry, error) {
	if n <= 0 {
		return nil, nil
	}
	q := `SELECT seq, at_us, actor, customer_id, action, detail FROM audit_log ORDER BY seq DESC LIMIT $1`
	args := []any{n}
	if customerID != "" {
		q = `SELECT seq, at_us, actor, customer_id, action, detail FROM audit_log
			WHERE customer_id = $2 ORDER BY seq DESC LIMIT $1`
		args = append(args, customerID)
	}
	rows, err := d.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("customer: audit log: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at sql.NullInt64
		var action string
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.CustomerID, &action, &e.Detail); err != nil {
			return nil, fmt.Errorf("customer: audit log: %w", err)
		}
		e.At, e.Action = unstamp(at), AuditAction(action)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("customer: audit log: %w", err)
	}
	return out, nil
}

// Changes implements Store. limit <= 0 means 1000.
func (d *DB) Changes(ctx context.Context, since int64, limit int) ([]Change, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := d.db.QueryContext(ctx, `SELECT seq, at_us, kind, customer_id, model_id, watch_id
		FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2`, since, limit)
	if err != nil {
		return nil, fmt.Errorf("customer: changes: %w", err)
	}
	defer rows.Close()
	var out []Change
	for rows.Next() {
		var c Change
		var at sql.NullInt64
		var kind string
		if err := rows.Scan(&c.Seq, &at, &kind, &c.CustomerID, &c.ModelID, &c.WatchID); err != nil {
			return nil, fmt.Errorf("customer: changes: %w", err)
		}
		c.At, c.Kind = unstamp(at), ChangeKind(kind)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("customer: changes: %w", err)
	}
	return out, nil
}

// LastChange implements Store.
func (d *DB) LastChange(ctx context.Context) (int64, error) {
	var seq int64
	if err := d.db.QueryRowContext(ctx, `SELECT seq FROM change_counter WHERE id = 1`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("customer: last change: %w", err)
	}
	return seq, nil
}

// RotateKey implements Store: in one transaction, every voiceprint,
// watchlist and recording row sealed under oldKey is re-sealed under newKey (rows
// already under newKey are left alone; a row under any other key fails
// the rotation with ErrUnknownKey and nothing changes). Afterwards this
// store seals with newKey and still opens rows under oldKey. It returns
// the number of rows re-sealed.
func (d *DB) RotateKey(ctx context.Context, oldKey, newKey []byte, actor string) (int, error) {
	if err := checkActor(actor); err != nil {
		return 0, err
	}
	oldS, err := newSealer(oldKey)
	if err != nil {
		return 0, fmt.Errorf("customer: rotate key: old key: %w", err)
	}
	newS, err := newSealer(newKey)
	if err != nil {
		return 0, fmt.Errorf("customer: rotate key: new key: %w", err)
	}
	if oldS.id == newS.id {
		return 0, fmt.Errorf("%w: rotate key: old and new keys are the same", ErrInvalid)
	}
	n := 0
	err = d.inTx(ctx, func(tx *sql.Tx) error {
		reseal := func(keyID string, sealed, aad []byte) ([]byte, bool, error) {
			switch keyID {
			case newS.id:
				return nil, false, nil
			case oldS.id:
				plain, err := oldS.openBytes(sealed, aad)
				if err != nil {
					return nil, false, err
				}
				return newS.sealBytes(plain, aad), true, nil
			}
			return nil, false, fmt.Errorf("%w (key id %s)", ErrUnknownKey, keyID)
		}
		// Voiceprints, in pages keyed by (customer_id, model_id).
		type vpRow struct {
			cust, model, keyID string
			sealed             []byte
		}
		lastC, lastM := "", ""
		for {
			rows, err := tx.QueryContext(ctx, `SELECT customer_id, model_id, key_id, sealed FROM voiceprints
				WHERE customer_id > $1 OR (customer_id = $1 AND model_id > $2)
				ORDER BY customer_id, model_id LIMIT $3`, lastC, lastM, batchRows)
			if err != nil {
				return err
			}
			var page []vpRow
			for rows.Next() {
				var r vpRow
				if err := rows.Scan(&r.cust, &r.model, &r.keyID, &r.sealed); err != nil {
					rows.Close()
					return err
				}
				page = append(page, r)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			for _, r := range page {
				out, changed, err := reseal(r.keyID, r.sealed, voiceprintAAD(r.cust, r.model))
				if err != nil {
					return fmt.Errorf("voiceprint of %q (%s): %w", r.cust, r.model, err)
				}
				if !changed {
					continue
				}
				if _, err := tx.ExecContext(ctx, `UPDATE voiceprints SET key_id = $1, sealed = $2
					WHERE customer_id = $3 AND model_id = $4`, newS.id, out, r.cust, r.model); err != nil {
					return err
				}
				n++
			}
			if len(page) < batchRows {
				break
			}
			lastC, lastM = page[len(page)-1].cust, page[len(page)-1].model
		}
		// Watchlist, keyed by id.
		type wRow struct {
			id, keyID string
			sealed    []byte
		}
		var ws []wRow
		rows, err := tx.QueryContext(ctx, `SELECT id, key_id, sealed FROM watchlist ORDER BY id`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var r wRow
			if err := rows.Scan(&r.id, &r.keyID, &r.sealed); err != nil {
				rows.Close()
				return err
			}
			ws = append(ws, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, r := range ws {
			out, changed, err := reseal(r.keyID, r.sealed, watchAAD(r.id))
			if err != nil {
				return fmt.Errorf("watchlist entry %s: %w", r.id, err)
			}
			if !changed {
				continue
			}
			if _, err := tx.ExecContext(ctx, `UPDATE watchlist SET key_id = $1, sealed = $2 WHERE id = $3`,
				newS.id, out, r.id); err != nil {
				return err
			}
			n++
		}
		recs, err := resealRecordings(ctx, tx, newS.id, reseal)
		if err != nil {
			return err
		}
		n += recs
		return d.audit(ctx, tx, actor, "", AuditKeyRotate, fmt.Sprintf("from=%s to=%s rows=%d", oldS.id, newS.id, n))
	})
	if err != nil {
		return 0, fmt.Errorf("customer: rotate key: %w", err)
	}
	d.mu.Lock()
	d.keys[oldS.id], d.keys[newS.id] = oldS, newS
	d.current = newS
	d.mu.Unlock()
	d.log.Info("customer: voiceprint key rotated", "from", oldS.id, "to", newS.id, "rows", n, "actor", actor)
	return n, nil
}
