package service

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/voxdesk/voxdesk/agentapi"
	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/customer"
	"github.com/voxdesk/voxdesk/ivr"
	"github.com/voxdesk/voxdesk/voiceprint"
)

// VoiceprintConfig is the voiceprint section: how callers are recognised
// by voice.
type VoiceprintConfig struct {
	// ModelDir holds the speaker model's files; empty means
	// VOXDESK_MODEL_DIR or the fetch cache. "off" turns voice
	// identification off.
	ModelDir string `yaml:"model_dir"`
	// OperatingPoint names the decision threshold: "fa1" (1 % false
	// accepts, the default) or "fa0.1".
	OperatingPoint string `yaml:"operating_point"`
	// CohortSize bounds how many enrolled voiceprints serve as the
	// impostor cohort of score normalisation (default 1000); CohortTop is
	// the adaptive s-norm's closest-N (default 100).
	CohortSize int `yaml:"cohort_size"`
	CohortTop  int `yaml:"cohort_top"`
	// CosineThreshold is the raw cosine a caller must reach while fewer
	// than minCohort other voiceprints are enrolled, too few for the
	// s-norm operating points to hold (default 0.5). The default was
	// read off development speech (LibriSpeech and FSDD through mu-law:
	// impostor cosines below 0.47, targets above 0.48 at 3 s); a
	// deployment should re-derive it from its own impostor trials with
	// voiceprint.CalibrateThreshold.
	CosineThreshold float64 `yaml:"cosine_threshold"`
	// MinSpeech is the net speech before a decision over the whole
	// enrolled base may be confident (default 3 s); MinSpeechNarrowed the
	// same when the calling number narrowed it to a few customers (2 s).
	MinSpeech         time.Duration `yaml:"min_speech"`
	MinSpeechNarrowed time.Duration `yaml:"min_speech_narrowed"`
	// EnrolSpeech is the net speech an enrolment needs (default 8 s).
	EnrolSpeech time.Duration `yaml:"enrol_speech"`
	// TapSeconds is how much of each call's caller audio is kept for an
	// agent's "enrol voiceprint" (default 30 s).
	TapSeconds int `yaml:"tap_seconds"`
	// DemoSpeech is a speech folder laid out like ../shared/speech: at
	// start-up, customers with a demo_speaker attribute and no voiceprint
	// are enrolled from that speaker's recordings, with a consent record
	// naming the demo. Empty: no demo enrolment.
	DemoSpeech string `yaml:"demo_speech"`
}

