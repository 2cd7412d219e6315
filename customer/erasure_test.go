package customer_test

import (
	"context"
	"errors"
	"io/fs"
	"strconv"
	"strings"
	"testing"

	"github.com/voxdesk/voxdesk/customer"
)

// latestMigration is the highest migration number embedded.
func latestMigration(t testing.TB) int {
	t.Helper()
	names, err := fs.Glob(customer.MigrationFiles, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, name := range names {
		v, _ := strconv.Atoi(strings.SplitN(strings.TrimPrefix(name, "migrations/"), "_", 2)[0])
		n = max(n, v)
	}
	return n
}

// testErasureIsFinal: once erased, no automatic path enrols the customer
// again (an import consent, an imported voiceprint), whatever it brings;
// the customer consenting again in a call still can be.
func testErasureIsFinal(t *testing.T, ctx context.Context, e *env) {
	put(t, ctx, e.s, customer.Customer{ID: "c1", Name: "Alice"}, customer.Customer{ID: "c2", Name: "Bob"})
	vp := func(id string) customer.Voiceprint {
		return customer.Voiceprint{CustomerID: id, ModelID: "m1", Embedding: embedding(len(id), 16), Utterances: 2, SpeechSeconds: 12}
	}
	if _, err := e.s.ImportVoiceprint(ctx, vp("c1"), "batch-7", "cli:ops"); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.s.Erasure(ctx, "c1"); !got.At.IsZero() {
		t.Fatalf("Erasure before any erase = %+v, want zero", got)
	}
	if err := e.s.EraseBiometrics(ctx, "c1", "dpo:jane"); err != nil {
		t.Fatal(err)
	}
	er, err := e.s.Erasure(ctx, "c1")
	if err != nil || er.At.IsZero() || er.By != "dpo:jane" {
		t.Fatalf("Erasure after erase = %+v, %v; want one by dpo:jane", er, err)
	}
	before, _ := e.s.LastChange(ctx)
	audit, _ := e.s.AuditLog(ctx, "c1", 100)

	if _, err := e.s.ImportVoiceprint(ctx, vp("c1"), "batch-8", "cli:ops"); !errors.Is(err, customer.ErrErased) {
		t.Errorf("import after erase with a consent reference: %v, want ErrErased", err)
	}
	if _, err := e.s.ImportVoiceprint(ctx, vp("c1"), "", "cli:ops"); !errors.Is(err, customer.ErrErased) {
		t.Errorf("import after erase: %v, want ErrErased", err)
	}
	if _, err := e.s.GiveConsent(ctx, customer.Consent{CustomerID: "c1", Method: customer.ConsentImport, GivenBy: "cli:ops", RecordingRef: "x"}); !errors.Is(err, customer.ErrErased) {
		t.Errorf("import consent after erase: %v, want ErrErased", err)
	}
	if err := e.s.CheckImport(ctx, "c1", "batch-8"); !errors.Is(err, customer.ErrErased) {
		t.Errorf("CheckImport after erase: %v, want ErrErased", err)
	}
	// Nothing of the refused attempts reached the store.
	if vps, _ := e.s.Voiceprints(ctx, "c1", "check"); len(vps) != 0 {
		t.Errorf("%d voiceprints after refused imports", len(vps))
	}
	if _, err := e.s.CurrentConsent(ctx, "c1"); !errors.Is(err, customer.ErrNoConsent) {
		t.Errorf("consent after refused imports: %v, want ErrNoConsent", err)
	}
	if chs, _ := e.s.Changes(ctx, before, 0); len(chs) != 0 {
		t.Errorf("refused imports left changes %+v", chs)
	}
	if after, _ := e.s.AuditLog(ctx, "c1", 100); len(after) != len(audit)+1 { // +1: the Voiceprints read above
		t.Errorf("audit grew from %d to %d entries on refused imports", len(audit), len(after))
	}
	// Even with a current consent (the customer said yes again in a call)
	// an automatic enrolment stays refused; the call's own enrolment works.
	if _, err := e.s.GiveConsent(ctx, customer.Consent{CustomerID: "c1", Method: customer.ConsentIVR, GivenBy: "ivr"}); err != nil {
		t.Fatalf("the customer's own consent after erase: %v", err)
	}
	if _, err := e.s.ImportVoiceprint(ctx, vp("c1"), "", "cli:ops"); !errors.Is(err, customer.ErrErased) {
		t.Errorf("import after erase and a new IVR consent: %v, want ErrErased", err)
	}
	if _, err := e.s.SaveVoiceprint(ctx, vp("c1"), "ivr"); err != nil {
		t.Errorf("enrolment in a call after a new consent: %v", err)
	}
	// The other customer is untouched by c1's erasure.
	if err := e.s.CheckImport(ctx, "c2", "batch-8"); err != nil {
		t.Errorf("CheckImport(c2): %v", err)
	}
	if err := e.s.EraseBiometrics(ctx, "nobody", "dpo"); !errors.Is(err, customer.ErrNotFound) {
		t.Errorf("erase unknown: %v, want ErrNotFound", err)
	}
	if _, err := e.s.Erasure(ctx, "nobody"); !errors.Is(err, customer.ErrNotFound) {
		t.Errorf("Erasure(unknown): %v, want ErrNotFound", err)
	}
}

// testImportVoiceprint: an imported voiceprint and its import consent
// land together, or neither does.
func testImportVoiceprint(t *testing.T, ctx context.Context, e *env) {
	put(t, ctx, e.s, customer.Customer{ID: "c1", Name: "Alice"}, customer.Customer{ID: "c2", Name: "Bob"}, customer.Customer{ID: "c3", Name: "Carol"})
	vp := customer.Voiceprint{CustomerID: "c1", ModelID: "m1", Embedding: embedding(1, 16), Utterances: 3, SpeechSeconds: 20}
	if _, err := e.s.ImportVoiceprint(ctx, vp, "", "cli:ops"); !errors.Is(err, customer.ErrNoConsent) {
		t.Fatalf("import without consent or reference: %v, want ErrNoConsent", err)
	}
	if err := e.s.CheckImport(ctx, "c1", ""); !errors.Is(err, customer.ErrNoConsent) {
		t.Errorf("CheckImport without consent: %v, want ErrNoConsent", err)
	}
	bad := vp
	bad.Embedding = nil
	if _, err := e.s.ImportVoiceprint(ctx, bad, "batch-1", "cli:ops"); !errors.Is(err, customer.ErrInvalid) {
		t.Fatalf("invalid voiceprint: %v, want ErrInvalid", err)
	}
	if _, err := e.s.CurrentConsent(ctx, "c1"); !errors.Is(err, customer.ErrNoConsent) {
		t.Fatalf("a refused import left a consent: %v", err)
	}
	if _, err := e.s.ImportVoiceprint(ctx, customer.Voiceprint{CustomerID: "nobody", ModelID: "m1", Embedding: embedding(1, 16)}, "batch-1", "cli:ops"); !errors.Is(err, customer.ErrNotFound) {
		t.Errorf("unknown customer: %v, want ErrNotFound", err)
	}
	if _, err := e.s.ImportVoiceprint(ctx, vp, "batch-1", "cli:ops"); err != nil {
		t.Fatal(err)
	}
	c, err := e.s.CurrentConsent(ctx, "c1")
	if err != nil || c.Method != customer.ConsentImport || c.RecordingRef != "batch-1" || c.GivenBy != "cli:ops" {
		t.Fatalf("consent after import = %+v, %v; want method import, reference batch-1", c, err)
	}
	// A customer who already consented keeps that consent.
	consent(t, ctx, e.s, "c2")
	vp.CustomerID = "c2"
	if _, err := e.s.ImportVoiceprint(ctx, vp, "batch-1", "cli:ops"); err != nil {
		t.Fatal(err)
	}
	if c, _ := e.s.CurrentConsent(ctx, "c2"); c.Method != customer.ConsentIVR {
		t.Errorf("c2's consent replaced by %+v", c)
	}
	if err := e.s.CheckImport(ctx, "c3", "batch-1"); err != nil {
		t.Errorf("CheckImport(c3, ref): %v", err)
	}
	if vps, _ := e.s.Voiceprints(ctx, "c1", "check"); len(vps) != 1 {
		t.Errorf("c1 has %d voiceprints, want 1", len(vps))
	}
}

// testErasuresBeforeMigration: a database erased before the erasure
// table existed remembers its erasures from the audit log.
func testErasuresBeforeMigration(t *testing.T, ctx context.Context, e *env) {
	put(t, ctx, e.s, customer.Customer{ID: "c1", Name: "Alice"}, customer.Customer{ID: "c2", Name: "Bob"})
	consent(t, ctx, e.s, "c1")
	consent(t, ctx, e.s, "c2")
	if err := e.s.EraseBiometrics(ctx, "c1", "dpo:first"); err != nil {
		t.Fatal(err)
	}
	if err := e.s.EraseBiometrics(ctx, "c1", "dpo:second"); err != nil {
		t.Fatal(err)
	}
	// Back to schema 1 as far as erasures go.
	raw := rawDB(t, e.dsn)
	for _, q := range []string{`DROP TABLE biometric_erasures`, `DELETE FROM schema_migrations WHERE version = 2`} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	s := e.open(t, customer.Config{Key: e.key})
	er, err := s.Erasure(ctx, "c1")
	if err != nil || er.By != "dpo:second" {
		t.Errorf("c1's erasure after the migration = %+v, %v; want the last one, by dpo:second", er, err)
	}
	if er, _ := s.Erasure(ctx, "c2"); !er.At.IsZero() {
		t.Errorf("c2 was never erased, got %+v", er)
	}
	// The consents table kept its rows through the migration.
	if c, err := s.CurrentConsent(ctx, "c2"); err != nil || c.Method != customer.ConsentIVR {
		t.Errorf("c2's consent after the migration: %+v, %v", c, err)
	}
}
