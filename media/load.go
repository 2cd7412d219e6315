package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/go-audio/wav"
	"github.com/mewkiz/flac"

	"github.com/voxdesk/voxdesk/media/g711"
)

// ErrAudioFormat is wrapped by errors for audio files that are
// malformed or in an encoding we do not decode.
var ErrAudioFormat = errors.New("media: unsupported or malformed audio file")

// WAV format codes (fmt chunk wFormatTag).
const (
	wavPCM        = 1
	wavFloat      = 3
	wavALaw       = 6
	wavMuLaw      = 7
	wavExtensible = 0xFFFE
)

// maxAudioBytes bounds what LoadPCM reads (about 25 minutes of 16-bit
// 44.1 kHz stereo, 2 hours of 16 kHz mono), so a wrong path cannot
// exhaust memory: decoding holds several copies of the samples.
const maxAudioBytes = 256 << 20

// LoadPCM reads a WAV or FLAC file of any sample rate, bit depth and
// channel count and returns it as mono int16 samples at rate (channels
// are averaged, the rate converted with a windowed-sinc resampler).
func LoadPCM(path string, rate int) ([]int16, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("media: load %s: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxAudioBytes+1))
	if err != nil {
		return nil, fmt.Errorf("media: load %s: %w", path, err)
	}
	if len(data) > maxAudioBytes {
		return nil, fmt.Errorf("media: load %s: larger than %d bytes", path, maxAudioBytes)
	}
	pcm, err := DecodePCM(data, rate)
	if err != nil {
		return nil, fmt.Errorf("media: load %s: %w", path, err)
	}
	return pcm, nil
}

// MaxAudioDuration bounds what DecodePCM accepts. A WAV file cannot
// hold more audio than bytes, but FLAC encodes digital silence in a few
// bytes per frame, so a small hostile file could otherwise expand to
// gigabytes.
const MaxAudioDuration = time.Hour

// DecodePCM is LoadPCM on the bytes of a WAV or FLAC file.
func DecodePCM(data []byte, rate int) ([]int16, error) {
	return decodePCM(data, rate, MaxAudioDuration)
}

func decodePCM(data []byte, rate int, limit time.Duration) ([]int16, error) {
	if rate <= 0 || rate > 384000 {
		return nil, fmt.Errorf("media: bad target rate %d", rate)
	}
	var (
		mono []float32
		src  int
		err  error
	)
	switch {
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WAVE":
		mono, src, err = decodeWAV(data)
	case len(data) >= 4 && (string(data[:4]) == "fLaC" || string(data[:3]) == "ID3"):
		mono, src, err = decodeFLAC(data, limit)
	default:
		return nil, fmt.Errorf("%w: not a RIFF/WAVE or FLAC file", ErrAudioFormat)
	}
	if err != nil {
		return nil, err
	}
	if src != rate {
		mono, err = Resample(mono, src, rate)
		if err != nil {
			return nil, err
		}
	}
	out := make([]int16, len(mono))
	floatToPCM(out, mono)
	return out, nil
}

// wavFmt is the fmt chunk, https://www.mmsp.ece.mcgill.ca/Documents/AudioFormats/WAVE/WAVE.html
type wavFmt struct {
	code       uint16 // format code, the sub-format for WAVE_FORMAT_EXTENSIBLE
	extensible bool
	channels   int
	rate       int
	blockAlign int
	bits       int // container bits per sample
}

// parseWAV walks the RIFF chunks and returns the format and the data
// chunk's bytes (cut to what the file holds and to whole frames).
func parseWAV(data []byte) (wavFmt, []byte, error) {
	var f wavFmt
	var pcm []byte
	haveFmt, haveData := false, false
	p := data[12:]
	for len(p) >= 8 && !(haveFmt && haveData) {
		id := string(p[:4])
		size := binary.LittleEndian.Uint32(p[4:8])
		p = p[8:]
		body := p
		if uint64(size) < uint64(len(p)) {
			body = p[:size]
		}
		switch id {
		case "fmt ":
			if len(body) < 16 {
				return f, nil, fmt.Errorf("%w: fmt chunk of %d bytes", ErrAudioFormat, len(body))
			}
			f.code = binary.LittleEndian.Uint16(body[0:])
			f.channels = int(binary.LittleEndian.Uint16(body[2:]))
			f.rate = int(binary.LittleEndian.Uint32(body[4:]))
			f.blockAlign = int(binary.LittleEndian.Uint16(body[12:]))
			f.bits = int(binary.LittleEndian.Uint16(body[14:]))
			if f.code == wavExtensible {
				// cbSize(2) validBits(2) channelMask(4) subFormat GUID(16):
				// the GUID starts with the format code.
				if len(body) < 40 {
					return f, nil, fmt.Errorf("%w: WAVE_FORMAT_EXTENSIBLE fmt chunk of %d bytes", ErrAudioFormat, len(body))
				}
				f.extensible = true
				f.code = binary.LittleEndian.Uint16(body[24:])
			}
			haveFmt = true
		case "data":
			pcm = body
			haveData = true
		}
		// Chunks are padded to an even size.
		adv := uint64(size) + uint64(size&1)
		if adv >= uint64(len(p)) {
			break
		}
		p = p[adv:]
	}
	if !haveFmt {
		return f, nil, fmt.Errorf("%w: no fmt chunk", ErrAudioFormat)
	}
	if !haveData {
		return f, nil, fmt.Errorf("%w: no data chunk", ErrAudioFormat)
	}
	if f.channels < 1 || f.channels > 32 {
		return f, nil, fmt.Errorf("%w: %d channels", ErrAudioFormat, f.channels)
	}
	if f.rate < 1000 || f.rate > 384000 {
		return f, nil, fmt.Errorf("%w: sample rate %d Hz", ErrAudioFormat, f.rate)
	}
	if f.bits == 0 || f.bits%8 != 0 || f.bits > 64 {
		return f, nil, fmt.Errorf("%w: %d bits per sample", ErrAudioFormat, f.bits)
	}
	if f.blockAlign != f.channels*f.bits/8 {
		return f, nil, fmt.Errorf("%w: block align %d for %d channels of %d bits", ErrAudioFormat, f.blockAlign, f.channels, f.bits)
	}
	pcm = pcm[:len(pcm)-len(pcm)%f.blockAlign]
	return f, pcm, nil
}

// decodeWAV returns mono samples in [-1, 1) and the sample rate.
// Integer PCM goes through github.com/go-audio/wav; mu-law, A-law and
// float, which that package decodes as garbage without an error, are
// decoded here.
func decodeWAV(data []byte) ([]float32, int, error) {
	f, pcm, err := parseWAV(data)
	if err != nil {
		return nil, 0, err
	}
	frames := len(pcm) / f.blockAlign
	mono := make([]float32, frames)
	ch := f.channels
	scale := 1 / float32(ch)
	switch {
	case f.code == wavPCM && (f.bits == 8 || f.bits == 16 || f.bits == 24 || f.bits == 32):
		ints, err := goAudioPCM(pcm, f)
		if err != nil {
			return nil, 0, err
		}
		if len(ints) < frames*ch {
			frames = len(ints) / ch
			mono = mono[:frames]
		}
		full := float32(math.Ldexp(1, f.bits-1))
		for i := range mono {
			var acc float32
			for c := range ch {
				v := ints[i*ch+c]
				if f.bits == 8 {
					v -= 128 // 8-bit WAV is unsigned
				}
				acc += float32(v) / full
			}
			mono[i] = acc * scale
		}
	case f.code == wavFloat && (f.bits == 32 || f.bits == 64):
		bps := f.bits / 8
		for i := range mono {
			var acc float32
			for c := range ch {
				b := pcm[(i*ch+c)*bps:]
				var v float64
				if bps == 4 {
					v = float64(math.Float32frombits(binary.LittleEndian.Uint32(b)))
				} else {
					v = math.Float64frombits(binary.LittleEndian.Uint64(b))
				}
				if v != v || math.IsInf(v, 0) {
					v = 0
				}
				acc += float32(max(-1, min(1, v)))
			}
			mono[i] = acc * scale
		}
	case (f.code == wavMuLaw || f.code == wavALaw) && f.bits == 8:
		dec := g711.UlawToLinear
		if f.code == wavALaw {
			dec = g711.AlawToLinear
		}
		for i := range mono {
			var acc float32
			for c := range ch {
				acc += float32(dec(pcm[i*ch+c])) / 32768
			}
			mono[i] = acc * scale
		}
	default:
		return nil, 0, fmt.Errorf("%w: WAV format code %d with %d bits (PCM 8/16/24/32, float 32/64, mu-law and A-law are supported)",
			ErrAudioFormat, f.code, f.bits)
	}
	return mono, f.rate, nil
}

// goAudioPCM decodes interleaved integer PCM samples with
// github.com/go-audio/wav. It is handed a canonical WAV (plain PCM fmt
// chunk, exact data size) rebuilt from what parseWAV validated: go-audio
// trusts size fields and reads nothing from an oversized data chunk, and
// is not hardened against hostile headers.
func goAudioPCM(pcm []byte, f wavFmt) (ints []int, err error) {
	defer func() {
		if r := recover(); r != nil {
			ints, err = nil, fmt.Errorf("%w: wav decoder: %v", ErrAudioFormat, r)
		}
	}()
	canon := make([]byte, 0, 44+len(pcm))
	canon = append(canon, "RIFF"...)
	canon = binary.LittleEndian.AppendUint32(canon, uint32(36+len(pcm)))
	canon = append(canon, "WAVEfmt "...)
	canon = binary.LittleEndian.AppendUint32(canon, 16)
	canon = binary.LittleEndian.AppendUint16(canon, wavPCM)
	canon = binary.LittleEndian.AppendUint16(canon, uint16(f.channels))
	canon = binary.LittleEndian.AppendUint32(canon, uint32(f.rate))
	canon = binary.LittleEndian.AppendUint32(canon, uint32(f.rate*f.blockAlign))
	canon = binary.LittleEndian.AppendUint16(canon, uint16(f.blockAlign))
	canon = binary.LittleEndian.AppendUint16(canon, uint16(f.bits))
	canon = append(canon, "data"...)
	canon = binary.LittleEndian.AppendUint32(canon, uint32(len(pcm)))
	canon = append(canon, pcm...)
	d := wav.NewDecoder(bytes.NewReader(canon))
	buf, err := d.FullPCMBuffer()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrAudioFormat, err)
	}
	if int(d.NumChans) != f.channels || int(d.BitDepth) != f.bits || len(buf.Data) != len(pcm)/(f.bits/8) {
		return nil, fmt.Errorf("%w: wav decoder read %d samples, %d channels of %d bits; header says %d bytes, %d channels of %d bits",
			ErrAudioFormat, len(buf.Data), d.NumChans, d.BitDepth, len(pcm), f.channels, f.bits)
	}
	return buf.Data, nil
}

