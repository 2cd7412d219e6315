package service

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/voxdesk/voxdesk/agentapi"
	"github.com/voxdesk/voxdesk/ivr"
	"github.com/voxdesk/voxdesk/routing"
	"github.com/voxdesk/voxdesk/rtc"
	"github.com/voxdesk/voxdesk/sip"
)

// Config is the whole process's configuration, decoded once from one
// YAML file with one section per package. Unknown keys are errors. A
// package that joins the switch adds one field here (its own Config type,
// zero value usable) and fills its defaults in (*Config).setDefaults.
type Config struct {
	Log   LogConfig   `yaml:"log"`
	HTTP  HTTPConfig  `yaml:"http"`
	SIP   SIPConfig   `yaml:"sip"`
	Media MediaConfig `yaml:"media"`
	Demo  DemoConfig  `yaml:"demo"`
	// IVR serves calls with YAML flows when ivr.dir is set (the demo
	// handler otherwise).
	IVR ivr.Settings `yaml:"ivr"`
	// Customer is the customer store; none when customer.dsn is empty.
	Customer CustomerConfig `yaml:"customer"`
	// Routing queues calls to agents; no router without queues.
	Routing routing.Config `yaml:"routing"`
	// RTC is the WebRTC front end of the agents' softphones and web calls.
	RTC rtc.Config `yaml:"rtc"`
	// Agents are the accounts and settings of the agent, wallboard,
	// admin and web call-back pages (served under HTTP /).
	Agents agentapi.Config `yaml:"agents"`
	// Voiceprint recognises callers by voice (needs the customer store
	// and the speaker model).
	Voiceprint VoiceprintConfig `yaml:"voiceprint"`
	// Recording keeps the calls the flows' record steps record (needs the
	// customer store and its key).
	Recording RecordingConfig `yaml:"recording"`
}

// CustomerConfig opens the customer store.
type CustomerConfig struct {
	// DSN is "sqlite:PATH" or a postgres:// URL; empty means no store.
	DSN string `yaml:"dsn"`
	// Key seals voiceprints (base64, 32 bytes); VOXDESK_VOICEPRINT_KEY
	// when empty. Without a key the store keeps no voiceprints.
	Key string `yaml:"key"`
	// Import is a customers CSV loaded when the store has no customer
	// yet (a demo data set).
	Import string `yaml:"import"`
}

// LogConfig sets up log/slog.
type LogConfig struct {
	Level  string `yaml:"level"`  // debug, info (default), warn, error
	Format string `yaml:"format"` // text (default) or json
}

// HTTPConfig is the HTTP server: /healthz, /metrics and the pages and
// API of agentapi.
type HTTPConfig struct {
	// Listen is host:port; "off" disables the HTTP server.
	Listen string `yaml:"listen"`
	// Hosts are the host names the server answers to besides localhost
	// and IP addresses (requests naming another Host get 421: DNS
	// rebinding).
	Hosts []string `yaml:"hosts"`
	// ReadHeaderTimeout, ReadTimeout (headers and body), WriteTimeout
	// (the response) and IdleTimeout (between keep-alive requests) are
	// net/http's server timeouts. Upgraded WebSockets are not bound by
	// them (net/http lifts the deadlines when a connection is hijacked;
	// agentapi keeps its own per write).
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	ReadTimeout       time.Duration `yaml:"read_timeout"`
	WriteTimeout      time.Duration `yaml:"write_timeout"`
	IdleTimeout       time.Duration `yaml:"idle_timeout"`
	// MaxHeaderBytes bounds a request's header block.
	MaxHeaderBytes int `yaml:"max_header_bytes"`
	// MaxConnsPerAddress bounds the open connections of one source
	// address (IPv6: one /64); more are closed at once.
	MaxConnsPerAddress int `yaml:"max_conns_per_address"`
}

// SIPConfig is where SIP listens plus the sip.Server settings (trunks,
// max_calls, codecs...).
type SIPConfig struct {
	// UDP and TCP are host:port to listen on; "off" disables one.
	UDP        string `yaml:"udp"`
	TCP        string `yaml:"tcp"`
	sip.Config `yaml:",inline"`
	// Agents are the agents' SIP phone accounts; with any, the switch
	// accepts REGISTER (registrar settings in sip.registrar).
	Agents []SIPAgent `yaml:"agents"`
	// CustomerURL is the customer file's address given to agents' SIP
	// phones in Call-Info, "{id}" replaced by the customer id; default
	// the admin API's customer search on this switch's HTTP address.
	CustomerURL string `yaml:"customer_url"`
	// AlertInfo is the Alert-Info header of the INVITE to an agent's
	// SIP phone when the caller was identified: "{url}" is replaced by
	// the customer file's address (CustomerURL), "{id}" by the customer
	// id; default DefaultAlertInfo, "off" for none. A phone plays the URI
	// as ring tone or picks a distinctive ring by the info= parameter.
	AlertInfo string `yaml:"alert_info"`
}

