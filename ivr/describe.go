package ivr

import (
	"fmt"
	"strings"
)

// summary is a one-line description of what a step does, for the graph,
// the simulator and diffs.
func (st *Step) summary() string {
	var b strings.Builder
	b.WriteString(st.kind)
	arg := func(s string) {
		if s != "" {
			b.WriteString(" ")
			b.WriteString(s)
		}
	}
	prompts := func(ps []string) string { return strings.Join(ps, ", ") }
	switch st.kind {
	case kindPlay, kindMenu, kindIdentify, kindHangup:
		arg(prompts(st.prompts))
	case kindCollect:
		arg(fmt.Sprintf("%s (%d-%d digits)", st.into, st.min, st.max))
	case kindVerify, kindPIN:
		if st.customer != nil {
			arg("customer=" + st.customer.String())
		}
		if st.code != nil {
			arg("code=" + st.code.String())
		}
	case kindEnrol:
		arg(fmt.Sprintf("consent %s, %v of speech", prompts(st.prompts), st.speech))
	case kindSet:
		for i, a := range st.sets {
			if i > 0 {
				b.WriteString(",")
			}
			arg(a.name + " = " + a.expr.String())
		}
	case kindQueue:
		arg(st.queue)
		if len(st.skills) > 0 {
			arg("[" + strings.Join(st.skills, ", ") + "]")
		}
		if st.priority != nil {
			arg("priority " + st.priority.String())
		}
		if st.preferred != nil {
			arg("preferred " + st.preferred.String())
		}
		if len(st.notice) > 0 {
			arg("recorded after notice " + prompts(st.notice))
		}
	case kindTransfer:
		arg(st.to)
	case kindCallback, kindVoicemail:
		arg(st.queue)
	case kindRecord:
		arg("notice " + prompts(st.prompts))
		if st.agentStarts {
			arg("started by the agent")
		}
	case kindCall:
		arg(st.sub)
	case kindGoto:
		arg(st.target)
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
	add := func(to, label string) { out = append(out, edge{to, label}) }
	switch st.kind {
	case kindMenu:
		for _, c := range st.choices {
			add(c.target, string(c.key))
		}
	case kindBranch:
		for _, c := range st.cases {
			add(c.target, c.when.String())
		}
		if st.els != "" {
			add(st.els, "else")
			return out
		}
	case kindGoto:
		add(st.target, "")
		return out
	}
	if st.fail != "" {
		add(st.fail, "fail")
	}
	if noFallThrough[st.kind] {
		add(exit, "") // hangup, queue, transfer, return end the call or sub-flow
	} else {
		add(st.following(), "")
	}
	return out
}