// decodeFLAC returns mono samples in [-1, 1) and the sample rate.
// Note: github.com/mewkiz/flac v1.0.13 writes a line to the standard
// library's default logger for frames at 24 kHz and 176.4 kHz.
func decodeFLAC(data []byte, limit time.Duration) (mono []float32, rate int, err error) {
	defer func() {
		if r := recover(); r != nil {
			mono, rate, err = nil, 0, fmt.Errorf("%w: flac decoder: %v", ErrAudioFormat, r)
		}
	}()
	data, err = canonicalFLAC(data)
	if err != nil {
		return nil, 0, err
	}
	s, err := flac.New(bytes.NewReader(data))
	if err != nil {
		return nil, 0, fmt.Errorf("%w: flac: %v", ErrAudioFormat, err)
	}
	info := s.Info
	if info.NChannels < 1 || info.SampleRate < 1000 || info.BitsPerSample < 4 || info.BitsPerSample > 32 {
		return nil, 0, fmt.Errorf("%w: flac stream of %d channels, %d Hz, %d bits", ErrAudioFormat, info.NChannels, info.SampleRate, info.BitsPerSample)
	}
	full := float32(math.Ldexp(1, int(info.BitsPerSample)-1))
	scale := 1 / (full * float32(info.NChannels))
	for {
		fr, err := s.ParseNext()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, 0, fmt.Errorf("%w: flac: %v", ErrAudioFormat, err)
		}
		if len(fr.Subframes) == 0 {
			continue
		}
		n := len(fr.Subframes[0].Samples)
		for i := range n {
			var acc float32
			for _, sf := range fr.Subframes {
				if i < len(sf.Samples) {
					acc += float32(sf.Samples[i])
				}
			}
			mono = append(mono, acc*scale)
		}
		if time.Duration(len(mono))*time.Second > limit*time.Duration(info.SampleRate) {
			return nil, 0, fmt.Errorf("%w: flac stream longer than %v", ErrAudioFormat, limit)
		}
	}
	return mono, int(info.SampleRate), nil
}

