package customer

import (
	"context"
	"errors"
	"io"
	"time"
)

// Store is what the switch needs from the customer database. [*DB]
// implements it over SQLite and PostgreSQL.
//
// Methods that touch biometric data take the actor asking (an agent login,
// "ivr", "node-2 index loader", "cli:root"...); it is written to the audit
// log and must not be empty.
type Store interface {
	// PutCustomer inserts c or replaces the customer with the same ID,
	// numbers and attributes included.
	PutCustomer(ctx context.Context, c Customer) error
	// Customer returns the customer with id, or ErrNotFound.
	Customer(ctx context.Context, id string) (Customer, error)
	// CustomersByNumber returns every customer holding the E.164 number,
	// ordered by id; none is not an error.
	CustomersByNumber(ctx context.Context, e164 string) ([]Customer, error)
	// EachCustomer calls fn for every customer in id order.
	EachCustomer(ctx context.Context, fn func(Customer) error) error

	// SaveInteraction records a call, inserting it or replacing the one
	// with the same CallID, and returns it with its ID set.
	SaveInteraction(ctx context.Context, in Interaction) (Interaction, error)
	// RecentInteractions returns the customer's last n calls, newest first.
	RecentInteractions(ctx context.Context, customerID string, n int) ([]Interaction, error)

	// GiveConsent records that the customer agreed to voice identification.
	GiveConsent(ctx context.Context, c Consent) (Consent, error)
	// CurrentConsent returns the customer's latest consent that has not
	// been withdrawn, or ErrNoConsent.
	CurrentConsent(ctx context.Context, customerID string) (Consent, error)

	// SaveVoiceprint stores (or replaces) the customer's voiceprint for
	// vp.ModelID. It returns ErrNoConsent without a current consent.
	SaveVoiceprint(ctx context.Context, vp Voiceprint, actor string) (Voiceprint, error)
	// Voiceprints returns the customer's voiceprints, one per model.
	Voiceprints(ctx context.Context, customerID, actor string) ([]Voiceprint, error)
	// AllVoiceprints streams every voiceprint (to load an index at
	// start-up); an error from fn stops the stream and is returned.
	AllVoiceprints(ctx context.Context, actor string, fn func(Voiceprint) error) error
	// EraseBiometrics deletes every voiceprint of the customer, the
	// watchlist entries derived from them and the customer's call
	// recordings, withdraws consent, remembers
	// the erasure (see ErrErased) and audits it. ErrNotFound for an
	// unknown customer.
	EraseBiometrics(ctx context.Context, customerID, actor string) error
	// Erasure returns the customer's last biometric erasure (the zero
	// Erasure if never), or ErrNotFound for an unknown customer.
	Erasure(ctx context.Context, customerID string) (Erasure, error)
	// CheckImport says whether ImportVoiceprint would accept a voiceprint
	// for the customer with consentRef: nil, ErrNotFound, ErrErased or
	// ErrNoConsent. It lets a bulk enrolment refuse a customer before
	// reading their recordings; ImportVoiceprint checks again.
	CheckImport(ctx context.Context, customerID, consentRef string) error
	// ImportVoiceprint stores a voiceprint made without the customer on
	// the line (bulk enrolment from recordings, the demo). In one
	// transaction it refuses an erased customer (ErrErased), records an
	// import consent with reference consentRef when the customer has no
	// current consent (none given and consentRef "": ErrNoConsent), and
	// saves the voiceprint as SaveVoiceprint does.
	ImportVoiceprint(ctx context.Context, vp Voiceprint, consentRef, actor string) (Voiceprint, error)

	// AddToWatchlist stores a fraud watchlist voiceprint and returns it
	// with its ID set.
	AddToWatchlist(ctx context.Context, w WatchEntry, actor string) (WatchEntry, error)
	// Watchlist streams every watchlist entry.
	Watchlist(ctx context.Context, actor string, fn func(WatchEntry) error) error
	// RemoveFromWatchlist deletes one entry, or returns ErrNotFound.
	RemoveFromWatchlist(ctx context.Context, id, actor string) error

	// AuditLog returns up to n audit entries, newest first, for one
	// customer or, with customerID "", for all.
	AuditLog(ctx context.Context, customerID string, n int) ([]AuditEntry, error)
	// Changes returns up to limit changes with Seq > since, in order.
	Changes(ctx context.Context, since int64, limit int) ([]Change, error)
	// LastChange returns the sequence number of the latest change.
	LastChange(ctx context.Context) (int64, error)
	// RotateKey re-seals every biometric row from oldKey to newKey in one
	// transaction and returns how many rows it re-sealed.
	RotateKey(ctx context.Context, oldKey, newKey []byte, actor string) (int, error)

	// Import loads customers from CSV, all or nothing.
	Import(ctx context.Context, r io.Reader, progress func(done, total int)) error
	// Export writes every customer as CSV in the format Import reads.
	Export(ctx context.Context, w io.Writer) error

	Close() error
}