func (c *VoiceprintConfig) setDefaults() {
	if c.OperatingPoint == "" {
		c.OperatingPoint = "fa1"
	}
	if c.CohortSize == 0 {
		c.CohortSize = 1000
	}
	if c.CohortTop == 0 {
		c.CohortTop = 100
	}
	if c.CosineThreshold == 0 {
		c.CosineThreshold = 0.5
	}
	if c.MinSpeech == 0 {
		c.MinSpeech = 3 * time.Second
	}
	if c.MinSpeechNarrowed == 0 {
		c.MinSpeechNarrowed = 2 * time.Second
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

func (c *VoiceprintConfig) operatingPoint() (voiceprint.OperatingPoint, error) {
	switch strings.ToLower(c.OperatingPoint) {
	case "fa1", "fa1%":
		return voiceprint.OperatingPointFA1, nil
	case "fa0.1", "fa01", "fa0.1%":
		return voiceprint.OperatingPointFA01, nil
	}
	return voiceprint.OperatingPoint{}, fmt.Errorf("voiceprint.operating_point %q: want fa1 or fa0.1", c.OperatingPoint)
}

// modelID names the model voiceprints are stored under: an embedding is
// only comparable with embeddings of the same network.
const modelID = "vosk-model-spk-0.4"

// minCohort is the fewest other voiceprints score normalisation is
// trusted with. The s-norm operating points assume the impostor spread
// is measured on hundreds of speakers: with a cohort of a few speakers
// (bench/RESULTS-voiceprint.md) the spread is underestimated and far
// more unknown callers pass than the nominal rate.
const minCohort = 200

// voice is voxdesk's voice side: it recognises callers (ivr.Identifier,
// ivr.Verifier), enrols them with consent (ivr.Enroller, agentapi's
// Biometrics) and keeps the in-memory index in step with the customer
// store, this node's changes and other nodes' alike.
type voice struct {
	cfg   VoiceprintConfig
	op    voiceprint.OperatingPoint
	model *voiceprint.Model
	db    *customer.DB
	log   *slog.Logger
	index *voiceprint.Index

	decideTime *prometheus.HistogramVec // compute time of one decision
	speechUsed prometheus.Histogram     // net speech heard when a caller was identified
	outcomes   *prometheus.CounterVec   // how each listening ended

	mu     sync.Mutex
	norm   *normaliser // rebuilt lazily after the index changes
	since  int64       // last change applied from the store's feed
	taps   map[string]*tapLeg
	closed bool
}

// newVoice loads the model and every stored voiceprint into the index.
func newVoice(ctx context.Context, cfg VoiceprintConfig, db *customer.DB, log *slog.Logger) (*voice, error) {
	cfg.setDefaults()
	op, err := cfg.operatingPoint()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	model, err := voiceprint.Load(cfg.ModelDir)
	if err != nil {
		return nil, fmt.Errorf("service: voiceprint model: %w", err)
	}
	index, err := voiceprint.NewIndex(voiceprint.Dim)
	if err != nil {
		return nil, err
	}
	v := &voice{cfg: cfg, op: op, model: model, db: db, log: log.With("component", "voice"), index: index, taps: map[string]*tapLeg{},
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
	}
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
		return upsert(index, vp.CustomerID, vp.Embedding)
	})
	if err != nil {
		return nil, fmt.Errorf("service: load voiceprints: %w", err)
	}
	v.since = since
	v.log.Info("voiceprints loaded", "count", n, "model", modelID, "operating_point", op.Name)
	if cfg.DemoSpeech != "" {
		if err := v.enrolDemo(ctx); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// Collectors are the voice side's metrics, for the switch's registry.
func (v *voice) Collectors() []prometheus.Collector {
	return []prometheus.Collector{v.decideTime, v.speechUsed, v.outcomes}
}

// Run follows the store's change feed so enrolments and erasures made on
// other nodes reach this node's index. It returns when ctx ends.
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

// apply brings the index in line with one change of the store.
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
	}
}

// upsert adds or replaces a voiceprint in the index.
func upsert(x *voiceprint.Index, id string, vec []float32) error {
	if _, ok := x.Vector(id); ok {
		return x.Replace(id, vec)
	}
	return x.Add(id, vec)
}

func (v *voice) put(id string, vec []float32) {
	if err := upsert(v.index, id, vec); err != nil {
		v.log.Warn("voiceprint index update failed", "customer", id, "err", err)
		return
	}
	v.mu.Lock()
	if v.norm != nil {
		v.norm.mu.Lock()
		delete(v.norm.enrolSt, id)
		v.norm.mu.Unlock()
	}
	v.mu.Unlock()
	v.invalidate()
}

// drop removes a customer's voiceprint from the index and from the
// cohort at once: an erased voiceprint must not linger in any copy.
func (v *voice) drop(id string) {
	if err := v.index.Remove(id); err != nil && !errors.Is(err, voiceprint.ErrUnknownID) {
		v.log.Warn("voiceprint index removal failed", "customer", id, "err", err)
	}
	v.mu.Lock()
	v.norm = nil
	v.mu.Unlock()
}

// invalidate marks the cohort stale after an enrolment. A small cohort
// is rebuilt at the next decision; a full one at most every rebuildEvery,
// so a busy enrolment day does not rebuild it per call.
func (v *voice) invalidate() {
	v.mu.Lock()
	if v.norm != nil && (len(v.norm.ids) < v.cfg.CohortSize || time.Since(v.norm.built) > rebuildEvery) {
		v.norm = nil
	}
	v.mu.Unlock()
}

