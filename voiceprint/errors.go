package voiceprint

import (
	"errors"
	"fmt"
)

var (
	// ErrNotEnoughSpeech is matched (errors.Is) by *NotEnoughSpeechError.
	ErrNotEnoughSpeech = errors.New("voiceprint: not enough speech")
	// ErrSampleRate is returned for audio not at 8000 Hz.
	ErrSampleRate = errors.New("voiceprint: audio must be 8000 Hz")
	// ErrCorruptAudio is returned for samples that are not finite or lie
	// far outside the int16 range.
	ErrCorruptAudio = errors.New("voiceprint: corrupt audio")
	// ErrModel is wrapped by every error about missing or corrupt model files.
	ErrModel = errors.New("voiceprint: bad model")
)

// NotEnoughSpeechError says how much voiced speech was heard when it was
// too little for a reliable voiceprint (silence, noise or a short reply).
type NotEnoughSpeechError struct {
	Speech float64 // net voiced seconds heard (0 for steady noise or tones)
	Need   float64 // seconds required
	// Steady is set when the audio had energy but none of the loudness
	// variation of speech (noise, hum, tones): Kaldi's energy VAD would
	// have called it all voiced.
	Steady bool
}

func (e *NotEnoughSpeechError) Error() string {
	if e.Steady {
		return fmt.Sprintf("voiceprint: not enough speech: steady noise or tone, no speech heard (need %.2f s)", e.Need)
	}
	return fmt.Sprintf("voiceprint: not enough speech: %.2f s voiced, need %.2f s", e.Speech, e.Need)
}

// Is makes errors.Is(err, ErrNotEnoughSpeech) true.
func (e *NotEnoughSpeechError) Is(target error) bool { return target == ErrNotEnoughSpeech }
