package customer_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/voxdesk/voxdesk/customer"
)

// backend names a way to get a fresh, empty database.
type backend struct {
	name   string
	newDSN func(t testing.TB) string
}

var backends = []backend{
	{"sqlite", func(t testing.TB) string { return "sqlite:" + filepath.Join(t.TempDir(), "voxdesk.db") }},
	{"postgres", postgresDSN},
}

// env is one test's store and what it was opened with.
type env struct {
	dsn string
	key []byte
	s   *customer.DB
}

// open opens another store on the same database.
func (e *env) open(t testing.TB, cfg customer.Config) *customer.DB {
	t.Helper()
	return openStore(t, e.dsn, cfg)
}

func openStore(t testing.TB, dsn string, cfg customer.Config) *customer.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := customer.Open(ctx, dsn, cfg, customer.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatalf("open %s: %v", dsn, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustKey(t testing.TB) []byte {
	t.Helper()
	k, err := customer.ParseKey(customer.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// storeCases is the suite every backend passes.
var storeCases = []struct {
	name string
	run  func(t *testing.T, ctx context.Context, e *env)
}{
	{"customer round-trips SQL metacharacters in every text field", testMetacharacters},
	{"a number shared by several customers finds them all", testSharedNumber},
	{"put replaces fields and numbers, keeps created time", testPutReplaces},
	{"invalid customers are refused", testPutInvalid},
	{"interactions newest first, one per call", testInteractions},
	{"voiceprint needs current consent", testConsentRequired},
	{"voiceprint round-trips exactly and is audited", testVoiceprintRoundTrip},
	{"erase removes every copy, withdraws consent, audits", testErase},
	{"watchlist add, list, remove", testWatchlist},
	{"change feed seen by a second store on the same database", testTwoStores},
	{"a follower on PostgreSQL is woken by NOTIFY, not the next poll", testFollowNotify},
	{"key rotation re-seals every row in one transaction", testRotateKey},
	{"sealed embeddings unreadable without the key", testSealedAtRest},
	{"no key: biometric calls refused, customers work", testNoKey},
	{"biometric access without an actor is refused", testNoActor},
	{"migrations applied once", testMigrationsOnce},
	{"nodes starting together migrate once", testConcurrentOpen},
	{"a later migration applies once; a failing one leaves nothing", testMigrationUpgrade},
	{"import then export round-trips", testImportExport},
	{"import updates existing ids", testImportUpdates},
	{"bad imports change nothing", testBadImports},
	{"erasure is final for automatic enrolment", testErasureIsFinal},
	{"an imported voiceprint and its import consent land together", testImportVoiceprint},
	{"erasures made before the erasure table are remembered", testErasuresBeforeMigration},
	{"a number typed as people do finds its customers", testTypedNumber},
	{"a recording is sealed, listed, opened and audited", testRecordingRoundTrip},
	{"a recording without notice or with bad values is refused", testRecordingRefused},
	{"recordings go with the customer's erasure, alone, or by retention", testRecordingErasure},
	{"key rotation re-seals recordings", testRecordingRotateKey},
	{"voicemail plays are audited: who, which message, when", testVoicemailPlayAudited},
}

func TestStore(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			for _, tc := range storeCases {
				t.Run(tc.name, func(t *testing.T) {
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					defer cancel()
					e := &env{dsn: b.newDSN(t), key: mustKey(t)}
					e.s = e.open(t, customer.Config{Key: e.key})
					tc.run(t, ctx, e)
				})
			}
		})
	}
}

const nasty = `Robert'); DROP TABLE customers;-- "x" \ % _ $1 ? :a @b ` + "`" + `; /* */ ' OR '1'='1`

func put(t *testing.T, ctx context.Context, s customer.Store, cs ...customer.Customer) {
	t.Helper()
	for _, c := range cs {
		if err := s.PutCustomer(ctx, c); err != nil {
			t.Fatalf("PutCustomer(%q): %v", c.ID, err)
		}
	}
}

// same compares customers ignoring the store's timestamps.
func same(t *testing.T, got, want customer.Customer) {
	t.Helper()
	got.CreatedAt, got.UpdatedAt = time.Time{}, time.Time{}
	want.CreatedAt, want.UpdatedAt = time.Time{}, time.Time{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("customer %q:\n got %+v\nwant %+v", want.ID, got, want)
	}
}

func testMetacharacters(t *testing.T, ctx context.Context, e *env) {
	c := customer.Customer{
		ID:               "id-" + nasty[:40],
		Name:             nasty,
		Phones:           []string{"+33612345678", "+15555550100"},
		Segment:          "seg'; --",
		VIP:              true,
		PreferredAdvisor: `adv"; DELETE FROM voiceprints; --`,
		Notes:            nasty + "\nsecond line\twith tab, «ünïcødé» 中文 🙂",
		Attributes:       map[string]string{"k'ey; --": nasty, `j"son}`: `{"a":1}`},
	}
	put(t, ctx, e.s, c)
	got, err := e.s.Customer(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	same(t, got, c)
	if got.CreatedAt.IsZero() || got.UpdatedAt.IsZero() {
		t.Errorf("timestamps not set: %v %v", got.CreatedAt, got.UpdatedAt)
	}
	if _, err := e.s.Customer(ctx, nasty); !errors.Is(err, customer.ErrNotFound) {
		t.Errorf("Customer(unknown) = %v, want ErrNotFound", err)
	}
	// Still exactly one customer: nothing was executed from the values.
	n := 0
	if err := e.s.EachCustomer(ctx, func(customer.Customer) error { n++; return nil }); err != nil || n != 1 {
		t.Errorf("EachCustomer: %d customers, %v; want 1", n, err)
	}
}

func testSharedNumber(t *testing.T, ctx context.Context, e *env) {
	put(t, ctx, e.s,
		customer.Customer{ID: "c2", Name: "Bob", Phones: []string{"+33100000001", "+33100000002"}},
		customer.Customer{ID: "c1", Name: "Alice", Phones: []string{"+33100000001"}},
		customer.Customer{ID: "c3", Name: "Carol", Phones: []string{"+33100000003"}},
	)
	tests := []struct {
		name, number string
		want         []string
	}{
		{"shared", "+33100000001", []string{"c1", "c2"}},
		{"second number of one customer", "+33100000002", []string{"c2"}},
		{"unknown", "+33100000009", nil},
	}
	for _, tt := range tests {
		cs, err := e.s.CustomersByNumber(ctx, tt.number)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var ids []string
		for _, c := range cs {
			ids = append(ids, c.ID)
		}
		if !slices.Equal(ids, tt.want) {
			t.Errorf("%s: CustomersByNumber(%s) = %v, want %v", tt.name, tt.number, ids, tt.want)
		}
	}
	bob, _ := e.s.CustomersByNumber(ctx, "+33100000002")
	if len(bob) == 1 && !slices.Equal(bob[0].Phones, []string{"+33100000001", "+33100000002"}) {
		t.Errorf("Bob's numbers = %v, want both in order", bob[0].Phones)
	}
	if _, err := e.s.CustomersByNumber(ctx, "0612345678"); !errors.Is(err, customer.ErrInvalid) {
		t.Errorf("CustomersByNumber(non-E.164) = %v, want ErrInvalid", err)
	}
}

func testPutReplaces(t *testing.T, ctx context.Context, e *env) {
	c := customer.Customer{ID: "c1", Name: "Alice", Phones: []string{"+33100000001", "+33100000002"}, Attributes: map[string]string{"a": "1"}}
	put(t, ctx, e.s, c)
	first, _ := e.s.Customer(ctx, "c1")
	time.Sleep(2 * time.Millisecond)
	c2 := customer.Customer{ID: "c1", Name: "Alice B", Phones: []string{"+33100000003"}, Segment: "gold"}
	put(t, ctx, e.s, c2)
	got, err := e.s.Customer(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	same(t, got, c2)
	if !got.CreatedAt.Equal(first.CreatedAt) || !got.UpdatedAt.After(first.UpdatedAt) {
		t.Errorf("created %v -> %v, updated %v -> %v: want created kept, updated later",
			first.CreatedAt, got.CreatedAt, first.UpdatedAt, got.UpdatedAt)
	}
	if cs, _ := e.s.CustomersByNumber(ctx, "+33100000001"); len(cs) != 0 {
		t.Errorf("old number still finds %d customers", len(cs))
	}
}

func testPutInvalid(t *testing.T, ctx context.Context, e *env) {
	for _, tt := range invalidCustomers {
		if err := e.s.PutCustomer(ctx, tt.c); !errors.Is(err, customer.ErrInvalid) {
			t.Errorf("%s: PutCustomer = %v, want ErrInvalid", tt.name, err)
		}
	}
	n := 0
	e.s.EachCustomer(ctx, func(customer.Customer) error { n++; return nil })
	if n != 0 {
		t.Errorf("%d customers stored after only invalid puts", n)
	}
}

var invalidCustomers = []struct {
	name string
	c    customer.Customer
	want string // in the error
}{
	{"no id", customer.Customer{Name: "x"}, "id is empty"},
	{"no name", customer.Customer{ID: "x"}, "name is empty"},
	{"national number", customer.Customer{ID: "x", Name: "x", Phones: []string{"0612345678"}}, "not an E.164"},
	{"number with spaces", customer.Customer{ID: "x", Name: "x", Phones: []string{"+33 6 12 34 56 78"}}, "not an E.164"},
	{"number too long", customer.Customer{ID: "x", Name: "x", Phones: []string{"+1234567890123456"}}, "not an E.164"},
	{"number with leading zero", customer.Customer{ID: "x", Name: "x", Phones: []string{"+0612345678"}}, "not an E.164"},
	{"number twice", customer.Customer{ID: "x", Name: "x", Phones: []string{"+33612345678", "+33612345678"}}, "listed twice"},
	{"name too long", customer.Customer{ID: "x", Name: strings.Repeat("é", customer.MaxNameLen+1)}, "name is 201 characters"},
	{"notes too long", customer.Customer{ID: "x", Name: "x", Notes: strings.Repeat("n", customer.MaxNotesLen+1)}, "notes is 4001"},
	{"id too long", customer.Customer{ID: strings.Repeat("i", customer.MaxIDLen+1), Name: "x"}, "id is 65"},
	{"control character in name", customer.Customer{ID: "x", Name: "a\x1bb"}, "control character U+001B"},
	{"NUL in notes", customer.Customer{ID: "x", Name: "x", Notes: "a\x00b"}, "control character U+0000"},
	{"newline in name", customer.Customer{ID: "x", Name: "a\nb"}, "control character U+000A"},
	{"invalid UTF-8", customer.Customer{ID: "x", Name: "a\xffb"}, "not valid UTF-8"},
	{"attribute shadows a column", customer.Customer{ID: "x", Name: "x", Attributes: map[string]string{"Name": "y"}}, "reserved column"},
	{"empty attribute name", customer.Customer{ID: "x", Name: "x", Attributes: map[string]string{"": "y"}}, "empty name"},
}

func TestCustomerValidate(t *testing.T) {
	for _, tt := range invalidCustomers {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.Validate()
			if !errors.Is(err, customer.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v, want ErrInvalid mentioning %q", err, tt.want)
			}
		})
	}
}

func testInteractions(t *testing.T, ctx context.Context, e *env) {
	put(t, ctx, e.s, customer.Customer{ID: "c1", Name: "Alice"})
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	for i := range 5 {
		_, err := e.s.SaveInteraction(ctx, customer.Interaction{
			CallID: "call-" + string(rune('a'+i)), CustomerID: "c1", StartedAt: t0.Add(time.Duration(i) * time.Hour),
			Queue: "sales", Method: customer.IDNumber, Notes: nasty,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// The same call again: updated, not added.
	upd, err := e.s.SaveInteraction(ctx, customer.Interaction{
		CallID: "call-e", CustomerID: "c1", StartedAt: t0.Add(4 * time.Hour), AnsweredAt: t0.Add(4*time.Hour + 20*time.Second),
		EndedAt: t0.Add(4*time.Hour + 5*time.Minute), Queue: "sales", Agent: "agent-7",
		Method: customer.IDVoice, Score: 0.87, Outcome: "resolved", Notes: nasty,
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.s.RecentInteractions(ctx, "c1", 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].CallID != "call-e" || got[1].CallID != "call-d" || got[2].CallID != "call-c" {
		t.Fatalf("RecentInteractions = %+v, want call-e, call-d, call-c", got)
	}
	if !reflect.DeepEqual(got[0], upd) {
		t.Errorf("stored %+v\n  want %+v", got[0], upd)
	}
	all, _ := e.s.RecentInteractions(ctx, "c1", 100)
	if len(all) != 5 {
		t.Errorf("%d interactions, want 5 (one per call)", len(all))
	}
	if _, err := e.s.SaveInteraction(ctx, customer.Interaction{CallID: "x", StartedAt: t0, Method: "face"}); !errors.Is(err, customer.ErrInvalid) {
		t.Errorf("unknown method: %v, want ErrInvalid", err)
	}
	// An unidentified caller's call is recorded without a customer.
	if _, err := e.s.SaveInteraction(ctx, customer.Interaction{CallID: "anon", StartedAt: t0}); err != nil {
		t.Errorf("unidentified call: %v", err)
	}
}

func embedding(seed, dim int) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = float32(math.Sin(float64(seed*1000+i))) * 3
	}
	v[0] = math.SmallestNonzeroFloat32
	v[1] = -0
	return v
}

func consent(t *testing.T, ctx context.Context, s customer.Store, id string) {
	t.Helper()
	if _, err := s.GiveConsent(ctx, customer.Consent{CustomerID: id, Method: customer.ConsentIVR, GivenBy: "ivr:main", RecordingRef: "rec/" + id}); err != nil {
		t.Fatal(err)
	}
}

func testConsentRequired(t *testing.T, ctx context.Context, e *env) {
	put(t, ctx, e.s, customer.Customer{ID: "c1", Name: "Alice"})
	vp := customer.Voiceprint{CustomerID: "c1", ModelID: "m1", Embedding: embedding(1, 8), Utterances: 3, SpeechSeconds: 12}
	if _, err := e.s.SaveVoiceprint(ctx, vp, "ivr"); !errors.Is(err, customer.ErrNoConsent) {
		t.Fatalf("without consent: %v, want ErrNoConsent", err)
	}
	if _, err := e.s.CurrentConsent(ctx, "c1"); !errors.Is(err, customer.ErrNoConsent) {
		t.Errorf("CurrentConsent = %v, want ErrNoConsent", err)
	}
	for _, bad := range []customer.Consent{
		{CustomerID: "c1", Method: "email", GivenBy: "x"},
		{CustomerID: "c1", Method: customer.ConsentAgent},
	} {
		if _, err := e.s.GiveConsent(ctx, bad); err == nil {
			t.Errorf("GiveConsent(%+v) accepted", bad)
		}
	}
	if _, err := e.s.GiveConsent(ctx, customer.Consent{CustomerID: "nobody", Method: customer.ConsentAgent, GivenBy: "a"}); !errors.Is(err, customer.ErrNotFound) {
		t.Errorf("consent for unknown customer: %v, want ErrNotFound", err)
	}
	given, err := e.s.GiveConsent(ctx, customer.Consent{CustomerID: "c1", Method: customer.ConsentAgent, GivenBy: "agent-7", RecordingRef: "rec/42.wav"})
	if err != nil {
		t.Fatal(err)
	}
	cur, err := e.s.CurrentConsent(ctx, "c1")
	if err != nil || cur != given {
		t.Errorf("CurrentConsent = %+v, %v; want %+v", cur, err, given)
	}
	if _, err := e.s.SaveVoiceprint(ctx, vp, "ivr"); err != nil {
		t.Fatalf("with consent: %v", err)
	}
	if err := e.s.EraseBiometrics(ctx, "c1", "dpo"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.SaveVoiceprint(ctx, vp, "ivr"); !errors.Is(err, customer.ErrNoConsent) {
		t.Errorf("after erasure (consent withdrawn): %v, want ErrNoConsent", err)
	}
}

func testVoiceprintRoundTrip(t *testing.T, ctx context.Context, e *env) {
	put(t, ctx, e.s, customer.Customer{ID: "c1", Name: "Alice"}, customer.Customer{ID: nasty[:30], Name: "Eve"})
	consent(t, ctx, e.s, "c1")
	consent(t, ctx, e.s, nasty[:30])
	vp := customer.Voiceprint{CustomerID: "c1", ModelID: "vosk-spk-0.4", Embedding: embedding(1, 128), Utterances: 3, SpeechSeconds: 14.5}
	saved, err := e.s.SaveVoiceprint(ctx, vp, "ivr:enrol")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.SaveVoiceprint(ctx, customer.Voiceprint{CustomerID: nasty[:30], ModelID: nasty, Embedding: embedding(2, 128), Utterances: 1}, "ivr"); err != nil {
		t.Fatal(err)
	}
	got, err := e.s.Voiceprints(ctx, "c1", "agent-7")
	if err != nil || len(got) != 1 {
		t.Fatalf("Voiceprints = %v, %v", got, err)
	}
	if !reflect.DeepEqual(got[0], saved) {
		t.Errorf("got %+v\nwant %+v", got[0], saved)
	}
	for i, v := range got[0].Embedding {
		if math.Float32bits(v) != math.Float32bits(vp.Embedding[i]) {
			t.Fatalf("value %d: %v != %v (bits differ)", i, v, vp.Embedding[i])
		}
	}
	// Re-enrolment replaces the embedding, keeps the creation time.
	time.Sleep(2 * time.Millisecond)
	vp2 := vp
	vp2.Embedding, vp2.Utterances = embedding(3, 128), 5
	saved2, err := e.s.SaveVoiceprint(ctx, vp2, "ivr:adapt")
	if err != nil {
		t.Fatal(err)
	}
	if !saved2.CreatedAt.Equal(saved.CreatedAt) || !saved2.UpdatedAt.After(saved.UpdatedAt) {
		t.Errorf("re-enrol: created %v->%v updated %v->%v", saved.CreatedAt, saved2.CreatedAt, saved.UpdatedAt, saved2.UpdatedAt)
	}
	n := 0
	if err := e.s.AllVoiceprints(ctx, "index-loader", func(v customer.Voiceprint) error {
		n++
		if v.CustomerID == "c1" && !slices.Equal(v.Embedding, vp2.Embedding) {
			t.Errorf("AllVoiceprints: c1 has the old embedding")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("AllVoiceprints: %d, want 2", n)
	}
	stop := errors.New("stop")
	if err := e.s.AllVoiceprints(ctx, "x", func(customer.Voiceprint) error { return stop }); err != stop {
		t.Errorf("AllVoiceprints with failing fn = %v, want its error", err)
	}
	// Every read and write is in the audit log with its actor.
	log, err := e.s.AuditLog(ctx, "c1", 100)
	if err != nil {
		t.Fatal(err)
	}
	var got2 []string
	for _, a := range log {
		got2 = append(got2, string(a.Action)+" by "+a.Actor)
	}
	want := []string{"voiceprint.write by ivr:adapt", "voiceprint.read by agent-7", "voiceprint.write by ivr:enrol", "consent.give by ivr:main"}
	if !slices.Equal(got2, want) {
		t.Errorf("audit of c1 = %q\nwant %q", got2, want)
	}
	all, _ := e.s.AuditLog(ctx, "", 100)
	scans := 0
	for _, a := range all {
		if a.Action == customer.AuditVoiceprintScan {
			scans++
		}
	}
	if scans != 2 {
		t.Errorf("%d read-all audit entries, want 2", scans)
	}
	for _, bad := range []customer.Voiceprint{
		{CustomerID: "c1", ModelID: "m", Embedding: nil},
		{CustomerID: "c1", ModelID: "", Embedding: []float32{1}},
		{CustomerID: "c1", ModelID: "m", Embedding: []float32{float32(math.NaN())}},
		{CustomerID: "c1", ModelID: "m", Embedding: []float32{1}, SpeechSeconds: -1},
	} {
		if _, err := e.s.SaveVoiceprint(ctx, bad, "x"); !errors.Is(err, customer.ErrInvalid) {
			t.Errorf("SaveVoiceprint(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
	if _, err := e.s.SaveVoiceprint(ctx, customer.Voiceprint{CustomerID: "nobody", ModelID: "m", Embedding: []float32{1}}, "x"); !errors.Is(err, customer.ErrNotFound) {
		t.Errorf("voiceprint of unknown customer: %v, want ErrNotFound", err)
	}
}

func testErase(t *testing.T, ctx context.Context, e *env) {
	put(t, ctx, e.s, customer.Customer{ID: "c1", Name: "Alice"}, customer.Customer{ID: "c2", Name: "Bob"})
	for _, id := range []string{"c1", "c2"} {
		consent(t, ctx, e.s, id)
		for _, m := range []string{"m1", "m2"} {
			if _, err := e.s.SaveVoiceprint(ctx, customer.Voiceprint{CustomerID: id, ModelID: m, Embedding: embedding(len(id+m), 16), Utterances: 1}, "ivr"); err != nil {
				t.Fatal(err)
			}
		}
	}
	fraud, err := e.s.AddToWatchlist(ctx, customer.WatchEntry{Label: "from c1", SourceCustomerID: "c1", ModelID: "m1", Embedding: embedding(9, 16)}, "fraud-team")
	if err != nil {
		t.Fatal(err)
	}
	other, err := e.s.AddToWatchlist(ctx, customer.WatchEntry{Label: "unknown caller", ModelID: "m1", Embedding: embedding(10, 16)}, "fraud-team")
	if err != nil {
		t.Fatal(err)
	}
	before, _ := e.s.LastChange(ctx)
	if err := e.s.EraseBiometrics(ctx, "c1", "dpo:jane"); err != nil {
		t.Fatal(err)
	}
	if vps, err := e.s.Voiceprints(ctx, "c1", "check"); err != nil || len(vps) != 0 {
		t.Errorf("after erase: %d voiceprints of c1, %v", len(vps), err)
	}
	if vps, _ := e.s.Voiceprints(ctx, "c2", "check"); len(vps) != 2 {
		t.Errorf("erase of c1 touched c2: %d voiceprints left", len(vps))
	}
	var ids []string
	e.s.Watchlist(ctx, "check", func(w customer.WatchEntry) error { ids = append(ids, w.ID); return nil })
	if !slices.Equal(ids, []string{other.ID}) {
		t.Errorf("watchlist after erase = %v, want only %s (not %s)", ids, other.ID, fraud.ID)
	}
	if _, err := e.s.CurrentConsent(ctx, "c1"); !errors.Is(err, customer.ErrNoConsent) {
		t.Errorf("consent after erase: %v, want ErrNoConsent", err)
	}
	if _, err := e.s.CurrentConsent(ctx, "c2"); err != nil {
		t.Errorf("c2's consent: %v", err)
	}
	log, _ := e.s.AuditLog(ctx, "c1", 10)
	found := false
	for _, a := range log {
		if a.Action == customer.AuditErase && a.Actor == "dpo:jane" && strings.Contains(a.Detail, "voiceprints=2 watchlist=1") {
			found = true
		}
	}
	if !found {
		t.Errorf("no erase audit entry by dpo:jane with counts in %+v", log)
	}
	chs, _ := e.s.Changes(ctx, before, 0)
	if len(chs) != 1 || chs[0].Kind != customer.ChangeBiometricsErased || chs[0].CustomerID != "c1" {
		t.Errorf("changes after erase = %+v, want one biometrics.erased for c1", chs)
	}
	// The customer file itself stays.
	if _, err := e.s.Customer(ctx, "c1"); err != nil {
		t.Errorf("customer file gone after biometric erase: %v", err)
	}
	// Erasing again is harmless; erasing an unknown customer says so.
	if err := e.s.EraseBiometrics(ctx, "c1", "dpo:jane"); err != nil {
		t.Errorf("second erase: %v", err)
	}
	if err := e.s.EraseBiometrics(ctx, "nobody", "dpo:jane"); !errors.Is(err, customer.ErrNotFound) {
		t.Errorf("erase unknown: %v, want ErrNotFound", err)
	}
}

func testWatchlist(t *testing.T, ctx context.Context, e *env) {
	w, err := e.s.AddToWatchlist(ctx, customer.WatchEntry{Label: nasty, ModelID: "m1", Embedding: embedding(4, 32), Reason: "account takeover"}, "fraud-team")
	if err != nil {
		t.Fatal(err)
	}
	var got []customer.WatchEntry
	if err := e.s.Watchlist(ctx, "ivr", func(w customer.WatchEntry) error { got = append(got, w); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !reflect.DeepEqual(got[0], w) {
		t.Fatalf("Watchlist = %+v\nwant %+v", got, w)
	}
	if err := e.s.RemoveFromWatchlist(ctx, w.ID, "fraud-team"); err != nil {
		t.Fatal(err)
	}
	if err := e.s.RemoveFromWatchlist(ctx, w.ID, "fraud-team"); !errors.Is(err, customer.ErrNotFound) {
		t.Errorf("second remove: %v, want ErrNotFound", err)
	}
	chs, _ := e.s.Changes(ctx, 0, 0)
	if len(chs) != 2 || chs[0].Kind != customer.ChangeWatchAdded || chs[1].Kind != customer.ChangeWatchRemoved || chs[1].WatchID != w.ID {
		t.Errorf("changes = %+v", chs)
	}
}

// testTwoStores is two switch nodes on one database: what one enrols or
// erases, the other learns from the change feed.
func testTwoStores(t *testing.T, ctx context.Context, e *env) {
	a := e.s
	b := e.open(t, customer.Config{Key: e.key})
	put(t, ctx, a, customer.Customer{ID: "c1", Name: "Alice"}, customer.Customer{ID: "c2", Name: "Bob"})
	consent(t, ctx, a, "c1")
	consent(t, ctx, b, "c2")

	// Node b's index, kept in step by Follow.
	since, err := b.LastChange(ctx)
	if err != nil {
		t.Fatal(err)
	}
	type update struct {
		kind customer.ChangeKind
		id   string
		n    int // voiceprints read for it
	}
	updates := make(chan update, 16)
	fctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := customer.Follow(fctx, b, since, 10*time.Millisecond, func(c customer.Change) error {
			u := update{kind: c.Kind, id: c.CustomerID}
			if c.Kind == customer.ChangeVoiceprintSaved {
				vps, err := b.Voiceprints(fctx, c.CustomerID, "node-b")
				if err != nil {
					return err
				}
				u.n = len(vps)
			}
			updates <- u
			return nil
		})
		done <- err
	}()
	next := func() update {
		t.Helper()
		select {
		case u := <-updates:
			return u
		case <-time.After(10 * time.Second):
			t.Fatal("node b saw no change within 10 s")
			return update{}
		}
	}
	if _, err := a.SaveVoiceprint(ctx, customer.Voiceprint{CustomerID: "c1", ModelID: "m", Embedding: embedding(1, 16)}, "node-a"); err != nil {
		t.Fatal(err)
	}
	if u := next(); u != (update{customer.ChangeVoiceprintSaved, "c1", 1}) {
		t.Errorf("b saw %+v, want c1's enrolment", u)
	}
	if _, err := b.SaveVoiceprint(ctx, customer.Voiceprint{CustomerID: "c2", ModelID: "m", Embedding: embedding(2, 16)}, "node-b"); err != nil {
		t.Fatal(err)
	}
	if u := next(); u != (update{customer.ChangeVoiceprintSaved, "c2", 1}) {
		t.Errorf("b saw %+v, want its own enrolment of c2", u)
	}
	if err := a.EraseBiometrics(ctx, "c1", "node-a"); err != nil {
		t.Fatal(err)
	}
	if u := next(); u != (update{customer.ChangeBiometricsErased, "c1", 0}) {
		t.Errorf("b saw %+v, want c1's erasure", u)
	}
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Follow ended with %v, want context.Canceled", err)
	}
	// Node a's view of the feed is the same sequence.
	chs, _ := a.Changes(ctx, since, 0)
	if len(chs) != 3 || chs[0].Seq != since+1 || chs[2].Seq != since+3 {
		t.Errorf("a's changes = %+v, want 3 consecutive", chs)
	}
}

func testFollowNotify(t *testing.T, ctx context.Context, e *env) {
	if e.s.Dialect() != "postgres" {
		t.Skip("LISTEN/NOTIFY is PostgreSQL's; SQLite followers poll (tested above)")
	}
	other := e.open(t, customer.Config{Key: e.key})
	put(t, ctx, e.s, customer.Customer{ID: "c1", Name: "Alice"})
	consent(t, ctx, e.s, "c1")
	enrol := func() {
		t.Helper()
		if _, err := e.s.SaveVoiceprint(ctx, customer.Voiceprint{CustomerID: "c1", ModelID: "m", Embedding: []float32{1}}, "node-a"); err != nil {
			t.Fatal(err)
		}
	}
	enrol() // change 1, found by Follow's first poll
	fctx, stop := context.WithCancel(ctx)
	defer stop()
	seen := make(chan customer.Change, 2)
	done := make(chan struct{})
	go func() {
		defer close(done)
		// A poll interval far beyond the test's patience: after the first
		// poll, only a notification can deliver a change in time.
		customer.Follow(fctx, other, 0, time.Hour, func(c customer.Change) error {
			seen <- c
			return nil
		})
	}()
	wait := func(seq int64) time.Duration {
		t.Helper()
		start := time.Now()
		select {
		case c := <-seen:
			if c.Seq != seq || c.Kind != customer.ChangeVoiceprintSaved || c.CustomerID != "c1" {
				t.Errorf("follower saw %+v, want change %d", c, seq)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("follower did not see change %d within 10 s", seq)
		}
		return time.Since(start)
	}
	wait(1) // the first poll has run: Follow now waits on the ticker or a notification
	enrol() // change 2
	t.Logf("change 2 seen %v after its commit", wait(2))
	stop()
	<-done
}

func testRotateKey(t *testing.T, ctx context.Context, e *env) {
	put(t, ctx, e.s, customer.Customer{ID: "c1", Name: "Alice"}, customer.Customer{ID: "c2", Name: "Bob"})
	consent(t, ctx, e.s, "c1")
	consent(t, ctx, e.s, "c2")
	for i, id := range []string{"c1", "c2"} {
		if _, err := e.s.SaveVoiceprint(ctx, customer.Voiceprint{CustomerID: id, ModelID: "m", Embedding: embedding(i, 16)}, "ivr"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.s.AddToWatchlist(ctx, customer.WatchEntry{Label: "w", ModelID: "m", Embedding: embedding(7, 16)}, "fraud"); err != nil {
		t.Fatal(err)
	}
	newKey, wrong := mustKey(t), mustKey(t)
	// A rotation from a key the rows are not under changes nothing.
	if _, err := e.s.RotateKey(ctx, wrong, newKey, "ops"); !errors.Is(err, customer.ErrUnknownKey) {
		t.Fatalf("rotate from the wrong key: %v, want ErrUnknownKey", err)
	}
	n, err := e.s.RotateKey(ctx, e.key, newKey, "ops")
	if err != nil || n != 3 {
		t.Fatalf("RotateKey = %d, %v; want 3 rows", n, err)
	}
	// Running it again finds nothing left to do.
	if n, err := e.s.RotateKey(ctx, e.key, newKey, "ops"); err != nil || n != 0 {
		t.Errorf("second RotateKey = %d, %v; want 0, nil", n, err)
	}
	onlyNew := e.open(t, customer.Config{Key: newKey})
	count := func(s customer.Store) (int, error) {
		n := 0
		err := s.AllVoiceprints(ctx, "check", func(customer.Voiceprint) error { n++; return nil })
		if err == nil {
			err = s.Watchlist(ctx, "check", func(customer.WatchEntry) error { n++; return nil })
		}
		return n, err
	}
	if n, err := count(onlyNew); err != nil || n != 3 {
		t.Errorf("with the new key: %d rows, %v; want 3", n, err)
	}
	onlyOld := e.open(t, customer.Config{Key: e.key})
	if _, err := count(onlyOld); !errors.Is(err, customer.ErrUnknownKey) {
		t.Errorf("with only the old key: %v, want ErrUnknownKey", err)
	}
	// The rotating store now seals new rows with the new key.
	if _, err := e.s.SaveVoiceprint(ctx, customer.Voiceprint{CustomerID: "c1", ModelID: "m2", Embedding: embedding(5, 16)}, "ivr"); err != nil {
		t.Fatal(err)
	}
	if n, err := count(onlyNew); err != nil || n != 4 {
		t.Errorf("after a new enrolment, with the new key: %d rows, %v; want 4", n, err)
	}
}

func testNoKey(t *testing.T, ctx context.Context, e *env) {
	s := e.open(t, customer.Config{})
	put(t, ctx, s, customer.Customer{ID: "c1", Name: "Alice"})
	consent(t, ctx, s, "c1")
	if _, err := s.SaveVoiceprint(ctx, customer.Voiceprint{CustomerID: "c1", ModelID: "m", Embedding: []float32{1}}, "ivr"); !errors.Is(err, customer.ErrNoKey) {
		t.Errorf("SaveVoiceprint without key: %v, want ErrNoKey", err)
	}
	if err := s.AllVoiceprints(ctx, "x", func(customer.Voiceprint) error { return nil }); !errors.Is(err, customer.ErrNoKey) {
		t.Errorf("AllVoiceprints without key: %v, want ErrNoKey", err)
	}
	if _, err := customer.Open(ctx, e.dsn, customer.Config{Key: []byte("short")}); err == nil {
		t.Errorf("Open with a 5-byte key succeeded")
	}
}

func testNoActor(t *testing.T, ctx context.Context, e *env) {
	put(t, ctx, e.s, customer.Customer{ID: "c1", Name: "Alice"})
	consent(t, ctx, e.s, "c1")
	if _, err := e.s.SaveVoiceprint(ctx, customer.Voiceprint{CustomerID: "c1", ModelID: "m", Embedding: []float32{1}}, " "); !errors.Is(err, customer.ErrNoActor) {
		t.Errorf("SaveVoiceprint: %v, want ErrNoActor", err)
	}
	if _, err := e.s.Voiceprints(ctx, "c1", ""); !errors.Is(err, customer.ErrNoActor) {
		t.Errorf("Voiceprints: %v, want ErrNoActor", err)
	}
	if err := e.s.EraseBiometrics(ctx, "c1", ""); !errors.Is(err, customer.ErrNoActor) {
		t.Errorf("EraseBiometrics: %v, want ErrNoActor", err)
	}
}

func testMigrationsOnce(t *testing.T, ctx context.Context, e *env) {
	again := e.open(t, customer.Config{})
	for _, s := range []*customer.DB{e.s, again} {
		v, err := s.SchemaVersion(ctx)
		if want := latestMigration(t); err != nil || v != want {
			t.Errorf("SchemaVersion = %d, %v; want %d", v, err, want)
		}
	}
}

// testMigrationUpgrade runs the embedded migrations plus two more: N+1,
// written once per dialect, applies (the dialect's own file) and is
// recorded; N+2 fails on its second statement, and its first statement is
// rolled back with it (DDL is transactional on both).
func testMigrationUpgrade(t *testing.T, ctx context.Context, e *env) {
	fsys := fstest.MapFS{}
	names, err := fs.Glob(customer.MigrationFiles, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		b, err := fs.ReadFile(customer.MigrationFiles, n)
		if err != nil {
			t.Fatal(err)
		}
		fsys[n] = &fstest.MapFile{Data: b}
	}
	n := latestMigration(t)
	extra := fmt.Sprintf("migrations/%04d_extra", n+1)
	for _, dl := range []string{"sqlite", "postgres"} {
		fsys[extra+"."+dl+".sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE extra (id {{id}}, note TEXT NOT NULL);\nINSERT INTO extra (note) VALUES ('" + dl + "');\n")}
	}
	for range 2 { // the second run finds nothing to do
		if err := customer.Migrate(ctx, e.s, fsys); err != nil {
			t.Fatal(err)
		}
	}
	if v, err := e.s.SchemaVersion(ctx); err != nil || v != n+1 {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, n+1)
	}
	raw := rawDB(t, e.dsn)
	var note string
	if err := raw.QueryRowContext(ctx, `SELECT note FROM extra`).Scan(&note); err != nil || note != e.s.Dialect() {
		t.Errorf("extra holds %q, %v; want one row from the %s file", note, err, e.s.Dialect())
	}
	broken := fmt.Sprintf("migrations/%04d_broken.sql", n+2)
	fsys[broken] = &fstest.MapFile{Data: []byte("CREATE TABLE half (id INTEGER);\nCREATE TABLE extra (id INTEGER);\n")}
	if err := customer.Migrate(ctx, e.s, fsys); err == nil || !strings.Contains(err.Error(), path.Base(broken)) {
		t.Fatalf("broken migration: %v, want an error naming it", err)
	}
	if v, _ := e.s.SchemaVersion(ctx); v != n+1 {
		t.Errorf("SchemaVersion after a failed migration = %d, want %d", v, n+1)
	}
	if _, err := raw.ExecContext(ctx, `SELECT * FROM half`); err == nil {
		t.Error("table half exists: the failed migration was not rolled back whole")
	}
	delete(fsys, extra+"."+e.s.Dialect()+".sql")
	if err := customer.Migrate(ctx, e.s, fsys); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("want version %d", n+1)) {
		t.Errorf("gap in the numbering: %v, want an error", err)
	}
	fsys[extra+".oracle.sql"] = &fstest.MapFile{Data: []byte("SELECT 1;\n")}
	if err := customer.Migrate(ctx, e.s, fsys); err == nil || !strings.Contains(err.Error(), "unknown dialect") {
		t.Errorf("a file for an unknown dialect: %v, want an error", err)
	}
}

// testConcurrentOpen starts several stores at once on a database none
// has migrated yet (the env's store is not used: a second fresh database).
func testConcurrentOpen(t *testing.T, ctx context.Context, e *env) {
	dsn := backendOf(e).newDSN(t)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			s, err := customer.Open(ctx, dsn, customer.Config{}, customer.WithLogger(slog.New(slog.DiscardHandler)))
			if err == nil {
				err = s.PutCustomer(ctx, customer.Customer{ID: "c1", Name: "A"})
				s.Close()
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Errorf("concurrent open: %v", err)
		}
	}
	s := openStore(t, dsn, customer.Config{})
	if v, err := s.SchemaVersion(ctx); err != nil || v != latestMigration(t) {
		t.Errorf("SchemaVersion = %d, %v", v, err)
	}
}

func exportString(t *testing.T, ctx context.Context, s customer.Store) string {
	t.Helper()
	var b bytes.Buffer
	if err := s.Export(ctx, &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func testImportExport(t *testing.T, ctx context.Context, e *env) {
	in := "id,name,phones,segment,vip,preferred_advisor,notes,lang,tier\n" +
		`c1,"Alice ""Al"" O'Brien",+33100000001;+33100000002,gold,true,agent-7,"line one` + "\n" + `line two, with comma",fr,` + "\n" +
		`"c2'; DROP TABLE customers;--",Bob,+33100000001,,no,,"` + strings.ReplaceAll(nasty, `"`, `""`) + `",,2` + "\n"
	var calls [][2]int
	if err := e.s.Import(ctx, strings.NewReader(in), func(d, n int) { calls = append(calls, [2]int{d, n}) }); err != nil {
		t.Fatal(err)
	}
	if len(calls) < 2 || calls[0] != [2]int{0, 2} || calls[len(calls)-1] != [2]int{2, 2} {
		t.Errorf("progress calls %v, want from 0/2 to 2/2", calls)
	}
	bob, err := e.s.Customer(ctx, "c2'; DROP TABLE customers;--")
	if err != nil {
		t.Fatal(err)
	}
	same(t, bob, customer.Customer{ID: "c2'; DROP TABLE customers;--", Name: "Bob", Phones: []string{"+33100000001"},
		Notes: nasty, Attributes: map[string]string{"tier": "2"}})
	out := exportString(t, ctx, e.s)
	want := "id,name,phones,segment,vip,preferred_advisor,notes,lang,tier\n" +
		`c1,"Alice ""Al"" O'Brien",+33100000001;+33100000002,gold,true,agent-7,"line one` + "\n" + `line two, with comma",fr,` + "\n" +
		`c2'; DROP TABLE customers;--,Bob,+33100000001,,false,,"` + strings.ReplaceAll(nasty, `"`, `""`) + `",,2` + "\n"
	if out != want {
		t.Errorf("export:\n%s\nwant:\n%s", out, want)
	}
	// Export -> import into a fresh store -> export gives the same text.
	other := openStore(t, backendOf(e).newDSN(t), customer.Config{})
	if err := other.Import(ctx, strings.NewReader(out), nil); err != nil {
		t.Fatal(err)
	}
	if again := exportString(t, ctx, other); again != out {
		t.Errorf("second export differs:\n%s\nvs\n%s", again, out)
	}
}

func backendOf(e *env) backend {
	if strings.HasPrefix(e.dsn, "sqlite:") {
		return backends[0]
	}
	return backends[1]
}

func testImportUpdates(t *testing.T, ctx context.Context, e *env) {
	put(t, ctx, e.s, customer.Customer{ID: "c1", Name: "Old", Phones: []string{"+33100000009"}, Attributes: map[string]string{"x": "y"}})
	consent(t, ctx, e.s, "c1")
	if _, err := e.s.SaveVoiceprint(ctx, customer.Voiceprint{CustomerID: "c1", ModelID: "m", Embedding: []float32{1, 2}}, "ivr"); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Import(ctx, strings.NewReader("id,name,phones\nc1,New,+33100000001\nc2,Two,\n"), nil); err != nil {
		t.Fatal(err)
	}
	c1, _ := e.s.Customer(ctx, "c1")
	same(t, c1, customer.Customer{ID: "c1", Name: "New", Phones: []string{"+33100000001"}})
	if vps, _ := e.s.Voiceprints(ctx, "c1", "check"); len(vps) != 1 {
		t.Errorf("import update dropped the voiceprint")
	}
	if _, err := e.s.Customer(ctx, "c2"); err != nil {
		t.Errorf("c2 not imported: %v", err)
	}
}

// badImports each name one kind of bad input; want lists the lines that
// must be reported (and no others).
var badImports = []struct {
	name  string
	csv   string
	lines []int
	want  []string // substrings of the error
}{
	{"empty file", "", []int{1}, []string{"empty file"}},
	{"header without name", "id,phones\nc1,+33100000001\n", []int{1}, []string{`no "name" column`}},
	{"header column twice", "id,name,Name\nc1,a,b\n", []int{1}, []string{"appears twice"}},
	{"header empty column", "id,name,\nc1,a,b\n", []int{1}, []string{"column 3 has no name"}},
	{"bare quote", "id,name\nc1,Al\"ice\nc2,Bob\n", []int{2}, []string{"malformed CSV", "bare"}},
	{"unterminated quote", "id,name\nc1,Alice\nc2,\"Bob\n", []int{3}, []string{"malformed CSV"}},
	{"too few fields", "id,name,segment\nc1,Alice\n", []int{2}, []string{"2 fields, the header has 3"}},
	{"too many fields", "id,name\nc1,Alice,extra\n", []int{2}, []string{"3 fields, the header has 2"}},
	{"duplicate id in file", "id,name\nc1,Alice\nc2,Bob\nc1,Alice again\n", []int{4}, []string{`id "c1" already used on line 2`}},
	{"not E.164", "id,name,phones\nc1,Alice,0612345678\nc2,Bob,+33612345678;+33 6 12\nc3,Carol,+33612345678\n", []int{2, 3}, []string{`"0612345678" is not an E.164`, `"+33 6 12" is not an E.164`}},
	{"oversized name", "id,name\nc1," + strings.Repeat("x", 201) + "\n", []int{2}, []string{"name is 201 characters"}},
	{"oversized notes", "id,name,notes\nc1,A," + strings.Repeat("x", 4001) + "\n", []int{2}, []string{"notes is 4001 characters"}},
	{"oversized attribute", "id,name,bio\nc1,A," + strings.Repeat("x", 1001) + "\n", []int{2}, []string{`attribute "bio" is 1001`}},
	{"control character", "id,name\nc1,Al\x07ice\n", []int{2}, []string{"control character U+0007"}},
	{"NUL byte", "id,name\nc1,Al\x00ice\n", []int{2}, []string{"control character U+0000"}},
	{"invalid UTF-8", "id,name\nc1,Al\xffice\n", []int{2}, []string{"not valid UTF-8"}},
	{"bad vip", "id,name,vip\nc1,Alice,maybe\n", []int{2}, []string{`vip "maybe"`}},
	{"missing id and name", "id,name\n,\n", []int{2}, []string{"id is empty", "name is empty"}},
	{"every bad row reported", "id,name,phones\nc1,A,123\nc2,B,+33100000001\nc3,,\nc1,D,\n", []int{2, 4, 5}, []string{"line 2", "line 4", "line 5"}},
	{"line numbers count multi-line fields", "id,name,notes\nc1,A,\"a\nb\nc\"\nc2,B\x01,\n", []int{5}, []string{"line 5"}},
}

func testBadImports(t *testing.T, ctx context.Context, e *env) {
	put(t, ctx, e.s, customer.Customer{ID: "c1", Name: "Existing", Phones: []string{"+33100000001"}})
	before := exportString(t, ctx, e.s)
	for _, tt := range badImports {
		// Each bad file also carries good rows: none of them may land.
		err := e.s.Import(ctx, strings.NewReader(tt.csv), nil)
		var ie *customer.ImportError
		if !errors.As(err, &ie) || !errors.Is(err, customer.ErrInvalid) {
			t.Errorf("%s: Import = %v, want *ImportError", tt.name, err)
			continue
		}
		var lines []int
		for _, r := range ie.Rows {
			lines = append(lines, r.Line)
		}
		if !slices.Equal(lines, tt.lines) {
			t.Errorf("%s: lines %v, want %v\n%v", tt.name, lines, tt.lines, err)
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error does not say %q:\n%v", tt.name, w, err)
			}
		}
		if after := exportString(t, ctx, e.s); after != before {
			t.Errorf("%s: store changed by a rejected import:\n%s", tt.name, after)
		}
	}
}

func TestImportReaderError(t *testing.T) {
	s := openStore(t, backends[0].newDSN(t), customer.Config{})
	err := s.Import(context.Background(), io.MultiReader(strings.NewReader("id,name\nc1,A\n"), errReader{}), nil)
	if err == nil {
		t.Fatal("import of a failing reader succeeded")
	}
	n := 0
	s.EachCustomer(context.Background(), func(customer.Customer) error { n++; return nil })
	if n != 0 {
		t.Errorf("%d customers imported from a failing reader", n)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

// TestExportDoesNotBlockWriters: on SQLite an export reads in a deferred
// transaction, so an enrolment committed while the export streams is not
// held up by it, and the export still sees one snapshot.
func TestExportDoesNotBlockWriters(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := openStore(t, backends[0].newDSN(t), customer.Config{Key: mustKey(t), BusyTimeout: 200 * time.Millisecond})
	var csv strings.Builder
	csv.WriteString("id,name\n")
	for i := range 1200 {
		csv.WriteString("c" + strconv.Itoa(1000+i) + ",N\n")
	}
	if err := s.Import(ctx, strings.NewReader(csv.String()), nil); err != nil {
		t.Fatal(err)
	}
	consent(t, ctx, s, "c1000")
	n := 0
	err := s.EachCustomer(ctx, func(c customer.Customer) error {
		n++
		if n == 10 { // mid-stream, inside the read transaction
			if err := s.PutCustomer(ctx, customer.Customer{ID: "c9999", Name: "late"}); err != nil {
				return err
			}
			if _, err := s.SaveVoiceprint(ctx, customer.Voiceprint{CustomerID: "c1000", ModelID: "m", Embedding: []float32{1}}, "ivr"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("write during export: %v", err)
	}
	if n != 1200 {
		t.Errorf("export saw %d customers, want the 1200 of its snapshot", n)
	}
}
