package ivr

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/media"
)

// VoicemailDir is a Voicemail that writes each message as a WAV file
// (8 kHz, 16-bit, mono) named DIR/BOX/20261123T090000Z-CALLID.wav.
type VoicemailDir struct {
	Dir string
	Now func() time.Time // time.Now when nil
}

var _ Voicemail = (*VoicemailDir)(nil)

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.+-]`)

// Store writes the message.
func (v *VoicemailDir) Store(ctx context.Context, box, callID, caller, customer string, pcm []int16) error {
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	boxDir := unsafeName.ReplaceAllString(box, "_")
	if boxDir == "" || boxDir == "." || boxDir == ".." {
		boxDir = "_"
	}
	dir := filepath.Join(v.Dir, boxDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("ivr: voicemail %s: %w", box, err)
	}
	name := now().UTC().Format("20060102T150405Z") + "-" + unsafeName.ReplaceAllString(callID, "_") + ".wav"
	rest := pcm
	src := media.ReaderFunc(func(ctx context.Context, dst []int16) (int, error) {
		n := copy(dst[:min(len(dst), call.FrameSamples)], rest)
		rest = rest[n:]
		return n, nil
	})
	rec, err := media.CreateRecorder(src, filepath.Join(dir, name))
	if err != nil {
		return fmt.Errorf("ivr: voicemail %s: %w", box, err)
	}
	buf := make([]int16, call.FrameSamples)
	for len(rest) > 0 {
		if _, err := rec.ReadAudio(ctx, buf); err != nil {
			rec.Close()
			return fmt.Errorf("ivr: voicemail %s: %w", box, err)
		}
	}
	if err := rec.Close(); err != nil {
		return fmt.Errorf("ivr: voicemail %s: %w", box, err)
	}
	return nil
}
