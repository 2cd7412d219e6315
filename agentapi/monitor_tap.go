package agentapi

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/media"
)

// MonitorMode is how a supervisor takes part in an agent's call.
type MonitorMode string

// Monitor modes.
const (
	// ModeListen: the supervisor hears caller and agent; nobody hears
	// the supervisor.
	ModeListen MonitorMode = "listen"
	// ModeWhisper: the supervisor hears both and the agent hears the
	// supervisor; the caller does not (coaching).
	ModeWhisper MonitorMode = "whisper"
	// ModeBarge: a three-way conversation.
	ModeBarge MonitorMode = "barge"
)

func (m MonitorMode) valid() bool { return m == ModeListen || m == ModeWhisper || m == ModeBarge }

// heardByAgent reports whether the agent hears the supervisor in mode m.
func (m MonitorMode) heardByAgent() bool { return m == ModeWhisper || m == ModeBarge }

// talkingEvery is how often (in frames written to the supervisor) a
// monitor asks the router whether its agent still talks on the call: a
// transfer or hang-up ends the monitor at once, even if the call is put
// through to another agent before the bridge has been idle bridgeGone.
const talkingEvery = 25

// bridgeGone is how long a monitor waits without a frame crossing the
// call's bridge before it decides the conversation with its agent is
// over (the agent hung up, transferred the call, or lost their page):
// while a bridge runs each side passes a frame every 20 ms.
const bridgeGone = time.Second

// Frame counts of the monitor's buffers (20 ms each).
const (
	monitorBufferFrames = 5 // how far an input may run ahead of its reader
	monitorPrimeFrames  = 2 // what a buffer holds again after running dry
)

// monitor is one supervisor on one call: a call.Tap on the call's bridge
// that copies both sides into a mixer for the supervisor and, in whisper
// and barge, adds the supervisor's voice to the frames going to the agent
// (and to the caller). Two goroutines serve the supervisor's leg: one
// reads the supervisor's voice into small buffers the tap takes from, one
// writes the mix to the supervisor; the tap itself never waits for them.
type monitor struct {
	c     *call.Call
	agent string
	sup   *Account
	board *boardConn
	leg   call.Leg // the supervisor's audio
	log   *slog.Logger

	mode     atomic.Pointer[MonitorMode]
	mix      *media.Mixer     // input 0: the caller, 1: the agent
	toAgent  *media.PCMBuffer // the supervisor's voice for the agent
	toCaller *media.PCMBuffer // and for the caller (barge)
	scratch  [2][]int16       // per direction, used by that pump only
	last     atomic.Int64     // unix ns of the last frame seen on the bridge
	started  time.Time        // for the audit line at the end
	remove   func()           // detaches the tap
	// talking reports whether the agent still talks on the call (the
	// router's word); nil: not asked. It returns true when unsure.
	talking  func(ctx context.Context) bool
	told     atomic.Bool        // the agent's page was told they are heard
	cancel   context.CancelFunc // ends the goroutines
	stopOnce sync.Once
	why      string // why the monitor ended, set once by stop
	done     chan struct{}
}

var _ call.Tap = (*monitor)(nil)

// newMonitor returns a monitor and the context its run takes, which stop
// cancels.
func newMonitor(parent context.Context, c *call.Call, agent string, sup *Account, board *boardConn, leg call.Leg, mode MonitorMode) (*monitor, context.Context) {
	newBuf := func() *media.PCMBuffer {
		return media.NewPCMBuffer(monitorBufferFrames*call.FrameSamples, monitorPrimeFrames*call.FrameSamples)
	}
	m := &monitor{
		c: c, agent: agent, sup: sup, board: board, leg: leg,
		log: c.Log.With("supervisor", sup.ID, "agent", agent),
		mix: media.NewMixer(media.MixerConfig{Inputs: 2, Capacity: monitorBufferFrames * call.FrameSamples,
			Prime: monitorPrimeFrames * call.FrameSamples}),
		toAgent: newBuf(), toCaller: newBuf(),
		scratch: [2][]int16{make([]int16, call.FrameSamples), make([]int16, call.FrameSamples)},
		started: time.Now(), done: make(chan struct{}),
	}
	m.mode.Store(&mode)
	m.last.Store(m.started.UnixNano())
	ctx, cancel := context.WithCancel(parent)
	m.cancel = cancel
	return m, ctx
}

// Mode is the monitor's current mode.
func (m *monitor) Mode() MonitorMode { return *m.mode.Load() }

// setMode switches mode; the supervisor's voice buffered for the old
// mode is dropped so nobody hears it late.
func (m *monitor) setMode(mode MonitorMode) {
	m.mode.Store(&mode)
	m.toAgent.Reset()
	m.toCaller.Reset()
}

// Frame is the tap: called by the bridge's pumps, it must not block.
func (m *monitor) Frame(dir call.Direction, frame []int16) {
	m.last.Store(time.Now().UnixNano())
	in := 0
	if dir == call.ToCaller {
		in = 1
	}
	// The supervisor hears the call as the parties speak, before their
	// own voice is added to it.
	m.mix.Write(in, frame)
	mode := m.Mode()
	voice := m.toAgent // FromCaller frames go to the agent
	if dir == call.ToCaller {
		if mode != ModeBarge {
			return
		}
		voice = m.toCaller
	} else if !mode.heardByAgent() {
		return
	}
	tmp := m.scratch[in][:min(len(frame), call.FrameSamples)]
	if voice.ReadTo(tmp) {
		media.AddTo(frame, tmp)
	}
}

// heard takes one frame of the supervisor's voice (the reader goroutine).
func (m *monitor) heard(frame []int16) {
	switch m.Mode() {
	case ModeWhisper:
		m.toAgent.Write(frame)
	case ModeBarge:
		m.toAgent.Write(frame)
		m.toCaller.Write(frame)
	}
}

// stop ends the monitor with a reason; the first reason stays.
func (m *monitor) stop(why string) {
	m.stopOnce.Do(func() {
		m.why = why
		m.cancel()
	})
}

// run serves the supervisor's leg until the monitor is stopped, the call
// or the conversation with the agent ends, or the supervisor's audio
// goes; then it detaches the tap, hangs up the supervisor's leg and
// calls ended with the reason. ctx (from newMonitor) ends it too: the
// server closing.
func (m *monitor) run(ctx context.Context, ended func(why string)) {
	defer close(m.done)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]int16, call.FrameSamples)
		for {
			n, err := m.leg.ReadAudio(ctx, buf)
			if err != nil {
				m.stop("the supervisor's audio ended")
				return
			}
			m.heard(buf[:n])
		}
	}()
	why := m.write(ctx)
	m.stop(why)
	wg.Wait()
	m.remove()
	_ = m.leg.Hangup(context.WithoutCancel(ctx), call.CauseNormal)
	ended(m.why)
}

// write sends the mix of both sides to the supervisor, paced by the
// leg, and returns why it stopped.
func (m *monitor) write(ctx context.Context) string {
	out := make([]int16, call.FrameSamples)
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return "switch shutting down"
		case <-m.c.Leg.Done():
			return "the call ended"
		case <-m.leg.Done():
			return "the supervisor's audio ended"
		default:
		}
		if time.Since(time.Unix(0, m.last.Load())) > bridgeGone ||
			(m.talking != nil && n%talkingEvery == 0 && !m.talking(ctx)) {
			return "the agent's conversation ended"
		}
		m.mix.MixTo(out)
		if err := m.leg.WriteAudio(ctx, out); err != nil {
			if ctx.Err() != nil {
				return "switch shutting down"
			}
			return "the supervisor's audio ended"
		}
	}
}
