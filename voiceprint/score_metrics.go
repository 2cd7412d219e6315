package voiceprint

import (
	"fmt"
	"math"
	"slices"
)

// DCFParams are the priors and costs of the detection cost function.
type DCFParams struct {
	PTarget  float64 // prior probability that a trial is a target trial
	CostMiss float64 // cost of rejecting a true speaker
	CostFA   float64 // cost of accepting an impostor
}

// DefaultDCF is P_target 0.01, C_miss 1, C_fa 1: the operating point of
// NIST SRE 2016-2019 and VoxSRC, where false accepts dominate.
var DefaultDCF = DCFParams{PTarget: 0.01, CostMiss: 1, CostFA: 1}

type labelled struct {
	score  float64
	target bool
}

// sweep sorts the trials and calls fn with the miss and false-accept
// rates for each threshold that separates distinct scores, from accepting
// everything to rejecting everything.
func sweep(target, nontarget []float64, fn func(pMiss, pFA float64)) error {
	if len(target) == 0 || len(nontarget) == 0 {
		return fmt.Errorf("voiceprint: need target and non-target scores (have %d and %d)", len(target), len(nontarget))
	}
	all := make([]labelled, 0, len(target)+len(nontarget))
	for _, s := range target {
		all = append(all, labelled{s, true})
	}
	for _, s := range nontarget {
		all = append(all, labelled{s, false})
	}
	for _, l := range all {
		if math.IsNaN(l.score) {
			return fmt.Errorf("voiceprint: NaN score")
		}
	}
	slices.SortFunc(all, func(a, b labelled) int {
		switch {
		case a.score < b.score:
			return -1
		case a.score > b.score:
			return 1
		}
		return 0
	})
	nt, nn := float64(len(target)), float64(len(nontarget))
	misses, fas := 0, len(nontarget) // threshold below every score
	fn(0, 1)
	for i := 0; i < len(all); {
		// Move the threshold past every trial with this score.
		j := i
		for j < len(all) && all[j].score == all[i].score {
			if all[j].target {
				misses++
			} else {
				fas--
			}
			j++
		}
		fn(float64(misses)/nt, float64(fas)/nn)
		i = j
	}
	return nil
}

// EER returns the equal error rate (a fraction, not a percentage): where
// the miss rate equals the false-accept rate as the threshold sweeps the
// scores, interpolated linearly between the two thresholds around the
// crossing.
func EER(target, nontarget []float64) (float64, error) {
	var eer float64
	prevMiss, prevFA := 0.0, 1.0
	found := false
	err := sweep(target, nontarget, func(pMiss, pFA float64) {
		if found || pMiss < pFA {
			prevMiss, prevFA = pMiss, pFA
			return
		}
		// Crossed between (prevMiss, prevFA) and (pMiss, pFA): the
		// point where the segment meets miss == fa.
		d := (pMiss - prevMiss) - (pFA - prevFA)
		t := 0.0
		if d != 0 {
			t = (prevFA - prevMiss) / d
		}
		eer = prevMiss + t*(pMiss-prevMiss)
		found = true
	})
	return eer, err
}

// MinDCF returns the minimum over thresholds of the normalised detection
// cost C_miss*P_miss*P_target + C_fa*P_fa*(1-P_target), divided by the
// cost of the better trivial system (accept all or reject all). 1 means
// no better than guessing; 0 is perfect.
func MinDCF(target, nontarget []float64, p DCFParams) (float64, error) {
	if !(p.PTarget > 0 && p.PTarget < 1) || p.CostMiss <= 0 || p.CostFA <= 0 {
		return 0, fmt.Errorf("voiceprint: bad DCF parameters %+v", p)
	}
	norm := min(p.CostMiss*p.PTarget, p.CostFA*(1-p.PTarget))
	best := math.Inf(1)
	err := sweep(target, nontarget, func(pMiss, pFA float64) {
		best = min(best, p.CostMiss*pMiss*p.PTarget+p.CostFA*pFA*(1-p.PTarget))
	})
	return best / norm, err
}

// Top1Accuracy returns the share of rows of scores (one row per test
// utterance, one column per enrolled speaker) whose highest score is in
// column truth[i]. Ties count as errors.
func Top1Accuracy(scores [][]float64, truth []int) (float64, error) {
	if len(scores) == 0 || len(scores) != len(truth) {
		return 0, fmt.Errorf("voiceprint: top-1 of %d score rows and %d labels", len(scores), len(truth))
	}
	correct := 0
	for i, row := range scores {
		t := truth[i]
		if t < 0 || t >= len(row) {
			return 0, fmt.Errorf("voiceprint: top-1 row %d: label %d outside %d columns", i, t, len(row))
		}
		ok := true
		for j, s := range row {
			if j != t && s >= row[t] {
				ok = false
				break
			}
		}
		if ok {
			correct++
		}
	}
	return float64(correct) / float64(len(scores)), nil
}
