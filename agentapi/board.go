package agentapi

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/coder/websocket"
)

// boardConn is one open wallboard page; media is its supervisor audio
// (monitor.go).
type boardConn struct {
	*sock
	acct  *Account
	media boardMedia
}

func (s *Server) handleBoardWS(w http.ResponseWriter, r *http.Request) {
	sess := s.authorized(w, r, RoleSupervisor, false)
	if sess == nil {
		return
	}
	if s.boarder == nil {
		writeError(w, http.StatusServiceUnavailable, "wallboard not configured")
		return
	}
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	ws.SetReadLimit(MaxMessageBytes)
	b := &boardConn{sock: newSock(s.life, ws), acct: sess.acct}
	b.media.id = newPageID()
	if !s.goTracked(func() { b.run(func() { s.serveBoard(b) }) }) {
		b.finish()
	}
}

func (s *Server) serveBoard(b *boardConn) {
	s.mu.Lock()
	s.boards[b] = struct{}{}
	closing := s.closing
	s.mu.Unlock()
	if closing {
		b.close("switch shutting down")
	}
	defer func() {
		s.mu.Lock()
		delete(s.boards, b)
		s.mu.Unlock()
		s.boardClosed(b)
	}()
	s.m.pages.WithLabelValues("board").Inc()
	defer s.m.pages.WithLabelValues("board").Dec()
	s.boardOpened(b)
	s.requestBoard()
	// The page sends the signalling of its supervisor audio, if any.
	for {
		msg, err := b.read()
		if err != nil {
			return
		}
		s.boardMessage(b, msg)
	}
}

// requestBoard asks the board loop for a refresh now.
func (s *Server) requestBoard() {
	select {
	case s.refresh <- struct{}{}:
	default:
	}
}

// boardLoop polls the Boarder, pushes each snapshot to the wallboards and
// each agent's own state to their page, until the server closes.
func (s *Server) boardLoop() {
	t := time.NewTicker(s.cfg.BoardInterval)
	defer t.Stop()
	for {
		select {
		case <-s.life.Done():
			return
		case <-t.C:
		case <-s.refresh:
		}
		ctx, cancel := context.WithTimeout(s.life, s.cfg.BoardInterval)
		b, err := s.boarder.Board(ctx)
		cancel()
		if err != nil {
			if s.life.Err() == nil {
				s.log.Warn("wallboard snapshot", "err", err)
			}
			continue
		}
		s.occ.fill(&b, s.now())
		s.publish(b)
	}
}

func (s *Server) publish(b Board) {
	msg, err := json.Marshal(ServerMessage{Type: "board", Board: &b})
	if err != nil {
		s.log.Error("encode board", "err", err)
		return
	}
	s.mu.Lock()
	boards := make([]*boardConn, 0, len(s.boards))
	for bc := range s.boards {
		boards = append(boards, bc)
	}
	agents := make(map[string]*agentConn, len(s.agents))
	for id, c := range s.agents {
		agents[id] = c
	}
	s.mu.Unlock()
	for _, bc := range boards {
		bc.offer(msg)
	}
	for _, a := range b.Agents {
		if c := agents[a.ID]; c != nil && a.State != "" {
			c.setState(a.State, a.Reason, a.Until)
		}
	}
}
