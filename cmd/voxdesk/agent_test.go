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

func TestAgentSIPSecret(t *testing.T) {
	// HA1 = MD5("alice:voxdesk:correct horse battery"), computed with
	// printf 'alice:voxdesk:correct horse battery' | md5sum
	const want = "3ae924f4cb678e91c0dc8453c677530a"
	for _, tc := range []struct {
		name, in string
		args     []string
		ok       bool
	}{
		{"secret on stdin", "correct horse battery\n", []string{"-id", "alice"}, true},
		{"realm given", "correct horse battery\n", []string{"-id", "alice", "-realm", "voxdesk"}, true},
		{"no id", "correct horse battery\n", nil, false},
		{"id with a colon", "correct horse battery\n", []string{"-id", "al:ice"}, false},
		{"short secret", "hunter2\n", []string{"-id", "alice"}, false},
		{"secret as argument is refused", "", []string{"-id", "alice", "correct horse battery"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := agentSIPSecret(tc.args, strings.NewReader(tc.in), &out)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v", err)
			}
			if tc.ok && strings.TrimSpace(out.String()) != want {
				t.Fatalf("HA1 = %q, want %q", out.String(), want)
			}
		})
	}
}

func TestAgentSIPSecretSHA256(t *testing.T) {
	// HA1 = SHA-256("alice:voxdesk:correct horse battery") (RFC 8760),
	// computed with printf 'alice:voxdesk:correct horse battery' | sha256sum
	const want = "5e98241dff1e45cac7e367859cd87a96650a242e2907f593ce566bc674175842"
	var out bytes.Buffer
	if err := agentSIPSecret([]string{"-sha256", "-id", "alice"}, strings.NewReader("correct horse battery\n"), &out); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out.String()); got != want {
		t.Fatalf("SHA-256 HA1 = %q, want %q", got, want)
	}
}
