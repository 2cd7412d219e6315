package agentapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/voxdesk/voxdesk/customer"
)

// CallRecorder is the recording side of the calls in progress; the
// service implements it over the IVR's record steps and call.Taps.
type CallRecorder interface {
	// RecordingState says whether the call is recorded ("on"), may be
	// (ready: the caller was told and the agent starts it) or not ("").
	RecordingState(callID string) string
	// StartRecording records the call from now on. It returns an error
	// wrapping customer.ErrNotTold when the caller was not told the call
	// is recorded.
	StartRecording(ctx context.Context, callID, actor string) error
}

// WithRecordings serves the call recordings of the customer file from
// store, and the agent's "record" button through live (nil: no button).
func WithRecordings(store customer.RecordingStore, live CallRecorder) Option {
	return func(s *Server) { s.rec = &recordingAPI{store: store, live: live} }
}

type recordingAPI struct {
	store customer.RecordingStore
	live  CallRecorder
}

// RecordingView is one recording in the customer file.
type RecordingView struct {
	ID       string    `json:"id"`
	CallID   string    `json:"call_id"`
	Customer string    `json:"customer,omitempty"`
	Started  time.Time `json:"started"`
	Seconds  float64   `json:"seconds"`
	Channels int       `json:"channels"`
	Notice   string    `json:"notice"`    // what told the caller
	NoticeBy string    `json:"notice_by"` // the flow that told them
}

func recordingView(r customer.Recording) RecordingView {
	return RecordingView{ID: r.ID, CallID: r.CallID, Customer: r.CustomerID, Started: r.StartedAt,
		Seconds: r.Duration.Seconds(), Channels: r.Channels, Notice: r.Notice, NoticeBy: r.NoticeBy}
}

func (s *Server) recordingRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /api/recordings", s.handleRecordingList)
	m.HandleFunc("GET /api/recordings/{id}", s.handleRecordingPlay)
	m.HandleFunc("DELETE /api/recordings/{id}", s.handleRecordingErase)
	m.HandleFunc("GET /api/agent/calls/{call}/recording", s.handleRecordingState)
	m.HandleFunc("POST /api/agent/calls/{call}/record", s.handleRecordingStart)
}

// actorOf names a user in the audit log: role:id.
func actorOf(sess *session) string { return string(sess.acct.Role) + ":" + sess.acct.ID }

// recordingSession returns the request's session when recordings are
// served and it has at least role min.
func (s *Server) recordingSession(w http.ResponseWriter, r *http.Request, min Role, csrf bool) *session {
	sess := s.authorized(w, r, min, csrf)
	if sess != nil && s.rec == nil {
		writeError(w, http.StatusServiceUnavailable, "call recording not configured")
		return nil
	}
	return sess
}

// handles reports whether the agent has a call (ringing, talking or in
// wrap-up) that is callID or whose customer is customerID.
func (s *Server) handles(agentID, customerID, callID string) bool {
	c := s.agent(agentID)
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, ac := range c.calls {
		if callID != "" && id == callID {
			return true
		}
		if customerID != "" && (ac.offer.Customer == customerID || ac.file != nil && ac.file.ID == customerID) {
			return true
		}
	}
	return false
}

// mayHear decides whether sess may list, play or erase a recording of
// customerID made in callID: supervisors and admins may; an agent only
// while handling that customer or call. A refusal is written (403) and
// audited.
func (s *Server) mayHear(ctx context.Context, w http.ResponseWriter, sess *session, id, customerID, callID string) bool {
	if sess.acct.Role.atLeast(RoleSupervisor) || s.handles(sess.acct.ID, customerID, callID) {
		return true
	}
	why := "an agent hears the recordings of the customer or call they are handling only"
	if err := s.rec.store.RefuseRecording(ctx, id, customerID, actorOf(sess), why); err != nil {
		s.log.Error("recording refusal not audited", "actor", actorOf(sess), "recording", id, "err", err)
	}
	s.log.Info("recording access refused", "audit", true, "actor", actorOf(sess), "recording", id, "customer", customerID, "call_id", callID)
	writeError(w, http.StatusForbidden, why)
	return false
}

