package ivr

import (
	"fmt"
	"io"
	"strings"
)

// WriteDiff writes what changed from flow a to flow b: steps added,
// removed and changed (by what they do and where they lead), then the
// source lines that differ.
func WriteDiff(w io.Writer, a, b *Flow) error {
	var out strings.Builder
	fmt.Fprintf(&out, "flow %s: %s -> %s\n", b.name, a.Version(), b.Version())
	if a.hash == b.hash {
		out.WriteString("no change\n")
		_, err := io.WriteString(w, out.String())
		return err
	}
	if a.name != b.name {
		fmt.Fprintf(&out, "~ renamed from %s\n", a.name)
	}
	if a.operator != b.operator {
		fmt.Fprintf(&out, "~ operator: %s -> %s\n", orNone(a.operator), orNone(b.operator))
	}
	for _, id := range a.StepIDs() {
		if _, ok := b.steps[id]; !ok {
			fmt.Fprintf(&out, "- step %s: %s\n", id, a.describeStep(a.steps[id]))
		}
	}
	for _, id := range b.StepIDs() {
		sb := b.steps[id]
		sa, ok := a.steps[id]
		switch {
		case !ok:
			fmt.Fprintf(&out, "+ step %s: %s\n", id, b.describeStep(sb))
		case a.describeStep(sa) != b.describeStep(sb):
			fmt.Fprintf(&out, "~ step %s: %s\n      was: %s\n", id, b.describeStep(sb), a.describeStep(sa))
		}
	}
	out.WriteString("source:\n")
	lineDiff(&out, strings.Split(string(a.src), "\n"), strings.Split(string(b.src), "\n"))
	_, err := io.WriteString(w, out.String())
	return err
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// describeStep is a step's summary and its jumps.
func (f *Flow) describeStep(st *Step) string {
	var jumps []string
	for _, e := range f.labelledEdges(st) {
		to := e.to
		if to == exit {
			to = "end"
		}
		if e.label != "" {
			jumps = append(jumps, e.label+" -> "+to)
		} else {
			jumps = append(jumps, "-> "+to)
		}
	}
	return st.summary() + " [" + strings.Join(jumps, "; ") + "]"
}

// lineDiff writes the lines only in a (-) and only in b (+), with their
// line numbers, from a longest common subsequence.
func lineDiff(out *strings.Builder, a, b []string) {
	if len(a)*len(b) > 4_000_000 {
		out.WriteString("  (files too large for a line diff)\n")
		return
	}
	// lcs[i][j] = LCS length of a[i:], b[j:].
	lcs := make([][]int32, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int32, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			i++
			j++
		case j < len(b) && (i == len(a) || lcs[i][j+1] >= lcs[i+1][j]):
			fmt.Fprintf(out, "+%4d  %s\n", j+1, b[j])
			j++
		default:
			fmt.Fprintf(out, "-%4d  %s\n", i+1, a[i])
			i++
		}
	}
}