// MediaConfig is the RTP side.
type MediaConfig struct {
	// RTPAddr is the IP RTP sockets bind to.
	RTPAddr string `yaml:"rtp_addr"`
	// RTPPortMin and RTPPortMax bound the even ports used for RTP.
	RTPPortMin int `yaml:"rtp_port_min"`
	RTPPortMax int `yaml:"rtp_port_max"`
	// JitterDelay is the playout delay of received audio.
	JitterDelay time.Duration `yaml:"jitter_delay"`
	// RTPLearnSource accepts callers behind NAT whose RTP does not come
	// from the address their SDP names (media.RTPConfig.LearnSource).
	// Off: RTP is accepted only from the SDP address until the caller
	// proves a move with its SSRC, so nobody else can hijack the stream.
	RTPLearnSource bool `yaml:"rtp_learn_source"`
	// RTPTimeout hangs up a call whose caller sent no RTP for this long
	// (not while the caller holds it): BYE, cause "timeout". Default
	// DefaultRTPTimeout; a negative duration (-1s) disables it.
	RTPTimeout time.Duration `yaml:"rtp_timeout"`
	// Prompts is a folder of prompt files (WAV/FLAC) overriding or
	// adding to the embedded ones (res/prompts).
	Prompts string `yaml:"prompts"`
}

// DemoConfig configures the built-in demo handler, used until an IVR
// flow is configured.
type DemoConfig struct {
	// Welcome and Goodbye are prompt names.
	Welcome string `yaml:"welcome"`
	Goodbye string `yaml:"goodbye"`
	// IdleTimeout hangs up on a caller who pressed nothing for this long
	// after the welcome prompt.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// RecordDir, when set, records each caller's audio to
	// RecordDir/<call_id>.wav.
	RecordDir string `yaml:"record_dir"`
}

// Defaults.
const (
	DefaultHTTPListen  = "127.0.0.1:8080"
	DefaultSIPListen   = "127.0.0.1:5060"
	DefaultRTPPortMin  = 20000
	DefaultRTPPortMax  = 29999
	DefaultIdleTimeout = 60 * time.Second
	DefaultRTPTimeout  = 30 * time.Second
)

// setDefaults fills every unset field, in one place.
func (c *Config) setDefaults() {
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "text"
	}
	if c.HTTP.Listen == "" {
		c.HTTP.Listen = DefaultHTTPListen
	}
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{
		{&c.HTTP.ReadHeaderTimeout, 5 * time.Second}, {&c.HTTP.ReadTimeout, 15 * time.Second},
		{&c.HTTP.WriteTimeout, 30 * time.Second}, {&c.HTTP.IdleTimeout, 60 * time.Second},
	} {
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if c.HTTP.MaxHeaderBytes == 0 {
		c.HTTP.MaxHeaderBytes = 16 << 10
	}
	if c.HTTP.MaxConnsPerAddress == 0 {
		c.HTTP.MaxConnsPerAddress = 256
	}
	if c.SIP.UDP == "" {
		c.SIP.UDP = DefaultSIPListen
	}
	if c.SIP.TCP == "" {
		c.SIP.TCP = DefaultSIPListen
	}
	if c.Media.RTPAddr == "" {
		c.Media.RTPAddr = "127.0.0.1"
	}
	if c.Media.RTPPortMin == 0 && c.Media.RTPPortMax == 0 {
		c.Media.RTPPortMin, c.Media.RTPPortMax = DefaultRTPPortMin, DefaultRTPPortMax
	}
	if c.Media.RTPTimeout == 0 {
		c.Media.RTPTimeout = DefaultRTPTimeout
	}
	if c.Media.JitterDelay == 0 {
		c.Media.JitterDelay = 60 * time.Millisecond
	}
	if c.Demo.Welcome == "" {
		c.Demo.Welcome = "welcome"
	}
	if c.Demo.Goodbye == "" {
		c.Demo.Goodbye = "goodbye"
	}
	if c.Demo.IdleTimeout == 0 {
		c.Demo.IdleTimeout = DefaultIdleTimeout
	}
}

