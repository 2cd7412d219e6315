package customer

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// MaxCallIDLen bounds a recording's call id.
const MaxCallIDLen = 200

// validate reports what is wrong with r (before it is saved), or nil.
func (r *Recording) validate(wav []byte) error {
	if strings.TrimSpace(r.Notice) == "" || strings.TrimSpace(r.NoticeBy) == "" {
		return fmt.Errorf("%w (call %q)", ErrNotTold, r.CallID)
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{{"call id", r.CallID, MaxCallIDLen}, {"customer id", r.CustomerID, MaxIDLen}, {"notice", r.Notice, 500}, {"notice by", r.NoticeBy, 500}} {
		if p := checkText(f.v, f.max, false); p != "" {
			return fmt.Errorf("%w: recording %s %s", ErrInvalid, f.name, p)
		}
	}
	switch {
	case r.CallID == "":
		return fmt.Errorf("%w: recording without a call id", ErrInvalid)
	case r.Channels != 1 && r.Channels != 2:
		return fmt.Errorf("%w: recording of %d channels (want 1 or 2)", ErrInvalid, r.Channels)
	case r.Duration < 0:
		return fmt.Errorf("%w: recording of negative duration %v", ErrInvalid, r.Duration)
	case len(wav) == 0 || len(wav) > MaxRecordingBytes:
		return fmt.Errorf("%w: recording of %d bytes (want 1 to %d)", ErrInvalid, len(wav), MaxRecordingBytes)
	}
	return nil
}

// newRowID returns prefix and 12 random bytes in hex: an id that reveals
// nothing and cannot be guessed.
func newRowID(prefix string) (string, error) {
	var id [12]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", err
	}
	return prefix + hex.EncodeToString(id[:]), nil
}

func nullable(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// SaveRecording implements RecordingStore.
func (d *DB) SaveRecording(ctx context.Context, r Recording, wav []byte, actor string) (Recording, error) {
	if err := checkActor(actor); err != nil {
		return Recording{}, err
	}
	if err := r.validate(wav); err != nil {
		return Recording{}, err
	}
	s, err := d.sealing()
	if err != nil {
		return Recording{}, err
	}
	if r.ID, err = newRowID("rec-"); err != nil {
		return Recording{}, err
	}
	r.Size = int64(len(wav))
	r.StartedAt = r.StartedAt.UTC().Truncate(time.Microsecond)
	r.Duration = r.Duration.Truncate(time.Millisecond)
	r.CreatedAt = d.now().UTC().Truncate(time.Microsecond)
	sealed := s.sealBytes(wav, recordingAAD(r.ID, r.CustomerID, r.CallID))
	err = d.inTx(ctx, func(tx *sql.Tx) error {
		if r.CustomerID != "" {
			if err := d.lockCustomer(ctx, tx, r.CustomerID); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO recordings
			(id, call_id, customer_id, started_us, duration_ms, channels, notice, notice_by, key_id, sealed, size_bytes, created_us)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			r.ID, r.CallID, nullable(r.CustomerID), r.StartedAt.UnixMicro(), r.Duration.Milliseconds(), r.Channels,
			r.Notice, r.NoticeBy, s.id, sealed, r.Size, r.CreatedAt.UnixMicro()); err != nil {
			return err
		}
		return d.audit(ctx, tx, actor, r.CustomerID, AuditRecordingWrite,
			fmt.Sprintf("id=%s call=%s seconds=%.1f notice=%s by=%s key=%s", r.ID, r.CallID, r.Duration.Seconds(), r.Notice, r.NoticeBy, s.id))
	})
	if err != nil {
		return Recording{}, fmt.Errorf("customer: save recording of call %q: %w", r.CallID, err)
	}
	d.log.Info("customer: recording saved", "call_id", r.CallID, "customer", r.CustomerID, "recording", r.ID, "seconds", r.Duration.Seconds(), "actor", actor)
	return r, nil
}

const recordingColumns = `id, call_id, customer_id, started_us, duration_ms, channels, notice, notice_by, size_bytes, created_us`

type scanner interface{ Scan(dest ...any) error }

func scanRecording(sc scanner, extra ...any) (Recording, error) {
	var r Recording
	var cust sql.NullString
	var started, created sql.NullInt64
	var ms int64
	dest := append([]any{&r.ID, &r.CallID, &cust, &started, &ms, &r.Channels, &r.Notice, &r.NoticeBy, &r.Size, &created}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return Recording{}, err
	}
	r.CustomerID, r.StartedAt, r.CreatedAt = cust.String, unstamp(started), unstamp(created)
	r.Duration = time.Duration(ms) * time.Millisecond
	return r, nil
}

// Recordings implements RecordingStore.
func (d *DB) Recordings(ctx context.Context, q RecordingQuery, actor string) ([]Recording, error) {
	if err := checkActor(actor); err != nil {
		return nil, err
	}
	where, arg, what := `customer_id = $1`, q.CustomerID, "customer "+q.CustomerID
	if (q.CustomerID == "") == (q.CallID == "") {
		return nil, fmt.Errorf("%w: list recordings of a customer or of a call (one of them)", ErrInvalid)
	}
	if q.CallID != "" {
		where, arg, what = `call_id = $1`, q.CallID, "call "+q.CallID
	}
	var out []Recording
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+recordingColumns+` FROM recordings WHERE `+where+
			` ORDER BY started_us DESC, id`, arg)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanRecording(rows)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		return d.audit(ctx, tx, actor, q.CustomerID, AuditRecordingList, fmt.Sprintf("%s recordings=%d", what, len(out)))
	})
	if err != nil {
		return nil, fmt.Errorf("customer: recordings of %s: %w", what, err)
	}
	return out, nil
}

