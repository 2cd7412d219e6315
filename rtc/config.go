package rtc

import (
	"fmt"
	"net"
	"strings"
	"time"
)

// Config tunes the WebRTC front end. The zero value works on a LAN: host
// candidates only, any UDP port, PCMU preferred over PCMA.
type Config struct {
	// PublicIPs are advertised instead of the host addresses (NAT 1:1,
	// e.g. a cloud VM's public address).
	PublicIPs []string `yaml:"public_ips"`
	// ICEServers are the STUN/TURN servers given to both ends.
	ICEServers []ICEServer `yaml:"ice_servers"`
	// RelayOnly makes the switch use only TURN relay candidates
	// (networks where media must pass through the TURN server).
	RelayOnly bool `yaml:"relay_only"`
	// PortMin and PortMax bound the UDP ports used for media; both zero
	// means any ephemeral port.
	PortMin uint16 `yaml:"port_min"`
	PortMax uint16 `yaml:"port_max"`
	// Codecs lists the audio codecs accepted, most preferred first:
	// "PCMU", "PCMA". Empty means both, PCMU first.
	Codecs []string `yaml:"codecs"`
	// Loopback also gathers 127.0.0.1 candidates (single-machine demos and
	// tests; browsers need --allow-loopback-in-peer-connection too).
	Loopback bool `yaml:"loopback"`
	// DisconnectTimeout is how long ICE may go without traffic before the
	// session counts as failed (and its call leg as gone). Zero means 8 s.
	DisconnectTimeout time.Duration `yaml:"disconnect_timeout"`
}

// ICEServer is one STUN or TURN server, as in the browser's RTCIceServer.
//
// A TURN server sharing a secret with the switch (coturn's
// use-auth-secret, the "TURN REST API" of draft-uberti-behave-turn-rest)
// gets Secret instead of Username and Credential: each session then gets
// its own credentials, valid for CredentialTTL, which is what browsers
// should be given (a static TURN password handed to every page leaks).
type ICEServer struct {
	URLs       []string `yaml:"urls" json:"urls"`
	Username   string   `yaml:"username" json:"username,omitempty"`
	Credential string   `yaml:"credential" json:"credential,omitempty"`
	Secret     string   `yaml:"secret" json:"-"`
}

// CredentialTTL is how long TURN credentials derived from a Secret last.
const CredentialTTL = 12 * time.Hour

const (
	codecPCMU = "PCMU"
	codecPCMA = "PCMA"
)

// withDefaults returns a copy of c with zero fields filled in, or an error
// naming the first bad field.
func (c Config) withDefaults() (Config, error) {
	if len(c.Codecs) == 0 {
		c.Codecs = []string{codecPCMU, codecPCMA}
	}
	for i, name := range c.Codecs {
		switch u := strings.ToUpper(name); u {
		case codecPCMU, codecPCMA:
			c.Codecs[i] = u
		default:
			return c, fmt.Errorf("rtc: codec %q: only PCMU and PCMA are supported", name)
		}
	}
	for _, ip := range c.PublicIPs {
		if net.ParseIP(ip) == nil {
			return c, fmt.Errorf("rtc: public_ips: %q is not an IP address", ip)
		}
	}
	if (c.PortMin == 0) != (c.PortMax == 0) || c.PortMin > c.PortMax {
		return c, fmt.Errorf("rtc: port range %d-%d: give both ends, min <= max", c.PortMin, c.PortMax)
	}
	for _, s := range c.ICEServers {
		if len(s.URLs) == 0 {
			return c, fmt.Errorf("rtc: ice_servers: an entry has no urls")
		}
		if s.Secret != "" && (s.Username != "" || s.Credential != "") {
			return c, fmt.Errorf("rtc: ice_servers: give a secret or a username and credential, not both")
		}
		for _, u := range s.URLs {
			if !strings.HasPrefix(u, "stun:") && !strings.HasPrefix(u, "stuns:") &&
				!strings.HasPrefix(u, "turn:") && !strings.HasPrefix(u, "turns:") {
				return c, fmt.Errorf("rtc: ice_servers: %q is not a stun: or turn: URL", u)
			}
		}
	}
	if c.RelayOnly && len(c.ICEServers) == 0 {
		return c, fmt.Errorf("rtc: relay_only needs a TURN server in ice_servers")
	}
	if c.DisconnectTimeout <= 0 {
		c.DisconnectTimeout = 8 * time.Second
	}
	return c, nil
}
