package ivr

import "strings"

// summary is a one-line description of what a step does, for the graph,
// the simulator and diffs.
func (st *Step) summary() string {
	var b strings.Builder
	b.WriteString(st.kind)
	for _, s := range st.opts.about() {
		if s != "" {
			b.WriteString(" ")
			b.WriteString(s)
		}
	}
	return b.String()
}

// edge is a labelled jump from a step, for the graph.
type edge struct {
	to    string // step id, or exit
	label string
}

func (f *Flow) labelledEdges(st *Step) []edge {
	var out []edge
	if j, ok := st.opts.(jumper); ok {
		var only bool
		if out, only = j.jumps(); only {
			return out
		}
	}
	if st.fail != "" {
		out = append(out, edge{st.fail, "fail"})
	}
	if stepKinds[st.kind].ends {
		out = append(out, edge{exit, ""}) // hangup, queue, transfer, return end the call or sub-flow
	} else {
		out = append(out, edge{st.following(), ""})
	}
	return out
}
