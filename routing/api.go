package routing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/voxdesk/voxdesk/call"
)

// State is an agent's routing state.
type State string

// Agent states.
const (
	StateLoggedOut State = "logged-out" // not known to the router
	StateAvailable State = "available"  // waiting for a call
	StateOffered   State = "offered"    // a call is ringing on the agent's phone
	StateBusy      State = "busy"       // talking to a caller
	StateWrapUp    State = "wrap-up"    // after a call, back to available when the timer ends
	StateAway      State = "away"       // not taking calls, see Reason
)

// Reasons the router itself sets an agent away with.
const (
	ReasonMissedOffers   = "missed call"     // Config.MaxMissed offers in a row rang out unanswered
	ReasonConnectionLost = "connection lost" // the agent's phone or media leg went away
)

// ReasonNotAnswered is the reason given to Phones.Cancel and in
// EventOfferMissed when an offer rang for Config.OfferTimeout.
const ReasonNotAnswered = "not answered"

// ReasonCallbackNotReached is the reason given to Phones.Cancel when the
// customer of a call-back the agent answered could not be reached (no
// answer, busy, the dialling failed): the agent's page stops waiting.
const ReasonCallbackNotReached = "customer not reached"

// Errors returned by the Router.
var (
	ErrClosed       = errors.New("routing: router closed")
	ErrUnknownQueue = errors.New("routing: unknown queue")
	ErrUnknownAgent = errors.New("routing: agent not logged in")
	ErrNoOffer      = errors.New("routing: no such offer for this agent")
	ErrNotYourCall  = errors.New("routing: call is not connected to this agent")
	ErrAgentBusy    = errors.New("routing: agent is on a call")
	ErrState        = errors.New("routing: state change not allowed")
	ErrNoPhones     = errors.New("routing: no Phones configured")
	// ErrAbandoned is returned by Queue when the caller hung up while
	// queued; it wraps call.ErrHangup.
	ErrAbandoned = fmt.Errorf("routing: caller hung up while queued: %w", call.ErrHangup)
	// ErrMaxWait is returned by Queue when the call waited the queue's
	// MaxWait and the queue has no overflow target.
	ErrMaxWait = errors.New("routing: maximum wait reached")
	// ErrNoAgents is returned by Enqueue and Queue when no agent able to
	// take the call is logged in and the queue does not JoinEmpty.
	ErrNoAgents = errors.New("routing: no agent of the queue is logged in")
	// ErrCallerGone is returned by Answer when the caller's leg ended
	// before the agent answered: the call left the queue, abandoned.
	ErrCallerGone = errors.New("routing: the caller has gone")
	// ErrNotAvailable refuses a consultation with an agent who is not
	// available (away, busy, in wrap-up or rung by another call), or with
	// a queue none of whose agents is.
	ErrNotAvailable = errors.New("routing: agent is not available")
	// ErrNoConsult is returned when completing or cancelling a
	// consultation that is not under way.
	ErrNoConsult = errors.New("routing: no consultation under way on this call")
	// ErrConsulting refuses a second consultation, or a blind transfer,
	// while a consultation is under way on the call.
	ErrConsulting = errors.New("routing: a consultation is already under way on this call")
)

// AgentInfo is who an agent is for routing: an id and skills. Skills map a
// skill name to a level (1 when levels are not used).
type AgentInfo struct {
	ID     string         `yaml:"id"`
	Name   string         `yaml:"name"`
	Skills map[string]int `yaml:"skills"`
}

// Offer is a call ringing on an agent's phone, with what the page shows
// before the agent says hello: who is calling and how sure voxdesk is.
type Offer struct {
	CallID      string            `json:"call_id"`
	Queue       string            `json:"queue"`
	Caller      string            `json:"caller"`
	Called      string            `json:"called,omitempty"`  // the dialled line (call.Call.Callee)
	Arrived     time.Time         `json:"arrived,omitempty"` // when the call reached the switch (call.Call.Start)
	Channel     call.Channel      `json:"channel"`
	Customer    string            `json:"customer,omitempty"` // call.VarCustomer, empty when unknown
	IdentMethod call.Method       `json:"ident_method"`       // call.VarIdentMethod, MethodNone when unset
	IdentScore  float64           `json:"ident_score"`        // call.VarIdentScore, 0 when unset
	Vars        map[string]string `json:"vars,omitempty"`     // all call variables
	Priority    int               `json:"priority"`
	Waited      time.Duration     `json:"waited"`    // time in queue so far
	Preferred   bool              `json:"preferred"` // offered to this agent as the customer's advisor
	Callback    bool              `json:"callback"`  // answering dials the customer back
	Requeued    bool              `json:"requeued"`  // the call lost its previous agent
	// ConsultFrom is set when the offer is a consultation (warm
	// transfer): the agent who asks, and holds the caller. Answering
	// talks to that agent while the caller waits on hold; the caller
	// comes to this agent only when the asking agent completes.
	ConsultFrom string    `json:"consult_from,omitempty"`
	Expires     time.Time `json:"expires"` // when the offer moves on
}

