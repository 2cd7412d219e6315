package service

import (
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/voxdesk/voxdesk/customer"
	"github.com/voxdesk/voxdesk/media"
	"github.com/voxdesk/voxdesk/voiceprint"
)

// RecordingEnroller builds customers' voiceprints from recordings made
// outside a call: the demo corpus at start-up, an operator's consented
// call recordings (voxdesk customer enrol). It runs the pipeline calls
// use (the speaker model's extractor, then the new utterances merged into
// the stored voiceprint, as an enrolment in a call does) and stores the
// result with customer.DB.ImportVoiceprint, so the store's rules for
// enrolments without the customer on the line hold: a customer whose
// biometrics were erased is refused (customer.ErrErased), a customer
// without consent needs ConsentRef, and the consent and the voiceprint
// land together or not at all.
//
// A RecordingEnroller is used from one goroutine at a time. Every store
// write goes through the change feed, so running switch nodes take the
// new voiceprints into their index on their own.
type RecordingEnroller struct {
	DB    *customer.DB
	Model *voiceprint.Model
	// Actor is who the consent records and the audit log name.
	Actor string
	// ConsentRef, when set, is recorded as an import consent (method
	// import, this reference) for customers without a current consent;
	// empty: customers need a current consent.
	ConsentRef string
	// MinSpeech is the net speech (after voice activity detection) a
	// customer's new recordings must hold together; zero means 8 s, the
	// voiceprint.enrol_speech default.
	MinSpeech time.Duration

	x *voiceprint.Extractor
}

// defaultEnrolSpeech is the net speech an enrolment needs unless
// configured (voiceprint.enrol_speech, customer enrol --min-speech).
const defaultEnrolSpeech = 8 * time.Second

// Load reads a recording (WAV or FLAC, any rate, PCM, float, mu-law or
// A-law) as 8 kHz samples. Unsupported or malformed files wrap
// media.ErrAudioFormat.
func (e *RecordingEnroller) Load(path string) ([]int16, error) {
	return media.LoadPCM(path, voiceprint.SampleRate)
}

// Embed computes one utterance's embedding; too little speech wraps
// voiceprint.ErrNotEnoughSpeech.
func (e *RecordingEnroller) Embed(pcm []int16) (voiceprint.Embedding, error) {
	if e.x == nil {
		e.x = e.Model.NewExtractor()
	}
	return e.x.Embed(pcm, voiceprint.SampleRate)
}

// Check says, before any recording is read, whether the customer may be
// enrolled this way: nil, or an error wrapping customer.ErrNotFound,
// customer.ErrErased or customer.ErrNoConsent.
func (e *RecordingEnroller) Check(ctx context.Context, customerID string) error {
	return e.DB.CheckImport(ctx, customerID, e.ConsentRef)
}

// Enrol adds the utterances to the customer's voiceprint and stores it.
func (e *RecordingEnroller) Enrol(ctx context.Context, customerID string, utts []voiceprint.Embedding) (customer.Voiceprint, error) {
	vp, err := mergeVoiceprint(ctx, e.DB, customerID, utts, e.Actor, cmp.Or(e.MinSpeech, defaultEnrolSpeech))
	if err != nil {
		return customer.Voiceprint{}, err
	}
	saved, err := e.DB.ImportVoiceprint(ctx, vp, e.ConsentRef, e.Actor)
	if err != nil {
		return customer.Voiceprint{}, fmt.Errorf("service: enrol %s: %w", customerID, err)
	}
	return saved, nil
}

// mergeVoiceprint returns the customer's voiceprint with new utterance
// embeddings added: a new one, or the stored one updated, weighed by its
// utterance count. The new utterances must hold need of net speech
// together (voiceprint.ErrNotEnoughSpeech otherwise).
func mergeVoiceprint(ctx context.Context, db *customer.DB, id string, utts []voiceprint.Embedding, actor string, need time.Duration) (customer.Voiceprint, error) {
	var speech float64
	for _, u := range utts {
		speech += u.Speech
	}
	if speech < need.Seconds() {
		return customer.Voiceprint{}, fmt.Errorf("service: enrol %s: %w", id, &voiceprint.NotEnoughSpeechError{Speech: speech, Need: need.Seconds()})
	}
	prior, err := db.Voiceprints(ctx, id, actor)
	if err != nil {
		return customer.Voiceprint{}, err
	}
	all := slices.Clone(utts)
	count := len(utts)
	for _, p := range prior {
		if p.ModelID != modelID {
			continue
		}
		for range max(1, p.Utterances) {
			all = append(all, voiceprint.Embedding{Vector: p.Embedding})
		}
		count += p.Utterances
		speech += p.SpeechSeconds
	}
	vp, err := voiceprint.Enrol(all)
	if err != nil {
		return customer.Voiceprint{}, fmt.Errorf("service: enrol %s: %w", id, err)
	}
	return customer.Voiceprint{CustomerID: id, ModelID: modelID, Embedding: vp.Vector, Utterances: count, SpeechSeconds: speech}, nil
}

