package media

import (
	"context"
	"errors"
	"time"
)

// Audio format used throughout a call.
const (
	SampleRate    = 8000                  // samples per second
	FrameDuration = 20 * time.Millisecond // one RTP packet
	FrameSamples  = SampleRate / 50       // samples per frame (160)
)

// Reader is a source of audio frames. ReadAudio fills dst (usually
// FrameSamples long) and returns the number of samples written; live
// sources block until the next frame is due.
type Reader interface {
	ReadAudio(ctx context.Context, dst []int16) (int, error)
}

// Writer is a sink of audio frames. WriteAudio may block to pace the
// caller (an RTPSession accepts one frame per 20 ms); it must not keep
// frame after returning.
type Writer interface {
	WriteAudio(ctx context.Context, frame []int16) error
}

// ReaderFunc adapts a function to Reader.
type ReaderFunc func(ctx context.Context, dst []int16) (int, error)

// ReadAudio calls f.
func (f ReaderFunc) ReadAudio(ctx context.Context, dst []int16) (int, error) { return f(ctx, dst) }

// WriterFunc adapts a function to Writer.
type WriterFunc func(ctx context.Context, frame []int16) error

// WriteAudio calls f.
func (f WriterFunc) WriteAudio(ctx context.Context, frame []int16) error { return f(ctx, frame) }

// ErrClosed is returned by operations on a closed session or stage.
var ErrClosed = errors.New("media: closed")

// ErrFrameSize reports a frame longer than FrameSamples given to an
// RTPSession.
var ErrFrameSize = errors.New("media: frame longer than 160 samples")

// Tap returns a Reader that passes r's frames through and calls fn with
// each one (for metrics, VAD, a voiceprint tap). fn must not keep the
// slice.
func Tap(r Reader, fn func(frame []int16)) Reader {
	return ReaderFunc(func(ctx context.Context, dst []int16) (int, error) {
		n, err := r.ReadAudio(ctx, dst)
		if n > 0 {
			fn(dst[:n])
		}
		return n, err
	})
}

// TapWriter returns a Writer that calls fn with each frame, then passes
// it to w.
func TapWriter(w Writer, fn func(frame []int16)) Writer {
	return WriterFunc(func(ctx context.Context, frame []int16) error {
		fn(frame)
		return w.WriteAudio(ctx, frame)
	})
}