// Phones reaches agents' softphones. The agent API implements it: Ring
// pushes an "offer" message to the agent's page, Cancel a "cancel offer",
// and the page answers by calling Router.Answer or Router.Decline. Ring
// and Cancel should return promptly; the router calls them in order from
// one goroutine of its own, never from its loop. A Ring error means the
// agent cannot be reached: the offer moves on and the agent is set away.
//
// Leg returns the agent's media leg for an answered call. The router ends
// the leg with Hangup when the call is over; an implementation that keeps
// one connection per agent returns a per-call view of it.
//
// A consultation (Router.Consult) rings the consulted agent with the
// caller's offer, ConsultFrom set, and takes their leg for the same call
// id: while it lasts, two agents hold legs of one call.
type Phones interface {
	Ring(ctx context.Context, agentID string, o Offer) error
	Cancel(ctx context.Context, agentID, callID, reason string) error
	Leg(ctx context.Context, agentID, callID string) (call.Leg, error)
}

// AnnouncementKind says what to tell a queued caller.
type AnnouncementKind string

// Announcements.
const (
	AnnouncePosition         AnnouncementKind = "position"          // Position and EstimatedWait
	AnnounceCallbackOffer    AnnouncementKind = "callback-offer"    // "press 1 to be called back"
	AnnounceCallbackBooked   AnnouncementKind = "callback-booked"   // "we will call you back"
	AnnounceCallbackAnswered AnnouncementKind = "callback-answered" // to the customer on a call-back
	AnnounceRequeued         AnnouncementKind = "requeued"          // agent lost: "connecting you to another advisor"
	AnnounceTransferred      AnnouncementKind = "transferred"       // the agent transferred the call
	AnnounceHold             AnnouncementKind = "hold"              // music on hold until ctx is done
)

// Announcement is one message to a caller.
type Announcement struct {
	Kind          AnnouncementKind
	Queue         string
	Position      int           // 1 = next
	EstimatedWait time.Duration // valid when WaitKnown
	WaitKnown     bool          // false when no agent is staffed
}

// Announcer plays announcements to a caller's leg. Announce returns when
// the message has been played or ctx is done; for AnnounceHold it plays
// until ctx is done, or returns at once if it has no hold music. It must
// not read the leg's digits: the router does.
type Announcer interface {
	Announce(ctx context.Context, leg call.Leg, a Announcement) error
}

// AnnouncerFunc adapts a function to an Announcer.
type AnnouncerFunc func(ctx context.Context, leg call.Leg, a Announcement) error

// Announce calls f(ctx, leg, a).
func (f AnnouncerFunc) Announce(ctx context.Context, leg call.Leg, a Announcement) error {
	return f(ctx, leg, a)
}

// Directory finds the customer's preferred or last advisor, consulted by
// Enqueue when the request names no preferred agent and the call carries a
// customer id. An empty id means none.
type Directory interface {
	PreferredAgent(ctx context.Context, customerID string) (agentID string, err error)
}

// Request says where a call waits. Zero fields are taken from the call's
// variables (call.VarQueue, VarSkills, VarPriority, VarPreferredAgent).
type Request struct {
	Queue     string
	Skills    []string // extra required skills, "name" or "name:level"
	Priority  int      // added to the queue's priority; higher first
	Preferred string   // agent id to try first
	// CallbackNumber is dialled for a call-back; the call's Caller if empty.
	CallbackNumber string
}

// Result is how a queued call ended.
type Result string

// Results.
const (
	ResultAnswered  Result = "answered"  // talked to an agent
	ResultAbandoned Result = "abandoned" // caller hung up before being answered
	ResultCallback  Result = "callback"  // the caller booked a call-back and was released
	ResultMaxWait   Result = "max-wait"  // waited MaxWait, no overflow target
	ResultNoAgents  Result = "no-agents" // the last agent able to take it logged out
)

// Outcome reports a queued call's end.
type Outcome struct {
	Result Result
	Queue  string        // the queue it ended in (after overflow or transfer)
	Agent  string        // last agent it talked to
	Wait   time.Duration // from enqueue to first answer (or to the end)
	Talk   time.Duration // total time bridged to agents
	// AgentHungUp is set when the agent ended the conversation (the router
	// then hung up the caller).
	AgentHungUp bool
}
