package agentapi

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/voxdesk/voxdesk/customer"
)

// CustomerStore is the part of customer.Store the store directory uses.
type CustomerStore interface {
	Customer(ctx context.Context, id string) (customer.Customer, error)
	CustomersByNumber(ctx context.Context, e164 string) ([]customer.Customer, error)
	RecentInteractions(ctx context.Context, customerID string, n int) ([]customer.Interaction, error)
	CurrentConsent(ctx context.Context, customerID string) (customer.Consent, error)
	SaveInteraction(ctx context.Context, in customer.Interaction) (customer.Interaction, error)
}

// RecentCalls is how many past interactions a customer file shows.
const RecentCalls = 5

// StoreDirectory is a Directory over the customer store.
type StoreDirectory struct {
	Store CustomerStore
}

var _ Directory = StoreDirectory{}

// File returns the customer's file with the latest interactions and the
// current consent.
func (d StoreDirectory) File(ctx context.Context, id string) (CustomerFile, error) {
	c, err := d.Store.Customer(ctx, id)
	if errors.Is(err, customer.ErrNotFound) {
		return CustomerFile{}, fmt.Errorf("%w: %q", ErrNoCustomer, id)
	}
	if err != nil {
		return CustomerFile{}, fmt.Errorf("agentapi: customer %q: %w", id, err)
	}
	return d.file(ctx, c)
}

func (d StoreDirectory) file(ctx context.Context, c customer.Customer) (CustomerFile, error) {
	f := CustomerFile{
		ID: c.ID, Name: c.Name, Segment: c.Segment, VIP: c.VIP, Phones: c.Phones,
		PreferredAdvisor: c.PreferredAdvisor, Notes: c.Notes, Attributes: c.Attributes,
	}
	ins, err := d.Store.RecentInteractions(ctx, c.ID, RecentCalls)
	if err != nil {
		return CustomerFile{}, fmt.Errorf("agentapi: interactions of %q: %w", c.ID, err)
	}
	for _, in := range ins {
		f.Recent = append(f.Recent, InteractionView{
			CallID: in.CallID, At: in.StartedAt, Queue: in.Queue, Agent: in.Agent,
			Method: string(in.Method), Outcome: in.Outcome, Notes: in.Notes,
		})
	}
	cons, err := d.Store.CurrentConsent(ctx, c.ID)
	switch {
	case err == nil:
		f.Consent = &ConsentView{GivenAt: cons.GivenAt, Method: string(cons.Method), GivenBy: cons.GivenBy}
	case !errors.Is(err, customer.ErrNoConsent):
		return CustomerFile{}, fmt.Errorf("agentapi: consent of %q: %w", c.ID, err)
	}
	return f, nil
}

// Lookup finds a customer by id, or the customers holding an E.164
// number.
func (d StoreDirectory) Lookup(ctx context.Context, q string) ([]CustomerFile, error) {
	var found []customer.Customer
	if customer.IsE164(q) {
		cs, err := d.Store.CustomersByNumber(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("agentapi: lookup %s: %w", q, err)
		}
		found = cs
	} else {
		c, err := d.Store.Customer(ctx, q)
		switch {
		case errors.Is(err, customer.ErrNotFound):
		case err != nil:
			return nil, fmt.Errorf("agentapi: lookup %q: %w", q, err)
		default:
			found = append(found, c)
		}
	}
	var out []CustomerFile
	for _, c := range found {
		f, err := d.file(ctx, c)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// RecordWrapUp saves the call's interaction with the disposition and
// notes, keeping what another writer (the service, at hang-up) already
// stored for the call. A call handed from one agent to another after a
// consultation has one interaction: it belongs to the agent who finished
// the call (agent, disposition), and the notes keep, first, the part of
// the agent who handed it over ("[ann, before transfer to bob: sale] ..."),
// whichever wrap-up is saved first. Without a customer the earlier
// wrap-up of the call cannot be looked up: the last one saved stands.
func (d StoreDirectory) RecordWrapUp(ctx context.Context, w WrapUp) error {
	in := customer.Interaction{
		CallID: w.CallID, CustomerID: w.CustomerID, StartedAt: w.Start, AnsweredAt: w.Answered, EndedAt: w.Ended,
		Queue: w.Queue, Agent: w.Agent, Method: customer.IDNone, Score: w.Score,
	}
	var notes []string
	switch m := customer.IDMethod(w.Method); m {
	case customer.IDNone, customer.IDVoice, customer.IDNumber, customer.IDPIN:
		in.Method = m
	case "":
	default:
		notes = append(notes, "[identified by "+w.Method+"]")
		in.Score = 0
	}
	var prev *customer.Interaction // saved before by another agent of the call
	if w.CustomerID != "" {
		recent, err := d.Store.RecentInteractions(ctx, w.CustomerID, 50)
		if err != nil {
			return fmt.Errorf("agentapi: wrap-up %s: %w", w.CallID, err)
		}
		for _, p := range recent {
			if p.CallID == w.CallID {
				in.ID, in.StartedAt, in.AnsweredAt = p.ID, p.StartedAt, p.AnsweredAt
				if !p.EndedAt.IsZero() {
					in.EndedAt = p.EndedAt
				}
				if p.Method != "" && p.Method != customer.IDNone {
					in.Method, in.Score = p.Method, p.Score
				}
				if p.Agent != "" && p.Agent != w.Agent {
					prev = &p
				}
			}
		}
	}
	if w.IdentityConfirmed {
		notes = append(notes, "[identity confirmed by agent]")
	}
	if w.Notes != "" {
		notes = append(notes, w.Notes)
	}
	in.Outcome, in.Notes = w.Disposition, strings.Join(notes, " ")
	if prev != nil { // the call spans both agents' times
		in.AnsweredAt = earliest(w.Answered, prev.AnsweredAt)
		if w.Ended.After(prev.EndedAt) {
			in.EndedAt = w.Ended
		}
	}
	switch {
	case w.HandedTo != "":
		part, later := "["+w.Agent+", before transfer to "+w.HandedTo+": "+w.Disposition+"] "+in.Notes, ""
		if prev != nil { // the agent who took the call over saved first
			in.Agent, in.Outcome, in.Queue, later = prev.Agent, prev.Outcome, prev.Queue, prev.Notes
		}
		in.Notes = joinNotes(part, later)
	case prev != nil: // the agent who handed the call over saved first
		in.Notes = joinNotes(prev.Notes, in.Notes)
	}
	if _, err := d.Store.SaveInteraction(ctx, in); err != nil {
		return fmt.Errorf("agentapi: wrap-up %s: %w", w.CallID, err)
	}
	return nil
}

// joinNotes puts an earlier agent's notes before later ones, shortening
// them so the whole fits customer.MaxNotesLen: the earlier ones first,
// but never below their first minPart characters (the agent and the
// disposition), then the later ones.
func joinNotes(earlier, later string) string {
	const minPart = 200
	e, l := []rune(earlier), []rune(later)
	if len(e)+1+len(l) <= customer.MaxNotesLen {
		return strings.TrimSpace(earlier + " " + later)
	}
	keep := max(customer.MaxNotesLen-1-len(l), min(len(e), minPart))
	if keep < len(e) {
		e = append(e[:keep-1:keep-1], '…')
	}
	if room := customer.MaxNotesLen - 1 - len(e); len(l) > room {
		l = append(l[:room-1:room-1], '…')
	}
	return strings.TrimSpace(string(e) + " " + string(l))
}

// earliest of two times, ignoring zero ones.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}
