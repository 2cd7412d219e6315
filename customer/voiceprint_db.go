package customer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"
)

// Limits on biometric records.
const (
	MaxEmbeddingDim = 4096
	MaxModelIDLen   = 128
)

// Validate reports what is wrong with vp, or nil.
func (vp *Voiceprint) Validate() error {
	if vp.CustomerID == "" {
		return fmt.Errorf("%w: voiceprint without a customer id", ErrInvalid)
	}
	return validateEmbedding("voiceprint of "+vp.CustomerID, vp.ModelID, vp.Embedding, vp.Utterances, vp.SpeechSeconds)
}

func validateEmbedding(what, modelID string, emb []float32, utterances int, seconds float64) error {
	switch {
	case modelID == "":
		return fmt.Errorf("%w: %s: no model id", ErrInvalid, what)
	case len(emb) == 0 || len(emb) > MaxEmbeddingDim:
		return fmt.Errorf("%w: %s: embedding of %d values (want 1 to %d)", ErrInvalid, what, len(emb), MaxEmbeddingDim)
	case utterances < 0 || seconds < 0 || math.IsNaN(seconds) || math.IsInf(seconds, 0):
		return fmt.Errorf("%w: %s: %d utterances, %v s of speech", ErrInvalid, what, utterances, seconds)
	}
	if p := checkText(modelID, MaxModelIDLen, false); p != "" {
		return fmt.Errorf("%w: %s: model id %s", ErrInvalid, what, p)
	}
	for i, v := range emb {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("%w: %s: embedding value %d is %v", ErrInvalid, what, i, v)
		}
	}
	return nil
}

// lockCustomer takes the customer's row for the transaction, so that an
// enrolment and an erasure of one customer never interleave.
func (d *DB) lockCustomer(ctx context.Context, tx *sql.Tx, id string) error {
	var got string
	err := tx.QueryRowContext(ctx, d.dialect.lockCustomer, id).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("customer %q: %w", id, ErrNotFound)
	}
	return err
}

// GiveConsent implements Store. An import consent is refused with
// ErrErased for a customer whose biometrics were erased.
func (d *DB) GiveConsent(ctx context.Context, c Consent) (Consent, error) {
	if err := d.checkConsent(&c); err != nil {
		return Consent{}, err
	}
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		if err := d.lockCustomer(ctx, tx, c.CustomerID); err != nil {
			return err
		}
		if c.Method == ConsentImport {
			if err := d.refuseErased(ctx, tx, c.CustomerID); err != nil {
				return err
			}
		}
		return d.insertConsent(ctx, tx, &c)
	})
	if err != nil {
		return Consent{}, fmt.Errorf("customer: give consent for %q: %w", c.CustomerID, err)
	}
	return c, nil
}

// checkConsent validates c and fills in its time.
func (d *DB) checkConsent(c *Consent) error {
	switch c.Method {
	case ConsentIVR, ConsentAgent, ConsentImport:
	default:
		return fmt.Errorf("%w: consent method %q (want %q, %q or %q)", ErrInvalid, c.Method, ConsentIVR, ConsentAgent, ConsentImport)
	}
	if err := checkActor(c.GivenBy); err != nil {
		return fmt.Errorf("customer: consent given by: %w", err)
	}
	if p := checkText(c.RecordingRef, 1000, false); p != "" {
		return fmt.Errorf("%w: consent recording reference %s", ErrInvalid, p)
	}
	if c.GivenAt.IsZero() {
		c.GivenAt = d.now()
	}
	c.GivenAt = c.GivenAt.UTC().Truncate(time.Microsecond) // stored to the microsecond
	c.WithdrawnAt, c.WithdrawnBy = time.Time{}, ""
	return nil
}

