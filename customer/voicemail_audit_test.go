package customer_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/customer"
)

func testVoicemailPlayAudited(t *testing.T, ctx context.Context, e *env) {
	before := time.Now().Add(-time.Second)
	const msg = "20261123T090000Z-call-1.wav"
	if err := e.s.VoicemailPlayed(ctx, "alice", "", "sales", msg, "call-1", ""); err != nil {
		t.Fatal(err)
	}
	if err := e.s.VoicemailPlayed(ctx, "bob", "C-7", "sales", msg, "call-1", "bytes=44-"); err != nil {
		t.Fatal(err)
	}
	// Without someone to audit nothing is played and nothing written.
	if err := e.s.VoicemailPlayed(ctx, " ", "", "sales", msg, "call-1", ""); !errors.Is(err, customer.ErrNoActor) {
		t.Fatalf("no actor: %v, want ErrNoActor", err)
	}
	log, err := e.s.AuditLog(ctx, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 2 {
		t.Fatalf("audit log %+v, want the two plays", log)
	}
	bob, alice := log[0], log[1]
	for _, c := range []struct {
		got            customer.AuditEntry
		actor, cust, d string
	}{
		{alice, "alice", "", "box=sales message=" + msg + " call_id=call-1"},
		{bob, "bob", "C-7", "box=sales message=" + msg + ` call_id=call-1 range="bytes=44-"`},
	} {
		if c.got.Action != customer.AuditVoicemailPlay || c.got.Actor != c.actor || c.got.CustomerID != c.cust || c.got.Detail != c.d ||
			c.got.At.Before(before) || c.got.At.After(time.Now().Add(time.Second)) {
			t.Errorf("audit entry %+v, want %s playing (%s) at about now", c.got, c.actor, c.d)
		}
	}
	if mine, err := e.s.AuditLog(ctx, "C-7", 10); err != nil || len(mine) != 1 || mine[0].Actor != "bob" {
		t.Errorf("customer C-7's audit: %+v %v, want bob's play", mine, err)
	}
}
