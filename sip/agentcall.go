package sip

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/voxdesk/voxdesk/call"
)

// Refusal is an error with the SIP status an agent's INVITE is refused
// with (WithAgentCalls).
type Refusal struct {
	Code   int
	Reason string
}

func (r *Refusal) Error() string { return "sip: refused: " + r.Reason }

// WithAgentCalls lets agents' phones place calls through the switch (a
// consultation before an attended transfer): an INVITE whose From user is
// an agent account (WithAccounts) is authenticated by digest against that
// account, wherever it comes from (401 without credentials, 403 with
// wrong ones; agent ids must not be callers' numbers), then route(agent,
// target), target the Request-URI user, returns the handler serving the
// call (its Caller is the agent, its Callee the target, it has no trunk)
// or an error: a *Refusal's status, else 403.
func WithAgentCalls(route func(ctx context.Context, agent, target string) (call.Handler, error)) Option {
	return func(s *Server) { s.onAgentCall = route }
}

// agentCall reports whether req comes from an agent's phone.
func (s *Server) agentCall(req *sip.Request) bool {
	if s.onAgentCall == nil || s.accounts == nil {
		return false
	}
	user := req.From().Address.User
	_, md5ok := s.accounts.SIPHA1(user, AlgorithmMD5)
	_, shaok := s.accounts.SIPHA1(user, AlgorithmSHA256)
	return md5ok || shaok
}

// routeAgentCall authenticates an agent's INVITE and asks the hook what
// serves it; when it returns false it has answered the INVITE.
func (s *Server) routeAgentCall(req *sip.Request, tx sip.ServerTransaction, log *slog.Logger) (string, call.Handler, bool) {
	user, ok := s.authorizeAgent(req, tx, log, req.From().Address.User)
	if !ok {
		return "", nil, false
	}
	target := req.Recipient.User
	if target == "" {
		s.refuse(tx, req, log, 404, "Not Found: no user in the Request-URI")
		return "", nil, false
	}
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	defer cancel()
	h, err := s.onAgentCall(ctx, user, target)
	if err != nil {
		ref := &Refusal{Code: 403, Reason: "Forbidden"}
		errors.As(err, &ref)
		log.Info("agent call refused", "agent", user, "target", target, "err", err)
		s.refuse(tx, req, log, ref.Code, ref.Reason)
		return "", nil, false
	}
	return user, h, true
}
