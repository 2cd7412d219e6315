package agentapi

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// closeGrace is how long a closing handshake may wait for the page before
// the socket is dropped.
const closeGrace = time.Second

// sock is one page's WebSocket with an outbound queue. Its writer
// goroutine owns writing and the closing handshake; close may be called
// from anywhere and never blocks.
type sock struct {
	ws      *websocket.Conn
	out     chan []byte
	quit    chan struct{}
	once    sync.Once
	reason  string // set once, by close
	rctx    context.Context
	rcancel context.CancelFunc
	kill    *time.Timer
}

func newSock(parent context.Context, ws *websocket.Conn) *sock {
	s := &sock{ws: ws, out: make(chan []byte, outQueue), quit: make(chan struct{})}
	s.rctx, s.rcancel = context.WithCancel(parent)
	return s
}

// read returns the next message from the page.
func (s *sock) read() ([]byte, error) {
	_, b, err := s.ws.Read(s.rctx)
	return b, err
}

// sendJSON queues v for the page. A page that stops reading is
// disconnected rather than allowed to stall the switch.
func (s *sock) sendJSON(v any) bool {
	b, err := json.Marshal(v)
	if err != nil {
		return false
	}
	select {
	case <-s.quit:
		return false
	default:
	}
	select {
	case s.out <- b:
		return true
	default:
		s.close("too slow")
		return false
	}
}

// offer queues b unless the queue is full (for snapshots that the next
// one replaces).
func (s *sock) offer(b []byte) {
	select {
	case s.out <- b:
	default:
	}
}

// close asks the writer to flush and close the socket with reason; a page
// that does not complete the handshake within closeGrace is dropped.
func (s *sock) close(reason string) {
	s.once.Do(func() {
		s.reason = reason
		close(s.quit)
		s.kill = time.AfterFunc(closeGrace, s.rcancel)
	})
}

// finish releases the socket once its reader and writer have returned.
func (s *sock) finish() {
	s.close("bye")
	s.kill.Stop()
	s.rcancel()
	_ = s.ws.CloseNow()
}

// writer writes queued messages until close, then flushes the queue and
// closes the socket, which also ends the reader.
func (s *sock) writer() {
	write := func(b []byte) error {
		ctx, cancel := context.WithTimeout(s.rctx, writeTimeout)
		defer cancel()
		return s.ws.Write(ctx, websocket.MessageText, b)
	}
	for {
		select {
		case b := <-s.out:
			if err := write(b); err != nil {
				s.close("write failed")
				s.rcancel()
				return
			}
		case <-s.quit:
		flush:
			for {
				select {
				case b := <-s.out:
					if write(b) != nil {
						break flush
					}
				default:
					break flush
				}
			}
			_ = s.ws.Close(websocket.StatusGoingAway, s.reason)
			s.rcancel()
			return
		}
	}
}

// run starts the writer, calls serve (the reader side) and, when serve
// returns, closes the socket and waits for the writer.
func (s *sock) run(serve func()) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.writer()
	}()
	defer func() {
		s.close("bye")
		wg.Wait()
		s.finish()
	}()
	serve()
}