const rebuildEvery = 10 * time.Minute

// Enrolled reports whether the customer has a voiceprint in the index.
func (v *voice) Enrolled(id string) bool {
	_, ok := v.index.Vector(id)
	return ok
}

// normaliser scores test embeddings against voiceprints with s-norm,
// using the other enrolled voiceprints as the impostor cohort. A
// voiceprint is never part of its own cohort: its self-score would swamp
// the statistics.
type normaliser struct {
	ids   []string
	vecs  [][]float32
	top   int
	built time.Time

	mu      sync.Mutex
	enrolSt map[string]voiceprint.NormStats
}

func (v *voice) normaliser() *normaliser {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.norm != nil {
		return v.norm
	}
	n := &normaliser{top: v.cfg.CohortTop, built: time.Now(), enrolSt: map[string]voiceprint.NormStats{}}
	// Take every enrolled voiceprint up to CohortSize, spread over the
	// whole index so a large base is sampled evenly.
	all, _ := v.index.Search(make1(voiceprint.Dim), v.index.Len(), nil)
	step := max(1, len(all)/v.cfg.CohortSize)
	for i := 0; i < len(all) && len(n.ids) < v.cfg.CohortSize; i += step {
		if vec, ok := v.index.Vector(all[i].ID); ok {
			n.ids = append(n.ids, all[i].ID)
			n.vecs = append(n.vecs, vec)
		}
	}
	v.norm = n
	return n
}

// make1 returns a unit vector, used to enumerate the index.
func make1(dim int) []float32 {
	q := make([]float32, dim)
	for i := range q {
		q[i] = float32(1 / math.Sqrt(float64(dim)))
	}
	return q
}

// stats returns the s-norm statistics of vec against the cohort without
// the member exclude. ok is false when too few members remain.
func (n *normaliser) stats(vec []float32, exclude string) (voiceprint.NormStats, bool) {
	others := make([][]float32, 0, len(n.vecs))
	for i, id := range n.ids {
		if id != exclude {
			others = append(others, n.vecs[i])
		}
	}
	if len(others) < minCohort {
		return voiceprint.NormStats{}, false
	}
	c, err := voiceprint.NewCohort(others, n.top)
	if err != nil {
		return voiceprint.NormStats{}, false
	}
	st, err := c.Stats(vec)
	return st, err == nil
}

// score is one candidate's decision for a test embedding.
func (v *voice) score(n *normaliser, test []float32, id string, vec []float32) (raw, score, threshold float64) {
	raw = voiceprint.Cosine(test, vec)
	testSt, ok1 := n.stats(test, id)
	enrolSt, ok2 := n.enrolStats(id, vec)
	if !ok1 || !ok2 {
		return raw, raw, v.cfg.CosineThreshold
	}
	return raw, voiceprint.SNorm(raw, enrolSt, testSt), v.op.Threshold
}

// enrolStats are the voiceprint's own statistics, cached per cohort.
func (n *normaliser) enrolStats(id string, vec []float32) (voiceprint.NormStats, bool) {
	n.mu.Lock()
	st, ok := n.enrolSt[id]
	n.mu.Unlock()
	if ok {
		return st, true
	}
	st, ok = n.stats(vec, id)
	if ok {
		n.mu.Lock()
		n.enrolSt[id] = st
		n.mu.Unlock()
	}
	return st, ok
}

// Listen starts identifying a caller among candidates (customer ids);
// none means the whole enrolled base.
func (v *voice) Listen(candidates []string) ivr.Listener {
	l := &listener{v: v, stream: v.model.NewStream(), minSpeech: v.cfg.MinSpeech}
	if len(candidates) > 0 {
		l.subset = slices.Clone(candidates)
		l.minSpeech = v.cfg.MinSpeechNarrowed
	}
	return l
}

// Verify checks the caller against one claimed customer (1:1).
func (v *voice) Verify(customerID string) ivr.Listener {
	return &listener{v: v, stream: v.model.NewStream(), subset: []string{customerID}, minSpeech: v.cfg.MinSpeechNarrowed, verify: true}
}

