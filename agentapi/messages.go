package agentapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/voxdesk/voxdesk/rtc"
)

// Message types an agent's page sends over its WebSocket.
const (
	MsgState           = "state"            // State (+ Reason): the agent's state button
	MsgSignal          = "signal"           // Signal: WebRTC offer or ICE candidate
	MsgAnswer          = "answer"           // Call: answer the ringing call
	MsgDecline         = "decline"          // Call: decline the ringing call
	MsgHangup          = "hangup"           // Call: hang up (or decline while ringing)
	MsgHold            = "hold"             // Call, On: hold or resume
	MsgMute            = "mute"             // Call, On: mute or unmute the agent's microphone
	MsgTransfer        = "transfer"         // Call, Queue and/or Agent
	MsgConsult         = "consult"          // Call, Queue or Agent: hold the caller and consult (warm transfer)
	MsgConsultComplete = "consult_complete" // Call: put the caller through to the agent consulted
	MsgConsultCancel   = "consult_cancel"   // Call: end the consultation, back to the caller
	MsgWrapUp          = "wrapup"           // Call, Disposition, Notes
	MsgConfirmIdentity = "confirm_identity" // Call: the agent checked who the caller is
	MsgEnrol           = "enrol"            // Call: enrol the caller's voiceprint (consent needed)
	MsgDTMF            = "dtmf"             // Call, Digits: keypad tones to the far party
	MsgPickCustomer    = "pick_customer"    // Call, Customer: which of the number's customers is calling
	MsgDial            = "dial"             // Customer, Number: call a customer on a number of their file
	MsgPing            = "ping"             // keep-alive; answered with "ok"
	MsgRing            = "ring"             // Ring: where the agent's calls ring (browser, sip, both)
)

// Limits of the fields of a ClientMessage.
const (
	MaxMessageBytes = rtc.MaxSDPBytes + 8<<10
	maxIDLen        = 128
	maxReasonLen    = 200
	maxNotesLen     = 4000
	maxDigits       = 32
)

// e164 is an international number as the customer file holds them.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// keypadKeys are the keys a DTMF keypad has.
const keypadKeys = "0123456789*#ABCD"

// ClientMessage is one message from an agent's page. ID, when set, is
// echoed in the "ok" or "error" reply.
type ClientMessage struct {
	ID          int64       `json:"id,omitempty"`
	Type        string      `json:"type"`
	Call        string      `json:"call,omitempty"`
	State       string      `json:"state,omitempty"`
	Reason      string      `json:"reason,omitempty"`
	On          bool        `json:"on,omitempty"`
	Queue       string      `json:"queue,omitempty"`
	Agent       string      `json:"agent,omitempty"`
	Disposition string      `json:"disposition,omitempty"`
	Notes       string      `json:"notes,omitempty"`
	Digits      string      `json:"digits,omitempty"`
	Customer    string      `json:"customer,omitempty"`
	Number      string      `json:"number,omitempty"`
	Ring        string      `json:"ring,omitempty"`
	Signal      *rtc.Signal `json:"signal,omitempty"`
}

// ErrBadMessage is wrapped by every error about a malformed message.
var ErrBadMessage = errors.New("agentapi: bad message")

func badf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadMessage}, args...)...)
}

