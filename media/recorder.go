package media

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// Recorder is a Reader stage that writes every frame read through it to
// a WAV file (8 kHz, 16-bit, mono) and passes it on unchanged.
type Recorder struct {
	r       Reader
	w       io.WriteSeeker
	bw      *bufio.Writer // about 1 s of audio between writes to w
	closer  io.Closer     // the file CreateRecorder opened
	mu      sync.Mutex
	buf     []byte
	samples int64
	err     error
	closed  bool
}

// maxWAVData is the largest data chunk a RIFF size field can describe.
const maxWAVData = 1<<32 - 1 - 36

// NewRecorder records frames read from r into w, which must be empty.
// Close writes the final sizes into the header; it does not close w.
func NewRecorder(r Reader, w io.WriteSeeker) (*Recorder, error) {
	rec := &Recorder{r: r, w: w, bw: bufio.NewWriterSize(w, 16<<10), buf: make([]byte, 0, 2*FrameSamples)}
	if _, err := w.Write(wavHeader(0)); err != nil {
		return nil, fmt.Errorf("media: recorder: %w", err)
	}
	return rec, nil
}

// CreateRecorder records frames read from r into a new WAV file at path,
// readable and writable by its owner only (0600): recordings are
// personal data.
func CreateRecorder(r Reader, path string) (*Recorder, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("media: recorder: %w", err)
	}
	rec, err := NewRecorder(r, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	rec.closer = f
	return rec, nil
}

// ReadAudio reads from the wrapped Reader and records what it got. A
// write error stops recording (reported by Close) but not the audio.
func (rec *Recorder) ReadAudio(ctx context.Context, dst []int16) (int, error) {
	n, err := rec.r.ReadAudio(ctx, dst)
	if n > 0 {
		rec.write(dst[:n])
	}
	return n, err
}

func (rec *Recorder) write(samples []int16) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.closed || rec.err != nil {
		return
	}
	if 2*(rec.samples+int64(len(samples))) > maxWAVData {
		rec.err = errors.New("media: recorder: WAV size limit reached")
		return
	}
	b := rec.buf[:0]
	for _, s := range samples {
		b = binary.LittleEndian.AppendUint16(b, uint16(s))
	}
	rec.buf = b
	if _, err := rec.bw.Write(b); err != nil {
		rec.err = fmt.Errorf("media: recorder: %w", err)
		return
	}
	rec.samples += int64(len(samples))
}

// Samples is the number of samples recorded so far.
func (rec *Recorder) Samples() int64 {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.samples
}

// Close finishes the WAV header (and closes the file CreateRecorder
// opened). It returns the first write error, if any.
func (rec *Recorder) Close() error {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.closed {
		return rec.err
	}
	rec.closed = true
	err := rec.err
	if ferr := rec.bw.Flush(); ferr != nil && err == nil {
		err = fmt.Errorf("media: recorder: %w", ferr)
	}
	if _, serr := rec.w.Seek(0, io.SeekStart); serr == nil {
		if _, werr := rec.w.Write(wavHeader(2 * rec.samples)); werr != nil && err == nil {
			err = fmt.Errorf("media: recorder: %w", werr)
		}
	} else if err == nil {
		err = fmt.Errorf("media: recorder: %w", serr)
	}
	if rec.closer != nil {
		if cerr := rec.closer.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("media: recorder: %w", cerr)
		}
	}
	return err
}

// wavHeader is the 44-byte header of a 8 kHz 16-bit mono PCM WAV file
// with dataBytes of samples.
func wavHeader(dataBytes int64) []byte { return wavHeaderN(dataBytes, 1) }
