package rtc

import (
	"crypto/hmac"
	"crypto/sha1" // the TURN REST API's MAC, not used for anything else
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Errors reported by the engine and its sessions.
var (
	ErrNoCodec       = errors.New("rtc: the offer has no PCMU or PCMA audio")
	ErrRenegotiation = errors.New("rtc: renegotiation is not supported")
	ErrClosed        = errors.New("rtc: session closed")
	ErrBusy          = errors.New("rtc: session already carries a call")
)

// Payload types registered for the codecs (RFC 3551 static types; 101 is
// the customary dynamic type for telephone-event and is renumbered by the
// browser's offer when it differs).
const (
	ptPCMU           = 0
	ptPCMA           = 8
	ptTelephoneEvent = 101
)

const mimeTelephoneEvent = "audio/telephone-event"

// Engine builds Sessions that all share one configuration. It is safe for
// concurrent use and holds no goroutines of its own.
type Engine struct {
	cfg Config
	api *webrtc.API
	log *slog.Logger
}

// Option configures an Engine's collaborators.
type Option func(*Engine)

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(e *Engine) { e.log = l } }

// New checks cfg and returns an Engine.
func New(cfg Config, opts ...Option) (*Engine, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(e)
	}
	e.log = e.log.With("component", "rtc")

	var me webrtc.MediaEngine
	var ordered []webrtc.RTPCodecParameters
	for _, name := range cfg.Codecs {
		ordered = append(ordered, codecByName(name))
	}
	for _, c := range append(ordered, codecByName("telephone-event")) {
		if err := me.RegisterCodec(c, webrtc.RTPCodecTypeAudio); err != nil {
			return nil, fmt.Errorf("rtc: register %s: %w", c.MimeType, err)
		}
	}
	reg := &interceptor.Registry{}
	if err := webrtc.ConfigureRTCPReports(reg); err != nil {
		return nil, fmt.Errorf("rtc: rtcp reports: %w", err)
	}

	var se webrtc.SettingEngine
	if cfg.PortMin != 0 {
		if err := se.SetEphemeralUDPPortRange(cfg.PortMin, cfg.PortMax); err != nil {
			return nil, fmt.Errorf("rtc: port range: %w", err)
		}
	}
	if len(cfg.PublicIPs) > 0 {
		se.SetNAT1To1IPs(cfg.PublicIPs, webrtc.ICECandidateTypeHost)
	}
	se.SetIncludeLoopbackCandidate(cfg.Loopback)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	se.SetICETimeouts(cfg.DisconnectTimeout/2, cfg.DisconnectTimeout, cfg.DisconnectTimeout/8)

	e.api = webrtc.NewAPI(webrtc.WithMediaEngine(&me), webrtc.WithSettingEngine(se), webrtc.WithInterceptorRegistry(reg))
	return e, nil
}

// ICEServers returns the STUN/TURN servers for one browser's
// RTCPeerConnection configuration, with per-user credentials for servers
// configured with a shared Secret.
func (e *Engine) ICEServers(user string) []ICEServer {
	return iceServersFor(e.cfg.ICEServers, user, time.Now())
}

// iceServersFor derives TURN REST credentials for servers with a Secret:
// username "expiry:user" (expiry in Unix seconds), credential
// base64(HMAC-SHA1(secret, username)).
func iceServersFor(servers []ICEServer, user string, now time.Time) []ICEServer {
	out := make([]ICEServer, 0, len(servers))
	for _, s := range servers {
		if s.Secret != "" {
			s.Username = strconv.FormatInt(now.Add(CredentialTTL).Unix(), 10) + ":" + user
			m := hmac.New(sha1.New, []byte(s.Secret))
			m.Write([]byte(s.Username))
			s.Credential = base64.StdEncoding.EncodeToString(m.Sum(nil))
			s.Secret = ""
		}
		out = append(out, s)
	}
	return out
}

func codecParameters() []webrtc.RTPCodecParameters {
	return []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}, PayloadType: ptPCMU},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMA, ClockRate: 8000}, PayloadType: ptPCMA},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: mimeTelephoneEvent, ClockRate: 8000, SDPFmtpLine: "0-16"}, PayloadType: ptTelephoneEvent},
	}
}

func codecByName(name string) webrtc.RTPCodecParameters {
	for _, c := range codecParameters() {
		if strings.EqualFold(strings.TrimPrefix(c.MimeType, "audio/"), name) {
			return c
		}
	}
	panic("rtc: unknown codec " + name) // names are checked by Config.withDefaults
}

// chooseCodec returns the first codec of prefs that the offer's first
// audio section carries.
func chooseCodec(offer string, prefs []string) (string, error) {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(offer); err != nil {
		return "", fmt.Errorf("%w: sdp: %v", ErrBadSignal, err)
	}
	for _, m := range sd.MediaDescriptions {
		if m.MediaName.Media != "audio" {
			continue
		}
		have := map[string]bool{}
		for _, f := range m.MediaName.Formats {
			switch f { // static payload types need no rtpmap (RFC 3551 table 4)
			case "0":
				have[codecPCMU] = true
			case "8":
				have[codecPCMA] = true
			}
		}
		for _, a := range m.Attributes {
			if a.Key != "rtpmap" {
				continue
			}
			_, enc, ok := strings.Cut(a.Value, " ")
			if !ok {
				continue
			}
			name, rate, _ := strings.Cut(enc, "/")
			if strings.HasPrefix(rate, "8000") {
				have[strings.ToUpper(name)] = true
			}
		}
		for _, p := range prefs {
			if have[p] {
				return p, nil
			}
		}
		return "", ErrNoCodec
	}
	return "", ErrNoCodec
}
