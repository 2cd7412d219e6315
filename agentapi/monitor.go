package agentapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/routing"
	"github.com/voxdesk/voxdesk/rtc"
)

// CallFinder finds the call an agent is talking on, for supervisors who
// listen, whisper or barge in; *routing.Router implements it. It fails
// with an error wrapping routing.ErrUnknownAgent or routing.ErrNotTalking.
type CallFinder interface {
	TalkingCall(ctx context.Context, agentID string) (*call.Call, error)
}

// WithMonitor lets supervisors on the wallboard listen to, whisper to and
// barge into agents' calls, found by f (WithRTC is needed too: the
// supervisor's audio is a WebRTC leg from the wallboard page).
func WithMonitor(f CallFinder) Option { return func(s *Server) { s.mon.finder = f } }

// MonitorRequest is the body of POST /api/monitor.
type MonitorRequest struct {
	Agent string      `json:"agent"`
	Mode  MonitorMode `json:"mode"`
	// Board is the wallboard page whose audio the supervisor uses, as its
	// "hello" gave it; empty: the supervisor's only wallboard with audio.
	Board string `json:"board,omitempty"`
}

// MonitorView is a supervisor's place in an agent's call, as pages see
// it. Mode "" means it ended (Reason says why) or, on the agent's page,
// that the agent is no longer heard by the supervisor.
type MonitorView struct {
	Call           string      `json:"call"`
	Agent          string      `json:"agent,omitempty"`
	Supervisor     string      `json:"supervisor,omitempty"`
	SupervisorName string      `json:"supervisor_name,omitempty"`
	Mode           MonitorMode `json:"mode"`
	Reason         string      `json:"reason,omitempty"`
}

// monitors are the supervisors on calls. One supervisor per call: a
// second is refused, so an agent is never coached by two voices at once
// and every whisper has one author in the audit log; the first leaves to
// hand over.
type monitors struct {
	finder CallFinder
	mu     sync.Mutex
	byCall map[string]*monitor
	bySup  map[string]*monitor
}

// boardMedia is a wallboard page's audio: one PeerConnection for the
// page's life, made when the page first sends an SDP offer.
type boardMedia struct {
	id   string // random: names the page in MonitorRequest.Board
	mu   sync.Mutex
	sess *rtc.Session
}

// monitorError is a refused monitor request: its HTTP status and words.
type monitorError struct {
	status int
	msg    string
	label  string // metric label of the refusal
}

func (e *monitorError) Error() string { return e.msg }

func refuse(status int, label, format string, args ...any) *monitorError {
	return &monitorError{status: status, label: label, msg: fmt.Sprintf(format, args...)}
}

// boardOpened greets a wallboard page that may monitor calls with its
// page id and the ICE servers for its audio.
func (s *Server) boardOpened(b *boardConn) {
	if s.mon.finder == nil || s.rtc == nil {
		return
	}
	b.sendJSON(ServerMessage{Type: "hello", Agent: ptr(viewOf(b.acct)), Page: b.media.id, ICEServers: s.rtc.ICEServers(b.acct.ID)})
}

// newPageID names a wallboard page.
func newPageID() string {
	var raw [8]byte
	_, _ = rand.Read(raw[:])
	return hex.EncodeToString(raw[:])
}

// boardMessage handles one message of a wallboard page: its WebRTC
// signalling (the supervisor's audio) and pings.
func (s *Server) boardMessage(b *boardConn, raw []byte) {
	m, err := ParseClientMessage(raw)
	if err == nil && m.Type != MsgSignal && m.Type != MsgPing {
		err = badf("%q is not a wallboard message (signal or ping)", m.Type)
	}
	if err == nil && m.Type == MsgSignal {
		var rs *rtc.Session
		if rs, err = s.boardSession(b); err == nil {
			err = rs.HandleSignal(*m.Signal)
		}
	}
	switch {
	case errors.Is(err, ErrBadMessage):
		s.m.badMessages.WithLabelValues("board").Inc()
		fallthrough
	case err != nil:
		b.sendJSON(ServerMessage{Type: "error", ID: m.ID, Error: err.Error()})
	case m.ID != 0:
		b.sendJSON(ServerMessage{Type: "ok", ID: m.ID})
	}
}

// boardSession returns the page's WebRTC session, made on first use and
// made again after the last one ended (ICE failed: the page offers anew).
func (s *Server) boardSession(b *boardConn) (*rtc.Session, error) {
	if s.mon.finder == nil || s.rtc == nil {
		return nil, errors.New("agentapi: supervisor audio is not configured")
	}
	b.media.mu.Lock()
	defer b.media.mu.Unlock()
	if rs := b.media.sess; rs != nil {
		select {
		case <-rs.Done():
			rs.Close()
		default:
			return rs, nil
		}
	}
	rs, err := s.rtc.NewSession("board-"+b.acct.ID, func(sig rtc.Signal) {
		b.sendJSON(ServerMessage{Type: "signal", Signal: &sig})
	})
	if err != nil {
		return nil, fmt.Errorf("agentapi: supervisor audio: %w", err)
	}
	b.media.sess = rs
	return rs, nil
}

