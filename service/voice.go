package service

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/voxdesk/voxdesk/agentapi"
	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/customer"
	"github.com/voxdesk/voxdesk/identify"
	"github.com/voxdesk/voxdesk/ivr"
	"github.com/voxdesk/voxdesk/media"
	"github.com/voxdesk/voxdesk/voiceprint"
)

// VoiceprintConfig is the voiceprint section: how callers are recognised
// by voice. The decisions themselves are package identify's: a search
// over N voiceprints is confident only when the chance that an unknown
// caller passes as any of the N stays at the configured rate.
type VoiceprintConfig struct {
	// ModelDir holds the speaker model's files; empty means
	// VOXDESK_MODEL_DIR or the fetch cache. "off" turns voice
	// identification off.
	ModelDir string `yaml:"model_dir"`
	// Network is the speaker network's arithmetic: "int8" (the
	// default: 8-bit weights and activations, fast on AVX-512 VNNI, see
	// voiceprint.Config.Int8) or "float32" (Kaldi's embeddings exactly;
	// choose it on processors without VNNI, where the 8-bit product is a
	// plain Go loop). int8 is the default because it holds float32's
	// accuracy on the development speech (identify's
	// TestNetworkInt8Accuracy, bench/RESULTS-voiceprint.md).
	Network string `yaml:"network"`
	// FalseIdentRate is the share of callers who are not enrolled that a
	// search of the whole enrolled base may take for a customer (default
	// 0.005, whatever the base's size); VerifyFalseIdentRate the same for
	// the calling number's customers and the verify step (default
	// 0.005); WatchlistFalseIdentRate for the fraud watchlist (0.005).
	FalseIdentRate          float64 `yaml:"false_ident_rate"`
	VerifyFalseIdentRate    float64 `yaml:"verify_false_ident_rate"`
	WatchlistFalseIdentRate float64 `yaml:"watchlist_false_ident_rate"`
	// Calibration is the file voxdesk voiceprint calibrate wrote: the
	// impostor statistics the thresholds come from. Empty means
	// PATH.calibration.json beside a customer.dsn of sqlite:PATH when that
	// file exists, else identify.DefaultCalibration (development speech).
	Calibration string `yaml:"calibration"`
	// CohortSize bounds how many enrolled voiceprints serve as the
	// impostor cohort of score normalisation (default 1000); CohortShare
	// is the share of the closest members adaptive s-norm uses (default
	// 0.5, see identify.GalleryConfig).
	CohortSize  int     `yaml:"cohort_size"`
	CohortShare float64 `yaml:"cohort_share"`
	// EnrolSpeech is the net speech an enrolment needs (default 8 s).
	EnrolSpeech time.Duration `yaml:"enrol_speech"`
	// TapSeconds is how much of each call's caller audio is kept for an
	// agent's "enrol voiceprint" (default 30 s).
	TapSeconds int `yaml:"tap_seconds"`
	// DemoSpeech is a speech folder laid out like ../shared/speech: at
	// start-up, customers with a demo_speaker attribute and no voiceprint
	// are enrolled from that speaker's recordings, with a consent record
	// naming the demo, and its Hyke speakers (never customers) fill the
	// score normalisation cohort. Empty: no demo enrolment.
	DemoSpeech string `yaml:"demo_speech"`
	// MaxStreams bounds the identifying streams (identify and verify
	// listenings) computed at once; a caller beyond it is not listened
	// to and falls back to number/PIN, with the reason in the call's log
	// and voxdesk_voice_not_admitted_total. Zero derives it at start:
	// half of GOMAXPROCS over one stream's measured cost (logged as
	// "voiceprint admission"); set it from that figure on a machine
	// busy with other work at start.
	MaxStreams int `yaml:"max_streams"`
}

func (c *VoiceprintConfig) setDefaults() {
	if c.Network == "" {
		c.Network = "int8"
	}
	if c.FalseIdentRate == 0 {
		c.FalseIdentRate = identify.DefaultTarget
	}
	if c.VerifyFalseIdentRate == 0 {
		c.VerifyFalseIdentRate = identify.DefaultTarget
	}
	if c.WatchlistFalseIdentRate == 0 {
		c.WatchlistFalseIdentRate = identify.DefaultTarget
	}
	if c.CohortSize == 0 {
		c.CohortSize = 1000
	}
	if c.CohortShare == 0 {
		c.CohortShare = 0.5
	}
	if c.EnrolSpeech == 0 {
		c.EnrolSpeech = 8 * time.Second
	}
	if c.TapSeconds == 0 {
		c.TapSeconds = 30
	}
}

