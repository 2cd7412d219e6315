package agentapi

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/customer"
)

func TestStoreDirectory(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	db := sqliteStore(t, ctx)
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	for _, c := range []customer.Customer{
		{ID: "C1", Name: "Ada Lovelace", Phones: []string{"+441632960001"}, Segment: "gold", Notes: "prefers email"},
		{ID: "C2", Name: "Ada's husband", Phones: []string{"+441632960001"}},
	} {
		if err := db.PutCustomer(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.GiveConsent(ctx, customer.Consent{CustomerID: "C1", GivenAt: t0, Method: customer.ConsentIVR, GivenBy: "flow:hotline"}); err != nil {
		t.Fatal(err)
	}
	// The service recorded the call at hang-up; the wrap-up adds to it.
	if _, err := db.SaveInteraction(ctx, customer.Interaction{CallID: "call-1", CustomerID: "C1", StartedAt: t0, AnsweredAt: t0.Add(20 * time.Second),
		EndedAt: t0.Add(5 * time.Minute), Queue: "support", Agent: "alice", Method: customer.IDVoice, Score: 0.93}); err != nil {
		t.Fatal(err)
	}
	d := StoreDirectory{Store: db}

	f, err := d.File(ctx, "C1")
	if err != nil {
		t.Fatal(err)
	}
	if f.Name != "Ada Lovelace" || f.Segment != "gold" || f.Consent == nil || f.Consent.Method != "ivr-dtmf" || len(f.Recent) != 1 || f.Recent[0].Method != "voice" {
		t.Fatalf("file %+v", f)
	}
	if _, err := d.File(ctx, "nobody"); !errors.Is(err, ErrNoCustomer) {
		t.Fatalf("unknown customer: %v", err)
	}
	if f2, err := d.File(ctx, "C2"); err != nil || f2.Consent != nil {
		t.Fatalf("C2 file %+v, %v: want no consent", f2, err)
	}

	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"C1", []string{"C1"}},
		{"+441632960001", []string{"C1", "C2"}},
		{"+449999999999", nil},
		{"nobody", nil},
		{"x' OR '1'='1", nil},
	} {
		t.Run("lookup "+tc.q, func(t *testing.T) {
			fs, err := d.Lookup(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, f := range fs {
				ids = append(ids, f.ID)
			}
			if strings.Join(ids, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("found %v, want %v", ids, tc.want)
			}
		})
	}

	if err := d.RecordWrapUp(ctx, WrapUp{CallID: "call-1", CustomerID: "C1", Agent: "alice", Queue: "support",
		Start: t0.Add(3 * time.Second), Answered: t0.Add(21 * time.Second), Ended: t0.Add(5 * time.Minute),
		Method: "number", IdentityConfirmed: true, Disposition: "resolved", Notes: "new tariff"}); err != nil {
		t.Fatal(err)
	}
	// A web caller's interaction: the store knows no "web-token" method.
	if err := d.RecordWrapUp(ctx, WrapUp{CallID: "web-1", CustomerID: "C1", Agent: "bob", Start: t0.Add(time.Hour),
		Answered: t0.Add(time.Hour + time.Minute), Ended: t0.Add(time.Hour + 2*time.Minute), Method: string(MethodWebToken), Score: 1, Disposition: "follow-up"}); err != nil {
		t.Fatal(err)
	}
	ins, err := db.RecentInteractions(ctx, "C1", 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) != 2 {
		t.Fatalf("%d interactions, want 2 (the wrap-up must update call-1, not add one)", len(ins))
	}
	byCall := map[string]customer.Interaction{}
	for _, in := range ins {
		byCall[in.CallID] = in
	}
	c1 := byCall["call-1"]
	if c1.Method != customer.IDVoice || c1.Score != 0.93 || !c1.StartedAt.Equal(t0) || c1.Outcome != "resolved" ||
		c1.Notes != "[identity confirmed by agent] new tariff" {
		t.Fatalf("call-1 after wrap-up %+v", c1)
	}
	if w := byCall["web-1"]; w.Method != customer.IDNone || !strings.Contains(w.Notes, "web-token") || w.Outcome != "follow-up" {
		t.Fatalf("web-1 %+v", w)
	}
}
