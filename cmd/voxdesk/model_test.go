package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestModelFetchCommand(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{"no verb", []string{"model"}, 2, "usage: voxdesk model fetch"},
		{"unknown verb", []string{"model", "get"}, 2, `unknown verb "get"`},
		{"stray argument", []string{"model", "fetch", "x"}, 2, "takes no arguments"},
		{"npm missing", []string{"model", "fetch", "--dir", "DIR"}, 1, "npm not found"},
	}
	t.Setenv("PATH", t.TempDir()) // no npm: nothing is downloaded
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i, a := range tt.args {
				if a == "DIR" {
					tt.args[i] = filepath.Join(t.TempDir(), "model")
				}
			}
			var out bytes.Buffer
			if code := run(context.Background(), tt.args, &out); code != tt.wantCode {
				t.Fatalf("exit %d, want %d (%s)", code, tt.wantCode, out.String())
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Fatalf("output %q lacks %q", out.String(), tt.wantOut)
			}
		})
	}
}
