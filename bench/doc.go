// Package bench holds voxdesk's end-to-end load and latency harnesses,
// run by `make bench` (VOXDESK_BENCH=1) and bounded in calls and time.
// Results go to RESULTS-*.md files that the lead merges into RESULTS.md.
//
// sip_test.go: N concurrent SIP calls placed by SIPp (signalling only)
// whose RTP both ways is sent and received by the bench process itself,
// so the jitter of the switch's RTP is measured at the receiver; the
// switch runs in a process of its own (bench/switchd) whose CPU time and
// memory are read from /proc.
//
// peer_test.go: the same SIPp load (answer, prompt, RFC 4733 DTMF, hang
// up; testdata/peer.xml) on voxdesk's demo handler and on diagopeer, a
// small answering application written on github.com/emiago/diago (a
// module of its own, so diago's dependencies stay out of voxdesk's
// go.mod), each pinned to its own core with taskset; RTP both ways is
// measured from a packet capture on lo (capture_test.go, needs root).
//
// e2e_test.go: the whole switch in the bench process (examples/voxdesk.yaml
// on test ports, hotline flow, voice identification with the demo
// enrolment) under SIPp callers streaming held-out speech of enrolled
// customers and of voices nobody enrolled, and SIP agents (SIPp phones
// registered with digest authentication, e2eagent_test.go) that answer
// after a think time, talk and hang up, then wrap up: calls offered,
// answered by the IVR and by agents, abandoned, lost, identification
// outcomes and time to identity, queue wait, RTP both ways (callers' and
// agents' legs), CPU and memory per call. With VOXDESK_BENCH_LADDER it
// runs once per size (e2eladder_test.go) and plots the switch's CPU and
// the RTP jitter p99 against concurrent calls (e2e-ladder.svg).
//
// setup_test.go: the highest call set-up rate with < 0.1 % of calls
// failed, SIPp ramping short calls against the demo handler, with the
// switch's CPU profile (switchd -cpuprofile).
package bench
