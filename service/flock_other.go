//go:build !unix

package service

import "os"

// flock is not available here: a second instance on the same SQLite
// database is not detected (it still fails on its ports).
func flock(*os.File) error { return nil }
