package agentapi

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/voxdesk/voxdesk/customer"
)

// handleAdminLookup finds customers by id or E.164 number:
// GET /api/admin/customers?q=...
func (s *Server) handleAdminLookup(w http.ResponseWriter, r *http.Request) {
	s.lookup(w, r, RoleAdmin)
}

// handleAgentLookup is the same lookup for agents, to call a customer
// from their file: GET /api/customers?q=... (each lookup logged).
func (s *Server) handleAgentLookup(w http.ResponseWriter, r *http.Request) {
	s.lookup(w, r, RoleAgent)
}

func (s *Server) lookup(w http.ResponseWriter, r *http.Request, min Role) {
	sess := s.authorized(w, r, min, false)
	if sess == nil {
		return
	}
	if s.dir == nil {
		writeError(w, http.StatusServiceUnavailable, "customer directory not configured")
		return
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if err := checkText("q", q, maxIDLen, false); err != nil || q == "" {
		writeError(w, http.StatusBadRequest, "give a customer id or an E.164 number in q")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), opTimeout)
	defer cancel()
	files, err := s.dir.Lookup(ctx, q)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "lookup failed")
		s.log.Error("admin lookup", "err", err)
		return
	}
	if files == nil {
		files = []CustomerFile{}
	}
	s.log.Info("customer lookup", "actor", sess.acct.ID, "role", sess.acct.Role, "found", len(files))
	writeJSON(w, http.StatusOK, files)
}

// handleAdminErase erases a customer's biometric data:
// POST /api/admin/customers/{id}/erase-biometrics (CSRF token required).
func (s *Server) handleAdminErase(w http.ResponseWriter, r *http.Request) {
	sess := s.authorized(w, r, RoleAdmin, true)
	if sess == nil {
		return
	}
	if s.bio == nil {
		writeError(w, http.StatusServiceUnavailable, "biometrics not configured")
		return
	}
	id := r.PathValue("id")
	if err := checkText("id", id, maxIDLen, false); err != nil || id == "" {
		writeError(w, http.StatusBadRequest, "bad customer id")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), opTimeout)
	defer cancel()
	actor := "admin:" + sess.acct.ID
	if err := s.bio.Erase(ctx, id, actor); err != nil {
		if errors.Is(err, ErrNoCustomer) || errors.Is(err, customer.ErrNotFound) {
			writeError(w, http.StatusNotFound, "no such customer")
			return
		}
		s.log.Error("erase biometrics", "customer", id, "actor", actor, "err", err)
		writeError(w, http.StatusInternalServerError, "erase failed")
		return
	}
	s.log.Info("biometrics erased", "customer", id, "actor", actor)
	writeJSON(w, http.StatusOK, struct {
		Erased string `json:"erased"`
	}{id})
}
