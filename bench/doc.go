// Package bench holds voxdesk's end-to-end load and latency harnesses,
// run by `make bench` (VOXDESK_BENCH=1) and bounded in calls and time.
// Results go to RESULTS-*.md files that the lead merges into RESULTS.md.
//
// sip_test.go: N concurrent SIP calls placed by SIPp (signalling only)
// whose RTP both ways is sent and received by the bench process itself,
// so the jitter of the switch's RTP is measured at the receiver; the
// switch runs in a process of its own (bench/switchd) whose CPU time and
// memory are read from /proc.
package bench