// RecordingInfo implements RecordingStore.
func (d *DB) RecordingInfo(ctx context.Context, id string) (Recording, error) {
	r, err := scanRecording(d.db.QueryRowContext(ctx, `SELECT `+recordingColumns+` FROM recordings WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return Recording{}, fmt.Errorf("customer: recording %q: %w", id, err)
	}
	return r, nil
}

// OpenRecording implements RecordingStore.
func (d *DB) OpenRecording(ctx context.Context, id, actor string) (Recording, []byte, error) {
	if err := checkActor(actor); err != nil {
		return Recording{}, nil, err
	}
	var r Recording
	var wav []byte
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		var keyID string
		var sealed []byte
		var err error
		r, err = scanRecording(tx.QueryRowContext(ctx, `SELECT `+recordingColumns+`, key_id, sealed FROM recordings WHERE id = $1`, id), &keyID, &sealed)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		s, err := d.opening(keyID)
		if err != nil {
			return err
		}
		if wav, err = s.openBytes(sealed, recordingAAD(r.ID, r.CustomerID, r.CallID)); err != nil {
			return err
		}
		return d.audit(ctx, tx, actor, r.CustomerID, AuditRecordingPlay, fmt.Sprintf("id=%s call=%s", r.ID, r.CallID))
	})
	if err != nil {
		return Recording{}, nil, fmt.Errorf("customer: open recording %q: %w", id, err)
	}
	return r, wav, nil
}

// DeleteRecording implements RecordingStore.
func (d *DB) DeleteRecording(ctx context.Context, id, actor string) error {
	if err := checkActor(actor); err != nil {
		return err
	}
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		var callID string
		var cust sql.NullString
		err := tx.QueryRowContext(ctx, `DELETE FROM recordings WHERE id = $1 RETURNING call_id, customer_id`, id).Scan(&callID, &cust)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		return d.audit(ctx, tx, actor, cust.String, AuditRecordingErase, fmt.Sprintf("id=%s call=%s", id, callID))
	})
	if err != nil {
		return fmt.Errorf("customer: delete recording %q: %w", id, err)
	}
	d.log.Info("customer: recording erased", "recording", id, "actor", actor)
	d.checkpoint(ctx)
	return nil
}

// RefuseRecording implements RecordingStore.
func (d *DB) RefuseRecording(ctx context.Context, id, customerID, actor, why string) error {
	if err := checkActor(actor); err != nil {
		return err
	}
	detail := fmt.Sprintf("id=%s refused: %s", id, why)
	if p := checkText(detail, 1000, false); p != "" {
		detail = fmt.Sprintf("id=%q refused", id)
	}
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		return d.audit(ctx, tx, actor, customerID, AuditRecordingRefused, detail)
	})
	if err != nil {
		return fmt.Errorf("customer: audit refused recording access: %w", err)
	}
	return nil
}

// PurgeRecordings implements RecordingStore: one audit entry per
// customer (or call) whose recordings went.
func (d *DB) PurgeRecordings(ctx context.Context, before time.Time, actor string) (int, error) {
	if err := checkActor(actor); err != nil {
		return 0, err
	}
	n := 0
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `DELETE FROM recordings WHERE started_us < $1 RETURNING id, call_id, customer_id`, before.UnixMicro())
		if err != nil {
			return err
		}
		type gone struct{ id, call, cust string }
		var all []gone
		for rows.Next() {
			var g gone
			var cust sql.NullString
			if err := rows.Scan(&g.id, &g.call, &cust); err != nil {
				rows.Close()
				return err
			}
			g.cust = cust.String
			all = append(all, g)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		n = len(all)
		for _, g := range all {
			if err := d.audit(ctx, tx, actor, g.cust, AuditRecordingPurge,
				fmt.Sprintf("id=%s call=%s retention before %s", g.id, g.call, before.UTC().Format(time.RFC3339))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("customer: purge recordings: %w", err)
	}
	if n > 0 {
		d.log.Info("customer: recordings purged", "count", n, "before", before, "actor", actor)
		d.checkpoint(ctx)
	}
	return n, nil
}

// resealRecordings re-seals, within tx, every recording under one key
// with reseal (see RotateKey), one row at a time: recordings are large.
func resealRecordings(ctx context.Context, tx *sql.Tx, newID string, reseal func(keyID string, sealed, aad []byte) ([]byte, bool, error)) (int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id FROM recordings WHERE key_id <> $1 ORDER BY id`, newID)
	if err != nil {
		return 0, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		var callID, keyID string
		var cust sql.NullString
		var sealed []byte
		if err := tx.QueryRowContext(ctx, `SELECT call_id, customer_id, key_id, sealed FROM recordings WHERE id = $1`, id).
			Scan(&callID, &cust, &keyID, &sealed); err != nil {
			return n, err
		}
		out, changed, err := reseal(keyID, sealed, recordingAAD(id, cust.String, callID))
		if err != nil {
			return n, fmt.Errorf("recording %s: %w", id, err)
		}
		if !changed {
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE recordings SET key_id = $1, sealed = $2 WHERE id = $3`, newID, out, id); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