// ManifestRow is one row of a bulk enrolment manifest: a recording of a
// customer.
type ManifestRow struct {
	Line       int // 1-based line of the CSV file (the header is line 1)
	CustomerID string
	File       string // as written; relative paths are relative to the manifest
}

// MaxManifestRows bounds a manifest, so a wrong file cannot exhaust
// memory (the rows are all held while recordings are embedded).
const MaxManifestRows = 1_000_000

// ParseManifest reads a bulk enrolment manifest: CSV with a header naming
// the columns customer_id and file (in any order; other columns are
// ignored), one recording per row, several rows per customer allowed.
// Rows with an empty customer_id or file are returned as they are, for
// the enrolment to refuse with their line; a file that is not CSV, or
// lacks either column, is an error naming the line.
func ParseManifest(r io.Reader) ([]ManifestRow, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("service: manifest: empty file (want a header customer_id,file)")
	}
	if err != nil {
		return nil, fmt.Errorf("service: manifest: %w", err)
	}
	idCol, fileCol := -1, -1
	for i, h := range head {
		switch strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")) {
		case "customer_id":
			idCol = i
		case "file":
			fileCol = i
		}
	}
	if idCol < 0 || fileCol < 0 {
		return nil, fmt.Errorf("service: manifest: line 1: header %q lacks customer_id or file", strings.Join(head, ","))
	}
	var rows []ManifestRow
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("service: manifest: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if len(rows) == MaxManifestRows {
			return nil, fmt.Errorf("service: manifest: line %d: more than %d rows", line, MaxManifestRows)
		}
		row := ManifestRow{Line: line}
		if idCol < len(rec) {
			row.CustomerID = strings.TrimSpace(rec[idCol])
		}
		if fileCol < len(rec) {
			row.File = rec[fileCol]
		}
		rows = append(rows, row)
	}
}

// RowRefusal is a manifest row that was not enrolled, and why.
type RowRefusal struct {
	ManifestRow
	Reason string
	Err    error // the underlying error, when there is one
}

// ManifestReport is what EnrolManifest did.
type ManifestReport struct {
	Enrolled []customer.Voiceprint // one per customer enrolled, in manifest order
	Rows     int                   // rows enrolled
	Refused  []RowRefusal          // in line order
}

// EnrolManifest enrols the customers of a manifest from their recordings
// (paths relative to dir). A customer is enrolled from all of their rows
// or not at all: when one row is refused (a missing file, audio that
// cannot be read or is in an unsupported format, too little net speech)
// the customer's other rows are refused with it, so the store is left
// unchanged for them and their rows, once fixed, can be run again (not
// the rows already enrolled: enrolment adds to a stored voiceprint, so
// they would count twice; see WriteManifest). A customer who is unknown, erased or without consent (and no
// ConsentRef) is refused before any recording is read; so is a customer
// whose recordings together hold less than MinSpeech. progress, if not
// nil, is called after each row. Only ctx ending stops it early (the
// customers enrolled until then stay enrolled); everything else is a
// refusal in the report.
func (e *RecordingEnroller) EnrolManifest(ctx context.Context, rows []ManifestRow, dir string, progress func(done, total int)) (ManifestReport, error) {
	var rep ManifestReport
	var order []string
	byCustomer := map[string][]ManifestRow{}
	done := 0
	step := func(n int) {
		done += n
		if progress != nil {
			progress(done, len(rows))
		}
	}
	for _, r := range rows {
		switch {
		case r.CustomerID == "":
			rep.Refused = append(rep.Refused, RowRefusal{ManifestRow: r, Reason: "no customer_id"})
			step(1)
			continue
		case strings.TrimSpace(r.File) == "":
			rep.Refused = append(rep.Refused, RowRefusal{ManifestRow: r, Reason: "no file"})
			step(1)
			continue
		}
		if _, ok := byCustomer[r.CustomerID]; !ok {
			order = append(order, r.CustomerID)
		}
		byCustomer[r.CustomerID] = append(byCustomer[r.CustomerID], r)
	}
	for _, id := range order {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		crows := byCustomer[id]
		vp, refused := e.enrolRows(ctx, id, crows, dir, step)
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		if refused != nil {
			rep.Refused = append(rep.Refused, refused...)
			continue
		}
		rep.Enrolled = append(rep.Enrolled, vp)
		rep.Rows += len(crows)
	}
	slices.SortStableFunc(rep.Refused, func(a, b RowRefusal) int { return cmp.Compare(a.Line, b.Line) })
	return rep, nil
}

