package routing

import "time"

// Clock is the router's time source; tests inject a fake one with
// WithClock to drive offers, wrap-up and announcements without sleeping.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine (or the clock's) after d. The
	// router never calls it expecting f to run before AfterFunc returns.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc.
type Timer interface {
	Stop() bool
}

type realClock struct{}

func (realClock) Now() time.Time                            { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