// listener streams one caller's speech into the network and decides on
// demand. It is used from the call's goroutine only.
type listener struct {
	v         *voice
	stream    *voiceprint.Stream
	subset    []string
	minSpeech time.Duration
	verify    bool
	emb       []float32
	closed    bool
	outcome   string // last decision's outcome, counted at Close
}

func (l *listener) mode() string {
	switch {
	case l.verify:
		return "verify"
	case l.subset != nil:
		return "narrowed"
	}
	return "all"
}

var (
	_ ivr.Identifier = (*voice)(nil)
	_ ivr.Verifier   = (*voice)(nil)
	_ ivr.Enroller   = (*voice)(nil)
)

func (l *listener) Write(frame []int16) error {
	if l.closed {
		return errors.New("service: voice listener closed")
	}
	l.stream.Write(frame)
	return nil
}

// searchK is how many index neighbours are rescored with s-norm.
const searchK = 10

// Decide returns the best candidate so far. A decision is confident only
// once enough net speech was heard and the normalised score passes the
// operating point; an unknown caller gives customer "".
func (l *listener) Decide() (string, float64, bool, time.Duration) {
	start := time.Now()
	id, score, sure, speech := l.decide()
	l.v.decideTime.WithLabelValues(l.mode()).Observe(time.Since(start).Seconds())
	switch {
	case sure && l.outcome != "identified":
		l.outcome = "identified"
		l.v.speechUsed.Observe(speech.Seconds())
	case !sure && id == "" && speech >= l.minSpeech && l.outcome != "identified":
		l.outcome = "unknown"
	}
	return id, score, sure, speech
}

func (l *listener) decide() (string, float64, bool, time.Duration) {
	speech := time.Duration(l.stream.Speech() * float64(time.Second))
	if l.emb == nil {
		l.emb = make([]float32, voiceprint.Dim)
	}
	if _, err := l.stream.EmbedTo(l.emb); err != nil {
		return "", 0, false, speech
	}
	matches, err := l.v.index.Search(l.emb, searchK, l.subset)
	if err != nil || len(matches) == 0 {
		return "", 0, false, speech
	}
	n := l.v.normaliser()
	best, bestScore, bestThr := "", math.Inf(-1), 0.0
	for _, m := range matches {
		vec, ok := l.v.index.Vector(m.ID)
		if !ok {
			continue
		}
		_, score, thr := l.v.score(n, l.emb, m.ID, vec)
		if score-thr > bestScore-bestThr || best == "" {
			best, bestScore, bestThr = m.ID, score, thr
		}
	}
	if best == "" {
		return "", 0, false, speech
	}
	confident := bestScore >= bestThr && speech >= l.minSpeech
	if !confident && bestScore < bestThr && speech >= l.minSpeech {
		// Enough speech and still below the threshold: an unknown caller.
		return "", bestScore, false, speech
	}
	return best, bestScore, confident, speech
}

// Close ends the listening and counts its outcome.
func (l *listener) Close() {
	if l.closed {
		return
	}
	l.closed = true
	l.v.outcomes.WithLabelValues(l.mode(), cmp.Or(l.outcome, "not_sure")).Inc()
}

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
		t := &tapLeg{Leg: c.Leg, call: c, ring: make([]int16, v.cfg.TapSeconds*call.SampleRate)}
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
// the handler.
type tapLeg struct {
	call.Leg
	call   *call.Call
	mu     sync.Mutex
	ring   []int16
	n      int // samples written in all
	erased bool
}

func (t *tapLeg) ReadAudio(ctx context.Context, dst []int16) (int, error) {
	n, err := t.Leg.ReadAudio(ctx, dst)
	if n > 0 {
		t.mu.Lock()
		if !t.erased {
			for _, s := range dst[:n] {
				t.ring[t.n%len(t.ring)] = s
				t.n++
			}
		}
		t.mu.Unlock()
	}
	return n, err
}

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
