package ivr

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"time"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/media"
)

// ErrNoSpeech is returned by VoicemailDir.Store for a message without
// speech (silence, line noise, a tone): it is not stored, and the
// voicemail step drops it with a log line instead of failing.
var ErrNoSpeech = errors.New("ivr: voicemail holds no speech")

// VoicemailDir is a Voicemail that writes each message as a WAV file
// (8 kHz, 16-bit, mono) named DIR/BOX/20261123T090000Z-CALLID.wav,
// readable by the switch's user only (files 0600, folders 0700). A
// message without speech (see HasSpeech) is not written: ErrNoSpeech.
type VoicemailDir struct {
	Dir string
	Now func() time.Time // time.Now when nil
}

var _ Voicemail = (*VoicemailDir)(nil)

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.+-]`)

// Store writes the message.
func (v *VoicemailDir) Store(ctx context.Context, box, callID, caller, customer string, pcm []int16) error {
	if !HasSpeech(pcm) {
		return fmt.Errorf("ivr: voicemail %s: %.1f s: %w", box, float64(len(pcm))/call.SampleRate, ErrNoSpeech)
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	boxDir := unsafeName.ReplaceAllString(box, "_")
	if boxDir == "" || boxDir == "." || boxDir == ".." {
		boxDir = "_"
	}
	dir := filepath.Join(v.Dir, boxDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
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

// What HasSpeech counts as speech.
const (
	// speechFloorDB is the level (dBFS, 20 ms frames) below which a
	// frame is silence whatever else is on the line: G.711 idle noise
	// and comfort noise lie near -60 to -70 dBFS, speech near -30 to -15.
	speechFloorDB = -45
	// speechAboveNoiseDB is how far above the message's own noise floor
	// (its quietest tenth of frames) a frame must be to count.
	speechAboveNoiseDB = 10
	// minSpeechFrames is the least sound a message must hold: 300 ms.
	minSpeechFrames = 15
	// minSpeechSpreadDB is the least standard deviation of the loud
	// frames' levels: speech rises and falls with its syllables (6 to
	// 10 dB on the shared speech), a tone or steady hum does not
	// (under 1 dB), even one switched on and off like a busy tone.
	minSpeechSpreadDB = 3
)

// HasSpeech reports whether a message (8 kHz samples) holds speech, by
// the energy of its 20 ms frames: at least 300 ms above both -45 dBFS and
// 10 dB over the message's noise floor, with levels that vary as speech
// does rather than staying flat as a tone or steady noise.
func HasSpeech(pcm []int16) bool {
	const frame = call.FrameSamples
	levels := make([]float64, 0, len(pcm)/frame)
	for i := 0; i+frame <= len(pcm); i += frame {
		var sum float64
		for _, s := range pcm[i : i+frame] {
			sum += float64(s) * float64(s)
		}
		rms := math.Sqrt(sum/frame) / 32768
		levels = append(levels, 20*math.Log10(max(rms, 1e-9)))
	}
	if len(levels) < minSpeechFrames {
		return false
	}
	sorted := slices.Clone(levels)
	slices.Sort(sorted)
	th := max(speechFloorDB, sorted[len(sorted)/10]+speechAboveNoiseDB)
	var n int
	var sum, sum2 float64
	for _, l := range levels {
		if l > th {
			n++
			sum += l
			sum2 += l * l
		}
	}
	if n < minSpeechFrames {
		return false
	}
	mean := sum / float64(n)
	return math.Sqrt(max(0, sum2/float64(n)-mean*mean)) >= minSpeechSpreadDB
}