// insertConsent writes a checked consent and its audit entry within tx.
func (d *DB) insertConsent(ctx context.Context, tx *sql.Tx, c *Consent) error {
	if err := tx.QueryRowContext(ctx, `INSERT INTO consents (customer_id, given_us, method, given_by, recording_ref)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		c.CustomerID, c.GivenAt.UnixMicro(), string(c.Method), c.GivenBy, c.RecordingRef).Scan(&c.ID); err != nil {
		return err
	}
	return d.audit(ctx, tx, c.GivenBy, c.CustomerID, AuditConsentGiven, fmt.Sprintf("method=%s recording=%s", c.Method, c.RecordingRef))
}

// CurrentConsent implements Store.
func (d *DB) CurrentConsent(ctx context.Context, customerID string) (Consent, error) {
	c, err := currentConsent(ctx, d.db, customerID)
	if err != nil {
		return Consent{}, fmt.Errorf("customer: consent of %q: %w", customerID, err)
	}
	return c, nil
}

type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func currentConsent(ctx context.Context, q rowQuerier, customerID string) (Consent, error) {
	c := Consent{CustomerID: customerID}
	var given sql.NullInt64
	var method string
	err := q.QueryRowContext(ctx, `SELECT id, given_us, method, given_by, recording_ref FROM consents
		WHERE customer_id = $1 AND withdrawn_us IS NULL ORDER BY given_us DESC, id DESC LIMIT 1`, customerID).
		Scan(&c.ID, &given, &method, &c.GivenBy, &c.RecordingRef)
	if errors.Is(err, sql.ErrNoRows) {
		return Consent{}, ErrNoConsent
	}
	if err != nil {
		return Consent{}, err
	}
	c.GivenAt, c.Method = unstamp(given), ConsentMethod(method)
	return c, nil
}

// SaveVoiceprint implements Store.
func (d *DB) SaveVoiceprint(ctx context.Context, vp Voiceprint, actor string) (Voiceprint, error) {
	return d.saveVoiceprint(ctx, vp, actor, func(tx *sql.Tx) error {
		_, err := currentConsent(ctx, tx, vp.CustomerID)
		return err
	})
}

// saveVoiceprint stores vp once consented (run within the transaction,
// after the customer's row is locked) returns nil.
func (d *DB) saveVoiceprint(ctx context.Context, vp Voiceprint, actor string, consented func(tx *sql.Tx) error) (Voiceprint, error) {
	if err := checkActor(actor); err != nil {
		return Voiceprint{}, err
	}
	if err := vp.Validate(); err != nil {
		return Voiceprint{}, err
	}
	s, err := d.sealing()
	if err != nil {
		return Voiceprint{}, err
	}
	sealed := s.seal(vp.Embedding, voiceprintAAD(vp.CustomerID, vp.ModelID))
	now := d.now().UnixMicro()
	err = d.inTx(ctx, func(tx *sql.Tx) error {
		if err := d.lockCustomer(ctx, tx, vp.CustomerID); err != nil {
			return err
		}
		if err := consented(tx); err != nil {
			return err
		}
		var created, updated sql.NullInt64
		if err := tx.QueryRowContext(ctx, `INSERT INTO voiceprints
			(customer_id, model_id, key_id, sealed, utterances, speech_seconds, created_us, updated_us)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
			ON CONFLICT (customer_id, model_id) DO UPDATE SET key_id = excluded.key_id, sealed = excluded.sealed,
				utterances = excluded.utterances, speech_seconds = excluded.speech_seconds, updated_us = excluded.updated_us
			RETURNING created_us, updated_us`,
			vp.CustomerID, vp.ModelID, s.id, sealed, vp.Utterances, vp.SpeechSeconds, now).Scan(&created, &updated); err != nil {
			return err
		}
		vp.CreatedAt, vp.UpdatedAt = unstamp(created), unstamp(updated)
		if err := d.audit(ctx, tx, actor, vp.CustomerID, AuditVoiceprintWrite,
			fmt.Sprintf("model=%s dim=%d utterances=%d speech_s=%.1f key=%s", vp.ModelID, len(vp.Embedding), vp.Utterances, vp.SpeechSeconds, s.id)); err != nil {
			return err
		}
		return d.change(ctx, tx, Change{Kind: ChangeVoiceprintSaved, CustomerID: vp.CustomerID, ModelID: vp.ModelID})
	})
	if err != nil {
		return Voiceprint{}, fmt.Errorf("customer: save voiceprint of %q: %w", vp.CustomerID, err)
	}
	d.log.Info("customer: voiceprint saved", "customer", vp.CustomerID, "model", vp.ModelID, "actor", actor)
	return vp, nil
}

// ImportVoiceprint implements Store.
func (d *DB) ImportVoiceprint(ctx context.Context, vp Voiceprint, consentRef, actor string) (Voiceprint, error) {
	c := Consent{CustomerID: vp.CustomerID, Method: ConsentImport, GivenBy: actor, RecordingRef: consentRef}
	if consentRef != "" {
		if err := d.checkConsent(&c); err != nil {
			return Voiceprint{}, err
		}
	}
	return d.saveVoiceprint(ctx, vp, actor, func(tx *sql.Tx) error {
		if err := d.refuseErased(ctx, tx, vp.CustomerID); err != nil {
			return err
		}
		_, err := currentConsent(ctx, tx, vp.CustomerID)
		if errors.Is(err, ErrNoConsent) && consentRef != "" {
			return d.insertConsent(ctx, tx, &c)
		}
		return err
	})
}

// CheckImport implements Store.
func (d *DB) CheckImport(ctx context.Context, customerID, consentRef string) error {
	e, err := d.Erasure(ctx, customerID)
	if err != nil {
		return err
	}
	if !e.At.IsZero() {
		return fmt.Errorf("customer: %q (erased %s by %s): %w", customerID, e.At.Format(time.RFC3339), e.By, ErrErased)
	}
	if consentRef != "" {
		return nil
	}
	if _, err := currentConsent(ctx, d.db, customerID); err != nil {
		return fmt.Errorf("customer: %q: %w", customerID, err)
	}
	return nil
}

// Erasure implements Store.
func (d *DB) Erasure(ctx context.Context, customerID string) (Erasure, error) {
	e, err := erasure(ctx, d.db, customerID)
	if err != nil {
		return Erasure{}, fmt.Errorf("customer: erasure of %q: %w", customerID, err)
	}
	return e, nil
}

func erasure(ctx context.Context, q rowQuerier, customerID string) (Erasure, error) {
	e := Erasure{CustomerID: customerID}
	var at sql.NullInt64
	var by sql.NullString
	err := q.QueryRowContext(ctx, `SELECT e.erased_us, e.erased_by FROM customers c
		LEFT JOIN biometric_erasures e ON e.customer_id = c.id WHERE c.id = $1`, customerID).Scan(&at, &by)
	if errors.Is(err, sql.ErrNoRows) {
		return Erasure{}, ErrNotFound
	}
	if err != nil {
		return Erasure{}, err
	}
	e.At, e.By = unstamp(at), by.String
	return e, nil
}

// refuseErased returns ErrErased, within tx, for an erased customer.
func (d *DB) refuseErased(ctx context.Context, tx *sql.Tx, customerID string) error {
	e, err := erasure(ctx, tx, customerID)
	if err == nil && !e.At.IsZero() {
		err = fmt.Errorf("erased %s by %s: %w", e.At.Format(time.RFC3339), e.By, ErrErased)
	}
	return err
}

const voiceprintColumns = `customer_id, model_id, key_id, sealed, utterances, speech_seconds, created_us, updated_us`

// scanVoiceprint reads one row of voiceprintColumns and opens its seal.
func (d *DB) scanVoiceprint(rows *sql.Rows) (Voiceprint, error) {
	var vp Voiceprint
	var keyID string
	var sealed []byte
	var created, updated sql.NullInt64
	if err := rows.Scan(&vp.CustomerID, &vp.ModelID, &keyID, &sealed, &vp.Utterances, &vp.SpeechSeconds, &created, &updated); err != nil {
		return Voiceprint{}, err
	}
	s, err := d.opening(keyID)
	if err != nil {
		return Voiceprint{}, fmt.Errorf("voiceprint of %q (%s): %w", vp.CustomerID, vp.ModelID, err)
	}
	if vp.Embedding, err = s.open(sealed, voiceprintAAD(vp.CustomerID, vp.ModelID)); err != nil {
		return Voiceprint{}, fmt.Errorf("voiceprint of %q (%s): %w", vp.CustomerID, vp.ModelID, err)
	}
	vp.CreatedAt, vp.UpdatedAt = unstamp(created), unstamp(updated)
	return vp, nil
}

// Voiceprints implements Store.
func (d *DB) Voiceprints(ctx context.Context, customerID, actor string) ([]Voiceprint, error) {
	if err := checkActor(actor); err != nil {
		return nil, err
	}
	var out []Voiceprint
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+voiceprintColumns+` FROM voiceprints
			WHERE customer_id = $1 ORDER BY model_id`, customerID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			vp, err := d.scanVoiceprint(rows)
			if err != nil {
				return err
			}
			out = append(out, vp)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		return d.audit(ctx, tx, actor, customerID, AuditVoiceprintRead, fmt.Sprintf("voiceprints=%d", len(out)))
	})
	if err != nil {
		return nil, fmt.Errorf("customer: voiceprints of %q: %w", customerID, err)
	}
	return out, nil
}

// AllVoiceprints implements Store. The read is audited (one entry) before
// the first voiceprint is handed out.
func (d *DB) AllVoiceprints(ctx context.Context, actor string, fn func(Voiceprint) error) error {
	if err := checkActor(actor); err != nil {
		return err
	}
	if _, err := d.opening(""); errors.Is(err, ErrNoKey) {
		return err
	}
	if err := d.inTx(ctx, func(tx *sql.Tx) error {
		return d.audit(ctx, tx, actor, "", AuditVoiceprintScan, "all voiceprints")
	}); err != nil {
		return fmt.Errorf("customer: all voiceprints: %w", err)
	}
	rows, err := d.db.QueryContext(ctx, `SELECT `+voiceprintColumns+` FROM voiceprints ORDER BY customer_id, model_id`)
	if err != nil {
		return fmt.Errorf("customer: all voiceprints: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		vp, err := d.scanVoiceprint(rows)
		if err != nil {
			return fmt.Errorf("customer: all voiceprints: %w", err)
		}
		if err := fn(vp); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("customer: all voiceprints: %w", err)
	}
	return nil
}

// EraseBiometrics implements Store. The customer's call recordings go
// with the voiceprints: a recording of the voice is the raw material of a
// voiceprint, and erasing the customer's data must not leave it. It is idempotent: erasing a customer
// with nothing stored still withdraws consent, remembers the erasure (no
// automatic enrolment may bring the customer back: ErrErased) and leaves
// an audit entry.
// On SQLite the WAL is checkpointed afterwards so that, with
// secure_delete, the sealed bytes leave the files too.
func (d *DB) EraseBiometrics(ctx context.Context, customerID, actor string) error {
	if err := checkActor(actor); err != nil {
		return err
	}
	var vps, watch, consents, recs int64
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		if err := d.lockCustomer(ctx, tx, customerID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM voiceprints WHERE customer_id = $1`, customerID)
		if err != nil {
			return err
		}
		vps, _ = res.RowsAffected()
		res, err = tx.ExecContext(ctx, `DELETE FROM watchlist WHERE source_customer_id = $1`, customerID)
		if err != nil {
			return err
		}
		watch, _ = res.RowsAffected()
		res, err = tx.ExecContext(ctx, `UPDATE consents SET withdrawn_us = $1, withdrawn_by = $2
			WHERE customer_id = $3 AND withdrawn_us IS NULL`, d.now().UnixMicro(), actor, customerID)
		if err != nil {
			return err
		}
		consents, _ = res.RowsAffected()
		res, err = tx.ExecContext(ctx, `DELETE FROM recordings WHERE customer_id = $1`, customerID)
		if err != nil {
			return err
		}
		recs, _ = res.RowsAffected()
		if _, err := tx.ExecContext(ctx, `INSERT INTO biometric_erasures (customer_id, erased_us, erased_by) VALUES ($1, $2, $3)
			ON CONFLICT (customer_id) DO UPDATE SET erased_us = excluded.erased_us, erased_by = excluded.erased_by`,
			customerID, d.now().UnixMicro(), actor); err != nil {
			return err
		}
		if err := d.audit(ctx, tx, actor, customerID, AuditErase,
			fmt.Sprintf("voiceprints=%d watchlist=%d consents_withdrawn=%d recordings=%d", vps, watch, consents, recs)); err != nil {
			return err
		}
		return d.change(ctx, tx, Change{Kind: ChangeBiometricsErased, CustomerID: customerID})
	})
	if err != nil {
		return fmt.Errorf("customer: erase biometrics of %q: %w", customerID, err)
	}
	d.log.Info("customer: biometrics erased", "customer", customerID, "actor", actor,
		"voiceprints", vps, "watchlist", watch, "consents_withdrawn", consents, "recordings", recs)
	d.checkpoint(ctx)
	return nil
}

