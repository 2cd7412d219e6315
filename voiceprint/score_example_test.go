package voiceprint_test

import (
	"fmt"

	"github.com/voxdesk/voxdesk/voiceprint"
)

// Enrol a caller from two utterances, then verify and identify with raw
// cosine scores (no cohort) at a threshold calibrated elsewhere.
func ExampleScorer_Identify() {
	alice, _ := voiceprint.Enrol([]voiceprint.Embedding{
		{Vector: []float32{0.9, 0.1, 0, 0}, Speech: 4.2},
		{Vector: []float32{1, -0.1, 0.1, 0}, Speech: 3.1},
	})
	bob, _ := voiceprint.Enrol([]voiceprint.Embedding{{Vector: []float32{0, 1, 0.2, 0}, Speech: 6}})
	fmt.Printf("alice: %d utterances, %.1f s of speech\n", alice.Utterances, alice.SpeechSeconds)

	var s voiceprint.Scorer
	op := voiceprint.OperatingPoint{Name: "example", Threshold: 0.8}
	candidates := []voiceprint.Candidate{{ID: "alice", Vector: alice.Vector}, {ID: "bob", Vector: bob.Vector}}
	for _, caller := range [][]float32{{0.95, 0, 0.05, 0.1}, {0, 0, 0, 1}} {
		best, _, _ := s.Identify(caller, candidates, op)
		if best.Accept {
			fmt.Printf("identified %s (cosine %.2f)\n", best.ID, best.Raw)
		} else {
			fmt.Printf("unknown caller (best cosine %.2f)\n", best.Raw)
		}
	}
	// Output:
	// alice: 2 utterances, 7.3 s of speech
	// identified alice (cosine 0.99)
	// unknown caller (best cosine 0.00)
}

// Search an index, optionally only among the customers the caller's
// number belongs to.
func ExampleIndex_Search() {
	idx, _ := voiceprint.NewIndex(4)
	_ = idx.Add("C-1001", []float32{1, 0, 0, 0})
	_ = idx.Add("C-1002", []float32{0.8, 0.6, 0, 0})
	_ = idx.Add("C-1003", []float32{0, 0, 1, 0})
	query := []float32{0.8, 0.5, 0.1, 0}
	all, _ := idx.Search(query, 2, nil)
	narrowed, _ := idx.Search(query, 2, []string{"C-1002", "C-1003"})
	for _, m := range all {
		fmt.Printf("%s %.3f\n", m.ID, m.Score)
	}
	fmt.Println(narrowed[0].ID)
	// Output:
	// C-1002 0.991
	// C-1001 0.843
	// C-1002
}