// handleRecordingList: GET /api/recordings?customer=ID or ?call=CALLID.
func (s *Server) handleRecordingList(w http.ResponseWriter, r *http.Request) {
	sess := s.recordingSession(w, r, RoleAgent, false)
	if sess == nil {
		return
	}
	q := customer.RecordingQuery{CustomerID: r.URL.Query().Get("customer"), CallID: r.URL.Query().Get("call")}
	if (q.CustomerID == "") == (q.CallID == "") ||
		checkText("customer", q.CustomerID, maxIDLen, false) != nil || checkText("call", q.CallID, maxIDLen, false) != nil {
		writeError(w, http.StatusBadRequest, "give one customer id (customer=) or one call id (call=)")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), opTimeout)
	defer cancel()
	if !s.mayHear(ctx, w, sess, "", q.CustomerID, q.CallID) {
		return
	}
	list, err := s.rec.store.Recordings(ctx, q, actorOf(sess))
	if err != nil {
		s.log.Error("recordings list", "actor", actorOf(sess), "err", err)
		writeError(w, http.StatusInternalServerError, "recordings unreadable")
		return
	}
	out := make([]RecordingView, 0, len(list))
	for _, rec := range list {
		out = append(out, recordingView(rec))
	}
	writeJSON(w, http.StatusOK, out)
}

// recordingFor reads the {id} recording's metadata, answering 400 or 404
// itself.
func (s *Server) recordingFor(ctx context.Context, w http.ResponseWriter, r *http.Request) (customer.Recording, bool) {
	id := r.PathValue("id")
	if checkText("id", id, maxIDLen, false) != nil || !strings.HasPrefix(id, "rec-") {
		writeError(w, http.StatusBadRequest, "bad recording id (like rec-0123...)")
		return customer.Recording{}, false
	}
	rec, err := s.rec.store.RecordingInfo(ctx, id)
	if errors.Is(err, customer.ErrNotFound) {
		writeError(w, http.StatusNotFound, "no such recording")
		return customer.Recording{}, false
	}
	if err != nil {
		s.log.Error("recording info", "recording", id, "err", err)
		writeError(w, http.StatusInternalServerError, "recording unreadable")
		return customer.Recording{}, false
	}
	return rec, true
}

// handleRecordingPlay serves one recording as audio/wav, opened from its
// seal; every play is audited.
func (s *Server) handleRecordingPlay(w http.ResponseWriter, r *http.Request) {
	sess := s.recordingSession(w, r, RoleAgent, false)
	if sess == nil {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), opTimeout)
	defer cancel()
	info, ok := s.recordingFor(ctx, w, r)
	if !ok || !s.mayHear(ctx, w, sess, info.ID, info.CustomerID, info.CallID) {
		return
	}
	rec, wav, err := s.rec.store.OpenRecording(ctx, info.ID, actorOf(sess))
	if err != nil {
		s.log.Error("recording open", "recording", info.ID, "err", err)
		writeError(w, http.StatusInternalServerError, "recording unreadable")
		return
	}
	s.log.Info("recording played", "audit", true, "actor", actorOf(sess), "recording", rec.ID, "call_id", rec.CallID, "customer", rec.CustomerID)
	h := w.Header()
	h.Set("Content-Type", "audio/wav")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(wav)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(wav)
}