// Enabled reports whether voice identification is configured on.
func (c *VoiceprintConfig) Enabled() bool { return c.ModelDir != "off" }

func (c *VoiceprintConfig) check() error {
	for _, r := range []struct {
		key  string
		rate float64
	}{{"false_ident_rate", c.FalseIdentRate}, {"verify_false_ident_rate", c.VerifyFalseIdentRate}, {"watchlist_false_ident_rate", c.WatchlistFalseIdentRate}} {
		if !(r.rate > 0 && r.rate < 0.5) {
			return fmt.Errorf("voiceprint.%s %v: want a rate in (0, 0.5), e.g. 0.005", r.key, r.rate)
		}
	}
	if c.MaxStreams < 0 {
		return fmt.Errorf("voiceprint.max_streams %d: want 0 (derived from the CPUs) or a positive bound", c.MaxStreams)
	}
	if c.Network != "float32" && c.Network != "int8" {
		return fmt.Errorf("voiceprint.network %q: want float32 or int8", c.Network)
	}
	return nil
}

// modelID names the model voiceprints are stored under: an embedding is
// only comparable with embeddings of the same network.
const modelID = "vosk-model-spk-0.4"

// voice is voxdesk's voice side: it recognises callers (ivr.Identifier,
// ivr.Verifier), enrols them with consent (ivr.Enroller, agentapi's
// Biometrics) and keeps the in-memory gallery in step with the customer
// store, this node's changes and other nodes' alike.
type voice struct {
	cfg     VoiceprintConfig
	model   *voiceprint.Model
	db      *customer.DB
	log     *slog.Logger
	policy  *identify.Policy
	gallery *identify.Gallery // customers' voiceprints
	watch   *identify.Gallery // fraud watchlist, scored with the customers' cohort

	decideTime *prometheus.HistogramVec // compute time of one decision
	speechUsed prometheus.Histogram     // net speech heard when a caller was identified
	outcomes   *prometheus.CounterVec   // how each listening ended
	watchHits  prometheus.Counter       // calls whose voice matched the watchlist

	mu         sync.Mutex
	watchLabel map[string]string // watchlist entry id -> label
	since      int64             // last change applied from the store's feed
	taps       map[string]*tapLeg
	marks      *frameMarks // calls' RTP media, to skip synthesised frames
	admit      *admission  // bounds the identifying streams
}

// newVoice loads the model, the calibration, every stored voiceprint
// and the watchlist.
func newVoice(ctx context.Context, cfg VoiceprintConfig, db *customer.DB, log *slog.Logger) (*voice, error) {
	cfg.setDefaults()
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "voice")
	model, err := voiceprint.Open(voiceprint.Config{Dir: cfg.ModelDir, Int8: cfg.Network == "int8"})
	if err != nil {
		return nil, fmt.Errorf("service: voiceprint model: %w", err)
	}
	cal, source, err := loadCalibration(cfg.Calibration)
	if err != nil {
		return nil, err
	}
	policy, err := identify.New(cal, identify.Config{Target: cfg.FalseIdentRate})
	if err != nil {
		return nil, fmt.Errorf("service: voiceprint calibration %s: %w", source, err)
	}
	extra := cal.Cohort
	if cfg.DemoSpeech != "" {
		demo, err := demoCohort(cfg.DemoSpeech, model, cfg)
		if err != nil {
			return nil, fmt.Errorf("service: demo cohort: %w", err)
		}
		extra = append(slices.Clip(extra), demo...)
	}
	gallery, err := identify.NewGallery(identify.GalleryConfig{CohortSize: cfg.CohortSize, CohortShare: cfg.CohortShare, Extra: extra})
	if err != nil {
		return nil, fmt.Errorf("service: voiceprint cohort: %w", err)
	}
	v := &voice{cfg: cfg, model: model, db: db, log: log, policy: policy, gallery: gallery, watch: gallery.Linked(),
		taps: map[string]*tapLeg{}, marks: newFrameMarks(), watchLabel: map[string]string{},
		decideTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "voxdesk_voice_decide_seconds", Help: "Compute time of one identification or verification decision (embedding, search, scoring).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 12),
		}, []string{"mode"}),
		speechUsed: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "voxdesk_voice_speech_to_decision_seconds", Help: "Net speech heard when a caller was first identified with confidence.",
			Buckets: []float64{1, 2, 3, 4, 5, 6, 7, 8, 10, 15},
		}),
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "voxdesk_voice_outcomes_total", Help: "How listening ended: identified, unknown (enough speech, nobody matched) or not_sure.",
		}, []string{"mode", "outcome"}),
		watchHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "voxdesk_voice_watchlist_hits_total", Help: "Listenings whose voice matched the fraud watchlist.",
		}),
	}
	maxStreams, how := cfg.MaxStreams, "configured"
	if maxStreams == 0 {
		cost := streamCost(model)
		maxStreams, how = deriveMaxStreams(cost), "measured"
		v.log.Info("voiceprint stream cost", "cpu_per_audio_second", cost, "gomaxprocs", maxProcs(), "cpu_share", voiceCPUShare)
	}
	v.admit = newAdmission(maxStreams, v.log)
	v.log.Info("voiceprint admission", "max_streams", maxStreams, "source", how)
	v.log.Info("voiceprint calibration", "source", source, "made", cal.Made, "false_ident_rate", cfg.FalseIdentRate, "network", cfg.Network, "cohort", gallery.CohortLen())
	if db == nil {
		return v, nil
	}
	since, err := db.LastChange(ctx)
	if err != nil {
		return nil, fmt.Errorf("service: voiceprints: %w", err)
	}
	n := 0
	err = db.AllVoiceprints(ctx, "voxdesk:index-load", func(vp customer.Voiceprint) error {
		if vp.ModelID != modelID {
			return nil
		}
		n++
		return gallery.Put(vp.CustomerID, vp.Embedding)
	})
	if err != nil {
		return nil, fmt.Errorf("service: load voiceprints: %w", err)
	}
	if err := v.loadWatchlist(ctx); err != nil {
		return nil, err
	}
	v.since = since
	v.log.Info("voiceprints loaded", "count", n, "model", modelID, "watchlist", v.watch.Len(), "cohort", gallery.CohortLen())
	if cfg.DemoSpeech != "" {
		if err := v.enrolDemo(ctx); err != nil {
			return nil, err
		}
	}
	// The cohort is what was loaded: later enrolments compute their own
	// statistics once and leave everyone else's valid.
	gallery.Seal()
	return v, nil
}

