package service

import (
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/call/calltest"
	"github.com/voxdesk/voxdesk/customer"
	"github.com/voxdesk/voxdesk/ivr"
)

func level(v int16, d time.Duration) []int16 {
	pcm := make([]int16, int(d/time.Second)*call.SampleRate)
	for i := range pcm {
		pcm[i] = v
	}
	return pcm
}

// bridgeFor runs a 1 s conversation on c's bridge: the caller says 1000s,
// the agent -2000s, paced like network legs.
func bridgeFor(t *testing.T, c *call.Call) {
	t.Helper()
	caller := calltest.NewLeg(calltest.Event{Speech: level(1000, 2*time.Second)})
	caller.MaxDuration, caller.Pace = time.Second, true
	agent := calltest.NewLeg(calltest.Event{Speech: level(-2000, 2*time.Second)})
	agent.MaxDuration, agent.Pace = 2*time.Second, true
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Taps.Bridge(ctx, caller, agent); err != nil {
		t.Fatal(err)
	}
}

// channelsOf counts the frames of a stereo WAV holding the caller's and
// the agent's level on each side.
func channelsOf(t *testing.T, wav []byte) (callerLeft, agentRight, crossed int) {
	t.Helper()
	if binary.LittleEndian.Uint16(wav[22:]) != 2 {
		t.Fatalf("recording has %d channels, want 2", binary.LittleEndian.Uint16(wav[22:]))
	}
	data := wav[44:]
	for i := 0; i+4 <= len(data); i += 4 {
		l, r := int16(binary.LittleEndian.Uint16(data[i:])), int16(binary.LittleEndian.Uint16(data[i+2:]))
		switch {
		case l == -2000 || r == 1000:
			crossed++
		case l == 1000:
			callerLeft++
		}
		if r == -2000 {
			agentRight++
		}
	}
	return callerLeft / call.FrameSamples, agentRight / call.FrameSamples, crossed
}

func TestRecorder(t *testing.T) {
	key, _ := customer.ParseKey(customer.NewKey())
	ctx := context.Background()
	db, err := customer.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "c.db"), customer.Config{Key: key},
		customer.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.PutCustomer(ctx, customer.Customer{ID: "C1", Name: "Ada"}); err != nil {
		t.Fatal(err)
	}
	r := newRecorder(db, RecordingConfig{}, slog.New(slog.DiscardHandler))
	newCall := func(id, cust string) *call.Call {
		c := call.New(id, nil, nil)
		if cust != "" {
			c.SetVar(call.VarCustomer, cust)
		}
		return c
	}
	stored := func(callID string) (customer.Recording, []byte) {
		t.Helper()
		list, err := db.Recordings(ctx, customer.RecordingQuery{CallID: callID}, "test")
		if err != nil || len(list) != 1 {
			t.Fatalf("recordings of %s: %+v, %v; want one", callID, list, err)
		}
		rec, wav, err := db.OpenRecording(ctx, list[0].ID, "test")
		if err != nil {
			t.Fatal(err)
		}
		return rec, wav
	}

	t.Run("told by the flow: both sides recorded", func(t *testing.T) {
		c := newCall("now", "C1")
		done, err := r.Record(ctx, c, "recording_notice.wav", "hotline@1", true)
		if err != nil || r.RecordingState("now") != ivr.RecordingOn {
			t.Fatalf("Record: %v, state %q", err, r.RecordingState("now"))
		}
		if v, _ := c.Var(ivr.VarRecording); v != ivr.RecordingOn {
			t.Errorf("call variable recording = %q, want on", v)
		}
		bridgeFor(t, c)
		done()
		done() // harmless twice
		rec, wav := stored("now")
		if rec.CustomerID != "C1" || rec.Notice != "recording_notice.wav" || rec.NoticeBy != "hotline@1" || rec.Channels != 2 ||
			rec.Duration < 800*time.Millisecond || rec.Duration > 3*time.Second {
			t.Errorf("stored %+v", rec)
		}
		left, right, crossed := channelsOf(t, wav)
		if left < 40 || right < 40 || crossed != 0 {
			t.Errorf("caller in %d left frames, agent in %d right frames, %d samples on the wrong side", left, right, crossed)
		}
		if r.RecordingState("now") != "" || c.Taps.Len() != 0 {
			t.Errorf("after the call: state %q, %d taps left", r.RecordingState("now"), c.Taps.Len())
		}
	})

	t.Run("told, started by the agent", func(t *testing.T) {
		c := newCall("agent", "")
		done, _ := r.Record(ctx, c, "notice.wav", "hotline@1", false)
		if st := r.RecordingState("agent"); st != ivr.RecordingReady || c.Taps.Len() != 0 {
			t.Fatalf("state %q with %d taps, want ready and none", st, c.Taps.Len())
		}
		if err := r.StartRecording(ctx, "agent", "agent:alice"); err != nil {
			t.Fatal(err)
		}
		bridgeFor(t, c)
		done()
		rec, _ := stored("agent")
		if rec.CustomerID != "" || !strings.Contains(rec.NoticeBy, "started by agent:alice") {
			t.Errorf("stored %+v: want no customer, started by agent:alice", rec)
		}
	})

	t.Run("never told: the agent's request is refused", func(t *testing.T) {
		if err := r.StartRecording(ctx, "untold", "agent:alice"); !errors.Is(err, customer.ErrNotTold) {
			t.Errorf("StartRecording of an untold call: %v, want ErrNotTold", err)
		}
	})

	t.Run("told but never started, or no conversation: nothing stored", func(t *testing.T) {
		c := newCall("ready", "C1")
		done, _ := r.Record(ctx, c, "notice.wav", "hotline@1", false)
		bridgeFor(t, c)
		done()
		c2 := newCall("hungup", "C1")
		done2, _ := r.Record(ctx, c2, "notice.wav", "hotline@1", true)
		done2() // the caller hung up before reaching an agent
		for _, id := range []string{"ready", "hungup"} {
			if list, _ := db.Recordings(ctx, customer.RecordingQuery{CallID: id}, "test"); len(list) != 0 {
				t.Errorf("call %s: %d recordings stored, want none", id, len(list))
			}
		}
	})

	t.Run("a customer erased during the call: kept against the call", func(t *testing.T) {
		c := newCall("gone", "C-nobody")
		done, _ := r.Record(ctx, c, "notice.wav", "hotline@1", true)
		bridgeFor(t, c)
		done()
		if rec, _ := stored("gone"); rec.CustomerID != "" {
			t.Errorf("stored against customer %q", rec.CustomerID)
		}
	})
}

func TestNoRecording(t *testing.T) {
	t.Setenv(customer.KeyEnv, "")
	for _, tc := range []struct {
		name string
		c    CustomerConfig
		want string // part of the reason; "" when the switch records
	}{
		{"no store", CustomerConfig{}, "no customer store"},
		{"a store without a key", CustomerConfig{DSN: "sqlite:x.db"}, "no key to seal recordings"},
		{"a store with a key", CustomerConfig{DSN: "sqlite:x.db", Key: customer.NewKey()}, ""},
	} {
		c := Config{Customer: tc.c}
		got := c.Catalog().NoRecording
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: NoRecording = %q, want %q", tc.name, got, tc.want)
		}
	}
	t.Setenv(customer.KeyEnv, customer.NewKey())
	if c := (Config{Customer: CustomerConfig{DSN: "sqlite:x.db"}}); c.Catalog().NoRecording != "" {
		t.Errorf("a key in $%s: NoRecording = %q", customer.KeyEnv, c.Catalog().NoRecording)
	}
}
