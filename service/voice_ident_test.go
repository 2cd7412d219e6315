package service

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/customer"
	"github.com/voxdesk/voxdesk/ivr"
	"github.com/voxdesk/voxdesk/media"
	"github.com/voxdesk/voxdesk/media/g711"
	"github.com/voxdesk/voxdesk/voiceprint"
)

// judge feeds speech to a listener and returns its verdict.
func judge(t *testing.T, l ivr.Listener, pcm []int16) ivr.Verdict {
	t.Helper()
	defer l.Close()
	listenTo(l, pcm)
	return l.(ivr.Reporter).Verdict()
}

// TestVoiceNumberAndVoice: the number's customer is confirmed by voice;
// another customer's voice on that number is never taken for the
// number's customer and the verdict says the voice does not match;
// too little speech says the number's customer was not confirmed.
func TestVoiceNumberAndVoice(t *testing.T) {
	v, db := demoVoice(t)
	ctx := context.Background()
	speaker := func(id string) string {
		c, err := db.Customer(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return c.Attributes["demo_speaker"]
	}
	owner := heldOut(t, speaker("C-1010"), 8)
	other := heldOut(t, speaker("C-1012"), 8)

	got := judge(t, v.Listen([]string{"C-1010"}), owner)
	if got.Voice != call.VoiceVerified || got.Customer != "C-1010" || got.Warning != "" || got.FalseIdent != 0.005 {
		t.Errorf("the number's customer: %+v, want verified C-1010 at 0.005 with no warning", got)
	}
	got = judge(t, v.Listen([]string{"C-1010"}), other)
	if got.Customer == "C-1010" {
		t.Fatalf("another customer's voice verified as the number's customer: %+v", got)
	}
	if got.Warning != call.VoiceMismatch {
		t.Errorf("another customer's voice on the number: warning %q, want %q (%+v)", got.Warning, call.VoiceMismatch, got)
	}
	t.Logf("C-1012's voice on C-1010's number: %+v", got)
	got = judge(t, v.Listen([]string{"C-1010"}), owner[:2*8000])
	if got.Voice != call.VoiceNotSure || got.Customer != "" || got.Warning != call.VoiceNotConfirmed {
		t.Errorf("2 s of the owner's voice: %+v, want not sure, nobody, %q", got, call.VoiceNotConfirmed)
	}
	// 1:1 verify of the wrong customer: refused, and said so.
	got = judge(t, v.Verify("C-1010"), other)
	if got.Voice == call.VoiceVerified || got.Customer != "" {
		t.Errorf("verify C-1010 with C-1012's voice: %+v", got)
	}
}

// TestVoiceWatchlist: a watchlist entry added in the store reaches the
// voice side through the change feed, and a caller with that voice is
// flagged on every kind of listening, without becoming a customer.
func TestVoiceWatchlist(t *testing.T) {
	v, db := ownDemoVoice(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- v.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	root := speechRoot(t)
	load := func(file string) []int16 {
		pcm, err := media.LoadPCM(filepath.Join(root, "hyke", file), voiceprint.SampleRate)
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range pcm {
			pcm[i] = g711.UlawToLinear(g711.LinearToUlaw(s))
		}
		return pcm
	}
	// A fraudster's voice from one recording; they call with another.
	emb, err := v.model.NewExtractor().Embed(load("M_1298636374/1298636374_1.flac"), voiceprint.SampleRate)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddToWatchlist(ctx, customer.WatchEntry{Label: "takeover ring", ModelID: modelID, Embedding: emb.Vector, Reason: "test"}, "fraud-team"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, ctx, "the watchlist entry reaches the voice side", func() bool { return v.watch.Len() == 1 })
	call2 := load("M_1298636374/1298636374_2.flac")
	call2 = append(call2, load("M_1298636374/1298636374_3.flac")...)
	before := testutil.ToFloat64(v.watchHits)
	for name, l := range map[string]ivr.Listener{"whole base": v.Listen(nil), "number": v.Listen([]string{"C-1001"}), "verify": v.Verify("C-1001")} {
		got := judge(t, l, call2)
		if got.Watchlist != "takeover ring" {
			t.Errorf("%s: watchlist %q, want the entry's label (%+v)", name, got.Watchlist, got)
		}
		if got.Customer != "" {
			t.Errorf("%s: the fraudster was taken for customer %s", name, got.Customer)
		}
	}
	if d := testutil.ToFloat64(v.watchHits) - before; d != 3 {
		t.Errorf("voxdesk_voice_watchlist_hits_total rose by %v, want 3", d)
	}
}