// loadWatchlist (re)reads the fraud watchlist into its gallery.
func (v *voice) loadWatchlist(ctx context.Context) error {
	labels := map[string]string{}
	err := v.db.Watchlist(ctx, "voxdesk:index-load", func(w customer.WatchEntry) error {
		if w.ModelID != modelID {
			return nil
		}
		labels[w.ID] = cmp.Or(w.Label, w.ID)
		return v.watch.Put(w.ID, w.Embedding)
	})
	if err != nil {
		return fmt.Errorf("service: load watchlist: %w", err)
	}
	for _, id := range v.watch.IDs() {
		if _, ok := labels[id]; !ok {
			_ = v.watch.Remove(id)
		}
	}
	v.mu.Lock()
	v.watchLabel = labels
	v.mu.Unlock()
	return nil
}

// Collectors are the voice side's metrics, for the switch's registry.
func (v *voice) Collectors() []prometheus.Collector {
	return []prometheus.Collector{v.decideTime, v.speechUsed, v.outcomes, v.watchHits, v.admit.refused}
}

// Run follows the store's change feed so enrolments, erasures and
// watchlist changes made on other nodes reach this node's gallery. It
// returns when ctx ends.
func (v *voice) Run(ctx context.Context) error {
	if v.db == nil {
		<-ctx.Done()
		return nil
	}
	v.mu.Lock()
	since := v.since
	v.mu.Unlock()
	_, err := customer.Follow(ctx, v.db, since, time.Second, func(ch customer.Change) error {
		v.apply(ctx, ch)
		return nil
	})
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}

// apply brings the gallery in line with one change of the store.
func (v *voice) apply(ctx context.Context, ch customer.Change) {
	switch ch.Kind {
	case customer.ChangeVoiceprintSaved:
		if ch.ModelID != "" && ch.ModelID != modelID {
			return
		}
		vps, err := v.db.Voiceprints(ctx, ch.CustomerID, "voxdesk:index-sync")
		if err != nil {
			v.log.Warn("voiceprint sync failed", "customer", ch.CustomerID, "err", err)
			return
		}
		for _, vp := range vps {
			if vp.ModelID == modelID {
				v.put(vp.CustomerID, vp.Embedding)
			}
		}
	case customer.ChangeBiometricsErased:
		v.drop(ch.CustomerID)
		v.reloadWatchlist(ctx) // the erasure took the watchlist entries derived from the customer
	case customer.ChangeWatchAdded, customer.ChangeWatchRemoved:
		v.reloadWatchlist(ctx)
	}
}

func (v *voice) reloadWatchlist(ctx context.Context) {
	if err := v.loadWatchlist(ctx); err != nil {
		v.log.Warn("watchlist sync failed", "err", err)
	}
}

