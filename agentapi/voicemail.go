package agentapi

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// VoicemailFolder lists and opens the voicemails the IVR's voicemail
// steps write (ivr.VoicemailDir): DIR/BOX/20261123T090000Z-CALLID.wav.
// Only names of that form are listed or opened, so a request cannot reach
// any other file.
type VoicemailFolder struct {
	Dir string
	// Audit, when set, records each play in the store's audit log (who,
	// which message, when); a play it cannot record is refused. Nil: the
	// log line and the metric only.
	Audit VoicemailAudit
}

// VoicemailAudit records who played which voicemail message;
// *customer.DB implements it (audit action voicemail.play).
type VoicemailAudit interface {
	VoicemailPlayed(ctx context.Context, actor, customerID, box, message, callID, part string) error
}

// Voicemail is one message in the inbox.
type Voicemail struct {
	Box     string    `json:"box"`
	Name    string    `json:"name"` // file name, the message's id in its box
	CallID  string    `json:"call_id"`
	At      time.Time `json:"at"`
	Seconds float64   `json:"seconds"`
}

// maxVoicemails bounds the inbox listing (newest first).
const maxVoicemails = 500

var (
	voicemailBox  = regexp.MustCompile(`^[A-Za-z0-9_.+-]{1,128}$`)
	voicemailName = regexp.MustCompile(`^(\d{8}T\d{6}Z)-([A-Za-z0-9_.+-]{1,128})\.wav$`)
)

// ErrNoVoicemail is returned for a message that is not in the folder.
var ErrNoVoicemail = errors.New("agentapi: no such voicemail")

// checkVoicemail refuses a box or file name the voicemail step could not
// have written.
func checkVoicemail(box, name string) error {
	if !voicemailBox.MatchString(box) || box == "." || box == ".." {
		return fmt.Errorf("%w: box %q is not a voicemail box name", ErrBadMessage, box)
	}
	if !voicemailName.MatchString(name) {
		return fmt.Errorf("%w: %q is not a voicemail file name (like 20261123T090000Z-CALLID.wav)", ErrBadMessage, name)
	}
	return nil
}

// List returns the messages, newest first, at most maxVoicemails.
func (v VoicemailFolder) List() ([]Voicemail, error) {
	boxes, err := os.ReadDir(v.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // no message yet
	}
	if err != nil {
		return nil, fmt.Errorf("agentapi: voicemail folder: %w", err)
	}
	var out []Voicemail
	for _, b := range boxes {
		if !b.IsDir() || !voicemailBox.MatchString(b.Name()) {
			continue
		}
		files, err := os.ReadDir(filepath.Join(v.Dir, b.Name()))
		if err != nil {
			return nil, fmt.Errorf("agentapi: voicemail box %s: %w", b.Name(), err)
		}
		for _, f := range files {
			m := voicemailName.FindStringSubmatch(f.Name())
			if m == nil || !f.Type().IsRegular() {
				continue
			}
			at, err := time.Parse("20060102T150405Z", m[1])
			if err != nil {
				continue
			}
			info, err := f.Info()
			if err != nil {
				continue
			}
			// 8 kHz 16-bit mono after a 44-byte header.
			secs := float64(max(info.Size()-44, 0)) / 16000
			out = append(out, Voicemail{Box: b.Name(), Name: f.Name(), CallID: m[2], At: at, Seconds: secs})
		}
	}
	slices.SortFunc(out, func(a, b Voicemail) int {
		if c := b.At.Compare(a.At); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	if len(out) > maxVoicemails {
		out = out[:maxVoicemails]
	}
	return out, nil
}

// Open opens one message for reading.
func (v VoicemailFolder) Open(box, name string) (*os.File, error) {
	if err := checkVoicemail(box, name); err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(v.Dir, box, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s/%s", ErrNoVoicemail, box, name)
	}
	if err != nil {
		return nil, fmt.Errorf("agentapi: voicemail %s/%s: %w", box, name, err)
	}
	return f, nil
}

// voicemailSession returns the request's session when it may use the
// voicemail inbox (any logged-in user) and the inbox is configured.
func (s *Server) voicemailSession(w http.ResponseWriter, r *http.Request) *session {
	sess := s.authorized(w, r, RoleAgent, false)
	if sess != nil && s.voicemail == nil {
		writeError(w, http.StatusServiceUnavailable, "voicemail not configured (ivr.voicemail)")
		return nil
	}
	return sess
}

func (s *Server) handleVoicemailList(w http.ResponseWriter, r *http.Request) {
	if s.voicemailSession(w, r) == nil {
		return
	}
	list, err := s.voicemail.List()
	if err != nil {
		s.log.Error("voicemail list", "err", err)
		writeError(w, http.StatusInternalServerError, "voicemail folder unreadable")
		return
	}
	if list == nil {
		list = []Voicemail{}
	}
	writeJSON(w, http.StatusOK, list)
}

// handleVoicemailPlay serves one message as audio/wav. Every access is
// audited: an entry in the store's audit log (VoicemailFolder.Audit),
// written before any audio is served, and one log line naming who
// listened to which call's message.
func (s *Server) handleVoicemailPlay(w http.ResponseWriter, r *http.Request) {
	sess := s.voicemailSession(w, r)
	if sess == nil {
		return
	}
	box, name := r.PathValue("box"), r.PathValue("name")
	f, err := s.voicemail.Open(box, name)
	switch {
	case errors.Is(err, ErrBadMessage):
		writeError(w, http.StatusBadRequest, strings.TrimPrefix(err.Error(), "agentapi: "))
		return
	case errors.Is(err, ErrNoVoicemail):
		writeError(w, http.StatusNotFound, "no such voicemail")
		return
	case err != nil:
		s.log.Error("voicemail open", "box", box, "name", name, "err", err)
		writeError(w, http.StatusInternalServerError, "voicemail unreadable")
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "voicemail unreadable")
		return
	}
	callID := voicemailName.FindStringSubmatch(name)[2]
	if a := s.voicemail.Audit; a != nil {
		ctx, cancel := context.WithTimeout(r.Context(), opTimeout)
		err := a.VoicemailPlayed(ctx, sess.acct.ID, "", box, name, callID, r.Header.Get("Range"))
		cancel()
		if err != nil {
			s.log.Error("voicemail not played: audit failed", "actor", sess.acct.ID, "box", box, "message", name, "call_id", callID, "err", err)
			writeError(w, http.StatusServiceUnavailable, "voicemail unavailable: the play could not be audited")
			return
		}
	}
	s.log.Info("voicemail played", "audit", true, "actor", sess.acct.ID, "box", box, "message", name, "call_id", callID,
		"range", r.Header.Get("Range"))
	s.m.voicemailPlays.Inc()
	w.Header().Set("Content-Type", "audio/wav")
	w.Header().Set("Cache-Control", "no-store")
	http.ServeContent(w, r, name, info.ModTime(), f)
}
