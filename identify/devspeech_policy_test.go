package identify

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/voiceprint"
)

// devSet is the development speech grouped by speaker.
type devSet struct {
	speakers []string
	vps      map[string][]float32 // speaker -> voiceprint
	tests    map[string][]devUtt
}

func groupDev(utts []devUtt) devSet {
	d := devSet{vps: map[string][]float32{}, tests: map[string][]devUtt{}}
	enr := map[string][]voiceprint.Embedding{}
	for _, u := range utts {
		if u.Enrol {
			enr[u.Speaker] = append(enr[u.Speaker], voiceprint.Embedding{Vector: u.Vec, Speech: u.Speech})
		} else {
			d.tests[u.Speaker] = append(d.tests[u.Speaker], u)
		}
	}
	for s, e := range enr {
		vp, err := voiceprint.Enrol(e)
		if err == nil && len(d.tests[s]) > 0 {
			d.vps[s] = vp.Vector
			d.speakers = append(d.speakers, s)
		}
	}
	slices.Sort(d.speakers)
	return d
}

// gallery builds a gallery of the speakers' voiceprints, with extra as
// the calibration cohort.
func (d devSet) gallery(t testing.TB, speakers []string, extra []string, minCohort int) *Gallery {
	t.Helper()
	var ex [][]float32
	for _, s := range extra {
		ex = append(ex, d.vps[s])
	}
	g, err := NewGallery(GalleryConfig{Extra: ex, MinCohort: minCohort})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range speakers {
		if err := g.Put(s, d.vps[s]); err != nil {
			t.Fatal(err)
		}
	}
	return g
}

// calibrate fits the tails on the speakers' own impostor trials.
func (d devSet) calibrate(t testing.TB, speakers []string) Calibration {
	t.Helper()
	g := d.gallery(t, speakers, nil, 20)
	var trials []Trial
	for _, s := range speakers {
		for _, u := range d.tests[s] {
			trials = append(trials, Trial{Speaker: s, Seconds: u.Cut, Vector: u.Vec})
		}
	}
	cal, err := Calibrate(g, trials, "test", fmt.Sprintf("%d development speakers", len(speakers)))
	if err != nil {
		t.Fatal(err)
	}
	return cal
}

// leaveOut is the leave-speakers-out evaluation of the development
// speech: the tails are fitted on one half of the speakers, the other
// half is the deployment, and the halves swap.
type leaveOutResult struct {
	known                      [2]groupCounts // enrolled callers at 3 s and 7 s
	unknownCalls, unknownFalse int            // whole-base searches by unknown callers; false identifications
	claims, claimsPassed       int            // 1:1 claims by unknown callers
}

func leaveOut(t *testing.T, int8 bool) leaveOutResult {
	t.Helper()
	var r leaveOutResult
	d := groupDev(devSpeech(t, int8))
	if len(d.speakers) < 80 {
		t.Fatalf("%d development speakers with voiceprints and tests, want at least 80", len(d.speakers))
	}
	for fold := range 2 {
		var calib, deploy []string
		for i, s := range d.speakers {
			if i%2 == fold {
				calib = append(calib, s)
			} else {
				deploy = append(deploy, s)
			}
		}
		cal := d.calibrate(t, calib)
		p, err := New(cal, Config{})
		if err != nil {
			t.Fatal(err)
		}
		var enrolled, strangers []string
		for i, s := range deploy {
			if i%3 == 2 {
				strangers = append(strangers, s)
			} else {
				enrolled = append(enrolled, s)
			}
		}
		g := d.gallery(t, enrolled, calib, 0)
		byCut := map[float64]*[4]int{}
		for _, cut := range devCuts {
			byCut[cut] = &[4]int{}
		}
		for _, s := range deploy {
			for _, u := range d.tests[s] {
				pr, err := g.NewProbe(u.Vec)
				if err != nil {
					t.Fatal(err)
				}
				cands, n, err := g.Search(pr, 10, nil)
				if err != nil {
					t.Fatal(err)
				}
				speech := time.Duration(u.Speech * float64(time.Second))
				dec := p.Decide(cands, n, speech, 0)
				stranger := slices.Contains(strangers, s)
				if stranger {
					r.unknownCalls++
					byCut[u.Cut][0]++
					if dec.Outcome == Verified {
						r.unknownFalse++
						byCut[u.Cut][1]++
						t.Logf("unknown caller %s (%.1f s) verified as %s: score %.2f, threshold %.2f", s, u.Speech, dec.ID, dec.Score, dec.Threshold)
					}
					// 1:1 claims of every enrolled customer.
					for _, e := range enrolled {
						sc, _ := g.Score(pr, e)
						if p.Decide([]Scored{sc}, 1, speech, 0).Outcome == Verified {
							r.claimsPassed++
						}
						r.claims++
					}
					continue
				}
				c := &r.known[0]
				if u.Cut == 7 {
					c = &r.known[1]
				}
				if u.Cut == 3 || u.Cut == 7 {
					c.calls++
					switch {
					case dec.Outcome == Verified && dec.ID == s:
						c.right++
					case dec.Outcome == Verified:
						c.wrong++
						r.unknownFalse++ // someone else's file: a false identification too
					case dec.Outcome == Unknown:
						c.unknown++
					default:
						c.notSure++
						if c.notSure < 4 {
							t.Logf("enrolled %s at %g s (%.1f s): not sure: %s", s, u.Cut, u.Speech, dec.Why)
						}
					}
				}
			}
		}
		for _, cut := range devCuts {
			thr, ok, why := p.Threshold(len(enrolled), time.Duration(cut*float64(time.Second)), 0)
			t.Logf("fold %d, %g s: threshold for N=%d %.2f (%v %s); unknown callers verified %d/%d", fold, cut, len(enrolled), thr, ok, why, byCut[cut][1], byCut[cut][0])
		}
	}
	return r
}