func (v *voice) put(id string, vec []float32) {
	if err := v.gallery.Put(id, vec); err != nil {
		v.log.Warn("voiceprint index update failed", "customer", id, "err", err)
	}
}

// drop removes a customer's voiceprint from the gallery and its cohort
// at once: an erased voiceprint must not linger in any copy.
func (v *voice) drop(id string) {
	if err := v.gallery.Remove(id); err != nil {
		v.log.Warn("voiceprint index removal failed", "customer", id, "err", err)
	}
}

// Enrolled reports whether the customer has a voiceprint in the gallery.
func (v *voice) Enrolled(id string) bool { return v.gallery.Has(id) }

var (
	_ ivr.Identifier = (*voice)(nil)
	_ ivr.Verifier   = (*voice)(nil)
	_ ivr.Enroller   = (*voice)(nil)
	_ ivr.Reporter   = (*listener)(nil)
)

// RecordConsent stores the caller's answer to the consent prompt. Only a
// given consent is recorded; a refusal leaves the customer unenrolled.
func (v *voice) RecordConsent(ctx context.Context, customerID, callID string, given bool, prompt string, at time.Time) error {
	if v.db == nil {
		return errors.New("service: consent: no customer store")
	}
	if !given {
		v.log.Info("consent refused", "call_id", callID, "customer", customerID)
		return nil
	}
	_, err := v.db.GiveConsent(ctx, customer.Consent{
		CustomerID: customerID, GivenAt: at, Method: customer.ConsentIVR,
		GivenBy: "ivr", RecordingRef: "call:" + callID + " prompt:" + prompt,
	})
	if err == nil {
		v.log.Info("consent recorded", "call_id", callID, "customer", customerID, "method", customer.ConsentIVR)
	}
	return err
}

// Enrol starts capturing a customer's speech for a voiceprint.
func (v *voice) Enrol(customerID string) ivr.Enrolment {
	return &enrolment{v: v, id: customerID, stream: v.model.NewStream()}
}

type enrolment struct {
	v      *voice
	id     string
	stream *voiceprint.Stream
}

func (e *enrolment) Write(frame []int16) error { e.stream.Write(frame); return nil }
func (e *enrolment) Speech() time.Duration {
	return time.Duration(e.stream.Speech() * float64(time.Second))
}
func (e *enrolment) Close() {}

func (e *enrolment) Commit(ctx context.Context) error {
	emb, err := e.stream.Embed()
	if err != nil {
		return fmt.Errorf("service: enrol %s: %w", e.id, err)
	}
	return e.v.save(ctx, e.id, []voiceprint.Embedding{emb}, "ivr")
}

// save adds new utterance embeddings to the customer's voiceprint (a new
// one, or the stored one updated, weighed by its utterance count), stores
// it and updates the index. The store refuses it without a current
// consent.
func (v *voice) save(ctx context.Context, id string, utts []voiceprint.Embedding, actor string) error {
	if v.db == nil {
		return errors.New("service: enrol: no customer store")
	}
	vp, err := mergeVoiceprint(ctx, v.db, id, utts, actor, v.cfg.EnrolSpeech)
	if err != nil {
		return err
	}
	saved, err := v.db.SaveVoiceprint(ctx, vp, actor)
	if err != nil {
		return fmt.Errorf("service: enrol %s: %w", id, err)
	}
	v.put(id, saved.Embedding)
	v.log.Info("voiceprint enrolled", "customer", id, "actor", actor, "utterances", saved.Utterances, "speech_s", saved.SpeechSeconds)
	return nil
}

// Erase removes the customer's voiceprints from the store (which keeps the
// audit entry and withdraws consent) and from this node's index at once;
// other nodes follow the change feed.
func (v *voice) Erase(ctx context.Context, customerID, actor string) error {
	if v.db == nil {
		return errors.New("service: erase: no customer store")
	}
	if err := v.db.EraseBiometrics(ctx, customerID, actor); err != nil {
		return err
	}
	v.drop(customerID)
	for _, t := range v.tapsOf() {
		if cust, _ := t.call.Var(call.VarCustomer); cust == customerID {
			t.forget()
		}
	}
	return nil
}

// EnrolCall builds the customer's voiceprint from the caller audio kept
// for callID: an agent's "enrol voiceprint" after talking to the caller.
func (v *voice) EnrolCall(ctx context.Context, customerID, callID, actor string) error {
	v.mu.Lock()
	t := v.taps[callID]
	v.mu.Unlock()
	if t == nil {
		return fmt.Errorf("service: enrol %s: no audio kept for call %s", customerID, callID)
	}
	if _, err := v.db.CurrentConsent(ctx, customerID); err != nil {
		return fmt.Errorf("service: enrol %s: %w", customerID, err)
	}
	pcm := t.audio()
	emb, err := v.model.NewExtractor().Embed(pcm, voiceprint.SampleRate)
	if err != nil {
		return fmt.Errorf("service: enrol %s from call %s: %w", customerID, callID, err)
	}
	return v.save(ctx, customerID, []voiceprint.Embedding{emb}, actor)
}

