package voiceprint

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ModelName is the folder name of the model in the cache.
const ModelName = "vosk-model-spk-0.4"

// EnvModelDir names the environment variable that points at an unpacked
// model, overriding the default cache folder.
const EnvModelDir = "VOXDESK_MODEL_DIR"

// DefaultModelDir is $VOXDESK_MODEL_DIR if set, else
// .cache/models/vosk-model-spk-0.4 relative to the current directory.
func DefaultModelDir() string {
	if d := os.Getenv(EnvModelDir); d != "" {
		return d
	}
	return filepath.Join(".cache", "models", ModelName)
}

// ErrNoModel is returned by FindModelDir when no installed model is found.
var ErrNoModel = errors.New("voiceprint: model not installed (run `voxdesk model fetch`)")

// FindModelDir locates an installed model: $VOXDESK_MODEL_DIR if set,
// else .cache/models/vosk-model-spk-0.4 in the module root found by walking
// up from the current directory to go.mod. Tests use it and skip when it
// returns an error.
func FindModelDir() (string, error) {
	if d := os.Getenv(EnvModelDir); d != "" {
		if !installed(d) {
			return "", fmt.Errorf("%w: %s=%s has no final.ext.raw", ErrNoModel, EnvModelDir, d)
		}
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			m := filepath.Join(d, ".cache", "models", ModelName)
			if !installed(m) {
				return "", fmt.Errorf("%w: looked in %s", ErrNoModel, m)
			}
			return m, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("%w: no go.mod above %s", ErrNoModel, wd)
		}
	}
}

func installed(dir string) bool {
	for _, f := range modelFiles {
		if _, err := os.Stat(filepath.Join(dir, f.name)); err != nil {
			return false
		}
	}
	return true
}
