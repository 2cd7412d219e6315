package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/voxdesk/voxdesk/agentapi"
	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/customer"
	"github.com/voxdesk/voxdesk/ivr"
	"github.com/voxdesk/voxdesk/media"
)

// RecordingConfig is the recording section: calls are recorded by the
// flows' record steps, only after the caller heard the notice.
type RecordingConfig struct {
	// MaxDuration bounds one recording (default 1 h): a longer call keeps
	// its first MaxDuration.
	MaxDuration time.Duration `yaml:"max_duration"`
	// RetentionDays erases recordings that many days old (0: kept until
	// erased by hand or with the customer's data). The purge runs at
	// start-up and after each recording is stored.
	RetentionDays int `yaml:"retention_days"`
}

func (c *RecordingConfig) fill() {
	if c.MaxDuration <= 0 || c.MaxDuration > maxRecording {
		c.MaxDuration = maxRecording
	}
}

// maxRecording is the longest recording kept: what fits in
// customer.MaxRecordingBytes as 8 kHz 16-bit stereo.
const maxRecording = time.Hour

// recorder records calls whose caller was told (the IVR's record step)
// and stores each recording, sealed, when the call ends. It implements
// ivr.Recorder and agentapi.CallRecorder.
type recorder struct {
	db  customer.RecordingStore
	log *slog.Logger
	cfg RecordingConfig
	now func() time.Time

	mu    sync.Mutex
	calls map[string]*liveRecording // calls whose caller was told, by call id
}

var (
	_ ivr.Recorder          = (*recorder)(nil)
	_ agentapi.CallRecorder = (*recorder)(nil)
)

// liveRecording is one told call.
type liveRecording struct {
	c          *call.Call
	notice, by string
	stereo     *media.Stereo
	remove     func() // detaches the tap; nil until started
	started    time.Time
	startedBy  string
}

func newRecorder(db customer.RecordingStore, cfg RecordingConfig, log *slog.Logger) *recorder {
	cfg.fill()
	return &recorder{db: db, cfg: cfg, log: log.With("component", "recorder"), now: time.Now, calls: map[string]*liveRecording{}}
}

// Record implements ivr.Recorder.
func (r *recorder) Record(ctx context.Context, c *call.Call, notice, by string, start bool) (func(), error) {
	r.mu.Lock()
	lr := r.calls[c.ID]
	if lr == nil {
		lr = &liveRecording{c: c}
		r.calls[c.ID] = lr
	}
	lr.notice, lr.by = notice, by
	if start {
		r.startLocked(lr, "ivr")
	}
	r.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { r.finish(c.ID) }) }, nil
}

// startLocked taps the call's bridge: the caller on the left, the agent
// on the right, each as their leg sent it (an observer: a supervisor's
// whisper or barge is not recorded).
func (r *recorder) startLocked(lr *liveRecording, actor string) {
	if lr.remove != nil {
		return
	}
	st := media.NewStereo(r.cfg.MaxDuration, r.now)
	lr.stereo, lr.started, lr.startedBy = st, r.now(), actor
	lr.remove = lr.c.Taps.Observe(call.TapFunc(func(dir call.Direction, frame []int16) {
		ch := 0
		if dir == call.ToCaller {
			ch = 1
		}
		st.Write(ch, frame)
	}))
	lr.c.SetVar(ivr.VarRecording, ivr.RecordingOn)
	lr.c.Log.Info("recording started", "notice", lr.notice, "by", lr.by, "started_by", actor)
}

// RecordingState implements agentapi.CallRecorder.
func (r *recorder) RecordingState(callID string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch lr := r.calls[callID]; {
	case lr == nil:
		return ""
	case lr.remove != nil:
		return ivr.RecordingOn
	default:
		return ivr.RecordingReady
	}
}

// StartRecording implements agentapi.CallRecorder: only a call whose
// caller heard the notice is recorded.
func (r *recorder) StartRecording(ctx context.Context, callID, actor string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	lr := r.calls[callID]
	if lr == nil {
		return fmt.Errorf("service: record call %s: %w", callID, customer.ErrNotTold)
	}
	r.startLocked(lr, actor)
	return nil
}

