package customer_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/customer"
)

// fakeWAV is n bytes of recognisable, non-repeating "audio".
func fakeWAV(seed byte, n int) []byte {
	b := make([]byte, n)
	x := uint32(seed) + 1
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte(x >> 24)
	}
	return b
}

func told(callID, customerID string) customer.Recording {
	return customer.Recording{CallID: callID, CustomerID: customerID, StartedAt: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC),
		Duration: 42 * time.Second, Channels: 2, Notice: "recording_notice", NoticeBy: "ivr:hotline@abc"}
}

func auditActions(t *testing.T, ctx context.Context, s customer.Store, customerID string) []customer.AuditAction {
	t.Helper()
	log, err := s.AuditLog(ctx, customerID, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []customer.AuditAction
	for _, a := range log {
		out = append(out, a.Action)
	}
	return out
}

// testRecordingRoundTrip: a recording is stored sealed, listed by its
// customer or (caller not identified) by its call, opened exactly, and
// every access is audited.
func testRecordingRoundTrip(t *testing.T, ctx context.Context, e *env) {
	put(t, ctx, e.s, customer.Customer{ID: "c1", Name: "Alice"})
	wav := fakeWAV(1, 64<<10)
	r, err := e.s.SaveRecording(ctx, told("call-1", "c1"), wav, "recorder")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r.ID, "rec-") || r.Size != int64(len(wav)) || r.CreatedAt.IsZero() {
		t.Errorf("saved %+v: want an id, its size and creation time", r)
	}
	anon, err := e.s.SaveRecording(ctx, told("call-"+nasty, ""), fakeWAV(2, 1000), "recorder")
	if err != nil {
		t.Fatal(err)
	}
	list, err := e.s.Recordings(ctx, customer.RecordingQuery{CustomerID: "c1"}, "agent:ann")
	if err != nil || len(list) != 1 || list[0] != r {
		t.Fatalf("Recordings(c1) = %+v, %v; want [%+v]", list, err, r)
	}
	list, err = e.s.Recordings(ctx, customer.RecordingQuery{CallID: "call-" + nasty}, "agent:ann")
	if err != nil || len(list) != 1 || list[0].ID != anon.ID || list[0].CustomerID != "" {
		t.Fatalf("Recordings(call) = %+v, %v; want the unidentified caller's", list, err)
	}
	got, audio, err := e.s.OpenRecording(ctx, r.ID, "agent:ann")
	if err != nil || got != r || !bytes.Equal(audio, wav) {
		t.Fatalf("OpenRecording = %+v, %d bytes, %v; want %+v and the audio exactly", got, len(audio), err, r)
	}
	if info, err := e.s.RecordingInfo(ctx, r.ID); err != nil || info != r {
		t.Errorf("RecordingInfo = %+v, %v", info, err)
	}
	if _, err := e.s.RecordingInfo(ctx, "rec-nope"); !errors.Is(err, customer.ErrNotFound) {
		t.Errorf("RecordingInfo(unknown): %v, want ErrNotFound", err)
	}
	if _, _, err := e.s.OpenRecording(ctx, "rec-nope", "agent:ann"); !errors.Is(err, customer.ErrNotFound) {
		t.Errorf("OpenRecording(unknown): %v, want ErrNotFound", err)
	}
	if err := e.s.RefuseRecording(ctx, r.ID, "c1", "agent:bob", "not handling the customer"); err != nil {
		t.Fatal(err)
	}
	want := []customer.AuditAction{customer.AuditRecordingRefused, customer.AuditRecordingPlay, customer.AuditRecordingList, customer.AuditRecordingWrite}
	if got := auditActions(t, ctx, e.s, "c1"); !slices.Equal(got, want) {
		t.Errorf("audit of c1 = %v, want %v", got, want)
	}
	log, _ := e.s.AuditLog(ctx, "c1", 1)
	if log[0].Actor != "agent:bob" || !strings.Contains(log[0].Detail, r.ID) || !strings.Contains(log[0].Detail, "not handling") {
		t.Errorf("refusal audited as %+v", log[0])
	}

	// At rest: no 16-byte run of the audio in the column; the sealed
	// audio moved onto another row does not open.
	raw := rawDB(t, e.dsn)
	var sealed []byte
	var keyID string
	if err := raw.QueryRowContext(ctx, `SELECT sealed, key_id FROM recordings WHERE id = $1`, r.ID).Scan(&sealed, &keyID); err != nil {
		t.Fatal(err)
	}
	if keyID != customer.KeyID(e.key) || len(sealed) != len(wav)+28 {
		t.Errorf("row under key %s with %d sealed bytes; want %s and %d", keyID, len(sealed), customer.KeyID(e.key), len(wav)+28)
	}
	for i := 0; i+16 <= 4096; i += 16 {
		if bytes.Contains(sealed, wav[i:i+16]) {
			t.Fatalf("sealed column holds audio bytes %d..%d", i, i+16)
		}
	}
	if _, err := raw.ExecContext(ctx, `UPDATE recordings SET sealed = $1 WHERE id = $2`, sealed, anon.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.s.OpenRecording(ctx, anon.ID, "attacker"); err == nil || !strings.Contains(err.Error(), "does not open") {
		t.Errorf("audio copied onto another row opened: %v", err)
	}
}

// testRecordingRefused: a recording without notice, of an unknown
// customer, malformed, without a key or an actor is refused and leaves
// nothing behind.
func testRecordingRefused(t *testing.T, ctx context.Context, e *env) {
	put(t, ctx, e.s, customer.Customer{ID: "c1", Name: "Alice"})
	wav := fakeWAV(3, 100)
	mod := func(f func(r *customer.Recording)) customer.Recording {
		r := told("call-1", "c1")
		f(&r)
		return r
	}
	noKey := e.open(t, customer.Config{})
	for _, tc := range []struct {
		name  string
		s     customer.RecordingStore
		r     customer.Recording
		wav   []byte
		actor string
		want  error
	}{
		{"no notice", e.s, mod(func(r *customer.Recording) { r.Notice = "" }), wav, "recorder", customer.ErrNotTold},
		{"no one gave the notice", e.s, mod(func(r *customer.Recording) { r.NoticeBy = "  " }), wav, "recorder", customer.ErrNotTold},
		{"unknown customer", e.s, mod(func(r *customer.Recording) { r.CustomerID = "nobody" }), wav, "recorder", customer.ErrNotFound},
		{"no call id", e.s, mod(func(r *customer.Recording) { r.CallID = "" }), wav, "recorder", customer.ErrInvalid},
		{"three channels", e.s, mod(func(r *customer.Recording) { r.Channels = 3 }), wav, "recorder", customer.ErrInvalid},
		{"negative duration", e.s, mod(func(r *customer.Recording) { r.Duration = -time.Second }), wav, "recorder", customer.ErrInvalid},
		{"no audio", e.s, told("call-1", "c1"), nil, "recorder", customer.ErrInvalid},
		{"notice not UTF-8", e.s, mod(func(r *customer.Recording) { r.Notice = "\xff" }), wav, "recorder", customer.ErrInvalid},
		{"no actor", e.s, told("call-1", "c1"), wav, "", customer.ErrNoActor},
		{"no key", noKey, told("call-1", "c1"), wav, "recorder", customer.ErrNoKey},
	} {
		if _, err := tc.s.SaveRecording(ctx, tc.r, tc.wav, tc.actor); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := e.s.Recordings(ctx, customer.RecordingQuery{}, "x"); !errors.Is(err, customer.ErrInvalid) {
		t.Errorf("Recordings with no customer nor call: %v, want ErrInvalid", err)
	}
	raw := rawDB(t, e.dsn)
	var n int
	if err := raw.QueryRowContext(ctx, `SELECT count(*) FROM recordings`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d recordings stored after refusals (%v)", n, err)
	}
	if got := auditActions(t, ctx, e.s, "c1"); len(got) != 0 {
		t.Errorf("refused saves audited as %v", got)
	}
}

// testRecordingErasure: erasing a customer erases their recordings (and
// on SQLite the sealed bytes leave the files); a recording of a caller
// not identified is erased on its own; a retention purge takes the old.
func testRecordingErasure(t *testing.T, ctx context.Context, e *env) {
	put(t, ctx, e.s, customer.Customer{ID: "c1", Name: "Alice"}, customer.Customer{ID: "c2", Name: "Bob"})
	r1, err := e.s.SaveRecording(ctx, told("call-1", "c1"), fakeWAV(4, 8000), "recorder")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.SaveRecording(ctx, told("call-1b", "c1"), fakeWAV(5, 8000), "recorder"); err != nil {
		t.Fatal(err)
	}
	r2, err := e.s.SaveRecording(ctx, told("call-2", "c2"), fakeWAV(6, 8000), "recorder")
	if err != nil {
		t.Fatal(err)
	}
	anon, err := e.s.SaveRecording(ctx, told("call-3", ""), fakeWAV(7, 8000), "recorder")
	if err != nil {
		t.Fatal(err)
	}
	raw := rawDB(t, e.dsn)
	var sealed []byte
	if err := raw.QueryRowContext(ctx, `SELECT sealed FROM recordings WHERE id = $1`, r1.ID).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if err := e.s.EraseBiometrics(ctx, "c1", "dpo:jane"); err != nil {
		t.Fatal(err)
	}
	if list, err := e.s.Recordings(ctx, customer.RecordingQuery{CustomerID: "c1"}, "check"); err != nil || len(list) != 0 {
		t.Errorf("c1's recordings after erasure: %+v, %v", list, err)
	}
	if _, _, err := e.s.OpenRecording(ctx, r1.ID, "check"); !errors.Is(err, customer.ErrNotFound) {
		t.Errorf("open an erased recording: %v, want ErrNotFound", err)
	}
	if list, _ := e.s.Recordings(ctx, customer.RecordingQuery{CustomerID: "c2"}, "check"); len(list) != 1 || list[0].ID != r2.ID {
		t.Errorf("c2's recordings after c1's erasure: %+v", list)
	}
	log, _ := e.s.AuditLog(ctx, "c1", 10)
	found := false
	for _, a := range log {
		found = found || (a.Action == customer.AuditErase && strings.Contains(a.Detail, "recordings=2"))
	}
	if !found {
		t.Errorf("no erase audit entry counting 2 recordings in %+v", log)
	}
	if path, ok := strings.CutPrefix(e.dsn, "sqlite:"); ok {
		for _, f := range []string{path, path + "-wal"} {
			b, err := os.ReadFile(f)
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
			if bytes.Contains(b, sealed[12:60]) {
				t.Errorf("%s still holds the erased recording's sealed bytes", f)
			}
		}
	}

	// The unidentified caller's recording, found by its call, erased alone.
	if err := e.s.DeleteRecording(ctx, anon.ID, "admin:root"); err != nil {
		t.Fatal(err)
	}
	if err := e.s.DeleteRecording(ctx, anon.ID, "admin:root"); !errors.Is(err, customer.ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
	if list, _ := e.s.Recordings(ctx, customer.RecordingQuery{CallID: "call-3"}, "check"); len(list) != 0 {
		t.Errorf("call-3's recordings after delete: %+v", list)
	}
	all, _ := e.s.AuditLog(ctx, "", 100)
	found = false
	for _, a := range all {
		found = found || (a.Action == customer.AuditRecordingErase && a.Actor == "admin:root" && strings.Contains(a.Detail, "call=call-3"))
	}
	if !found {
		t.Errorf("no recording.erase audit entry by admin:root for call-3")
	}

	// Retention: recordings started before the cut go, the others stay.
	recent := told("call-4", "c2")
	recent.StartedAt = time.Date(2026, 12, 20, 0, 0, 0, 0, time.UTC)
	if _, err := e.s.SaveRecording(ctx, recent, fakeWAV(8, 100), "recorder"); err != nil {
		t.Fatal(err)
	}
	n, err := e.s.PurgeRecordings(ctx, time.Date(2026, 12, 10, 0, 0, 0, 0, time.UTC), "retention")
	if err != nil || n != 1 {
		t.Errorf("purge = %d, %v; want 1 (call-2)", n, err)
	}
	if list, _ := e.s.Recordings(ctx, customer.RecordingQuery{CustomerID: "c2"}, "check"); len(list) != 1 || list[0].CallID != "call-4" {
		t.Errorf("c2's recordings after purge: %+v, want call-4 only", list)
	}
}

// testRecordingRotateKey: a key rotation re-seals recordings too.
func testRecordingRotateKey(t *testing.T, ctx context.Context, e *env) {
	put(t, ctx, e.s, customer.Customer{ID: "c1", Name: "Alice"})
	wav := fakeWAV(9, 5000)
	r, err := e.s.SaveRecording(ctx, told("call-1", "c1"), wav, "recorder")
	if err != nil {
		t.Fatal(err)
	}
	newKey := mustKey(t)
	if n, err := e.s.RotateKey(ctx, e.key, newKey, "ops"); err != nil || n != 1 {
		t.Fatalf("RotateKey = %d, %v; want 1 row", n, err)
	}
	onlyNew := e.open(t, customer.Config{Key: newKey})
	if _, audio, err := onlyNew.OpenRecording(ctx, r.ID, "check"); err != nil || !bytes.Equal(audio, wav) {
		t.Errorf("with the new key: %d bytes, %v", len(audio), err)
	}
	onlyOld := e.open(t, customer.Config{Key: e.key})
	if _, _, err := onlyOld.OpenRecording(ctx, r.ID, "check"); !errors.Is(err, customer.ErrUnknownKey) {
		t.Errorf("with only the old key: %v, want ErrUnknownKey", err)
	}
}

// BenchmarkRecording seals and stores, then opens, a stereo recording of
// 1, 10 and 60 minutes on SQLite (32 kB per second of call).
func BenchmarkRecording(b *testing.B) {
	for _, minutes := range []int{1, 10, 60} {
		b.Run(strconv.Itoa(minutes)+"min", func(b *testing.B) {
			ctx := context.Background()
			s := openStore(b, "sqlite:"+filepath.Join(b.TempDir(), "b.db"), customer.Config{Key: mustKey(b)})
			wav := fakeWAV(1, minutes*60*32000)
			b.SetBytes(int64(len(wav)))
			b.ReportAllocs()
			for b.Loop() {
				r, err := s.SaveRecording(ctx, told("call-b", ""), wav, "bench")
				if err != nil {
					b.Fatal(err)
				}
				if _, _, err := s.OpenRecording(ctx, r.ID, "bench"); err != nil {
					b.Fatal(err)
				}
				if err := s.DeleteRecording(ctx, r.ID, "bench"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
