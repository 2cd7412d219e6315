package customer

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// AuditVoicemailPlay is the audit action of a voicemail message played
// (or downloaded) by a user of the agent pages.
const AuditVoicemailPlay AuditAction = "voicemail.play"

// VoicemailPlayed appends an audit entry saying that actor played the
// voicemail message of a call: box and message name the recording
// (BOX/MESSAGE.wav), callID the call that left it, customerID its caller
// when known (else ""), and part the byte range asked for ("" for the
// whole message; client text, quoted and cut to 64 bytes). Without an
// actor it returns ErrNoActor and writes nothing.
func (d *DB) VoicemailPlayed(ctx context.Context, actor, customerID, box, message, callID, part string) error {
	if err := checkActor(actor); err != nil {
		return err
	}
	detail := fmt.Sprintf("box=%s message=%s call_id=%s", box, message, callID)
	if part = strings.TrimSpace(part); part != "" {
		detail += fmt.Sprintf(" range=%q", part[:min(len(part), 64)])
	}
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		return d.audit(ctx, tx, actor, customerID, AuditVoicemailPlay, detail)
	})
	if err != nil {
		return fmt.Errorf("customer: voicemail played: %w", err)
	}
	return nil
}
