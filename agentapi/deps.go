package agentapi

import (
	"context"
	"errors"
	"time"

	"github.com/voxdesk/voxdesk/routing"
)

// Router is what the agent API asks of the routing side; *routing.Router
// implements it. The agent API calls it for the agent's own buttons and
// tells it when an agent's page goes away (Disconnected).
type Router interface {
	Login(ctx context.Context, info routing.AgentInfo) error
	Logout(ctx context.Context, agentID string) error
	SetState(ctx context.Context, agentID string, s routing.State, reason string) error
	Answer(ctx context.Context, agentID, callID string) error
	Decline(ctx context.Context, agentID, callID string) error
	Hangup(ctx context.Context, agentID, callID string) error
	Transfer(ctx context.Context, agentID, callID, queue, toAgent string) error
	Disconnected(ctx context.Context, agentID string) error
}

// Boarder gives the live figures of the supervisor wallboard. It is polled
// about once a second; the agent pages also take their own state from it.
type Boarder interface {
	Board(ctx context.Context) (Board, error)
}

// BoarderFunc adapts a function to a Boarder.
type BoarderFunc func(ctx context.Context) (Board, error)

// Board calls f(ctx).
func (f BoarderFunc) Board(ctx context.Context) (Board, error) { return f(ctx) }

// Board is one wallboard snapshot.
type Board struct {
	At     time.Time    `json:"at"`
	Queues []QueueStats `json:"queues"`
	Agents []AgentView  `json:"agents"`
	// Occupancy is the team's (the agents on the board), from the
	// routing events given to Server.RoutingEvent; nil without any.
	Occupancy *Occupancy `json:"occupancy,omitempty"`
}

// QueueStats are one queue's live figures.
type QueueStats struct {
	Name         string  `json:"name"`
	Waiting      int     `json:"waiting"`
	LongestWait  float64 `json:"longest_wait_s"` // seconds, of the calls waiting now
	ServiceLevel float64 `json:"service_level"`  // answered within the queue's threshold / answered, 0..1
	ASA          float64 `json:"asa_s"`          // average speed of answer, seconds
	Answered     int     `json:"answered"`
	Abandoned    int     `json:"abandoned"`
	Offered      int     `json:"offered"` // calls that entered the queue
	AvgHandle    float64 `json:"aht_s"`   // average handle time (talk + wrap-up), seconds
	Staffed      int     `json:"staffed"` // agents logged in with the skills, not away
	// Calls are the calls waiting, in queue order.
	Calls []WaitingView `json:"calls,omitempty"`
}

// WaitingView is one waiting call on the wallboard.
type WaitingView struct {
	Call      string  `json:"call"`
	Caller    string  `json:"caller,omitempty"`
	Customer  string  `json:"customer,omitempty"`  // "" when not identified
	Method    string  `json:"method,omitempty"`    // voice, pin, number or none
	Watchlist string  `json:"watchlist,omitempty"` // fraud watchlist entry the voice matched
	Waited    float64 `json:"waited_s"`
	Callback  bool    `json:"callback,omitempty"`
	OfferedTo string  `json:"offered_to,omitempty"` // the agent it rings
}

// Directory gives the customer file shown when a call rings and records
// the agent's wrap-up. NewStoreDirectory adapts a customer.Store.
type Directory interface {
	// File returns the customer's file, or ErrNoCustomer.
	File(ctx context.Context, customerID string) (CustomerFile, error)
	// Lookup finds customers by id or E.164 number (admin pages).
	Lookup(ctx context.Context, query string) ([]CustomerFile, error)
	// RecordWrapUp stores the call's interaction with the agent's
	// disposition and notes.
	RecordWrapUp(ctx context.Context, w WrapUp) error
}

// Biometrics acts on voiceprints. The service implements it over the
// customer store and the live voiceprint index; the agent API checks
// roles, consent and the call's ownership before calling it.
type Biometrics interface {
	// Enrol builds or updates the customer's voiceprint from the caller's
	// audio of callID. It must itself refuse a customer without consent.
	Enrol(ctx context.Context, customerID, callID, actor string) error
	// Erase removes every copy of the customer's voiceprint (store, index,
	// caches) and withdraws consent, with an audit entry.
	Erase(ctx context.Context, customerID, actor string) error
}

// ErrNoCustomer is returned by a Directory for an unknown customer.
var ErrNoCustomer = errors.New("agentapi: no such customer")

// CustomerFile is what an agent sees about a caller.
type CustomerFile struct {
	ID               string            `json:"id"`
	Name             string            `json:"name"`
	Segment          string            `json:"segment,omitempty"`
	VIP              bool              `json:"vip,omitempty"`
	Phones           []string          `json:"phones,omitempty"`
	PreferredAdvisor string            `json:"preferred_advisor,omitempty"`
	Notes            string            `json:"notes,omitempty"`
	Attributes       map[string]string `json:"attributes,omitempty"`
	Consent          *ConsentView      `json:"consent,omitempty"` // nil: no current consent to voice identification
	Recent           []InteractionView `json:"recent,omitempty"`  // newest first
}

// ConsentView is the customer's current consent to voice identification.
type ConsentView struct {
	GivenAt time.Time `json:"given_at"`
	Method  string    `json:"method"`
	GivenBy string    `json:"given_by,omitempty"`
}

// InteractionView is one past call in the customer file.
type InteractionView struct {
	CallID  string    `json:"call_id"`
	At      time.Time `json:"at"`
	Queue   string    `json:"queue,omitempty"`
	Agent   string    `json:"agent,omitempty"`
	Method  string    `json:"method,omitempty"`
	Outcome string    `json:"outcome,omitempty"`
	Notes   string    `json:"notes,omitempty"`
}

// WrapUp is the agent's summary of a finished call.
type WrapUp struct {
	CallID            string
	CustomerID        string // "" when the caller was not identified
	Agent             string
	Queue             string
	Start             time.Time // when the caller reached the switch (approximately: now - waited at offer)
	Answered          time.Time
	Ended             time.Time
	Method            string  // identification method at offer time
	Score             float64 // identification score at offer time
	IdentityConfirmed bool    // the agent pressed "identity confirmed"
	Disposition       string
	Notes             string
	// HandedTo is the agent the call was handed to, after a consultation
	// or blind ("queue NAME" for a blind transfer to a queue): this
	// wrap-up is the agent's part of the call, and the interaction
	// belongs to the agent who finished it.
	HandedTo string
}

var errUnknownAgent = routing.ErrUnknownAgent