// checkpoint moves SQLite's WAL into the database file and truncates it,
// so that pages overwritten by secure_delete are not left in the WAL. It
// is best effort: a reader holding an old snapshot makes it partial.
func (d *DB) checkpoint(ctx context.Context) {
	if d.dialect.name != "sqlite" {
		return
	}
	var busy, logFrames, done int
	err := d.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &done)
	if err != nil || busy != 0 {
		d.log.Warn("customer: WAL checkpoint after erase incomplete", "err", err, "busy", busy)
	}
}

// AddToWatchlist implements Store.
func (d *DB) AddToWatchlist(ctx context.Context, w WatchEntry, actor string) (WatchEntry, error) {
	if err := checkActor(actor); err != nil {
		return WatchEntry{}, err
	}
	if err := validateEmbedding("watchlist entry "+w.Label, w.ModelID, w.Embedding, 0, 0); err != nil {
		return WatchEntry{}, err
	}
	if w.Label == "" {
		return WatchEntry{}, fmt.Errorf("%w: watchlist entry without a label", ErrInvalid)
	}
	for _, f := range []struct{ name, v string }{{"label", w.Label}, {"reason", w.Reason}} {
		if p := checkText(f.v, MaxNameLen, false); p != "" {
			return WatchEntry{}, fmt.Errorf("%w: watchlist %s %s", ErrInvalid, f.name, p)
		}
	}
	s, err := d.sealing()
	if err != nil {
		return WatchEntry{}, err
	}
	if w.ID, err = newRowID("w-"); err != nil {
		return WatchEntry{}, err
	}
	w.AddedBy = actor
	w.CreatedAt = d.now().UTC().Truncate(time.Microsecond)
	sealed := s.seal(w.Embedding, watchAAD(w.ID))
	var src sql.NullString
	if w.SourceCustomerID != "" {
		src = sql.NullString{String: w.SourceCustomerID, Valid: true}
	}
	err = d.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO watchlist
			(id, label, source_customer_id, model_id, key_id, sealed, reason, added_by, created_us)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			w.ID, w.Label, src, w.ModelID, s.id, sealed, w.Reason, actor, w.CreatedAt.UnixMicro()); err != nil {
			return err
		}
		if err := d.audit(ctx, tx, actor, w.SourceCustomerID, AuditWatchlistWrite,
			fmt.Sprintf("id=%s label=%s model=%s", w.ID, w.Label, w.ModelID)); err != nil {
			return err
		}
		return d.change(ctx, tx, Change{Kind: ChangeWatchAdded, CustomerID: w.SourceCustomerID, ModelID: w.ModelID, WatchID: w.ID})
	})
	if err != nil {
		return WatchEntry{}, fmt.Errorf("customer: add to watchlist: %w", err)
	}
	return w, nil
}

