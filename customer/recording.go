package customer

import (
	"context"
	"errors"
	"time"
)

// RecordingStore keeps call recordings. [*DB] implements it; the audio is
// sealed with the voiceprint key (see the package documentation).
//
// Every method takes the actor asking; it is written to the audit log and
// must not be empty.
type RecordingStore interface {
	// SaveRecording stores a recording (a WAV file) and returns it with
	// its ID, Size and CreatedAt set. A recording without a notice (the
	// caller was not told) is refused with ErrNotTold; one for an unknown
	// customer with ErrNotFound.
	SaveRecording(ctx context.Context, r Recording, wav []byte, actor string) (Recording, error)
	// Recordings lists the recordings of one customer or of one call,
	// newest first, without their audio.
	Recordings(ctx context.Context, q RecordingQuery, actor string) ([]Recording, error)
	// RecordingInfo returns one recording's metadata (not its audio), to
	// decide whether actor may have it; the access that follows, or its
	// refusal, is what is audited. ErrNotFound when there is none.
	RecordingInfo(ctx context.Context, id string) (Recording, error)
	// OpenRecording returns a recording with its audio, opened.
	OpenRecording(ctx context.Context, id, actor string) (Recording, []byte, error)
	// DeleteRecording erases one recording, or returns ErrNotFound.
	DeleteRecording(ctx context.Context, id, actor string) error
	// RefuseRecording audits an access to a recording (or to a
	// customer's list, id "") that was refused, and why.
	RefuseRecording(ctx context.Context, id, customerID, actor, why string) error
	// PurgeRecordings erases every recording started before t (the
	// retention period) and returns how many.
	PurgeRecordings(ctx context.Context, before time.Time, actor string) (int, error)
}

var _ RecordingStore = (*DB)(nil)

// ErrNotTold refuses a recording whose caller was not told the call is
// recorded.
var ErrNotTold = errors.New("customer: the caller was not told the call is recorded; no recording without notice")

// MaxRecordingBytes bounds one recording's audio: a bit over an hour of
// 8 kHz 16-bit stereo.
const MaxRecordingBytes = 128 << 20

// Recording is one call recording, as listed in the customer's file.
type Recording struct {
	ID         string // assigned by SaveRecording
	CallID     string // the call, and its interaction
	CustomerID string // "" when the caller was not identified
	StartedAt  time.Time
	Duration   time.Duration
	Channels   int // 2: caller left, agent right; 1: the caller only
	// Notice is what told the caller the call is recorded (the prompt
	// played); NoticeBy who or what gave it (the flow, name@version).
	Notice    string
	NoticeBy  string
	Size      int64 // bytes of audio
	CreatedAt time.Time
}

// RecordingQuery selects recordings: those of a customer, or of a call
// (a caller not identified). Exactly one is given.
type RecordingQuery struct {
	CustomerID string
	CallID     string
}

// Audited actions on recordings.
const (
	AuditRecordingWrite   AuditAction = "recording.write"
	AuditRecordingList    AuditAction = "recording.list"
	AuditRecordingPlay    AuditAction = "recording.play"
	AuditRecordingErase   AuditAction = "recording.erase"
	AuditRecordingRefused AuditAction = "recording.refused"
	AuditRecordingPurge   AuditAction = "recording.purge"
)

// recordingAAD binds sealed audio to its row.
func recordingAAD(id, customerID, callID string) []byte {
	return []byte("voxdesk/recording\x00" + id + "\x00" + customerID + "\x00" + callID)
}
