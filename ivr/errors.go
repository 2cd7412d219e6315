package ivr

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrNoFlow is returned by a Library asked for a flow it does not hold.
var ErrNoFlow = errors.New("ivr: no such flow")

// Pos is a position in a flow file, 1-based like an editor shows it.
type Pos struct {
	Line, Col int
}

func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

// Error is one problem found in a flow file.
type Error struct {
	File string
	Pos  Pos
	Msg  string
}

func (e *Error) Error() string {
	if e.File == "" {
		return e.Pos.String() + ": " + e.Msg
	}
	return e.File + ":" + e.Pos.String() + ": " + e.Msg
}

// ErrorList is every problem found in one flow file, in file order. Load
// and Parse return it so an admin sees all mistakes at once.
type ErrorList []*Error

func (l ErrorList) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap gives errors.Is/As access to each error.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

func (l ErrorList) sort() {
	sort.SliceStable(l, func(i, j int) bool {
		if l[i].Pos.Line != l[j].Pos.Line {
			return l[i].Pos.Line < l[j].Pos.Line
		}
		return l[i].Pos.Col < l[j].Pos.Col
	})
}
