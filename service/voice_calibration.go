package service

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/voxdesk/voxdesk/identify"
)

// calibrationSuffix names the calibration file beside a SQLite store.
const calibrationSuffix = ".calibration.json"

// CalibrationPath is where voxdesk voiceprint calibrate stores the
// calibration for a customer store: explicit when path is set, else
// beside a SQLite database (PATH.calibration.json); "" for a PostgreSQL
// store without an explicit path.
func CalibrationPath(path, dsn string) string {
	if path != "" {
		return path
	}
	if db, ok := strings.CutPrefix(dsn, "sqlite:"); ok && db != "" {
		return db + calibrationSuffix
	}
	return ""
}

// loadCalibration reads the calibration file at path; a missing file
// (or no path) gives the documented defaults. source says which was used.
func loadCalibration(path string) (identify.Calibration, string, error) {
	def := identify.DefaultCalibration()
	if path == "" {
		return def, "defaults", nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return def, "defaults (no " + filepath.Base(path) + ")", nil
	}
	if err != nil {
		return identify.Calibration{}, "", fmt.Errorf("service: voiceprint calibration: %w", err)
	}
	var cal identify.Calibration
	if err := json.Unmarshal(b, &cal); err != nil {
		return identify.Calibration{}, "", fmt.Errorf("service: voiceprint calibration %s: %w", path, err)
	}
	if err := cal.Check(); err != nil {
		return identify.Calibration{}, "", fmt.Errorf("service: voiceprint calibration %s: %w", path, err)
	}
	if cal.Model != modelID {
		return identify.Calibration{}, "", fmt.Errorf("service: voiceprint calibration %s: made for model %q, the switch uses %q: run voxdesk voiceprint calibrate", path, cal.Model, modelID)
	}
	return cal, path, nil
}

// ReadCalibration reads a calibration file written by voxdesk voiceprint
// calibrate; "" gives the defaults (identify.DefaultCalibration).
func ReadCalibration(path string) (identify.Calibration, error) {
	if path == "" {
		return identify.DefaultCalibration(), nil
	}
	if _, err := os.Stat(path); err != nil {
		return identify.Calibration{}, fmt.Errorf("service: voiceprint calibration: %w", err)
	}
	cal, _, err := loadCalibration(path)
	return cal, err
}

// SaveCalibration writes a calibration to path atomically.
func SaveCalibration(path string, cal identify.Calibration) error {
	if err := cal.Check(); err != nil {
		return err
	}
	b, err := json.MarshalIndent(cal, "", " ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("service: save calibration: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("service: save calibration: %w", err)
	}
	return nil
}