// boardClosed ends the page's audio, and with it the page's monitor.
func (s *Server) boardClosed(b *boardConn) {
	b.media.mu.Lock()
	rs := b.media.sess
	b.media.sess = nil
	b.media.mu.Unlock()
	if rs != nil {
		rs.Close()
	}
}

// supervisorBoard finds the supervisor's wallboard page with connected
// audio: the one named, or their only one.
func (s *Server) supervisorBoard(supID, pageID string) (*boardConn, *rtc.Session, *monitorError) {
	s.mu.Lock()
	var found []*boardConn
	for b := range s.boards {
		if b.acct.ID == supID && (pageID == "" || b.media.id == pageID) {
			found = append(found, b)
		}
	}
	s.mu.Unlock()
	var ready []*boardConn
	var sessions []*rtc.Session
	for _, b := range found {
		b.media.mu.Lock()
		rs := b.media.sess
		b.media.mu.Unlock()
		if rs == nil {
			continue
		}
		select {
		case <-rs.Done():
		case <-rs.Connected():
			ready, sessions = append(ready, b), append(sessions, rs)
		default:
		}
	}
	switch {
	case len(ready) == 1:
		return ready[0], sessions[0], nil
	case len(ready) > 1:
		return nil, nil, refuse(http.StatusConflict, "board", "you have %d wallboards with audio open: name one (board)", len(ready))
	case pageID != "" && len(found) == 0:
		return nil, nil, refuse(http.StatusNotFound, "board", "no wallboard %q of yours is open", pageID)
	}
	return nil, nil, refuse(http.StatusConflict, "no-audio", "your wallboard's audio is not connected: open the wallboard and allow the microphone first")
}

