package main

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestAgentPasswd(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		args     []string
		ok       bool
	}{
		{"password on stdin", "s3cret pass\n", nil, true},
		{"no trailing newline", "s3cret pass", nil, true},
		{"empty input", "", nil, false},
		{"password as argument is refused", "", []string{"s3cret"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := agentPasswd(tc.args, strings.NewReader(tc.in), &out)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v", err)
			}
			if !tc.ok {
				return
			}
			hash := strings.TrimSpace(out.String())
			if bcrypt.CompareHashAndPassword([]byte(hash), []byte("s3cret pass")) != nil {
				t.Fatalf("%q is not a bcrypt hash of the password", hash)
			}
		})
	}
}