// handleRecordingErase erases one recording: supervisors and admins.
func (s *Server) handleRecordingErase(w http.ResponseWriter, r *http.Request) {
	sess := s.recordingSession(w, r, RoleAgent, true)
	if sess == nil {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), opTimeout)
	defer cancel()
	info, ok := s.recordingFor(ctx, w, r)
	if !ok {
		return
	}
	if !sess.acct.Role.atLeast(RoleSupervisor) {
		why := "only a supervisor or an admin erases a recording"
		if err := s.rec.store.RefuseRecording(ctx, info.ID, info.CustomerID, actorOf(sess), why); err != nil {
			s.log.Error("recording refusal not audited", "recording", info.ID, "err", err)
		}
		writeError(w, http.StatusForbidden, why)
		return
	}
	if err := s.rec.store.DeleteRecording(ctx, info.ID, actorOf(sess)); err != nil {
		if errors.Is(err, customer.ErrNotFound) {
			writeError(w, http.StatusNotFound, "no such recording")
			return
		}
		s.log.Error("recording erase", "recording", info.ID, "err", err)
		writeError(w, http.StatusInternalServerError, "erase failed")
		return
	}
	s.log.Info("recording erased", "audit", true, "actor", actorOf(sess), "recording", info.ID, "call_id", info.CallID)
	writeJSON(w, http.StatusOK, struct {
		Erased string `json:"erased"`
	}{info.ID})
}

// heldCall checks the {call} of the request is one the agent is on
// (talking or in wrap-up), answering 400 or 404 itself.
func (s *Server) heldCall(w http.ResponseWriter, r *http.Request, sess *session) (string, bool) {
	callID := r.PathValue("call")
	if checkText("call", callID, maxIDLen, false) != nil || callID == "" {
		writeError(w, http.StatusBadRequest, "bad call id")
		return "", false
	}
	c := s.agent(sess.acct.ID)
	if c == nil {
		writeError(w, http.StatusNotFound, "you are not on call "+callID)
		return "", false
	}
	if _, err := c.call(callID, phaseTalking, phaseWrapUp); err != nil {
		writeError(w, http.StatusNotFound, "you are not on call "+callID)
		return "", false
	}
	return callID, true
}

type recordingState struct {
	Call  string `json:"call"`
	State string `json:"state"` // on, ready or "" (not told: not recordable)
}

// handleRecordingState: GET /api/agent/calls/{call}/recording.
func (s *Server) handleRecordingState(w http.ResponseWriter, r *http.Request) {
	sess := s.recordingSession(w, r, RoleAgent, false)
	if sess == nil {
		return
	}
	callID, ok := s.heldCall(w, r, sess)
	if !ok {
		return
	}
	st := ""
	if s.rec.live != nil {
		st = s.rec.live.RecordingState(callID)
	}
	writeJSON(w, http.StatusOK, recordingState{Call: callID, State: st})
}

// handleRecordingStart: POST /api/agent/calls/{call}/record, the agent's
// "record" button. A call whose caller was not told is refused (409)
// and nothing is recorded.
func (s *Server) handleRecordingStart(w http.ResponseWriter, r *http.Request) {
	sess := s.recordingSession(w, r, RoleAgent, true)
	if sess == nil {
		return
	}
	callID, ok := s.heldCall(w, r, sess)
	if !ok {
		return
	}
	if s.rec.live == nil {
		writeError(w, http.StatusServiceUnavailable, "live call recording not configured")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), opTimeout)
	defer cancel()
	err := s.rec.live.StartRecording(ctx, callID, actorOf(sess))
	switch {
	case errors.Is(err, customer.ErrNotTold):
		s.log.Info("recording refused: caller not told", "actor", actorOf(sess), "call_id", callID)
		writeError(w, http.StatusConflict, "the caller was not told this call is recorded (no recording notice was played): it cannot be recorded")
		return
	case err != nil:
		s.log.Error("recording start", "call_id", callID, "err", err)
		writeError(w, http.StatusInternalServerError, "recording not started")
		return
	}
	s.log.Info("recording started by agent", "actor", actorOf(sess), "call_id", callID)
	writeJSON(w, http.StatusOK, recordingState{Call: callID, State: s.rec.live.RecordingState(callID)})
}
