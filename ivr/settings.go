package ivr

import "time"

// Settings is the ivr section of the switch's configuration file
// (voxdesk.yaml). Its zero value means "no IVR": the switch keeps its
// default handler.
//
//	ivr:
//	  dir: examples/flows        # folder of flow files
//	  default: hotline           # flow for calls no route names
//	  routes:                    # dialled number or service name -> flow
//	    "+33140000000": account
//	  poll: 1s                   # how often the folder is checked for edits
//	  decide_every: 500ms        # how often identify asks the voiceprint core
//	  hold_limit: 2m             # queue without a router: hold, then hang up
//	  voicemail: var/voicemail   # folder for voicemail WAV files
//	  calendars: {office: always-open}   # override a flow calendar (or always-closed)
type Settings struct {
	Dir         string            `yaml:"dir"`
	Default     string            `yaml:"default"`
	Routes      map[string]string `yaml:"routes"`
	Poll        time.Duration     `yaml:"poll"`
	DecideEvery time.Duration     `yaml:"decide_every"`
	HoldLimit   time.Duration     `yaml:"hold_limit"`
	// Voicemail is the folder voicemail steps write messages to, one
	// sub-folder per box; empty: voicemail steps take their fail: way.
	Voicemail string `yaml:"voicemail"`
	// Calendars overrides the flows' calendars by name: "always-open" or
	// "always-closed" (Options.Calendars), e.g. {office: always-open}
	// for a demo that must answer at any hour.
	Calendars map[string]string `yaml:"calendars"`
}

// Enabled reports whether flows are configured.
func (s Settings) Enabled() bool { return s.Dir != "" }

// Apply copies the settings' limits into a runner Config.
func (s Settings) Apply(cfg *Config) {
	if s.DecideEvery > 0 {
		cfg.DecideEvery = s.DecideEvery
	}
	if s.HoldLimit > 0 {
		cfg.HoldLimit = s.HoldLimit
	}
	if s.Voicemail != "" && cfg.Voicemail == nil {
		cfg.Voicemail = &VoicemailDir{Dir: s.Voicemail}
	}
}
