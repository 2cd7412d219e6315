package ivr

import (
	"context"
	"strings"

	"github.com/voxdesk/voxdesk/call"
)

// Call variables the record step sets.
const (
	// VarRecording is "on" while the call is recorded, "ready" when the
	// caller was told and the agent may start the recording; unset when
	// the caller was not told (the call must not be recorded).
	VarRecording = "recording"
	// VarRecordingNotice is the notice the caller heard in full (its
	// prompts, comma-separated).
	VarRecordingNotice = "recording.notice"
)

// Recording states in VarRecording.
const (
	RecordingOn    = "on"
	RecordingReady = "ready"
)

// Recorder records calls whose caller has been told so.
type Recorder interface {
	// Record is called once the caller has heard the whole notice, with
	// who gave it (the flow, name@version). With start it records the
	// call's conversation with an agent (both sides) from then on;
	// without, it only remembers that the caller was told, for the agent
	// to start the recording. The runner calls done when it is finished
	// with the call (the conversation is over): the recording is then
	// stored.
	Record(ctx context.Context, c *call.Call, notice, by string, start bool) (done func(), err error)
}

// recordStep plays a notice to its end and only then has the call
// recorded, from now on or once the agent starts the recording.
type recordStep struct {
	onward
	prompts     []string // the notice
	agentStarts bool     // start: agent
}

// run plays the notice to its end and only then has the call recorded. A
// caller who hangs up or presses 0 during the notice was not told, and
// is not recorded.
func (o *recordStep) run(s *session, st *Step) (string, error) {
	why, err := s.tell(o.prompts, !o.agentStarts)
	if err != nil {
		return exit, err
	}
	if why != "" {
		return s.failed(st, why), nil
	}
	return st.following(), nil
}

func (o *recordStep) about() []string {
	out := []string{"notice " + strings.Join(o.prompts, ", ")}
	if o.agentStarts {
		out = append(out, "started by the agent")
	}
	return out
}

func (o *recordStep) records() bool { return true }

// tell plays the notice prompts to their end, then has the call recorded
// (start) or ready for the agent to record. It returns why the call is
// not recorded ("" when it is), or the error that ended the step (the
// caller hung up or pressed 0 during the notice: not told).
func (s *session) tell(prompts []string, start bool) (string, error) {
	rec := s.r.cfg.Recorder
	if rec == nil {
		return "no recorder", nil
	}
	if _, err := s.play(prompts, false); err != nil {
		return "", err
	}
	notice := strings.Join(prompts, ", ")
	done, err := rec.Record(s.ctx, s.c, notice, s.f.name+"@"+s.f.Version(), start)
	if err != nil {
		s.log.Warn("ivr: recording not started", "err", err)
		return "recording not started", nil
	}
	s.records = append(s.records, done)
	state := RecordingOn
	if !start {
		state = RecordingReady
	}
	s.c.SetVar(VarRecordingNotice, notice)
	s.c.SetVar(VarRecording, state)
	s.log.Info("ivr: caller told the call is recorded", "notice", notice, "recording", state)
	return "", nil
}

// endRecordings finishes the recordings the call's record steps started.
func (s *session) endRecordings() {
	for _, done := range s.records {
		done()
	}
}

// parseRecord reads a record step: its notice prompts and start: now
// (the default) or agent.
func parseRecord(a *stepArgs) stepOptions {
	o := &recordStep{}
	if a.need("a notice prompt (telling the caller the call is recorded)") {
		o.prompts = a.promptList(a.arg, "record")
	}
	start := a.get("start")
	if start == nil {
		return o
	}
	v, ok := a.text(start, "start")
	if !ok {
		return o
	}
	switch v {
	case "now":
	case "agent":
		o.agentStarts = true
	default:
		a.errorf(posOf(start), "start: %q (want now or agent)", v)
	}
	return o
}

// recordable refuses the record steps of a flow loaded for a switch that
// cannot record calls.
func (p *loader) recordable(c *Catalog) {
	if c.NoRecording == "" {
		return
	}
	for _, sq := range p.flow.seqs() {
		for _, st := range sq.steps {
			if r, ok := st.opts.(recorder); ok && r.records() {
				p.errorf(st.pos, "record: this switch cannot record calls (%s)", c.NoRecording)
			}
		}
	}
}
