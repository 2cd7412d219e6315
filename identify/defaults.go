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
		Made:   time.Date(2026, time.December, 2, 9, 20, 0, 0, time.UTC),
		Source: "voxdesk defaults: development speech (Hyke, LibriSpeech test-other, FSDD), 99 speakers",
		Tails: []Tail{
			{Seconds: 3, Count: 43512, Mean: -3.7136, Std: 2.2773, Max: 3.8712, U: 0.1144, Q: 0.05001, Sigma: 0.9706, Xi: 0.0000},
			{Seconds: 5, Count: 35574, Mean: -3.6320, Std: 2.3389, Max: 4.1507, U: 0.3001, Q: 0.05001, Sigma: 1.0311, Xi: 0.0000},
			{Seconds: 7, Count: 25872, Mean: -3.5792, Std: 2.3596, Max: 4.2797, U: 0.4023, Q: 0.05002, Sigma: 0.9601, Xi: 0.0000},
		},
	}
}
