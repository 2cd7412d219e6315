package sip

import (
	"errors"
	"fmt"
	"net"
	"testing"
)

// TestWithoutClosed: closing the transports reports real faults, not
// connections that were already closed.
func TestWithoutClosed(t *testing.T) {
	closed := &net.OpError{Op: "close", Net: "tcp", Err: net.ErrClosed}
	real := errors.New("udp: socket broken")
	tests := []struct {
		name string
		in   error
		want []error // errors.Is must hold for each; nil: no error at all
	}{
		{"nothing", nil, nil},
		{"one closed connection", closed, nil},
		{"closed connections joined", errors.Join(closed, fmt.Errorf("tcp: %w", closed)), nil},
		{"a real fault kept", errors.Join(closed, real), []error{real}},
		{"a lone real fault", real, []error{real}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := withoutClosed(tc.in)
			if tc.want == nil {
				if got != nil {
					t.Fatalf("withoutClosed(%v) = %v, want nil", tc.in, got)
				}
				return
			}
			for _, w := range tc.want {
				if !errors.Is(got, w) {
					t.Errorf("withoutClosed(%v) = %v, want it to hold %v", tc.in, got, w)
				}
			}
			if errors.Is(got, net.ErrClosed) {
				t.Errorf("withoutClosed(%v) = %v still holds net.ErrClosed", tc.in, got)
			}
		})
	}
}
