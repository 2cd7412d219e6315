package call

// Names of the call variables that carry who the caller is. The IVR sets
// them, routing and the agent page read them.
const (
	VarCustomer       = "customer"         // customer id, empty when unknown
	VarIdentMethod    = "ident.method"     // one of the Method values
	VarIdentScore     = "ident.score"      // decimal score of the method (voice: normalised score)
	VarCandidates     = "ident.candidates" // comma-separated customer ids considered
	VarVoice          = "ident.voice"      // the voice decision: one of the Voice values, empty when none was made
	VarIdentFalseRate = "ident.false_rate" // false-identification rate per call the voice decision was made at
	VarIdentWarning   = "ident.warning"    // plain words for the agent, e.g. VoiceMismatch; empty when none
	VarWatchlist      = "watchlist"        // label of the fraud watchlist entry the voice matched, empty when none
	VarQueue          = "queue"            // routing queue the IVR chose
	VarSkills         = "queue.skills"     // comma-separated required skills
	VarPriority       = "queue.priority"   // integer, higher first
	VarPreferredAgent = "queue.preferred"  // agent id to try first
)

// Method says how the caller was identified.
type Method string

// Identification methods, strongest first.
const (
	MethodVoice  Method = "voice"  // voiceprint matched
	MethodPIN    Method = "pin"    // PIN or account number checked
	MethodNumber Method = "number" // only the calling number
	MethodNone   Method = "none"   // not identified
)

// What the voice said, in VarVoice.
const (
	VoiceVerified = "verified" // a customer's voice, at the configured false-identification rate
	VoiceUnknown  = "unknown"  // enough speech, and no candidate's voice
	VoiceNotSure  = "not_sure" // too little speech, or no decision possible at the configured rate
)

// Warnings in VarIdentWarning.
const (
	// VoiceMismatch: the voice is confidently not the number's
	// customer, or confidently another customer's.
	VoiceMismatch = "voice does not match the number's customer"
	// VoiceNotConfirmed: the number's customer was not confirmed by
	// voice (too little speech, or not sure).
	VoiceNotConfirmed = "voice not confirmed: the number's customer was not heard long enough to check"
)