var _ Store = (*DB)(nil)

// Errors returned by the store; test with errors.Is.
var (
	ErrNotFound   = errors.New("customer: not found")
	ErrNoConsent  = errors.New("customer: no current consent for voice identification")
	ErrNoKey      = errors.New("customer: no voiceprint key configured")
	ErrUnknownKey = errors.New("customer: voiceprint sealed under a key this store does not hold")
	ErrNoActor    = errors.New("customer: biometric access needs an actor for the audit log")
	ErrInvalid    = errors.New("customer: invalid value")
	// ErrErased refuses an automatic enrolment (ImportVoiceprint, an
	// import consent) of a customer whose biometrics were erased or
	// whose consent was withdrawn: that is final for every path that runs
	// without the customer. Only the customer, consenting again in a call
	// (IVR or agent), can be enrolled again.
	ErrErased = errors.New("customer: biometrics erased at the customer's request; automatic enrolment refused")
)

// Interaction is one call as the agent sees it afterwards.
type Interaction struct {
	ID         int64
	CallID     string // unique: one interaction per call
	CustomerID string // "" when the caller was not identified
	StartedAt  time.Time
	AnsweredAt time.Time // zero if never answered
	EndedAt    time.Time // zero while the call is up
	Queue      string
	Agent      string
	Method     IDMethod // how the caller was identified
	Score      float64  // identification score (voice: similarity), 0 otherwise
	Outcome    string
	Notes      string
}

// IDMethod says how a caller was identified.
type IDMethod string

// Identification methods.
const (
	IDNone   IDMethod = "none"
	IDVoice  IDMethod = "voice"
	IDNumber IDMethod = "number"
	IDPIN    IDMethod = "pin"
)

// ConsentMethod says how consent was collected.
type ConsentMethod string

// Consent methods.
const (
	ConsentIVR   ConsentMethod = "ivr-dtmf" // the caller pressed a digit in the IVR
	ConsentAgent ConsentMethod = "agent"    // an agent recorded the caller's spoken agreement
	// ConsentImport: collected outside the switch (a consented call
	// recording, a signed form) and brought in with the recordings by a
	// bulk enrolment. It is refused for a customer whose biometrics were
	// erased: see ErrErased.
	ConsentImport ConsentMethod = "import"
)

// Consent is one agreement to voice identification.
type Consent struct {
	ID           int64
	CustomerID   string
	GivenAt      time.Time
	Method       ConsentMethod
	GivenBy      string // agent login, or the IVR flow that asked
	RecordingRef string // where the recording of the agreement is kept
	WithdrawnAt  time.Time
	WithdrawnBy  string
}

// Voiceprint is one customer's speaker embedding for one model.
type Voiceprint struct {
	CustomerID    string
	ModelID       string
	Embedding     []float32
	Utterances    int     // utterances averaged into Embedding
	SpeechSeconds float64 // net speech (after voice activity detection)
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Erasure records that a customer's biometrics were erased.
type Erasure struct {
	CustomerID string
	At         time.Time // zero: never erased
	By         string
}

// WatchEntry is a fraud watchlist voiceprint.
type WatchEntry struct {
	ID               string // assigned by AddToWatchlist
	Label            string
	SourceCustomerID string // customer it was taken from, "" if none
	ModelID          string
	Embedding        []float32
	Reason           string
	AddedBy          string
	CreatedAt        time.Time
}

// AuditEntry is one line of the biometric audit log.
type AuditEntry struct {
	Seq        int64
	At         time.Time
	Actor      string
	CustomerID string
	Action     AuditAction
	Detail     string
}

// AuditAction names what was done.
type AuditAction string

// Audited actions.
const (
	AuditVoiceprintRead  AuditAction = "voiceprint.read"
	AuditVoiceprintScan  AuditAction = "voiceprint.read-all"
	AuditVoiceprintWrite AuditAction = "voiceprint.write"
	AuditErase           AuditAction = "biometrics.erase"
	AuditConsentGiven    AuditAction = "consent.give"
	AuditWatchlistRead   AuditAction = "watchlist.read"
	AuditWatchlistWrite  AuditAction = "watchlist.write"
	AuditWatchlistRemove AuditAction = "watchlist.remove"
	AuditKeyRotate       AuditAction = "key.rotate"
)

// Change is one entry of the change feed.
type Change struct {
	Seq        int64
	At         time.Time
	Kind       ChangeKind
	CustomerID string
	ModelID    string // voiceprint changes
	WatchID    string // watchlist changes
}

// ChangeKind names a change.
type ChangeKind string

// Change kinds.
const (
	ChangeVoiceprintSaved  ChangeKind = "voiceprint.saved"  // re-read the customer's voiceprint for ModelID
	ChangeBiometricsErased ChangeKind = "biometrics.erased" // drop every voiceprint of CustomerID
	ChangeWatchAdded       ChangeKind = "watchlist.added"
	ChangeWatchRemoved     ChangeKind = "watchlist.removed"
)
