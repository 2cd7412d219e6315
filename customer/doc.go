// Package customer keeps the customer file an agent sees and the biometric
// records the switch recognises callers by: customers and their phone
// numbers, one interaction per call, voiceprints, consent, a fraud watchlist
// and an audit log of every biometric read, write and erase.
//
// # Backends
//
// [Open] takes a DSN and returns a [*DB] that implements [Store]:
//
//	sqlite:var/voxdesk.db          embedded default (modernc.org/sqlite, pure Go)
//	postgres://user@host/db?...    several switch nodes sharing one database (pgx)
//
// Both run the same SQL through database/sql; the schema comes from the
// versioned migrations embedded under migrations/, applied in order, each in
// its own transaction and recorded in schema_migrations. A change that must
// be written differently per dialect has one file each,
// NNNN_name.sqlite.sql and NNNN_name.postgres.sql; the few other dialect
// differences are tokens in the files, replaced explicitly per dialect:
//
//	token      SQLite                               PostgreSQL
//	{{id}}     INTEGER PRIMARY KEY AUTOINCREMENT    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY
//	{{blob}}   BLOB                                 BYTEA
//	{{json}}   TEXT                                 JSONB
//
// SQLite runs in WAL mode with synchronous=FULL, a busy timeout, foreign keys
// on, secure_delete on, and BEGIN IMMEDIATE transactions so that a read
// followed by a write in one transaction never fails on a lock upgrade
// (read-only snapshots, such as an export, use a deferred transaction and
// hold up no writer).
// Times are stored as microseconds since the Unix epoch (UTC) on both.
// Every query is parameterised: no value is ever spliced into SQL text.
//
// # Voiceprints and consent
//
// Embeddings are sealed with AES-256-GCM before they reach the database
// (voiceprints and watchlist entries alike). The additional data binds each
// ciphertext to its row (customer and model, or watchlist id), so a sealed
// embedding copied onto another row does not open. Each row stores the id of
// the key that sealed it ([KeyID]); [DB.RotateKey] re-seals every row under a
// new key in one transaction. Nodes that share a database during a rotation
// list the previous key in [Config.OldKeys].
//
// A voiceprint is saved only while the customer has a current consent record
// ([ErrNoConsent] otherwise). [DB.EraseBiometrics] is the withdrawal: in one
// transaction it deletes the customer's voiceprints and the watchlist entries
// derived from them, marks consent withdrawn, remembers the erasure
// ([DB.Erasure]), and writes an audit entry and a change.
//
// Erasure is final for every enrolment made without the customer on the
// line (a bulk enrolment from recordings, the demo): those go through
// [DB.ImportVoiceprint], which refuses an erased customer with [ErrErased],
// even one who has consented again since; so does an import consent
// ([ConsentImport]). Only the customer, consenting again in a call, is
// enrolled again ([DB.SaveVoiceprint]). ImportVoiceprint records the
// import consent, when one is asked for, in the same transaction as the
// voiceprint: neither lands without the other. Every biometric read, write and erase is audited with the actor
// that asked for it. On SQLite, secure_delete and a WAL checkpoint after the
// erasure take the sealed bytes out of the files too; on PostgreSQL the
// deleted row versions stay (sealed) in the table's pages until vacuumed
// space is reused, and in WAL segments until they are recycled.
//
// # Call recordings
//
// [DB.SaveRecording] keeps a call recording (a WAV file) only when it says
// how the caller was told the call is recorded (the notice played, and the
// flow or person that gave it): [ErrNotTold] otherwise. The audio is
// sealed like the voiceprints, under the same key, the additional data
// binding it to the recording's id, customer and call; it lives in the
// database beside its metadata, so that an erasure, a key rotation and a
// backup treat it in one transaction with everything else, and no file on
// disk can be left behind by a crash between two steps. A recording of a
// caller who was not identified is kept against its call (the
// interaction's call_id) and listed by it. EraseBiometrics erases the
// customer's recordings with the voiceprints; DeleteRecording erases one,
// PurgeRecordings those older than the retention period. Every list,
// play, erase and refused access is audited.
//
// # Change feed
//
// Every enrolment, erasure and watchlist change appends a [Change] with a
// sequence number taken from a one-row counter inside the writing
// transaction. The counter's row lock serialises writers, so sequence
// numbers become visible in increasing order with no gaps: a node that has
// applied every change up to N and asks [DB.Changes] for those after N never
// misses one that commits later with a smaller number. [Follow] reads the
// feed: a second switch node uses it to keep its in-memory voiceprint index
// in step with enrolments and erasures made by the others. It polls, and on
// PostgreSQL it also LISTENs for the NOTIFY each change sends on commit, so
// the other nodes hear of an enrolment at once; polling remains the
// fallback.
//
// # Import and export
//
// [DB.Import] reads the CSV format described at [ParseCSV]. The whole file is
// checked before anything is written; every bad row is reported with its
// line in one [*ImportError]; a clean file is written in a single
// transaction, so an import either lands completely or not at all. A row
// whose id already exists in the store updates that customer (its fields,
// numbers and attributes are replaced by the row's; voiceprints, consent
// and interactions are kept). The same id twice in one file is an error.
// [DB.Export] writes the same format.
package customer
