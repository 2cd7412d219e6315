package customer

import (
	"context"
	"database/sql"
	"io/fs"
)

// Migrate applies the migrations of fsys (laid out as migrations/NNNN_x.sql).
func Migrate(ctx context.Context, d *DB, fsys fs.FS) error { return d.migrate(ctx, fsys) }

// MigrationFiles are the embedded migrations.
var MigrationFiles = migrationFiles

// SeedVoiceprints stores voiceprints in one transaction, skipping the
// consent check, audit and change feed: for benchmarks that need many rows
// fast. Tests of behaviour use SaveVoiceprint.
func SeedVoiceprints(ctx context.Context, d *DB, vps []Voiceprint) error {
	s, err := d.sealing()
	if err != nil {
		return err
	}
	return d.inTx(ctx, func(tx *sql.Tx) error {
		for _, vp := range vps {
			if _, err := tx.ExecContext(ctx, `INSERT INTO voiceprints
				(customer_id, model_id, key_id, sealed, utterances, speech_seconds, created_us, updated_us)
				VALUES ($1, $2, $3, $4, $5, $6, 0, 0)`,
				vp.CustomerID, vp.ModelID, s.id, s.seal(vp.Embedding, voiceprintAAD(vp.CustomerID, vp.ModelID)),
				vp.Utterances, vp.SpeechSeconds); err != nil {
				return err
			}
		}
		return nil
	})
}
