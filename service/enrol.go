package service

import (
	"cmp"
	"context"
	"fmt"
	"slices"
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
		return customer.Voiceprint{}, fmt.Errorf("service: enrol %s: %.1f s of net speech, need %.0f s: %w", id, speech, need.Seconds(), voiceprint.ErrNotEnoughSpeech)
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
