package ivr

import (
	"context"
	"time"

	"github.com/voxdesk/voxdesk/call"
)

// The interfaces below are what a flow needs from the rest of voxdesk.
// Their methods use basic types only, so implementations in other
// packages satisfy them without importing ivr; service wires them.

// Identifier finds which enrolled customer is speaking.
type Identifier interface {
	// Listen starts an identification among candidates (customer ids);
	// nil or empty means the whole enrolled base.
	Listen(candidates []string) Listener
}

// Verifier checks that the caller is the customer they claim to be (1:1,
// with a verification threshold).
type Verifier interface {
	Verify(customer string) Listener
}

// Listener takes the caller's audio as it arrives and says who is
// speaking. Write and Decide are called from one goroutine.
type Listener interface {
	// Write adds one frame of 8 kHz PCM.
	Write(frame []int16) error
	// Decide returns the best customer so far, its score, whether the
	// decision is confident enough to act on, and the net speech heard.
	Decide() (customer string, score float64, confident bool, speech time.Duration)
	// Close releases the listener.
	Close()
}

// Verdict is a listener's account of its last decision, beyond Decide's.
type Verdict struct {
	// Voice is call.VoiceVerified, call.VoiceUnknown or call.VoiceNotSure.
	Voice string
	// Customer is the customer the voice verified; "" otherwise.
	Customer string
	Score    float64
	// FalseIdent is the false-identification rate per call the decision
	// was made at.
	FalseIdent float64
	// Warning is for the agent, in plain words (call.VoiceMismatch...);
	// "" when there is nothing to warn about.
	Warning string
	// Watchlist is the label of the fraud watchlist entry the voice
	// matched; "" when none.
	Watchlist string
}

// Unavailable is a Listener that was not started (the voice side is at
// capacity): identify and verify play their prompt but do not wait for
// it, and the flow goes on as with a caller not identified (number or
// PIN). Its Verdict, if it gives one, says why.
type Unavailable interface {
	Unavailable() bool
}

// Reporter is a Listener that gives a Verdict. An Identifier whose
// Listen(candidates) returns one judges the number's customers and the
// whole enrolled base together, so identify asks it alone; without it,
// identify listens to the number's customers and to the whole base
// separately.
type Reporter interface {
	Verdict() Verdict
}

// Enroller captures a customer's voiceprint after consent.
type Enroller interface {
	// RecordConsent stores the customer's answer to the consent prompt.
	RecordConsent(ctx context.Context, customer, callID string, given bool, prompt string, at time.Time) error
	// Enrol starts capturing speech for the customer's voiceprint.
	Enrol(customer string) Enrolment
}

// Enrolment is one voiceprint capture in progress.
type Enrolment interface {
	Write(frame []int16) error
	// Speech is the net speech captured so far.
	Speech() time.Duration
	// Commit stores the voiceprint; it fails when there is too little
	// speech.
	Commit(ctx context.Context) error
	Close()
}

// Directory answers questions about customers.
type Directory interface {
	// ByNumber returns the customers linked to a phone number.
	ByNumber(ctx context.Context, number string) ([]string, error)
	// Fields returns a customer's fields (segment, vip, advisor...), as
	// text; an unknown customer has none.
	Fields(ctx context.Context, customer string) (map[string]string, error)
	// CheckPIN reports whether pin is the customer's PIN.
	CheckPIN(ctx context.Context, customer, pin string) (bool, error)
}

// Router puts calls in queues for agents.
type Router interface {
	// Queue blocks until the call leaves the queue: an agent took it and
	// the conversation ended, or the caller gave up. It returns an error
	// when the call could not be queued or was sent back.
	Queue(ctx context.Context, c *call.Call, queue string, skills []string, priority int, preferred string) error
}

// Callbacks records call-back requests.
type Callbacks interface {
	Request(ctx context.Context, callID, number, customer, queue string, at time.Time) error
}

// Voicemail stores messages (as WAV files or elsewhere).
type Voicemail interface {
	// Store keeps the message: 8 kHz 16-bit mono PCM.
	Store(ctx context.Context, box, callID, caller, customer string, pcm []int16) error
}
