package sip

import "time"

// Config configures a Server. The zero value accepts no calls (no trunks).
type Config struct {
	// Trunks allowed to send calls, tried in order.
	Trunks []Trunk `yaml:"trunks"`
	// MaxCalls refuses INVITEs with 503 while this many calls are up;
	// 0 means no limit.
	MaxCalls int `yaml:"max_calls"`
	// Codecs in our order of preference, among "PCMU" and "PCMA";
	// empty means PCMU then PCMA.
	Codecs []string `yaml:"codecs"`
	// Host is put in our Contact and Via headers; the listener's address
	// when empty.
	Host string `yaml:"host"`
	// MediaAddr is the address written in our SDP when the RTP socket is
	// bound to an unspecified address (0.0.0.0).
	MediaAddr string `yaml:"media_addr"`
	// UserAgent is the Server/User-Agent header value.
	UserAgent string `yaml:"user_agent"`
	// RetryAfter is the Retry-After of every 503 we send (RFC 3261
	// section 21.5.4), so a peer backs off or fails over; default
	// DefaultRetryAfter.
	RetryAfter time.Duration `yaml:"retry_after"`
	// RateLimit is how many initial INVITE, OPTIONS and REGISTER
	// requests per second one source address may send (twice that in
	// a burst); beyond it they get 503 with Retry-After, then nothing.
	// Sources in a trusted trunk's networks are not limited. Default
	// DefaultRateLimit; negative: no limit.
	RateLimit int `yaml:"rate_limit"`
	// TCPIdleTimeout closes a SIP/TCP connection on which nothing came
	// for this long (keep-alives count); default DefaultTCPIdleTimeout.
	TCPIdleTimeout time.Duration `yaml:"tcp_idle_timeout"`
	// TCPHeaderTimeout closes a SIP/TCP connection whose message, once
	// begun, is not whole this long after; default
	// DefaultTCPHeaderTimeout.
	TCPHeaderTimeout time.Duration `yaml:"tcp_header_timeout"`
	// TCPMaxPerAddr caps the SIP/TCP connections from one address;
	// more are closed at once. Default DefaultTCPMaxPerAddr.
	TCPMaxPerAddr int `yaml:"tcp_max_per_addr"`
	// Registrar configures REGISTER for agents' phones (on with
	// WithAccounts).
	Registrar RegistrarConfig `yaml:"registrar"`
}

// Defaults of the flood and slow-client limits.
const (
	DefaultRateLimit        = 50
	DefaultTCPIdleTimeout   = 10 * time.Minute
	DefaultTCPHeaderTimeout = 10 * time.Second
	DefaultTCPMaxPerAddr    = 32
)

// DefaultRetryAfter is Config.RetryAfter's default.
const DefaultRetryAfter = 30 * time.Second

// Metrics counts what a Server does; service implements it on
// Prometheus. Methods are called from many goroutines.
type Metrics interface {
	// Refused counts an INVITE refused before it became a call.
	Refused(status int)
	// CallStarted counts an INVITE that became a call.
	CallStarted()
	// Shed counts a message not served: "malformed" (answered 400/505
	// or dropped by the sanity checks), "rate-limited", "tcp-cap" (a
	// connection over the per-address cap), "tcp-timeout" (a connection
	// closed idle or half-sent).
	Shed(reason string)
	// CallEnded counts a call ending: "completed" (it was answered),
	// "timeout" (hung up on a media or signalling timeout: a silent
	// caller, a missing ACK), "cancelled", "rejected" (refused by the
	// handler) or "failed".
	CallEnded(outcome string)
}

type noMetrics struct{}

func (noMetrics) Refused(int)      {}
func (noMetrics) CallStarted()     {}
func (noMetrics) CallEnded(string) {}
func (noMetrics) Shed(string)      {}
