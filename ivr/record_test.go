package ivr_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/call/calltest"
	"github.com/voxdesk/voxdesk/ivr"
)

// fakeRecorder remembers what the record step asked.
type fakeRecorder struct {
	mu    sync.Mutex
	err   error
	calls []recordCall
	done  int
}

type recordCall struct {
	callID, notice, by string
	start              bool
}

func (f *fakeRecorder) Record(ctx context.Context, c *call.Call, notice, by string, start bool) (func(), error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	f.calls = append(f.calls, recordCall{c.ID, notice, by, start})
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.done++
	}, nil
}

const recordFlow = `
operator: agent
steps:
  - id: notice
    record: p2s
    fail: agent
  - id: billing
    queue: billing
  - id: agent
    queue: general
`

func TestRecordStep(t *testing.T) {
	for _, tc := range []struct {
		name      string
		flow      string
		script    []calltest.Event
		recErr    error
		noRec     bool
		wantPath  string
		wantCalls []recordCall
		wantVars  map[string]string // "" means unset
		wantQueue int               // calls the router queued
	}{
		{
			name: "caller hears the whole notice: recorded", flow: recordFlow,
			wantPath:  "notice billing",
			wantCalls: []recordCall{{"test-call", "p2s.wav", "record@", true}},
			wantVars:  map[string]string{ivr.VarRecording: ivr.RecordingOn, ivr.VarRecordingNotice: "p2s.wav"},
			wantQueue: 1,
		},
		{
			name:      "a queue step's record-notice: told, recorded, queued",
			flow:      "operator: none\nsteps:\n  - queue: billing\n    record-notice: p1s\n",
			wantPath:  "main:1",
			wantCalls: []recordCall{{"test-call", "p1s.wav", "record@", true}},
			wantVars:  map[string]string{ivr.VarRecording: ivr.RecordingOn, ivr.VarRecordingNotice: "p1s.wav"},
			wantQueue: 1,
		},
		{
			name: "a queue step's record-notice, the recorder refuses: queued unrecorded",
			flow: "operator: none\nsteps:\n  - queue: billing\n    record-notice: p1s\n", recErr: errors.New("store down"),
			wantPath:  "main:1",
			wantVars:  map[string]string{ivr.VarRecording: ""},
			wantQueue: 1,
		},
		{
			name:     "hangs up during a queue step's notice: neither recorded nor queued",
			flow:     "operator: none\nsteps:\n  - queue: billing\n    record-notice: p2s\n",
			script:   []calltest.Event{{At: time.Second, Hangup: true}},
			wantPath: "main:1",
			wantVars: map[string]string{ivr.VarRecording: ""},
		},
		{
			name: "the agent starts it: caller told, recording ready",
			flow: `
operator: none
steps:
  - record: [p1s, p500]
    start: agent
  - queue: billing
`,
			wantPath:  "main:1 main:2",
			wantCalls: []recordCall{{"test-call", "p1s.wav, p500.wav", "record@", false}},
			wantVars:  map[string]string{ivr.VarRecording: ivr.RecordingReady, ivr.VarRecordingNotice: "p1s.wav, p500.wav"},
			wantQueue: 1,
		},
		{
			name: "caller hangs up during the notice: not recorded", flow: recordFlow,
			script:   []calltest.Event{{At: time.Second, Hangup: true}},
			wantPath: "notice",
			wantVars: map[string]string{ivr.VarRecording: "", ivr.VarRecordingNotice: ""},
		},
		{
			name: "caller presses 0 during the notice: not told, not recorded", flow: recordFlow,
			script:    []calltest.Event{{At: time.Second, Digit: '0'}},
			wantPath:  "notice agent",
			wantVars:  map[string]string{ivr.VarRecording: "", ivr.VarRecordingNotice: ""},
			wantQueue: 1,
		},
		{
			name: "the recorder refuses: fail way, nothing set", flow: recordFlow,
			recErr:    errors.New("store down"),
			wantPath:  "notice agent",
			wantVars:  map[string]string{ivr.VarRecording: "", ivr.VarRecordingNotice: ""},
			wantQueue: 1,
		},
		{
			name: "no recorder: fail way", flow: recordFlow, noRec: true,
			wantPath:  "notice agent",
			wantVars:  map[string]string{ivr.VarRecording: ""},
			wantQueue: 1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &fakeRecorder{err: tc.recErr}
			router := &fakeRouter{}
			path, c, _, _ := runFlow(t, runCase{name: "record", flow: tc.flow, script: tc.script, cfg: func(cfg *ivr.Config) {
				cfg.Router = router
				if !tc.noRec {
					cfg.Recorder = rec
				}
			}})
			if path != tc.wantPath {
				t.Errorf("path %q, want %q", path, tc.wantPath)
			}
			rec.mu.Lock()
			defer rec.mu.Unlock()
			if len(rec.calls) != len(tc.wantCalls) {
				t.Fatalf("Record called %d times (%+v), want %d", len(rec.calls), rec.calls, len(tc.wantCalls))
			}
			for i, w := range tc.wantCalls {
				got := rec.calls[i]
				if got.callID != w.callID || got.notice != w.notice || got.start != w.start || len(got.by) <= len(w.by) || got.by[:len(w.by)] != w.by {
					t.Errorf("Record(%+v), want %+v (by flow@version)", got, w)
				}
			}
			if rec.done != len(rec.calls) {
				t.Errorf("done called %d times for %d recordings", rec.done, len(rec.calls))
			}
			if len(router.calls) != tc.wantQueue {
				t.Errorf("queued %d times (%v), want %d", len(router.calls), router.calls, tc.wantQueue)
			}
			for k, want := range tc.wantVars {
				if got, _ := c.Var(k); got != want {
					t.Errorf("var %s = %q, want %q", k, got, want)
				}
			}
		})
	}
}