// Watchlist implements Store.
func (d *DB) Watchlist(ctx context.Context, actor string, fn func(WatchEntry) error) error {
	if err := checkActor(actor); err != nil {
		return err
	}
	if err := d.inTx(ctx, func(tx *sql.Tx) error {
		return d.audit(ctx, tx, actor, "", AuditWatchlistRead, "all watchlist entries")
	}); err != nil {
		return fmt.Errorf("customer: watchlist: %w", err)
	}
	rows, err := d.db.QueryContext(ctx, `SELECT id, label, source_customer_id, model_id, key_id, sealed,
		reason, added_by, created_us FROM watchlist ORDER BY id`)
	if err != nil {
		return fmt.Errorf("customer: watchlist: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var w WatchEntry
		var src sql.NullString
		var keyID string
		var sealed []byte
		var created sql.NullInt64
		if err := rows.Scan(&w.ID, &w.Label, &src, &w.ModelID, &keyID, &sealed, &w.Reason, &w.AddedBy, &created); err != nil {
			return fmt.Errorf("customer: watchlist: %w", err)
		}
		s, err := d.opening(keyID)
		if err == nil {
			w.Embedding, err = s.open(sealed, watchAAD(w.ID))
		}
		if err != nil {
			return fmt.Errorf("customer: watchlist entry %s: %w", w.ID, err)
		}
		w.SourceCustomerID, w.CreatedAt = src.String, unstamp(created)
		if err := fn(w); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("customer: watchlist: %w", err)
	}
	return nil
}

// RemoveFromWatchlist implements Store.
func (d *DB) RemoveFromWatchlist(ctx context.Context, id, actor string) error {
	if err := checkActor(actor); err != nil {
		return err
	}
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		var src sql.NullString
		err := tx.QueryRowContext(ctx, `DELETE FROM watchlist WHERE id = $1 RETURNING source_customer_id`, id).Scan(&src)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if err := d.audit(ctx, tx, actor, src.String, AuditWatchlistRemove, "id="+id); err != nil {
			return err
		}
		return d.change(ctx, tx, Change{Kind: ChangeWatchRemoved, CustomerID: src.String, WatchID: id})
	})
	if err != nil {
		return fmt.Errorf("customer: remove watchlist entry %q: %w", id, err)
	}
	return nil
}