// canonicalFLAC keeps only what decoding needs: the "fLaC" marker, the
// STREAMINFO block and the frames. mewkiz/flac allocates whatever the
// 32-bit length fields inside PICTURE and VORBIS_COMMENT blocks say (a
// 100-byte file can ask for gigabytes), so those blocks, which carry no
// audio, are dropped before it sees them.
// Format: https://xiph.org/flac/format.html#metadata_block
func canonicalFLAC(data []byte) ([]byte, error) {
	if len(data) >= 10 && string(data[:3]) == "ID3" {
		// ID3v2 tag: 10-byte header, size as a 28-bit syncsafe integer.
		size := int(data[6]&0x7F)<<21 | int(data[7]&0x7F)<<14 | int(data[8]&0x7F)<<7 | int(data[9]&0x7F)
		if 10+size > len(data) {
			return nil, fmt.Errorf("%w: truncated ID3 tag", ErrAudioFormat)
		}
		data = data[10+size:]
	}
	if len(data) < 4 || string(data[:4]) != "fLaC" {
		return nil, fmt.Errorf("%w: no fLaC marker", ErrAudioFormat)
	}
	p := data[4:]
	var info []byte
	for {
		if len(p) < 4 {
			return nil, fmt.Errorf("%w: truncated flac metadata", ErrAudioFormat)
		}
		last := p[0]&0x80 != 0
		typ := p[0] & 0x7F
		n := int(p[1])<<16 | int(p[2])<<8 | int(p[3])
		if 4+n > len(p) {
			return nil, fmt.Errorf("%w: flac metadata block of %d bytes past the end", ErrAudioFormat, n)
		}
		if typ == 0 {
			if n != 34 || info != nil {
				return nil, fmt.Errorf("%w: bad flac STREAMINFO", ErrAudioFormat)
			}
			info = p[4 : 4+n]
		}
		p = p[4+n:]
		if last {
			break
		}
	}
	if info == nil {
		return nil, fmt.Errorf("%w: no flac STREAMINFO", ErrAudioFormat)
	}
	out := make([]byte, 0, 8+len(info)+len(p))
	out = append(out, "fLaC"...)
	out = append(out, 0x80, 0, 0, 34)
	out = append(out, info...)
	return append(out, p...), nil
}
