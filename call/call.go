package call

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// SampleRate is the rate of all linear PCM exchanged with a Leg: G.711
// telephone audio.
const SampleRate = 8000

// FrameSamples is the number of samples in one 20 ms frame at SampleRate.
const FrameSamples = SampleRate / 50

// FrameDuration is the length of one frame.
const FrameDuration = 20 * time.Millisecond

// Channel names how a call reached the switch.
type Channel string

// Channels voxdesk serves.
const (
	ChannelSIP    Channel = "sip"    // a SIP trunk or SBC
	ChannelWebRTC Channel = "webrtc" // the website's "call now" button
)

// Call is one customer's call as the handlers see it. The front end fills
// the identity fields before the handler runs; they are not changed after.
// Vars is the call's variable space, shared by the handlers that serve the
// call in turn (the IVR writes the identification there, routing reads it).
type Call struct {
	ID      string    // unique, also the call_id of every log line
	Channel Channel   // how it arrived
	Trunk   string    // trunk name for SIP calls
	Caller  string    // calling number, E.164 when the network gave one
	Callee  string    // dialled number or service name
	Start   time.Time // when the first request arrived
	Leg     Leg       // the caller's media and signalling

	// Log is scoped to the call (it carries call_id). Never nil once the
	// front end has built the call.
	Log *slog.Logger

	// Taps see the audio of the call's bridge to an agent (recording,
	// supervisors); whoever bridges the call passes them to Taps.Bridge.
	Taps Taps

	mu   sync.Mutex
	vars map[string]string
}

// New returns a Call with its logger scoped by call_id. Front ends and tests
// use it rather than a struct literal so Log and the variables are ready.
func New(id string, leg Leg, log *slog.Logger) *Call {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Call{ID: id, Leg: leg, Start: time.Now(), Log: log.With("call_id", id), vars: map[string]string{}}
}

// Var returns the call variable name and whether it is set.
func (c *Call) Var(name string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.vars[name]
	return v, ok
}

// SetVar sets the call variable name.
func (c *Call) SetVar(name, value string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.vars == nil {
		c.vars = map[string]string{}
	}
	c.vars[name] = value
}

// Vars returns a copy of all call variables.
func (c *Call) Vars() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]string, len(c.vars))
	for k, v := range c.vars {
		out[k] = v
	}
	return out
}

// Handler serves a call. ServeCall returns when the handler is done with
// the call: either it hung up, the caller hung up, or it hands nothing on.
// A handler that refuses a call before answering returns a *RejectError; the
// front end turns it into a SIP status. The front end hangs up a call whose
// handler returns without having hung up.
type Handler interface {
	ServeCall(ctx context.Context, c *Call) error
}

// HandlerFunc adapts a function to a Handler.
type HandlerFunc func(ctx context.Context, c *Call) error

// ServeCall calls f(ctx, c).
func (f HandlerFunc) ServeCall(ctx context.Context, c *Call) error { return f(ctx, c) }
