package bench

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/routing"
)

// runE2ELadder runs the end-to-end load once per size of
// VOXDESK_BENCH_LADDER, each on a switch of its own, and writes
// RESULTS-e2e-ladder.md and e2e-ladder.svg.
func runE2ELadder(b *testing.B, p e2eParams, dir, speech, model string, callers []e2eCaller) {
	b.Helper()
	sizes, err := envInts("VOXDESK_BENCH_LADDER", "")
	if err != nil {
		b.Fatal(err)
	}
	var runs []*e2eResult
	for _, n := range sizes {
		q := p
		q.calls = n
		sdir := filepath.Join(dir, fmt.Sprintf("calls-%d", n))
		if err := os.MkdirAll(sdir, 0o755); err != nil {
			b.Fatal(err)
		}
		r := runE2E(b, q, sdir, speech, model, callers)
		b.Logf("%d calls: %d lost, %.2f cores, p99 jitter switch->caller %.2f ms, switch->agent %.2f ms, %d legs' senders fell behind",
			n, r.lost, r.cpu.Seconds()/r.elapsed.Seconds(), ms(r.out.jitterP99), ms(r.toAgents.jitterP99), r.fellBehind())
		runs = append(runs, r)
	}
	cmd := fmt.Sprintf("VOXDESK_BENCH=1 VOXDESK_BENCH_LADDER=%s VOXDESK_BENCH_SECONDS=%d VOXDESK_BENCH_RATE=%d VOXDESK_BENCH_AGENTS=%d "+
		"VOXDESK_BENCH_THINK_MS=%d VOXDESK_BENCH_TALK_SECONDS=%d go test -run '^$' -bench E2ELoad -benchtime 1x -timeout 30m ./bench/",
		joinInts(sizes), int(p.hold/time.Second), p.rate, p.agent.agents, int(p.agent.think/time.Millisecond), int(p.agent.talk/time.Second))
	md := e2eLadderMarkdown(runs, cmd)
	if err := os.WriteFile("RESULTS-e2e-ladder.md", []byte(md), 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile("e2e-ladder.svg", []byte(e2ePlot(runs)), 0o644); err != nil {
		b.Fatal(err)
	}
	b.Logf("\n%s", md)
}

// fellBehind counts the switch's "rtp sender fell behind" warnings, one
// per leg whose packets the shared pacer skipped after running more than
// 200 ms late.
func (r *e2eResult) fellBehind() int {
	n := 0
	for _, w := range r.warns {
		if strings.Contains(w, "fell behind") {
			var k int
			fmt.Sscan(w, &k)
			n += k
		}
	}
	return n
}

func e2eLadderMarkdown(runs []*e2eResult, cmd string) string {
	var s strings.Builder
	fmt.Fprintf(&s, "# End-to-end load against concurrent calls (bench/e2e_test.go, VOXDESK_BENCH_LADDER)\n\n")
	if len(runs) == 0 {
		return s.String()
	}
	r0 := runs[0]
	fmt.Fprintf(&s, "Run %s; `%s` (with VOXDESK_SPEECH and VOXDESK_MODEL_DIR set, as root for the packet capture)\n\n", r0.started.UTC().Format(time.RFC3339), cmd)
	fmt.Fprintf(&s, "Each size on a fresh switch (examples/voxdesk.yaml, hotline flow, identification on) in the bench process pinned to CPU %d; "+
		"SIPp callers (held-out speech of enrolled customers and voices nobody enrolled), %d SIPp agent phones (ring %v, talk %v, wrap-up %v) and the RTP capture on CPU %d. "+
		"Callers are set up at %d/s and hang up %v after the IVR's answer. Jitter is RFC 3550 interarrival jitter per stream from kernel timestamps on lo, p99 over streams. "+
		"\"fell behind\" counts the legs (callers' and agents') whose RTP sender skipped packets because the switch's shared pacer ran more than 200 ms late. CPU busy is each core's share whoever ran (other work on the machine included). "+
		"Plot: [e2e-ladder.svg](e2e-ladder.svg). Each size's full table follows the summary.\n\n",
		peerCPU, r0.agent.agents, r0.agent.think, r0.agent.talk, r0.wrapUp, sippCPU, r0.rate, r0.hold)
	fmt.Fprintf(&s, "| concurrent calls | load avg before / after | offered / lost | answered by an agent / abandoned | switch CPU (cores) | CPU-s per call-minute | CPU0 / CPU1 busy | RSS per identifying call | p99 jitter switch -> caller | p99 jitter caller -> switch | p99 jitter switch -> agent | caller frames concealed | legs whose sender fell behind |\n")
	fmt.Fprintf(&s, "|%s\n", strings.Repeat(" --- |", 13))
	for _, r := range runs {
		byAgent, abandoned := r.queueResults()
		in, conceal := r.metrics[`voxdesk_rtp_packets_total{direction="in"}`], r.metrics["voxdesk_rtp_concealed_frames_total"]
		toAgents := "none reached an agent"
		if r.toAgents.callsWithRTP > 0 {
			toAgents = fmt.Sprintf("%.2f ms", ms(r.toAgents.jitterP99))
		}
		fmt.Fprintf(&s, "| %d | %s / %s | %d / %d | %d / %d | %.2f | %.4f | %s | %.2f MiB | %.2f ms | %.2f ms | %s | %.2f %% | %d |\n",
			r.calls, r.loadBefore, r.loadAfter, r.offered, r.lost, byAgent, abandoned, r.cpu.Seconds()/r.elapsed.Seconds(), r.cpuPerCallMinute,
			pct(r.busy), r.memPerCall/(1<<20), ms(r.out.jitterP99), ms(r.in.jitterP99), toAgents,
			100*conceal/math.Max(1, in+conceal), r.fellBehind())
	}
	for _, r := range runs {
		fmt.Fprintf(&s, "\n## %d concurrent calls\n\n%s", r.calls, strings.TrimPrefix(r.markdown(), "# End-to-end load: IVR, identification, queue and SIP agents (bench/e2e_test.go)\n\n"))
	}
	return s.String()
}

// queueResults counts the calls answered by an agent and abandoned in a
// queue, from the router's events.
func (r *e2eResult) queueResults() (answered, abandoned int) {
	for _, c := range r.events {
		if !c.ended {
			continue
		}
		switch c.result {
		case string(routing.ResultAnswered):
			answered++
		case string(routing.ResultAbandoned):
			abandoned++
		}
	}
	return answered, abandoned
}

// e2ePlot draws the switch's CPU and the RTP jitter p99 against
// concurrent calls.
func e2ePlot(runs []*e2eResult) string {
	cores := series{name: "switch (cores)", colour: "#1f77b4"}
	busy0 := series{name: "CPU 0 busy (SIPp, capture, others)", colour: "#7f7f7f", dashed: true}
	busy1 := series{name: "CPU 1 busy (switch, others)", colour: "#2ca02c", dashed: true}
	out := series{name: "switch -> caller", colour: "#1f77b4"}
	in := series{name: "caller (SIPp) -> switch", colour: "#1f77b4", dashed: true}
	agent := series{name: "switch -> agent", colour: "#ff7f0e"}
	for _, r := range runs {
		n := float64(r.calls)
		cores.x, cores.y = append(cores.x, n), append(cores.y, r.cpu.Seconds()/r.elapsed.Seconds())
		if len(r.busy) >= 2 {
			busy0.x, busy0.y = append(busy0.x, n), append(busy0.y, r.busy[0])
			busy1.x, busy1.y = append(busy1.x, n), append(busy1.y, r.busy[1])
		}
		out.x, out.y = append(out.x, n), append(out.y, ms(r.out.jitterP99))
		in.x, in.y = append(in.x, n), append(in.y, ms(r.in.jitterP99))
		if r.toAgents.callsWithRTP > 0 { // no point where no call reached an agent
			agent.x, agent.y = append(agent.x, n), append(agent.y, ms(r.toAgents.jitterP99))
		}
	}
	jit := []series{out, in, agent}
	return svgPlot{
		title: "Whole switch (hotline flow, identification, queue, SIP agents) against concurrent calls (bench/e2e_test.go)",
		panels: []panel{
			{title: "CPU (switch alone on CPU 1)", xLabel: "concurrent calls", yLabel: "cores / busy share", lines: []series{cores, busy0, busy1}},
			{title: "RTP jitter p99 (RFC 3550, on the wire)", xLabel: "concurrent calls", yLabel: "ms", lines: jit},
		},
	}.String()
}
