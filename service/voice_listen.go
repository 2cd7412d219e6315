package service

import (
	"cmp"
	"errors"
	"slices"
	"time"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/identify"
	"github.com/voxdesk/voxdesk/ivr"
	"github.com/voxdesk/voxdesk/voiceprint"
)

// searchK is how many index neighbours are rescored with s-norm.
const searchK = 10

// Listen starts identifying a caller. With candidates (the calling
// number's customers) one listener judges both: the number's customers
// verified 1:few at VerifyFalseIdentRate, and the whole enrolled base at
// FalseIdentRate; none means the whole base alone.
func (v *voice) Listen(candidates []string) ivr.Listener {
	l := &listener{v: v, mode: "all"}
	if len(candidates) > 0 {
		l.number, l.mode = slices.Clone(candidates), "narrowed"
	}
	return v.admitted(l)
}

// Verify checks the caller against one claimed customer (1:1).
func (v *voice) Verify(customerID string) ivr.Listener {
	return v.admitted(&listener{v: v, number: []string{customerID}, verify: true, mode: "verify"})
}

// admitted gives l its stream, or, beyond voiceprint.max_streams, a
// listener that is not sure and says why.
func (v *voice) admitted(l *listener) ivr.Listener {
	if !v.admit.acquire(l.mode) {
		r := refusedListener{verdict: ivr.Verdict{Voice: call.VoiceNotSure, FalseIdent: v.cfg.FalseIdentRate, Warning: VoiceUnavailable}}
		if len(l.number) > 0 {
			r.verdict.FalseIdent = v.cfg.VerifyFalseIdentRate
		}
		return r
	}
	l.stream = v.model.NewStream()
	return l
}

// listener streams one caller's speech into the network and decides on
// demand. It is used from the call's goroutine only.
type listener struct {
	v       *voice
	stream  *voiceprint.Stream
	number  []string // the number's customers, or the claimed one
	verify  bool     // 1:1 against number[0] only
	mode    string   // metric label: all, narrowed, verify
	emb     []float32
	verdict ivr.Verdict
	closed  bool
	outcome string // how listening ended so far, counted at Close
	watched bool   // the watchlist hit was counted
}

func (l *listener) Write(frame []int16) error {
	if l.closed {
		return errors.New("service: voice listener closed")
	}
	l.stream.Write(frame)
	return nil
}

// Verdict is the last decision's account (ivr.Reporter).
func (l *listener) Verdict() ivr.Verdict { return l.verdict }

// Decide judges the speech so far. The customer is returned only when
// the voice verified them: a voice that is not confident names nobody.
func (l *listener) Decide() (string, float64, bool, time.Duration) {
	start := time.Now()
	speech := time.Duration(l.stream.Speech() * float64(time.Second))
	l.verdict = l.judge(speech)
	l.v.decideTime.WithLabelValues(l.mode).Observe(time.Since(start).Seconds())
	sure := l.verdict.Voice == call.VoiceVerified
	switch {
	case sure && l.outcome != "identified":
		l.outcome = "identified"
		l.v.speechUsed.Observe(speech.Seconds())
	case l.verdict.Voice == call.VoiceUnknown && l.outcome != "identified":
		l.outcome = "unknown"
	}
	if l.verdict.Watchlist != "" && !l.watched {
		l.watched = true
		l.v.watchHits.Inc()
	}
	return l.verdict.Customer, l.verdict.Score, sure, speech
}

// judge is one decision over the speech heard so far.
func (l *listener) judge(speech time.Duration) ivr.Verdict {
	v := l.v
	notSure := ivr.Verdict{Voice: call.VoiceNotSure, FalseIdent: v.cfg.FalseIdentRate}
	if len(l.number) > 0 {
		notSure.FalseIdent = v.cfg.VerifyFalseIdentRate
		notSure.Warning = call.VoiceNotConfirmed
	}
	if l.emb == nil {
		l.emb = make([]float32, voiceprint.Dim)
	}
	if _, err := l.stream.EmbedTo(l.emb); err != nil {
		return notSure
	}
	probe, err := v.gallery.NewProbe(l.emb)
	if err != nil {
		return notSure
	}
	var out ivr.Verdict
	switch {
	case l.verify:
		d := v.decide(v.gallery, probe, l.number, speech, v.cfg.VerifyFalseIdentRate)
		out = verdictOf(d)
		if d.Outcome == identify.Unknown {
			out.Warning = call.VoiceMismatch
		}
	case len(l.number) > 0:
		out = l.judgeNumber(probe, speech)
	default:
		out = verdictOf(v.decide(v.gallery, probe, nil, speech, v.cfg.FalseIdentRate))
	}
	if v.watch.Len() > 0 {
		if d := v.decide(v.watch, probe, nil, speech, v.cfg.WatchlistFalseIdentRate); d.Outcome == identify.Verified {
			v.mu.Lock()
			out.Watchlist = cmp.Or(v.watchLabel[d.ID], d.ID)
			v.mu.Unlock()
		}
	}
	return out
}

// judgeNumber decides for a caller whose number names customers: they
// are verified at the verification rate; the whole base is searched at
// its own (stricter) rule, and a voice confidently someone else's is
// that customer's, with the warning that it does not match the number.
func (l *listener) judgeNumber(probe identify.Probe, speech time.Duration) ivr.Verdict {
	v := l.v
	own := v.decide(v.gallery, probe, l.number, speech, v.cfg.VerifyFalseIdentRate)
	if own.Outcome == identify.Verified {
		return verdictOf(own)
	}
	all := v.decide(v.gallery, probe, nil, speech, v.cfg.FalseIdentRate)
	if all.Outcome == identify.Verified {
		out := verdictOf(all)
		if !slices.Contains(l.number, all.ID) {
			out.Warning = call.VoiceMismatch
		}
		return out
	}
	if own.N == 0 {
		// None of the number's customers has a voiceprint: there is
		// nothing to confirm them with.
		return verdictOf(all)
	}
	out := verdictOf(own)
	switch own.Outcome {
	case identify.Unknown:
		out.Warning = call.VoiceMismatch
	default:
		out.Warning = call.VoiceNotConfirmed
	}
	return out
}

// decide searches g (among subset; nil: all of it) and applies the
// policy at rate.
func (v *voice) decide(g *identify.Gallery, probe identify.Probe, subset []string, speech time.Duration, rate float64) identify.Decision {
	scored, n, err := g.Search(probe, searchK, subset)
	if err != nil {
		return identify.Decision{Outcome: identify.NotSure, Target: rate, Why: err.Error()}
	}
	return v.policy.Decide(scored, n, speech, rate)
}

// verdictOf is the ivr's view of a decision: the customer only when
// verified.
func verdictOf(d identify.Decision) ivr.Verdict {
	out := ivr.Verdict{Score: d.Score, FalseIdent: d.Target}
	switch d.Outcome {
	case identify.Verified:
		out.Voice, out.Customer = call.VoiceVerified, d.ID
	case identify.Unknown:
		out.Voice = call.VoiceUnknown
	default:
		out.Voice = call.VoiceNotSure
	}
	return out
}

// Close ends the listening and counts its outcome.
func (l *listener) Close() {
	if l.closed {
		return
	}
	l.closed = true
	l.v.admit.release()
	l.v.outcomes.WithLabelValues(l.mode, cmp.Or(l.outcome, "not_sure")).Inc()
}