// validate checks what the packages' constructors do not.
func (c *Config) validate() error {
	var errs []error
	if err := c.Routing.Validate(); err != nil {
		errs = append(errs, err)
	}
	if _, err := parseLevel(c.Log.Level); err != nil {
		errs = append(errs, err)
	}
	if err := ivr.CheckCalendars(c.IVR.Calendars); err != nil {
		errs = append(errs, fmt.Errorf("ivr.calendars: %w", err))
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		errs = append(errs, fmt.Errorf("log.format %q: want text or json", c.Log.Format))
	}
	if _, err := netip.ParseAddr(c.Media.RTPAddr); err != nil {
		errs = append(errs, fmt.Errorf("media.rtp_addr: %w", err))
	}
	if c.Media.RTPPortMin <= 0 || c.Media.RTPPortMax > 65535 || c.Media.RTPPortMin > c.Media.RTPPortMax {
		errs = append(errs, fmt.Errorf("media: bad RTP port range %d-%d", c.Media.RTPPortMin, c.Media.RTPPortMax))
	}
	if c.Media.JitterDelay < 0 {
		errs = append(errs, fmt.Errorf("media.jitter_delay %v is negative", c.Media.JitterDelay))
	}
	if c.HTTP.ReadHeaderTimeout < 0 || c.HTTP.ReadTimeout < 0 || c.HTTP.WriteTimeout < 0 || c.HTTP.IdleTimeout < 0 ||
		c.HTTP.MaxHeaderBytes < 0 || c.HTTP.MaxConnsPerAddress < 0 {
		errs = append(errs, errors.New("http: timeouts, max_header_bytes and max_conns_per_address must not be negative"))
	}
	for _, h := range c.HTTP.Hosts {
		if h == "" || strings.ContainsAny(h, ":/ ") {
			errs = append(errs, fmt.Errorf("http.hosts: %q is not a host name (no port or scheme)", h))
		}
	}
	if c.Demo.IdleTimeout < 0 {
		errs = append(errs, fmt.Errorf("demo.idle_timeout %v is negative", c.Demo.IdleTimeout))
	}
	return errors.Join(errs...)
}

// LoadConfig reads and decodes the YAML file at path.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("service: config: %w", err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("service: config %s: %w", path, err)
	}
	cfg.resolvePaths(filepath.Dir(path))
	return cfg, nil
}

// resolvePaths makes the file and folder names of the configuration
// relative to base (the configuration file's folder), so a config works
// from any working directory.
func (c *Config) resolvePaths(base string) {
	paths := []*string{&c.Media.Prompts, &c.Demo.RecordDir, &c.IVR.Dir, &c.IVR.Voicemail, &c.Customer.Import, &c.Voiceprint.DemoSpeech,
		&c.Agents.WebCall.ReplayFile, &c.Voiceprint.Calibration}
	if c.Voiceprint.ModelDir != "off" {
		paths = append(paths, &c.Voiceprint.ModelDir)
	}
	for _, p := range paths {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(base, *p)
		}
	}
	if path, ok := strings.CutPrefix(c.Customer.DSN, "sqlite:"); ok && path != "" && !filepath.IsAbs(path) {
		c.Customer.DSN = "sqlite:" + filepath.Join(base, path)
	}
}

// ParseConfig decodes a YAML configuration, fills defaults and validates
// it. Errors name the line and column.
func ParseConfig(data []byte) (*Config, error) {
	var cfg Config
	if len(bytes.TrimSpace(data)) > 0 {
		dec := yaml.NewDecoder(bytes.NewReader(data), yaml.DisallowUnknownField())
		if err := dec.Decode(&cfg); err != nil {
			return nil, decodeError(data, err)
		}
	}
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// quoted finds the value a decoding error quotes.
var quoted = regexp.MustCompile(`"([^"]+)"`)

// decodeError formats a YAML error with its position and source excerpt.
// Some value errors (a bad duration) come without a position: the line
// holding the quoted value is named instead.
func decodeError(data []byte, err error) error {
	msg := strings.TrimSpace(yaml.FormatError(err, false, true))
	if strings.HasPrefix(msg, "[") {
		return errors.New(msg)
	}
	if m := quoted.FindStringSubmatch(msg); m != nil {
		for i, line := range strings.Split(string(data), "\n") {
			if strings.Contains(line, m[1]) {
				return fmt.Errorf("line %d (%s): %s", i+1, strings.TrimSpace(line), msg)
			}
		}
	}
	return errors.New(msg)
}

// DefaultConfig is the configuration of an empty file.
func DefaultConfig() *Config {
	var cfg Config
	cfg.setDefaults()
	return &cfg
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("log.level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// NewLogger builds the process logger from the log section.
func (c LogConfig) NewLogger(w io.Writer) *slog.Logger {
	lvl, _ := parseLevel(c.Level)
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
