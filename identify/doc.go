// Package identify is voxdesk's identification policy: it decides
// whether a caller's voice is an enrolled customer's — verified, unknown
// or not sure yet — so that a caller the switch does not know never gets
// someone else's file.
//
// # The rule
//
// A search over N voiceprints meets N impostors when the caller is not
// enrolled. The policy fixes the chance that any of them passes, the
// false-identification rate per call (Config.Target, default 0.5 %),
// whatever N is: each comparison may pass with probability
// p = 1-(1-target)^(1/N), and the threshold is the impostor score that a
// share p of impostor comparisons reach. N is 1 (or a few) when the
// calling number names the customer, the whole enrolled base otherwise;
// the same score can verify a number's customer and still be far from
// enough to pick one customer out of a million.
//
// # Scores and thresholds
//
// Scores are adaptive s-norm (voiceprint.SNorm against the closest half
// of the cohort, GalleryConfig.CohortShare): a Gallery keeps each voiceprint's statistics,
// computed once when it is put, and a caller's are computed once per
// decision (Gallery.NewProbe). The thresholds come from impostor scores
// only, never from how well enrolled speakers score: a Calibration holds,
// for each test duration (3, 5 and 7 s of net speech by default), the
// impostor distribution's upper tail fitted as a generalised Pareto
// distribution (Tail). A decision uses the tail of the longest
// calibrated duration it has heard.
//
// # When it says not sure
//
//   - less net speech than the shortest calibrated duration;
//   - a per-comparison rate p below what the tail may be extrapolated to
//     (Config.MaxExtrapolation below one in the number of impostor scores
//     it was fitted on): with 45 000 calibration scores and the default
//     1000, searches up to about 200 000 voiceprints at 0.5 %;
//   - a threshold above what a perfect match (cosine 1) could score;
//   - a cohort smaller than GalleryConfig.MinCohort.
//
// Not sure is never a guess: the caller is then treated as unidentified
// by voice.
package identify