func (v *voice) tapsOf() []*tapLeg {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make([]*tapLeg, 0, len(v.taps))
	for _, t := range v.taps {
		out = append(out, t)
	}
	return out
}

// Middleware keeps the last TapSeconds of each call's caller audio while
// the call lasts, for enrolment by an agent.
func (v *voice) Middleware(next call.Handler) call.Handler {
	return call.HandlerFunc(func(ctx context.Context, c *call.Call) error {
		t := &tapLeg{Leg: c.Leg, call: c, keep: v.cfg.TapSeconds * call.SampleRate}
		if m, ok := c.Leg.(media.Marker); ok {
			t.mark = m
		} else {
			t.mark = v.marks.get(c.ID)
		}
		c.Leg = t
		v.mu.Lock()
		v.taps[c.ID] = t
		v.mu.Unlock()
		defer func() {
			v.mu.Lock()
			delete(v.taps, c.ID)
			v.mu.Unlock()
		}()
		return next.ServeCall(ctx, c)
	})
}

// tapLeg copies what the caller says into a ring buffer on its way to
// the handler, leaving out frames the media synthesised (concealment,
// silence fill), which it marks for the handler's listeners too.
type tapLeg struct {
	call.Leg
	call   *call.Call
	mark   media.Marker // nil: every frame was received
	mu     sync.Mutex
	keep   int     // samples kept at most
	ring   []int16 // grows with the call up to keep, then wraps
	n      int     // samples written in all
	erased bool
}

func (t *tapLeg) ReadAudio(ctx context.Context, dst []int16) (int, error) {
	n, err := t.Leg.ReadAudio(ctx, dst)
	if n > 0 && !t.Synthetic() {
		t.mu.Lock()
		if !t.erased {
			t.keepAudio(dst[:n])
		}
		t.mu.Unlock()
	}
	return n, err
}

// keepAudio adds samples to the ring. It grows with the call (doubling,
// from 1 s), so a short call does not hold TapSeconds from its start.
func (t *tapLeg) keepAudio(pcm []int16) {
	if t.keep <= 0 {
		return
	}
	if grow := min(len(pcm), t.keep-len(t.ring)); grow > 0 {
		if len(t.ring)+grow > cap(t.ring) {
			want := min(max(2*cap(t.ring), call.SampleRate, len(t.ring)+grow), t.keep)
			t.ring = append(make([]int16, 0, want), t.ring...)
		}
		t.ring = append(t.ring, pcm[:grow]...)
		t.n += grow
		pcm = pcm[grow:]
	}
	for _, s := range pcm {
		t.ring[t.n%len(t.ring)] = s
		t.n++
	}
}

// Synthetic reports whether the frame just read was synthesised by the
// media rather than received (media.Marker).
func (t *tapLeg) Synthetic() bool { return t.mark != nil && t.mark.Synthetic() }

var _ media.Marker = (*tapLeg)(nil)

// audio returns the kept samples, oldest first.
func (t *tapLeg) audio() []int16 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n <= len(t.ring) {
		return slices.Clone(t.ring[:t.n])
	}
	i := t.n % len(t.ring)
	return append(slices.Clone(t.ring[i:]), t.ring[:i]...)
}

// forget wipes the kept audio after an erase request.
func (t *tapLeg) forget() {
	t.mu.Lock()
	clear(t.ring)
	t.n = 0
	t.erased = true
	t.mu.Unlock()
}

// agentBiometrics is the voice side as the agent API sees it: an agent's
// "enrol voiceprint" takes the audio kept for the call, and erase removes
// every copy. (ivr.Enroller's Enrol has another shape, hence this view.)
type agentBiometrics struct{ v *voice }

// Enrol builds or updates the customer's voiceprint from callID's caller
// audio; the store refuses it without consent.
func (b agentBiometrics) Enrol(ctx context.Context, customerID, callID, actor string) error {
	return b.v.EnrolCall(ctx, customerID, callID, actor)
}

// Erase removes the customer's voiceprint everywhere.
func (b agentBiometrics) Erase(ctx context.Context, customerID, actor string) error {
	return b.v.Erase(ctx, customerID, actor)
}

var _ agentapi.Biometrics = agentBiometrics{}
