package call

import (
	"sync"
	"sync/atomic"
)

// Direction says which way a frame crosses a bridge.
type Direction uint8

const (
	// FromCaller is audio read from the bridge's first leg (the customer)
	// on its way to the second (the agent).
	FromCaller Direction = iota
	// ToCaller is audio read from the second leg on its way to the first.
	ToCaller
)

func (d Direction) String() string {
	if d == FromCaller {
		return "from-caller"
	}
	return "to-caller"
}

// Tap sees the audio crossing a bridge: a call recorder, a supervisor
// listening or whispering. Frame is called from the bridge's copying
// goroutines, once per frame each way, before the frame is written to the
// other leg; it may change frame in place (a whisper adds the supervisor's
// voice to the frame going to the agent) but must not keep it or block.
// Calls for one direction come from one goroutine; the two directions run
// concurrently.
type Tap interface {
	Frame(dir Direction, frame []int16)
}

// TapFunc adapts a function to a Tap.
type TapFunc func(dir Direction, frame []int16)

// Frame calls f(dir, frame).
func (f TapFunc) Frame(dir Direction, frame []int16) { f(dir, frame) }

// Taps is the set of taps on a call's bridge. Taps may be added and
// removed while the bridge runs, from any goroutine; the zero value is an
// empty set and a nil *Taps bridges without taps.
type Taps struct {
	mu   sync.Mutex
	list atomic.Pointer[[]*tapEntry] // copy-on-write, read by the pumps without locking
}

type tapEntry struct {
	t       Tap
	observe bool // sees frames before any tap that changes them
}

// Add attaches tap, which may change the frames it sees; the returned
// function detaches it (calling it more than once is harmless). Once
// remove returns, Frame is not called again for frames read after it,
// though one call already under way in a pump may still be finishing.
func (ts *Taps) Add(tap Tap) (remove func()) { return ts.add(tap, false) }

// Observe attaches a tap that only reads frames (a call recorder): it
// sees each frame as the leg sent it, before any tap added with Add has
// changed it (a supervisor's whisper is not in the caller's audio), in
// whatever order the taps were attached.
func (ts *Taps) Observe(tap Tap) (remove func()) { return ts.add(tap, true) }

func (ts *Taps) add(tap Tap, observe bool) (remove func()) {
	e := &tapEntry{t: tap, observe: observe}
	ts.mu.Lock()
	old := ts.load()
	next := make([]*tapEntry, 0, len(old)+1)
	i := len(old)
	if observe {
		// After the observers already there, before the first changer.
		i = 0
		for i < len(old) && old[i].observe {
			i++
		}
	}
	next = append(next, old[:i]...)
	next = append(next, e)
	next = append(next, old[i:]...)
	ts.list.Store(&next)
	ts.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			ts.mu.Lock()
			defer ts.mu.Unlock()
			cur := ts.load()
			next := make([]*tapEntry, 0, len(cur))
			for _, x := range cur {
				if x != e {
					next = append(next, x)
				}
			}
			ts.list.Store(&next)
		})
	}
}

// Len reports how many taps are attached.
func (ts *Taps) Len() int {
	if ts == nil {
		return 0
	}
	return len(ts.load())
}

func (ts *Taps) load() []*tapEntry {
	if p := ts.list.Load(); p != nil {
		return *p
	}
	return nil
}

// frame passes one frame to every tap.
func (ts *Taps) frame(dir Direction, frame []int16) {
	if ts == nil {
		return
	}
	for _, e := range ts.load() {
		e.t.Frame(dir, frame)
	}
}