// handleMonitor is POST /api/monitor: the supervisor listens to, whispers
// to or barges into the agent's call, or switches mode on it.
func (s *Server) handleMonitor(w http.ResponseWriter, r *http.Request) {
	sess := s.authorized(w, r, RoleSupervisor, true)
	if sess == nil {
		s.m.monitors.WithLabelValues("invalid", "refused-role").Inc()
		return
	}
	var req MonitorRequest
	err := readJSON(w, r, &req)
	var view MonitorView
	if err == nil {
		view, err = s.monitor(r.Context(), sess.acct, req)
	}
	if err != nil {
		status, label := http.StatusBadRequest, "bad-request"
		var me *monitorError
		if errors.As(err, &me) {
			status, label = me.status, me.label
		}
		mode := "invalid"
		if req.Mode.valid() {
			mode = string(req.Mode)
		}
		s.m.monitors.WithLabelValues(mode, "refused-"+label).Inc()
		s.log.Info("supervisor monitor refused", "supervisor", sess.acct.ID, "agent", req.Agent, "mode", req.Mode, "status", status, "err", err)
		writeError(w, status, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, view)
}

// monitor starts or switches the supervisor's monitor of req.Agent's call.
func (s *Server) monitor(ctx context.Context, sup *Account, req MonitorRequest) (MonitorView, error) {
	switch {
	case s.mon.finder == nil || s.rtc == nil:
		return MonitorView{}, refuse(http.StatusServiceUnavailable, "unconfigured", "listening to calls is not configured on this switch")
	case req.Agent == "" || len(req.Agent) > maxIDLen:
		return MonitorView{}, refuse(http.StatusBadRequest, "bad-request", "agent: want the id of an agent on a call")
	case !req.Mode.valid():
		return MonitorView{}, refuse(http.StatusBadRequest, "bad-mode", "unknown mode %q: want listen, whisper or barge", req.Mode)
	case req.Agent == sup.ID:
		return MonitorView{}, refuse(http.StatusBadRequest, "bad-request", "you cannot monitor your own call")
	}
	fctx, cancel := context.WithTimeout(ctx, opTimeout)
	c, err := s.mon.finder.TalkingCall(fctx, req.Agent)
	cancel()
	switch {
	case errors.Is(err, routing.ErrUnknownAgent):
		return MonitorView{}, refuse(http.StatusNotFound, "unknown-agent", "agent %q is not logged in", req.Agent)
	case errors.Is(err, routing.ErrNotTalking):
		return MonitorView{}, refuse(http.StatusConflict, "not-talking", "agent %q is not on a call", req.Agent)
	case err != nil:
		return MonitorView{}, refuse(http.StatusServiceUnavailable, "routing", "routing: %v", err)
	}
	s.mon.mu.Lock()
	cur, mine := s.mon.byCall[c.ID], s.mon.bySup[sup.ID]
	switch {
	case cur != nil && cur.sup.ID != sup.ID:
		s.mon.mu.Unlock()
		return MonitorView{}, refuse(http.StatusConflict, "taken", "supervisor %s is already on this call", cur.sup.Name)
	case cur != nil: // the same supervisor switches mode
		s.mon.mu.Unlock()
		old := cur.Mode()
		cur.setMode(req.Mode)
		cur.log.Info("supervisor monitor mode", "from", old, "mode", req.Mode)
		s.m.monitors.WithLabelValues(string(req.Mode), "switched").Inc()
		s.tellAgent(cur)
		return cur.view(), nil
	}
	s.mon.mu.Unlock()
	board, rs, merr := s.supervisorBoard(sup.ID, req.Board)
	if merr != nil {
		return MonitorView{}, merr
	}
	if mine != nil { // on another call: leave it first
		mine.stop("the supervisor moved to another call")
		<-mine.done
	}
	leg, err := rs.Attach("monitor-" + c.ID)
	if err != nil {
		return MonitorView{}, refuse(http.StatusConflict, "busy", "your wallboard's audio is busy: %v", err)
	}
	m, mctx := newMonitor(s.life, c, req.Agent, sup, board, leg, req.Mode)

	s.mon.mu.Lock()
	if other := s.mon.byCall[c.ID]; other != nil || s.mon.bySup[sup.ID] != nil {
		// Another request of the same moment won.
		s.mon.mu.Unlock()
		m.cancel()
		_ = leg.Hangup(ctx, call.CauseNormal)
		return MonitorView{}, refuse(http.StatusConflict, "taken", "another monitor of this call or by you started at the same moment")
	}
	if s.mon.byCall == nil {
		s.mon.byCall, s.mon.bySup = map[string]*monitor{}, map[string]*monitor{}
	}
	s.mon.byCall[c.ID], s.mon.bySup[sup.ID] = m, m
	s.mon.mu.Unlock()

	m.talking = func(ctx context.Context) bool {
		ctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		now, err := s.mon.finder.TalkingCall(ctx, req.Agent)
		if errors.Is(err, routing.ErrNotTalking) || errors.Is(err, routing.ErrUnknownAgent) {
			return false
		}
		return err != nil || now == c
	}
	m.remove = c.Taps.Add(m)
	if !s.goTracked(func() { m.run(mctx, func(why string) { s.monitorEnded(m, why) }) }) {
		m.cancel()
		m.remove()
		_ = leg.Hangup(ctx, call.CauseNormal)
		s.forgetMonitor(m)
		return MonitorView{}, refuse(http.StatusServiceUnavailable, "closing", "switch shutting down")
	}
	s.m.activeMonitors.Inc()
	s.m.monitors.WithLabelValues(string(req.Mode), "started").Inc()
	m.log.Info("supervisor monitor started", "mode", req.Mode)
	s.tellAgent(m)
	return m.view(), nil
}

func (m *monitor) view() MonitorView {
	return MonitorView{Call: m.c.ID, Agent: m.agent, Supervisor: m.sup.ID, SupervisorName: m.sup.Name, Mode: m.Mode()}
}

// tellAgent shows the agent's page whether the supervisor is heard: in
// whisper and barge (the agent hears them) the page shows who; silent
// listening is not shown, as in most contact centres (the caller's
// "calls may be monitored" notice covers it).
func (s *Server) tellAgent(m *monitor) {
	heard := m.Mode().heardByAgent()
	if !heard && !m.told.Load() {
		return
	}
	m.told.Store(heard)
	v := m.view()
	v.Agent, v.Supervisor = "", ""
	if !heard {
		v.Mode = ""
	}
	s.mu.Lock()
	c := s.agents[m.agent]
	s.mu.Unlock()
	if c != nil {
		c.send(ServerMessage{Type: "monitor", Call: m.c.ID, Monitor: &v})
	}
}

func (s *Server) forgetMonitor(m *monitor) {
	s.mon.mu.Lock()
	defer s.mon.mu.Unlock()
	if s.mon.byCall[m.c.ID] == m {
		delete(s.mon.byCall, m.c.ID)
	}
	if s.mon.bySup[m.sup.ID] == m {
		delete(s.mon.bySup, m.sup.ID)
	}
}

// monitorEnded runs when a monitor's goroutines are done.
func (s *Server) monitorEnded(m *monitor, why string) {
	s.forgetMonitor(m)
	s.m.activeMonitors.Dec()
	m.log.Info("supervisor monitor ended", "reason", why, "mode", m.Mode(), "duration", time.Since(m.started).Round(time.Millisecond))
	if m.told.Load() {
		m.setMode(ModeListen)
		s.tellAgent(m)
	}
	v := m.view()
	v.Mode, v.Reason = "", why
	m.board.sendJSON(ServerMessage{Type: "monitor", Call: m.c.ID, Monitor: &v})
}

// handleMonitorLeave is DELETE /api/monitor: the supervisor leaves the
// call they monitor.
func (s *Server) handleMonitorLeave(w http.ResponseWriter, r *http.Request) {
	sess := s.authorized(w, r, RoleSupervisor, true)
	if sess == nil {
		return
	}
	s.mon.mu.Lock()
	m := s.mon.bySup[sess.acct.ID]
	s.mon.mu.Unlock()
	if m == nil {
		writeError(w, http.StatusNotFound, "you are not on a call")
		return
	}
	m.stop("the supervisor left")
	select {
	case <-m.done:
	case <-r.Context().Done():
	}
	v := m.view()
	v.Mode, v.Reason = "", "the supervisor left"
	writeJSON(w, http.StatusOK, v)
}
