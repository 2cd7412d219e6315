package service

import (
	"context"
	"log/slog"
	"maps"
	"strings"

	"github.com/voxdesk/voxdesk/agentapi"
	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/customer"
)

// callbackLookup books the website's "call me back" requests with the
// customers the typed number belongs to, as identify does for a calling
// number: one customer is the call-back's customer (identified by number
// only, ident.method number), several are its candidates for the agent to
// pick from. A number the visitor typed proves nothing, so a customer
// vouched for by the website's token is never replaced.
type callbackLookup struct {
	agentapi.Callbacks
	db  *customer.DB
	log *slog.Logger
}

var _ agentapi.Callbacks = callbackLookup{}

func (l callbackLookup) Book(ctx context.Context, r agentapi.CallbackRequest) (string, error) {
	if r.Customer == "" && r.Phone != "" {
		cs, number, err := l.db.CustomersByTypedNumber(ctx, r.Phone, customer.NumberPlan{})
		switch {
		case err != nil:
			l.log.Warn("call-back: customers of the typed number", "err", err)
		case len(cs) > 0:
			ids := make([]string, len(cs))
			for i, c := range cs {
				ids[i] = c.ID
			}
			r.Vars = maps.Clone(r.Vars)
			if r.Vars == nil {
				r.Vars = map[string]string{}
			}
			r.Vars[call.VarCandidates] = strings.Join(ids, ",")
			if len(cs) == 1 {
				r.Customer = cs[0].ID
				r.Vars[call.VarCustomer] = cs[0].ID
				r.Vars[call.VarIdentMethod] = string(call.MethodNumber)
			}
			l.log.Info("call-back: typed number known", "number", number, "customers", len(cs), "customer", r.Customer)
		}
	}
	return l.Callbacks.Book(ctx, r)
}
