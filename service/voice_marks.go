package service

import (
	"sync"

	"github.com/voxdesk/voxdesk/media"
)

// frameMarks finds a call's media by call id, so that the voice tap,
// which sees the call's leg only, can tell the frames the RTP session
// received from those it synthesised (loss concealment, silence fill)
// and keep the latter out of voiceprints. A nil *frameMarks holds
// nothing.
type frameMarks struct {
	mu sync.Mutex
	m  map[string]media.Marker
}

func newFrameMarks() *frameMarks { return &frameMarks{m: map[string]media.Marker{}} }

func (f *frameMarks) add(callID string, m media.Marker) {
	if f == nil {
		return
	}
	f.mu.Lock()
	f.m[callID] = m
	f.mu.Unlock()
}

// remove forgets m, unless callID was since given to another media.
func (f *frameMarks) remove(callID string, m media.Marker) {
	if f == nil {
		return
	}
	f.mu.Lock()
	if f.m[callID] == m {
		delete(f.m, callID)
	}
	f.mu.Unlock()
}

func (f *frameMarks) get(callID string) media.Marker {
	if f == nil {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.m[callID]
}