// ParseClientMessage decodes and validates one message from an agent's
// page. Unknown fields, unknown types, missing or oversized fields and
// control characters in text are refused with an error wrapping
// ErrBadMessage.
func ParseClientMessage(b []byte) (ClientMessage, error) {
	var m ClientMessage
	if len(b) > MaxMessageBytes {
		return m, badf("message of %d bytes exceeds %d", len(b), MaxMessageBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return ClientMessage{}, badf("%v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return ClientMessage{}, badf("trailing data after the JSON object")
	}
	if err := m.validate(); err != nil {
		return ClientMessage{}, err
	}
	return m, nil
}

func (m *ClientMessage) validate() error {
	needCall := false
	switch m.Type {
	case MsgPing:
	case MsgState:
		if m.State != "available" && m.State != "away" {
			return badf("state %q (want available or away)", m.State)
		}
	case MsgSignal:
		if m.Signal == nil {
			return badf("signal message without signal")
		}
		if err := m.Signal.Validate(); err != nil {
			return fmt.Errorf("%w: %w", ErrBadMessage, err)
		}
	case MsgAnswer, MsgDecline, MsgHangup, MsgHold, MsgMute, MsgConfirmIdentity, MsgEnrol, MsgWrapUp,
		MsgConsultComplete, MsgConsultCancel:
		needCall = true
	case MsgDTMF:
		needCall = true
		if m.Digits == "" {
			return badf("dtmf needs digits")
		}
		if n := utf8.RuneCountInString(m.Digits); n > maxDigits {
			return badf("%d digits at once (at most %d)", n, maxDigits)
		}
		for _, r := range m.Digits {
			if !strings.ContainsRune(keypadKeys, r) {
				return badf("%q is not a keypad key (0-9, *, #, A-D)", r)
			}
		}
	case MsgRing:
		if m.Ring != RingBrowser && m.Ring != RingSIP && m.Ring != RingBoth {
			return badf("ring %q (want browser, sip or both)", m.Ring)
		}
	case MsgPickCustomer:
		needCall = true
		if m.Customer == "" {
			return badf("pick_customer needs a customer")
		}
	case MsgDial:
		if m.Customer == "" {
			return badf("dial needs a customer")
		}
		if !e164.MatchString(m.Number) {
			return badf("dial: %q is not an E.164 number (+ and 7 to 15 digits)", m.Number)
		}
	case MsgTransfer:
		needCall = true
		if m.Queue == "" && m.Agent == "" {
			return badf("transfer needs a queue or an agent")
		}
	case MsgConsult:
		needCall = true
		if (m.Queue == "") == (m.Agent == "") {
			return badf("consult needs an agent or a queue (one of them)")
		}
	case "":
		return badf("missing type")
	default:
		return badf("unknown type %q", m.Type)
	}
	if needCall && m.Call == "" {
		return badf("%s needs a call id", m.Type)
	}
	for _, f := range []struct {
		name, v   string
		max       int
		multiline bool
	}{
		{"call", m.Call, maxIDLen, false},
		{"queue", m.Queue, maxIDLen, false},
		{"agent", m.Agent, maxIDLen, false},
		{"customer", m.Customer, maxIDLen, false},
		{"reason", m.Reason, maxReasonLen, false},
		{"disposition", m.Disposition, maxReasonLen, false},
		{"notes", m.Notes, maxNotesLen, true},
	} {
		if err := checkText(f.name, f.v, f.max, f.multiline); err != nil {
			return err
		}
	}
	return nil
}

// checkText refuses invalid UTF-8, overlong text and control characters
// (tabs and newlines only where multiline).
func checkText(name, s string, max int, multiline bool) error {
	if !utf8.ValidString(s) {
		return badf("%s is not valid UTF-8", name)
	}
	if n := utf8.RuneCountInString(s); n > max {
		return badf("%s is %d characters long (at most %d)", name, n, max)
	}
	for _, r := range s {
		if multiline && (r == '\n' || r == '\r' || r == '\t') {
			continue
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return badf("%s has control character %U", name, r)
		}
	}
	return nil
}

// ServerMessage is one message to a page. Type says which fields are set:
//
//	hello      Agent, State, Reason, ICEServers, Queues, Agents, Ring (where
//	           calls ring; only for agents with a SIP phone account)
//	state      State, Reason, Until (the agent's routing state changed;
//	           Until: when a wrap-up ends)
//	offer      Offer (a call rings, with the customer file)
//	cancel     Call, Reason (the offer was withdrawn)
//	dialling   Offer (the agent's outbound call, until connected or cancel)
//	missed     Missed (an offer the agent let ring out)
//	picked     Offer (the call's offer with the customer the agent picked
//	           among those sharing the number, and their file)
//	connected  Call (answered: audio flows)
//	ended      Call, Cause (the call is over: wrap-up)
//	wrapup     Offer (a call waiting for its wrap-up, carried over from the
//	           agent's previous page)
//	held/muted Call, On
//	consult    Call, State, Peer (a consultation: to the asking agent's
//	           page every routing.EventConsult reason, Peer the agent
//	           consulted; to the consulted agent's page "completed" (the
//	           call is theirs now) or "over" (ended without the caller;
//	           nothing to wrap up), Peer the asking agent)
//	signal     Signal (the switch's SDP answer or an ICE candidate)
//	ok         ID (the request with this id succeeded)
//	error      ID (0 if the message could not be parsed), Error
//	board      Board (wallboard pages)
type ServerMessage struct {
	Type       string          `json:"type"`
	ID         int64           `json:"id,omitempty"`
	Error      string          `json:"error,omitempty"`
	Agent      *AgentView      `json:"agent,omitempty"`
	State      string          `json:"state,omitempty"`
	Reason     string          `json:"reason,omitempty"`
	Offer      *OfferView      `json:"offer,omitempty"`
	Call       string          `json:"call,omitempty"`
	Cause      string          `json:"cause,omitempty"`
	On         *bool           `json:"on,omitempty"`
	Signal     *rtc.Signal     `json:"signal,omitempty"`
	ICEServers []rtc.ICEServer `json:"iceServers,omitempty"`
	Queues     []string        `json:"queues,omitempty"`
	Agents     []AgentView     `json:"agents,omitempty"`
	Board      *Board          `json:"board,omitempty"`
	Until      *time.Time      `json:"until,omitempty"`
	Peer       string          `json:"peer,omitempty"`
	Missed     *MissedView     `json:"missed,omitempty"`
	Ring       string          `json:"ring,omitempty"`
	Monitor    *MonitorView    `json:"monitor,omitempty"` // a supervisor on the call (monitor.go)
	Page       string          `json:"page,omitempty"`    // wallboard hello: the page's id for MonitorRequest.Board
}

// MissedView is an offer the agent let ring out, as their page lists it.
type MissedView struct {
	Call     string    `json:"call"`
	Queue    string    `json:"queue,omitempty"`
	Caller   string    `json:"caller,omitempty"`
	Customer string    `json:"customer,omitempty"`
	At       time.Time `json:"at"`
	// State is the agent's state after the miss (away after too many).
	State  string `json:"state,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// AgentView is an agent as pages show it.
type AgentView struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Role   Role   `json:"role,omitempty"`
	State  string `json:"state,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Wallboard only: since when the agent is in State, when a wrap-up
	// ends, the call offered or connected, calls handled since login.
	Since   time.Time `json:"since,omitzero"`
	Until   time.Time `json:"until,omitzero"`
	Call    string    `json:"call,omitempty"`
	Handled int       `json:"handled,omitempty"`
	// Occupancy over time (wallboard only, from routing events).
	Occupancy *Occupancy `json:"occupancy,omitempty"`
}
