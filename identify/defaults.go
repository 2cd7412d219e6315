package identify

import "time"

// DefaultCalibration is what the switch decides with until a deployment
// runs voxdesk voiceprint calibrate: the impostor tails of the
// development speech (99 speakers: Hyke's 83 telephone speakers,
// LibriSpeech test-other's 10 and FSDD's 6, through mu-law; every test
// utterance streamed to 3, 5 and 7 s of net speech against every other
// speaker's voiceprint, the cohort being the other speakers), printed by
//
//	VOXDESK_IDENT_WRITE_DEFAULTS=1 go test ./identify -run TestWriteDefaults -v
//
// Only impostor scores went into them. Hyke: A. Reda, S. Panjwani,
// E. Cutrell, "Hyke: A Low-cost Remote Attendance Tracking System for
// Developing Regions", NSDR 2011.
func DefaultCalibration() Calibration {
	return Calibration{
		Model:  "vosk-model-spk-0.4",
		Made:   time.Date(2026, time.December, 2, 9, 5, 0, 0, time.UTC),
		Source: "voxdesk defaults: development speech (Hyke, LibriSpeech test-other, FSDD), 99 speakers",
		Tails: []Tail{
			{Seconds: 3, Count: 43512, Mean: -1.7844, Std: 1.5643, Max: 4.2604, U: 0.8983, Q: 0.05001, Sigma: 0.6465, Xi: 0.0000},
			{Seconds: 5, Count: 35574, Mean: -1.7081, Std: 1.5871, Max: 4.4264, U: 1.0286, Q: 0.05001, Sigma: 0.6575, Xi: 0.0000},
			{Seconds: 7, Count: 25872, Mean: -1.6609, Std: 1.5993, Max: 4.4872, U: 1.0873, Q: 0.05002, Sigma: 0.6508, Xi: 0.0000},
		},
	}
}
