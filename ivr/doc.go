// Package ivr runs the YAML flows admins write to greet callers, find out
// who they are and route them. A flow file is parsed and checked once by
// Parse or Load into an immutable *Flow; a Runner (a call.Handler) walks
// it for each call; a Library keeps a folder of flows current while the
// switch runs. This comment is the language's specification.
//
// # A flow file
//
//	# hotline.yaml
//	flow: hotline                  # name (default: the file name)
//	description: Main hotline
//	operator: advisor              # the step 0 leads to; required ("none" to opt out)
//	calendars:                     # business hours, for open('office')
//	  office:
//	    timezone: Europe/Paris
//	    hours:
//	      mon-fri: 08:00-12:30, 13:30-19:00
//	      sat: 09:00-13:00
//	      sun: closed
//	    holidays: [2026-12-25, 2027-01-01]
//	fields:                        # customer fields the conditions read, with types
//	  balance: number
//	steps:
//	  - id: welcome
//	    play: prompts/welcome
//	    bargein: true
//	  - identify: reason           # "tell us in a few words why you are calling"
//	    listen: 8s
//	  - branch:
//	      - when: "identified and customer.vip"
//	        goto: vip
//	      - when: "not open('office')"
//	        goto: closed
//	  - id: need
//	    menu: main_menu
//	    choices: {1: billing, 2: support}
//	    fail: advisor
//	  ...
//	subflows:
//	  pin-check:
//	    - collect: pin
//	      prompt: enter_pin
//	    - return
//
// Top-level keys: flow, description, operator, calendars, fields, steps,
// subflows. Anything else is an error.
//
// # Steps
//
// steps is a list. Each step is a mapping with exactly one step-type key,
// whose value is the step's main argument, and options beside it. Every
// step may have an id (letters, digits, - and _; unique in the file) and
// operator: false (pressing 0 during it does not reach a person). Steps
// without an id are named "main:3" (the third main step) or "sub:2" in
// traces and graphs. After a step the flow continues with the next one in
// the list unless the step says otherwise or sets next: <id>; running off
// the end of the main steps hangs up, off the end of a sub-flow returns.
// Jump targets (next, fail, else, goto, choices) must name a step of the
// same list.
//
// Prompts are file names relative to the flow file's folder (".wav" is
// added when there is no extension), then names of the built-in prompts
// (package res). They are decoded once, at load time, into 8 kHz PCM
// (WAV or FLAC at any rate), so a missing or broken prompt is a load error
// and a call keeps the audio of its flow version. A prompt option takes
// one name or a list, played in turn.
//
//	play: welcome                  # or [welcome, press_0]
//	  bargein: true                # a key stops the prompt (the key is kept for the next menu)
//
//	menu: main_menu                # prompt, always interruptible by a key
//	  choices: {1: billing, 2: tech, 0: advisor}   # key -> step; 0 here overrides the operator
//	  timeout: 5s                  # wait for a key after the prompt (default 5s)
//	  retries: 2                   # extra attempts after no input or a wrong key (default 2)
//	  no-input: not_understood     # played before retrying after silence
//	  invalid: not_understood      # played before retrying after a wrong key
//	  fail: advisor                # after the last attempt (default: the next step)
//
//	collect: account               # variable to fill (text of digits)
//	  prompt: enter_account
//	  min: 4                       # default 1
//	  max: 10                      # default 16; collection stops at max
//	  terminator: "#"              # default "#"
//	  timeout: 5s                  # before the first key and between keys
//	  retries, no-input, invalid, fail: as for menu
//
// Keys are data in collect: 0 does not reach the operator there.
//
//	identify: reason               # prompt; the caller's answer is what is listened to
//	  listen: 8s                   # longest listening after the prompt (default 8s)
//	  silence: 3s                  # stop when the caller has not spoken this long after the prompt
//	  fail: advisor                # a caller who said nothing (default: the next step)
//
// With silence set, a caller in whom no speech was heard (HasSpeech over
// the audio since the prompt began) silence after the prompt ended, and
// who pressed no key, is not listened to longer: identify records what
// it knows (the number) and takes its fail: way, so a caller who cannot
// or will not speak reaches a person rather than menus. Without silence,
// fail: is never taken.
//
// identify feeds the caller's audio (during the prompt and after it) to
// the Identifier and asks it to decide every Config.DecideEvery; it stops
// at the first confident decision or key press. Candidates: the customers
// the Directory links to the calling number are tried first; the whole
// enrolled base is listened to at the same time and decides when the
// narrow set does not. It sets the variables customer (call.VarCustomer),
// ident.method (voice, number or none), ident.score (the best voice
// score, even when not confident) and ident.candidates (the number's
// customers, comma-separated). A voice that is not confident but a number
// linked to exactly one customer gives method number with that customer:
// the customer's file is never chosen by a voice that is not confident.
// Without an Identifier only the number is used, and no prompt is played.
//
// An Identifier whose listeners give a Verdict (Reporter) judges the
// number's customers (verified 1:1 or 1:few) and the whole enrolled base
// together from one listener, and identify also sets ident.voice
// (verified, unknown or not_sure), ident.false_rate (the false-
// identification rate per call the decision was made at), ident.warning
// (call.VoiceMismatch when the voice is another customer's or not the
// number's customer, call.VoiceNotConfirmed when the number's customer
// was not heard long enough) and, when the voice matches the fraud
// watchlist, watchlist (the entry's label, kept for the rest of the
// call). Flows read them as voice, warning and watchlist.
//
//	verify: account                # expression: the claimed customer id
//	  prompt: say_passphrase
//	  listen: 6s
//	  fail: pin                    # not confirmed (default: the next step)
//
// verify is 1:1: the Verifier listens for the claimed customer's voice
// with its verification threshold; success sets customer, method voice
// and the score. A Verdict sets ident.voice, ident.false_rate,
// ident.warning and watchlist as for identify.
//
//	pin: code                      # expression: the PIN typed
//	  customer: account            # expression: whose PIN (default: customer)
//	  fail: refused
//
// pin asks the Directory; success sets customer and method pin (score 1).
//
//	enrol: consent_prompt          # "press 1 to let us recognise your voice"
//	  customer: account            # expression (default: customer)
//	  accept: 1                    # the key that gives consent (default 1)
//	  timeout: 5s                  # to answer the consent prompt
//	  prompt: speak_prompt         # played once consent is given
//	  speech: 20s                  # net speech to capture (default 20s)
//	  listen: 60s                  # give up after (default 60s)
//	  fail: later                  # refused, or not enough speech
//
// enrol records the answer (given or refused) with the Enroller before
// capturing anything, and sets enrol.status to done, refused or
// incomplete.
//
//	branch:                        # first true condition wins
//	  - when: "score >= 0.8 and customer.segment == 'gold'"
//	    goto: gold
//	else: menu                     # default: the next step
//
//	set:                           # variables, from expressions
//	  lane: "'vip'"                # text needs quotes inside the YAML string
//	  tries: 3                     # YAML numbers and true/false are literals
//	  urgent: "customer.vip or score < 0.5"
//
//	queue: billing                 # routing queue; ends the flow for this call
//	  skills: [billing, french]
//	  priority: "score * 10"       # number, or an expression giving one (higher first)
//	  preferred: customer.advisor  # expression: agent id to try first
//	  hold: hold                   # played while there is no Router yet
//	  record-notice: recording_notice  # told first, then recorded as by a record step (below)
//	  fail: advisor                # the router refused the call: no agent of the queue logged
//	                               # in, or the queue's max_wait passed (default: hang up)
//
// queue sets queue, queue.skills, queue.priority and queue.preferred
// (the call.Var* names) and hands the call to the Router, which returns
// when the call has left the queue. Without a Router the caller hears the
// hold prompt until Config.HoldLimit, then the call ends. Loaded with the
// switch's Options.Switch (the switch itself, `voxdesk flow check
// --config`), a queue or callback step must name one of the switch's
// queues and a queue step's skills must be held by one of its agents:
// a flow that does not is refused, never run with the call falling
// through to its fail: way.
//
//	transfer: sip:desk@pbx.example.com   # sip:, sips: or tel: URI, via call.Dialer and call.Bridge
//	  prompt: connecting
//	  fail: advisor                # the far end did not answer (default: hang up)
//
//	callback: billing              # queue the call-back is for
//	  number: caller               # expression (default: the calling number)
//	  prompt: callback_booked      # played once the request is recorded
//	  fail: advisor
//
//	voicemail: sales               # mailbox
//	  prompt: [leave_message, beep]
//	  listen: 2m                   # longest message (default 2m); # ends it, so does hanging up
//	  fail: bye
//
//	record: recording_notice       # notice prompt(s): "this call is recorded..."
//	  start: now                   # now (default) or agent: the agent starts it from the page
//	  fail: advisor                # no recorder, or it refused (default: the next step)
//
// record plays the notice to its end, with no barge-in, and only then
// has the call recorded: its conversation with an agent, both sides
// (call.Taps), stored when the call ends. It sets recording (on, or ready
// when the agent starts it) and recording.notice (the prompts heard). A
// caller who hangs up or presses 0 during the notice was not told: the
// call is not recorded and neither variable is set, and an agent's
// request to record that call is refused. A queue step's record-notice
// does the same before queuing; a caller who heard it is queued even when
// the recording could not start. Loaded for a switch that cannot
// record (Catalog.NoRecording: no customer store or no key to seal the
// recordings), a record step is an error, not a step that always fails.
//
//	hangup: goodbye                # optional prompt, then hang up ("- hangup" alone works)
//	goto: menu                     # jump
//	call: pin-check                # run a sub-flow, then continue here
//	return                         # leave the sub-flow early ("- return")
//
// # Pressing 0
//
// A 0 pressed during any step that waits or plays (play, menu, identify,
// verify, enrol's consent, callback's confirmation) jumps to the operator
// step, from sub-flows too, unless the flow says operator: none, the step
// says operator: false, or a menu lists 0 among its choices. collect,
// voicemail and a queue's hold treat keys as their own.
//
// # Conditions and expressions
//
// Conditions (branch when:) and values (set, priority, preferred, verify,
// pin, customer:, number:) are written in a small typed language, checked
// when the flow loads: a misspelt name or a number compared with text is
// a load error with its line and column.
//
// Types: bool, number, string. Literals: 12, 0.8, 'text' or "text", true,
// false, lists ['gold', 'platinum'] (right of in only). Operators, loosest
// first: or; and; not; == != < <= > >= and x in [...]; + -; * /; unary -.
// + also joins two strings ("'C-' + account").
// Comparisons need both sides of one type; < and friends do not apply to
// bools; strings compare by bytes; division by zero gives 0.
//
// Names:
//
//	identified   bool    a customer is known (any method)
//	customer     string  customer id ("" when unknown)
//	score        number  identification score
//	method       string  voice, pin, number or none
//	candidates   string  customers linked to the number, comma-separated
//	voice        string  verified, unknown or not_sure ("" before any voice decision)
//	warning      string  identification warning for the agent ("" when none)
//	watchlist    string  fraud watchlist entry the voice matched ("" when none)
//	caller       string  calling number (E.164 when the network gave one)
//	callee       string  dialled number
//	channel      string  sip or webrtc
//	trunk        string  SIP trunk name
//	queue        string  queue chosen so far
//	customer.F   the customer's field F from the Directory: name, segment,
//	             language, advisor (strings), vip (bool), plus any declared
//	             under fields:; empty/false/0 when nobody is identified
//	NAME         a flow variable written by set: or collect: (collect
//	             makes strings; one variable keeps one type everywhere)
//
// Functions: open('cal') and holiday('cal') (calendars of this file, at
// the call's current time in the calendar's time zone; Options.Calendars,
// ivr.calendars in voxdesk.yaml, can force a calendar always-open or
// always-closed, e.g. for a demo that answers at any hour), startswith(s, p),
// endswith(s, p), contains(s, sub), len(s), num(s) (text to number, 0 if
// not a number).
//
// # Checks at load time
//
// Parse and Load report every problem of a file at once, each as
// file:line:column and a plain message (ErrorList): YAML syntax, unknown
// top-level keys, unknown step types (with the closest one suggested),
// unknown or misplaced fields, bad durations ("8s", "1m30s", at most 1h),
// bad keys, targets that do not exist or live in another step list,
// sub-flows that do not exist, never run or call themselves, steps no
// path reaches, loops with no exit (a set of steps from which no hangup,
// queue, transfer or end of the flow can be reached; pressing 0 does not
// count as an exit), missing or undecodable prompt files, type errors
// and unknown names in expressions, a missing operator: line. YAML
// anchors, aliases, tags and merge keys are refused; files over
// MaxFlowSize are refused. At run time a call is also bounded by
// Config.MaxSteps and by 100 steps in a row that exchange no audio.
//
// # Running and reloading
//
// NewRunner(flow, Config) serves calls with one flow; Library.Runner(name,
// ...) serves each call with the version current when it arrives. The
// runner measures time in 20 ms frames read from and written to the leg,
// never with timers, so scripted legs (call/calltest) and Simulate run as
// fast as the computation. It sets ivr.flow (name@version) and ivr.step.
//
// A Library loads a folder (*.yaml, *.yml); Reload, or Watch once a
// second, reads every file, swaps in a changed file (or a flow whose
// prompt files in the folder changed size or time) atomically when it is
// valid, and otherwise logs why, counts it in
// voxdesk_ivr_flow_reload_errors_total and keeps the last good version.
// Every valid version is written to .versions/NAME-HASH12.yaml, so
// `voxdesk flow diff` can compare versions by hash. The Library is a
// prometheus.Collector: besides the reload counters, its runners count
// voxdesk_ivr_calls_total{flow,method,queue} and
// voxdesk_ivr_operator_total{flow,step} (where callers press 0).
package ivr