// groupCounts are one group's outcomes.
type groupCounts struct{ calls, right, wrong, unknown, notSure int }

func (c groupCounts) String() string {
	return fmt.Sprintf("%d calls: %d right, %d as someone else, %d unknown, %d not sure", c.calls, c.right, c.wrong, c.unknown, c.notSure)
}

// TestDevSpeechLeaveSpeakersOut: the tails are fitted on half of the
// development speakers; the other half is the deployment: two thirds
// enrolled, one third callers the switch has never heard. Unknown
// callers must pass as a customer at no more than the target rate (with
// binomial allowance), in a whole-base search and in 1:1 claims; the
// raw cosine 0.5 rule the switch used before is reported beside it.
func TestDevSpeechLeaveSpeakersOut(t *testing.T) {
	r := leaveOut(t, false)
	known, unknownCalls, unknownFalse, claims, claimsPassed := r.known, r.unknownCalls, r.unknownFalse, r.claims, r.claimsPassed
	t.Logf("enrolled callers, whole base, 3 s: %v", known[0])
	t.Logf("enrolled callers, whole base, 7 s: %v", known[1])
	t.Logf("unknown callers verified as a customer (whole-base search, and enrolled callers taken for someone else): %d of %d calls", unknownFalse, unknownCalls)
	t.Logf("1:1 claims by unknown callers passed: %d of %d (target %.1f %%)", claimsPassed, claims, 100*DefaultTarget)
	// The whole-base search: about 250 unknown calls at 0.5 % expect
	// about 1; more than 4 happens with less than 2 % chance at the
	// target rate.
	if unknownFalse > 4 {
		t.Errorf("%d false identifications in %d unknown calls, target %.1f %%", unknownFalse, unknownCalls, 100*DefaultTarget)
	}
	rate := float64(claimsPassed) / float64(claims)
	if allowed := DefaultTarget + 4*math.Sqrt(DefaultTarget/float64(claims)); rate > allowed {
		t.Errorf("1:1 claims by unknown callers pass at %.4f, allowed %.4f", rate, allowed)
	}
	// The policy must still recognise enrolled callers at 7 s, or it is
	// "not sure" of everyone and useless.
	if known[1].right < known[1].calls/4 {
		t.Errorf("7 s: only %d of %d enrolled callers verified", known[1].right, known[1].calls)
	}
}

// TestNetworkInt8Accuracy runs the leave-speakers-out evaluation with
// the 8-bit network beside the float32 one. The switch's default network
// (service.VoiceprintConfig.Network) is int8 because this holds: no more
// false identifications, 1:1 claims by strangers still within the
// target, and at most 3 % of enrolled calls fewer verified at 3 and 7 s.
func TestNetworkInt8Accuracy(t *testing.T) {
	f := leaveOut(t, false)
	q := leaveOut(t, true)
	for _, x := range []struct {
		name string
		r    leaveOutResult
	}{{"float32", f}, {"int8", q}} {
		t.Logf("%-7s 3 s: %v", x.name, x.r.known[0])
		t.Logf("%-7s 7 s: %v", x.name, x.r.known[1])
		t.Logf("%-7s unknown callers verified %d of %d; 1:1 claims passed %d of %d", x.name, x.r.unknownFalse, x.r.unknownCalls, x.r.claimsPassed, x.r.claims)
	}
	for i, secs := range []int{3, 7} {
		if lost := f.known[i].right - q.known[i].right; lost*100 > 3*f.known[i].calls {
			t.Errorf("int8 verifies %d fewer enrolled calls at %d s than float32 (%d of %d)", lost, secs, f.known[i].right, f.known[i].calls)
		}
	}
	if q.unknownFalse > f.unknownFalse {
		t.Errorf("int8: %d false identifications, float32 %d", q.unknownFalse, f.unknownFalse)
	}
	if rate := float64(q.claimsPassed) / float64(q.claims); rate > DefaultTarget {
		t.Errorf("int8: 1:1 claims by strangers pass at %.4f, above the %.3f target", rate, DefaultTarget)
	}
}