// finish ends the call's recording and stores it (the runner is done
// with the call: its conversation is over).
func (r *recorder) finish(callID string) {
	r.mu.Lock()
	lr := r.calls[callID]
	delete(r.calls, callID)
	r.mu.Unlock()
	if lr == nil {
		return
	}
	log := lr.c.Log
	if lr.remove == nil {
		log.Info("recording not made: the caller was told but nobody started it")
		return
	}
	lr.remove()
	d := lr.stereo.Duration()
	if d == 0 {
		log.Info("recording empty: the call never reached an agent")
		return
	}
	by := lr.by
	if lr.startedBy != "ivr" {
		by += ", started by " + lr.startedBy
	}
	cust, _ := lr.c.Var(call.VarCustomer)
	rec := customer.Recording{CallID: lr.c.ID, CustomerID: cust, StartedAt: lr.started, Duration: d, Channels: 2,
		Notice: lr.notice, NoticeBy: by}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	wav := lr.stereo.WAV()
	saved, err := r.db.SaveRecording(ctx, rec, wav, "recorder")
	if errors.Is(err, customer.ErrNotFound) && cust != "" {
		// The customer went (erased, merged) during the call: keep the
		// recording against the call, as for a caller not identified.
		log.Warn("recording's customer not in the store; kept against the call", "customer", cust)
		rec.CustomerID = ""
		saved, err = r.db.SaveRecording(ctx, rec, wav, "recorder")
	}
	if err != nil {
		log.Error("recording not stored", "seconds", d.Seconds(), "err", err)
		return
	}
	log.Info("recording stored", "recording", saved.ID, "customer", saved.CustomerID, "seconds", d.Seconds(), "full", lr.stereo.Full())
	r.purge(ctx)
}

// purge erases the recordings older than the retention period.
func (r *recorder) purge(ctx context.Context) {
	if r.cfg.RetentionDays <= 0 {
		return
	}
	before := r.now().Add(-time.Duration(r.cfg.RetentionDays) * 24 * time.Hour)
	if n, err := r.db.PurgeRecordings(ctx, before, "retention"); err != nil {
		r.log.Error("recording retention purge", "err", err)
	} else if n > 0 {
		r.log.Info("recordings past retention erased", "count", n, "retention_days", r.cfg.RetentionDays)
	}
}

// buildRecorder makes the recorder when the customer store can seal
// (it has a key), purges what is past retention, and returns the agent
// API's options for the customer file's recordings.
func (s *Service) buildRecorder(c *Config) []agentapi.Option {
	if s.db == nil || !s.voiceKey {
		if c.Recording != (RecordingConfig{}) {
			s.log.Warn("recording: no customer store with a key (customer.key): calls are not recorded")
		}
		return nil
	}
	s.recorder = newRecorder(s.db, c.Recording, s.log)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s.recorder.purge(ctx)
	opts := []agentapi.Option{agentapi.WithRecordings(s.db, s.recorder)}
	if s.voice == nil {
		// Without voice identification an admin must still be able to
		// erase a customer's data, recordings included.
		opts = append(opts, agentapi.WithBiometrics(storeEraser{s.db}))
	}
	return opts
}

// storeEraser is the agent API's Biometrics of a switch without voice
// identification: erase works on the store (voiceprints left from
// before, consent, recordings); enrolment is refused.
type storeEraser struct{ db *customer.DB }

var _ agentapi.Biometrics = storeEraser{}

// errNoVoice refuses an enrolment on a switch without voice identification.
var errNoVoice = errors.New("service: voice identification is not configured (voiceprint section, speaker model)")

func (e storeEraser) Enrol(ctx context.Context, customerID, callID, actor string) error {
	return fmt.Errorf("service: enrol %s: %w", customerID, errNoVoice)
}

func (e storeEraser) Erase(ctx context.Context, customerID, actor string) error {
	return e.db.EraseBiometrics(ctx, customerID, actor)
}

// noRecording says why a switch with this configuration cannot record
// calls ("" when it can): flows with record steps are refused then.
func (c *Config) noRecording() string {
	switch {
	case c.Customer.DSN == "":
		return "no customer store (customer.dsn) to keep recordings in"
	case c.Customer.Key == "" && os.Getenv(customer.KeyEnv) == "":
		return "no key to seal recordings (customer.key or $" + customer.KeyEnv + ")"
	}
	return ""
}
