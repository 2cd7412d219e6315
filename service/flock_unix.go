//go:build unix

package service

import (
	"os"
	"syscall"
)

// flock takes an exclusive lock on f without waiting: EWOULDBLOCK when
// another open file holds it.
func flock(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}
