package agentapi

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/voxdesk/voxdesk/customer"
)

// TestRecordWrapUpAfterConsultation: ann handed call-1 to bob after a
// consultation; whichever of their wrap-ups is saved first, the call has
// one interaction, bob's (agent, disposition), answered when ann answered
// and ended when bob hung up, its notes ann's part first, then bob's.
func TestRecordWrapUpAfterConsultation(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	ann := WrapUp{CallID: "call-1", CustomerID: "C1", Agent: "ann", Queue: "sales", Start: t0,
		Answered: t0.Add(10 * time.Second), Ended: t0.Add(2 * time.Minute), Method: "number",
		Disposition: "billing question", Notes: "wants a refund", HandedTo: "bob"}
	bob := WrapUp{CallID: "call-1", CustomerID: "C1", Agent: "bob", Queue: "sales", Start: t0.Add(time.Second),
		Answered: t0.Add(90 * time.Second), Ended: t0.Add(5 * time.Minute), Method: "number",
		Disposition: "refunded", Notes: "refund of 20 EUR"}
	long := strings.Repeat("x", 4000)
	tests := []struct {
		name      string
		first     WrapUp
		then      WrapUp
		wantNotes string
	}{
		{"ann saves first", ann, bob, "[ann, before transfer to bob: billing question] wants a refund refund of 20 EUR"},
		{"bob saves first", bob, ann, "[ann, before transfer to bob: billing question] wants a refund refund of 20 EUR"},
		{"notes too long together", withNotes(ann, long), withNotes(bob, long), long},
		{"blind to a queue, ann saves first", handedTo(ann, "queue sales"), bob,
			"[ann, before transfer to queue sales: billing question] wants a refund refund of 20 EUR"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			db, err := customer.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "c.db"), customer.Config{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := db.PutCustomer(ctx, customer.Customer{ID: "C1", Name: "Ada Lovelace", Phones: []string{"+441632960001"}}); err != nil {
				t.Fatal(err)
			}
			d := StoreDirectory{Store: db}
			for _, w := range []WrapUp{tc.first, tc.then} {
				if err := d.RecordWrapUp(ctx, w); err != nil {
					t.Fatalf("wrap-up of %s: %v", w.Agent, err)
				}
			}
			ins, err := db.RecentInteractions(ctx, "C1", 5)
			if err != nil {
				t.Fatal(err)
			}
			if len(ins) != 1 {
				t.Fatalf("%d interactions, want one for the call: %+v", len(ins), ins)
			}
			in := ins[0]
			if in.Agent != "bob" || in.Outcome != "refunded" || !in.AnsweredAt.Equal(ann.Answered) || !in.EndedAt.Equal(bob.Ended) {
				t.Errorf("interaction %+v: want bob's, refunded, answered by ann at %v, ended %v", in, ann.Answered, bob.Ended)
			}
			switch {
			case tc.wantNotes == long:
				if n := utf8.RuneCountInString(in.Notes); n > customer.MaxNotesLen || !strings.HasPrefix(in.Notes, "[ann, before transfer to bob") || !strings.Contains(in.Notes, "] "+long[:150]) || !strings.Contains(in.Notes, " "+long[:3500]) {
					t.Errorf("notes of %d characters (at most %d), ann's part first then bob's, both shortened: got %.60q...", n, customer.MaxNotesLen, in.Notes)
				}
			case in.Notes != tc.wantNotes:
				t.Errorf("notes %q, want %q", in.Notes, tc.wantNotes)
			}
		})
	}
}

func withNotes(w WrapUp, notes string) WrapUp {
	w.Notes = notes
	return w
}

// TestParseConsult: a consultation names exactly one agent or queue, and
// every consultation message its call.
func TestParseConsult(t *testing.T) {
	ok := []string{
		`{"type":"consult","call":"c1","agent":"bob"}`,
		`{"type":"consult","call":"c1","queue":"billing"}`,
		`{"type":"consult_complete","call":"c1"}`,
		`{"type":"consult_cancel","call":"c1"}`,
	}
	for _, msg := range ok {
		if _, err := ParseClientMessage([]byte(msg)); err != nil {
			t.Errorf("%s refused: %v", msg, err)
		}
	}
	bad := map[string]string{
		`{"type":"consult","call":"c1"}`:                                 "consult needs an agent or a queue (one of them)",
		`{"type":"consult","call":"c1","agent":"bob","queue":"billing"}`: "consult needs an agent or a queue (one of them)",
		`{"type":"consult","agent":"bob"}`:                               "consult needs a call id",
		`{"type":"consult_complete"}`:                                    "consult_complete needs a call id",
		`{"type":"consult_cancel"}`:                                      "consult_cancel needs a call id",
		`{"type":"consult","call":"c1","agent":"b\u0007"}`:               "agent has control character",
	}
	for msg, want := range bad {
		_, err := ParseClientMessage([]byte(msg))
		if !errors.Is(err, ErrBadMessage) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want ErrBadMessage saying %q", msg, err, want)
		}
	}
}

func handedTo(w WrapUp, to string) WrapUp {
	w.HandedTo = to
	return w
}