// enrolRows enrols one customer from their rows, or returns every row
// refused.
func (e *RecordingEnroller) enrolRows(ctx context.Context, id string, rows []ManifestRow, dir string, step func(int)) (customer.Voiceprint, []RowRefusal) {
	all := func(reason string, err error) []RowRefusal {
		out := make([]RowRefusal, len(rows))
		for i, r := range rows {
			out[i] = RowRefusal{ManifestRow: r, Reason: reason, Err: err}
		}
		return out
	}
	if err := e.Check(ctx, id); err != nil {
		step(len(rows))
		return customer.Voiceprint{}, all(refusalReason(err), err)
	}
	var utts []voiceprint.Embedding
	var bad []RowRefusal
	seen := map[string]int{}
	for _, r := range rows {
		path := r.File
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		if first, ok := seen[path]; ok {
			bad = append(bad, RowRefusal{ManifestRow: r, Reason: fmt.Sprintf("same recording as line %d", first)})
			step(1)
			continue
		}
		seen[path] = r.Line
		emb, err := e.embedFile(path)
		step(1)
		if err != nil {
			bad = append(bad, RowRefusal{ManifestRow: r, Reason: refusalReason(err), Err: err})
			continue
		}
		utts = append(utts, emb)
	}
	if len(bad) > 0 {
		// The customer's good rows are refused with the bad ones: a
		// voiceprint from part of the recordings the operator listed
		// would be a half enrolment.
		lines := make([]string, len(bad))
		for i, b := range bad {
			lines[i] = strconv.Itoa(b.Line)
		}
		for _, r := range rows {
			if !slices.ContainsFunc(bad, func(b RowRefusal) bool { return b.Line == r.Line }) {
				bad = append(bad, RowRefusal{ManifestRow: r, Reason: "customer not enrolled: line " + strings.Join(lines, ", ") + " of the same customer refused"})
			}
		}
		return customer.Voiceprint{}, bad
	}
	vp, err := e.Enrol(ctx, id, utts)
	var short *voiceprint.NotEnoughSpeechError
	if errors.As(err, &short) {
		return customer.Voiceprint{}, all(fmt.Sprintf("too little net speech: the customer's recordings hold %.1f s together (need %.1f s)", short.Speech, short.Need), err)
	}
	if err != nil {
		return customer.Voiceprint{}, all(refusalReason(err), err)
	}
	return vp, nil
}

// embedFile loads and embeds one recording.
func (e *RecordingEnroller) embedFile(path string) (voiceprint.Embedding, error) {
	st, err := os.Stat(path)
	if err != nil {
		return voiceprint.Embedding{}, err
	}
	if !st.Mode().IsRegular() {
		return voiceprint.Embedding{}, fmt.Errorf("%s: %w: not a regular file", path, media.ErrAudioFormat)
	}
	pcm, err := e.Load(path)
	if err != nil {
		return voiceprint.Embedding{}, err
	}
	return e.Embed(pcm)
}

// WriteManifest writes rows as a manifest ParseManifest reads, with
// relative paths made absolute against dir, so the file can live anywhere:
// voxdesk customer enrol --refused writes the refused rows this way, for
// the operator to fix and run again.
func WriteManifest(w io.Writer, rows []ManifestRow, dir string) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"customer_id", "file"})
	for _, r := range rows {
		path := r.File
		if path != "" && !filepath.IsAbs(path) {
			if abs, err := filepath.Abs(filepath.Join(dir, path)); err == nil {
				path = abs
			}
		}
		cw.Write([]string{r.CustomerID, path})
	}
	cw.Flush()
	return cw.Error()
}

// refusalReason says in a few words why a row was refused.
func refusalReason(err error) string {
	var speech *voiceprint.NotEnoughSpeechError
	switch {
	case errors.Is(err, customer.ErrNotFound):
		return "unknown customer"
	case errors.Is(err, customer.ErrErased):
		return "biometrics erased at the customer's request: never enrolled again automatically"
	case errors.Is(err, customer.ErrNoConsent):
		return "no consent for voice identification"
	case errors.Is(err, fs.ErrNotExist):
		return "missing file"
	case errors.Is(err, media.ErrAudioFormat):
		return "unreadable or unsupported audio: " + err.Error()
	case errors.As(err, &speech):
		if speech.Steady {
			return "too little net speech: steady noise or tone, no speech heard"
		}
		return fmt.Sprintf("too little net speech: %.1f s (need %.1f s)", speech.Speech, speech.Need)
	case errors.Is(err, voiceprint.ErrNotEnoughSpeech):
		return "too little net speech: " + err.Error()
	}
	return err.Error()
}
