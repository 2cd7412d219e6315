// Package service is voxdesk's composition root: it decodes the one YAML
// configuration file (Config, one section per package, unknown keys are
// errors naming line and column), builds every component, plugs them
// together and owns the process's servers.
//
//	cfg, err := service.LoadConfig("examples/voxdesk.yaml")
//	svc, err := service.New(cfg)            // binds SIP UDP/TCP and HTTP
//	go svc.Run(ctx)                         // serves until Shutdown/Close
//	svc.Shutdown(ctx)                       // drain: new INVITEs get 503
//	svc.Close()                             // stop now
//
// The HTTP server answers /healthz and /metrics (Prometheus). Calls are
// served by the IVR when an ivr section names a folder of flows, by the
// demo handler (Demo) otherwise; WithHandler and WithMiddleware plug
// another call.Handler, which is how tests and bench start a whole switch
// in-process on port 0.
//
// # Voice identification
//
// With a customer store, a voiceprint key and the speaker model, the IVR's
// identify and verify steps listen through the voice side, which decides
// with package identify: one listener per call judges the calling
// number's customers (verified 1:few at voiceprint.verify_false_ident_rate)
// and the whole enrolled base (at voiceprint.false_ident_rate, whatever
// its size) from one stream, and scores the fraud watchlist beside them.
// A voice that is not confident names nobody; the number's customer is
// then the caller's by number only, and call.VarIdentWarning says why
// ("voice does not match the number's customer", or not heard long
// enough), for the flow and the agent's ringing page. The thresholds come
// from the calibration file voxdesk voiceprint calibrate writes
// (voiceprint.calibration, or PATH.calibration.json beside a sqlite:PATH
// store), else from identify.DefaultCalibration. Scores are normalised
// against a cohort of enrolled voiceprints (and the calibration's own
// cohort); each voiceprint's statistics are computed once, when it is
// loaded or enrolled.
//
// # Configuration reference
//
// Every key is optional; the defaults are shown. Relative paths are
// relative to the configuration file's folder. examples/voxdesk.yaml is a
// commented example that a test loads.
//
//	log:
//	  level: info                 # debug, info, warn, error
//	  format: text                # text or json (log/slog; call lines carry call_id = SIP Call-ID)
//	http:
//	  listen: 127.0.0.1:8080      # /healthz, /metrics, pages and API; "off" disables
//	  hosts: []                   # host names served besides localhost and IP addresses (others: 421)
//	  read_header_timeout: 5s     # net/http server timeouts; WebSockets are exempt once upgraded
//	  read_timeout: 15s
//	  write_timeout: 30s
//	  idle_timeout: 60s           # keep-alive connections idle this long are closed
//	  max_header_bytes: 16384
//	  max_conns_per_address: 256  # open connections per source address (IPv6: /64); more closed at once;
//	                              # raise it when many agents share one NAT address (a browser holds up to 6)
//	sip:
//	  udp: 127.0.0.1:5060         # "off" disables; tcp follows udp's port when both say the same address
//	  tcp: 127.0.0.1:5060
//	  max_calls: 0                # INVITEs beyond this many live calls get 503; 0 = no limit
//	  codecs: [PCMU, PCMA]        # our preference order
//	  host: ""                    # host in our Contact/Via; the listener's address when empty
//	  media_addr: ""              # address put in SDP when rtp_addr is 0.0.0.0
//	  user_agent: voxdesk
//	  retry_after: 30s            # Retry-After of every 503 (max_calls, draining, no RTP port, rate limit)
//	  rate_limit: 50              # initial INVITE/OPTIONS/REGISTER per second per source (burst 2x); over: 503, then dropped;
//	                              # trusted trunks exempt; -1 = no limit
//	  tcp_idle_timeout: 10m       # a SIP/TCP connection silent this long is closed (keep-alives count)
//	  tcp_header_timeout: 10s     # a SIP/TCP message not whole this long after it began: connection closed
//	  tcp_max_per_addr: 32        # SIP/TCP connections per source address; more are closed at once
//	  trunks:                     # who may send calls; tried in order
//	    - name: carrier           # required, unique
//	      networks: [192.0.2.0/24]  # source CIDRs (or single addresses); empty = any source
//	      username: ""            # with password: digest authentication (401 challenge)
//	      password: ""
//	      realm: ""               # digest realm; the trunk name when empty
//	      trusted: false          # true: caller number from P-Asserted-Identity
//	      proxy: ""               # host:port for outbound calls to numbers
//	      transport: udp          # udp or tcp for outbound calls
//	  agents:                     # agents' SIP phones; with any, REGISTER is accepted (digest, realm below)
//	    - id: alice               # the agent's id = the phone's SIP user name
//	      ha1: ""                 # MD5(id:realm:secret): echo 'secret' | voxdesk agent sip-secret -id alice
//	      ha1_sha256: ""          # SHA-256(id:realm:secret) (RFC 8760): ... | voxdesk agent sip-secret -sha256 -id alice;
//	                              # with both, REGISTER is challenged SHA-256 first then MD5; with one, that one
//	      ring: both              # where calls ring: browser, sip (the phone) or both (the agent
//	                              # changes it in the page until the switch restarts); a phone-only
//	                              # agent is logged in (available) by REGISTER and out when it lapses
//	  customer_url: ""            # Call-Info of the phone's INVITE, {id} = customer id; default
//	                              # http://<http address>/api/admin/customers?q={id}
//	  alert_info: ""              # Alert-Info of the phone's INVITE for an identified caller (RFC 3261 20.4):
//	                              # {url} = customer_url, {id} = customer id; default <{url}>;info=voxdesk-customer
//	                              # (phones map info= to a distinctive ring); "off": none
//	  registrar:
//	    realm: voxdesk            # digest realm; changing it invalidates every ha1
//	    min_expires: 60s          # shorter registrations: 423 Interval Too Brief with Min-Expires
//	    max_expires: 1h           # longer ones are granted this
//	    max_contacts: 5           # registered phones per agent; more: 403
//	    keep_alive: 30s           # OPTIONS to each phone (keeps NAT open); 3 unanswered: unregistered; -1s = off
//	    proxies: []               # CIDRs of proxies/SBCs that may register contacts of other hosts with Path
//	                              # (phones elsewhere may only register their own or a private NAT'd address;
//	                              # calls go to the address the REGISTER came from, RFC 3581)
//	media:
//	  rtp_addr: 127.0.0.1         # RTP sockets bind here
//	  rtp_port_min: 20000         # even ports of this range, one per call; exhausted = 503
//	  rtp_port_max: 29999
//	  jitter_delay: 60ms          # playout delay of received audio
//	  rtp_learn_source: false     # true: accept RTP from a NAT'd caller's real address (less strict)
//	  rtp_timeout: 30s            # no RTP from the caller this long (outside hold): BYE, cause timeout; -1s = never
//	  prompts: ""                 # folder of WAV/FLAC prompts added to (or replacing) res/prompts
//	ivr:
//	  dir: ""                     # folder of flow files; empty = no IVR (the demo answers)
//	  default: ""                 # flow for numbers not in routes
//	  routes: {}                  # dialled number -> flow name
//	  poll: 1s                    # how often edited flows are reloaded
//	  decide_every: 500ms         # how much caller audio between two voiceprint decisions
//	  hold_limit: 2m              # a queue step without a router holds this long
//	customer:
//	  dsn: ""                     # sqlite:PATH or postgres://...; empty = no store
//	  key: ""                     # base64 32-byte voiceprint key; $VOXDESK_VOICEPRINT_KEY when empty
//	  import: ""                  # customers CSV loaded into an empty store
//	voiceprint:                   # VoiceprintConfig: needs the store, a key and the model
//	  model_dir: ""               # empty: $VOXDESK_MODEL_DIR or .cache/models; "off" disables
//	  network: int8               # int8 (8-bit network, fast on AVX-512 VNNI) or float32 (Kaldi's exactly)
//	  false_ident_rate: 0.005     # unknown callers a whole-base search may take for a customer
//	  verify_false_ident_rate: 0.005  # the same for the number's customers and verify steps
//	  watchlist_false_ident_rate: 0.005 # the same for the fraud watchlist
//	  calibration: ""             # voxdesk voiceprint calibrate's file; empty: PATH.calibration.json
//	                              # beside customer.dsn sqlite:PATH if present, else built-in defaults
//	  cohort_size: 1000           # enrolled voiceprints in the score normalisation cohort
//	  cohort_share: 0.5           # share of the closest cohort members adaptive s-norm uses
//	  demo_speech: ""             # enrol customers with a demo_speaker from this speech folder
//	recording:                    # RecordingConfig: record steps of the flows; needs the store and its key
//	  max_duration: 1h            # longest recording kept (at most 1h); a longer call keeps its first hour
//	  retention_days: 0           # recordings this old are erased (at start-up, after each recording); 0 keeps them
//	routing:                      # routing.Config (go doc ./routing); no router without queues
//	  queues: []                  # name, skills, priority, max_wait (10m; -1s none), overflow,
//	                              # join_empty (false: no queueing with no agent logged in), wrap_up...
//	  offer_timeout: 15s          # an unanswered offer moves on to the next agent
//	  max_missed: 1               # offers let ring out in a row before the agent is set away
//	  reoffer_after: 30s          # a decliner or misser is offered the call again only after this
//	  wrap_up: 10s
//	rtc: {}                       # rtc.Config: public_ips, ice_servers, port_min/max, loopback (go doc ./rtc)
//	agents:                       # agentapi.Config: accounts (bcrypt password_hash from
//	                              # `voxdesk agent passwd`), session_ttl... (go doc ./agentapi)
//	  login_failures_per_address: 20  # failed logins per source address and 15 min (any names);
//	                              # each (name, address) also backs off after 3 failures
//	  webcall:                    # the website's "call now" and "call me back"
//	    token_key: ""             # HMAC key shared with the website (>= 32 bytes)
//	    allow_anonymous: false    # true: callers without a token may type a name and number
//	    replay_file: ""           # used token ids kept across restarts; empty: tokens issued
//	                              # before the switch started are refused
//	    ticket_ttl: 2h            # a booking's ticket (status, cancel) lives this long
//	    address_rate: {count: 5, per: 10m}   # bookings + call-now sockets per source address (/64)
//	    number_rate: {count: 2, per: 1h}     # bookings per number (typed and each website
//	                                         # customer's counted apart)
//	    number_daily_cap: 3       # bookings per number and UTC day
//	    allow_prefixes: []        # e.g. ["+33"]: only these are dialled; empty = any country
//	    deny_prefixes: []         # added to agentapi.DefaultDenyPrefixes (premium, satellite...)
//	    number_plan: {}           # numbers typed in national form: country_code "33", trunk_prefix
//	                              # "0", international_prefix "00"; empty: international form only
//	    max_calls: 20             # concurrent "call now" calls
//	    max_calls_per_address: 2
//	    max_anonymous_calls: 10   # default half of max_calls
//	    max_callbacks: 200        # pending bookings
//	demo:
//	  welcome: welcome            # prompt names
//	  goodbye: goodbye
//	  idle_timeout: 60s           # a silent caller is hung up on after this
//	  record_dir: ""              # record each caller's audio to <call_id>.wav
package service
