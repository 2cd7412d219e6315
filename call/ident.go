package call

// Names of the call variables that carry who the caller is. The IVR sets
// them, routing and the agent page read them.
const (
	VarCustomer       = "customer"         // customer id, empty when unknown
	VarIdentMethod    = "ident.method"     // one of the Method values
	VarIdentScore     = "ident.score"      // decimal score of the method (voice: normalised score)
	VarCandidates     = "ident.candidates" // comma-separated customer ids considered
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
