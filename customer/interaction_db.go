package customer

import (
	"context"
	"database/sql"
	"fmt"
)

// Validate reports what is wrong with in, or nil.
func (in *Interaction) Validate() error {
	switch {
	case in.CallID == "":
		return fmt.Errorf("%w: interaction without a call id", ErrInvalid)
	case in.StartedAt.IsZero():
		return fmt.Errorf("%w: interaction %s without a start time", ErrInvalid, in.CallID)
	}
	switch in.Method {
	case IDNone, IDVoice, IDNumber, IDPIN:
	default:
		return fmt.Errorf("%w: interaction %s: identification method %q (want none, voice, number or pin)", ErrInvalid, in.CallID, in.Method)
	}
	for _, f := range []struct {
		name, v   string
		max       int
		multiline bool
	}{
		{"call id", in.CallID, 200, false},
		{"queue", in.Queue, 128, false},
		{"agent", in.Agent, MaxAdvisorLen, false},
		{"outcome", in.Outcome, 200, false},
		{"notes", in.Notes, MaxNotesLen, true},
	} {
		if p := checkText(f.v, f.max, f.multiline); p != "" {
			return fmt.Errorf("%w: interaction %s: %s %s", ErrInvalid, in.CallID, f.name, p)
		}
	}
	return nil
}

// SaveInteraction implements Store.
func (d *DB) SaveInteraction(ctx context.Context, in Interaction) (Interaction, error) {
	if in.Method == "" {
		in.Method = IDNone
	}
	if err := in.Validate(); err != nil {
		return Interaction{}, err
	}
	var cust sql.NullString
	if in.CustomerID != "" {
		cust = sql.NullString{String: in.CustomerID, Valid: true}
	}
	err := d.db.QueryRowContext(ctx, `INSERT INTO interactions
		(call_id, customer_id, started_us, answered_us, ended_us, queue, agent, id_method, id_score, outcome, notes)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (call_id) DO UPDATE SET customer_id = excluded.customer_id,
			started_us = excluded.started_us, answered_us = excluded.answered_us, ended_us = excluded.ended_us,
			queue = excluded.queue, agent = excluded.agent, id_method = excluded.id_method,
			id_score = excluded.id_score, outcome = excluded.outcome, notes = excluded.notes
		RETURNING id`,
		in.CallID, cust, stamp(in.StartedAt), stamp(in.AnsweredAt), stamp(in.EndedAt), in.Queue, in.Agent,
		string(in.Method), in.Score, in.Outcome, in.Notes).Scan(&in.ID)
	if err != nil {
		return Interaction{}, fmt.Errorf("customer: save interaction %s: %w", in.CallID, err)
	}
	return in, nil
}

// RecentInteractions implements Store.
func (d *DB) RecentInteractions(ctx context.Context, customerID string, n int) ([]Interaction, error) {
	if n <= 0 {
		return nil, nil
	}
	rows, err := d.db.QueryContext(ctx, `SELECT id, call_id, customer_id, started_us, answered_us, ended_us,
		queue, agent, id_method, id_score, outcome, notes
		FROM interactions WHERE customer_id = $1 ORDER BY started_us DESC, id DESC LIMIT $2`, customerID, n)
	if err != nil {
		return nil, fmt.Errorf("customer: interactions of %q: %w", customerID, err)
	}
	defer rows.Close()
	var out []Interaction
	for rows.Next() {
		var in Interaction
		var cust sql.NullString
		var started, answered, ended sql.NullInt64
		var method string
		if err := rows.Scan(&in.ID, &in.CallID, &cust, &started, &answered, &ended,
			&in.Queue, &in.Agent, &method, &in.Score, &in.Outcome, &in.Notes); err != nil {
			return nil, fmt.Errorf("customer: interactions of %q: %w", customerID, err)
		}
		in.CustomerID, in.Method = cust.String, IDMethod(method)
		in.StartedAt, in.AnsweredAt, in.EndedAt = unstamp(started), unstamp(answered), unstamp(ended)
		out = append(out, in)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("customer: interactions of %q: %w", customerID, err)
	}
	return out, nil
}
