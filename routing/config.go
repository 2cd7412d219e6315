package routing

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DefaultMaxWait is a queue's maximum wait when its configuration sets
// none: a caller nobody answered in 10 minutes leaves the queue (to its
// overflow, or the flow's fail: way) rather than wait for ever.
const DefaultMaxWait = 10 * time.Minute

// Config is the router's configuration. The zero value of every field
// works; defaults are filled in by New.
type Config struct {
	Queues []QueueConfig `yaml:"queues"`
	// Agents are profiles used by Login when it is given no skills.
	Agents []AgentInfo `yaml:"agents"`

	// OfferTimeout is how long an offer rings before it moves on
	// (default 15 s).
	OfferTimeout time.Duration `yaml:"offer_timeout"`
	// MaxMissed offers in a row that ring out unanswered set an agent
	// away with ReasonMissedOffers (default 1: like Amazon Connect's
	// "Missed" and Genesys Cloud's "Not Responding", an agent who lets a
	// call ring out is taken out of routing until they come back).
	MaxMissed int `yaml:"max_missed"`
	// ReofferAfter is how long a call is kept from an agent who declined
	// or missed it (default 30 s). Other eligible agents get it first;
	// after this back-off it may ring that agent again when nobody else
	// can take it.
	ReofferAfter time.Duration `yaml:"reoffer_after"`
	// WrapUp is the after-call time before an agent is available again
	// (default 10 s; negative for none). A queue may override it.
	WrapUp time.Duration `yaml:"wrap_up"`
	// PreferredWait is how long a call is held for the customer's
	// preferred advisor while that advisor is busy (default 30 s;
	// negative: offer to the advisor only when available right away).
	PreferredWait time.Duration `yaml:"preferred_wait"`
	// HandleTime seeds each queue's average handle time (default 3 min).
	HandleTime time.Duration `yaml:"handle_time"`
	// Smoothing is the weight of the newest call in the average handle
	// time (default 0.2).
	Smoothing float64 `yaml:"smoothing"`
	// CallbackFrom is the calling number presented on call-backs.
	CallbackFrom string `yaml:"callback_from"`
	// CallbackAttempts is how many times a call-back is dialled before it
	// is given up (default 3).
	CallbackAttempts int `yaml:"callback_attempts"`
	// CallbackRetry is the delay before a failed call-back is tried again
	// (default 2 min).
	CallbackRetry time.Duration `yaml:"callback_retry"`
}

// QueueConfig is one queue.
type QueueConfig struct {
	Name string `yaml:"name"`
	// Skills an agent needs, "name" or "name:level" (minimum level).
	Skills   []string `yaml:"skills"`
	Priority int      `yaml:"priority"`
	// MaxWait before the call overflows to Overflow, or leaves the queue
	// with ResultMaxWait when Overflow is empty: the flow's queue step
	// then takes its fail: way (default 10 min, DefaultMaxWait; negative:
	// no limit).
	MaxWait  time.Duration `yaml:"max_wait"`
	Overflow string        `yaml:"overflow"`
	// JoinEmpty queues callers even when no agent able to take the call
	// is logged in. By default such a call is not queued: Enqueue returns
	// ErrNoAgents and the flow's queue step takes its fail: way.
	JoinEmpty bool `yaml:"join_empty"`
	// ServiceLevel is the answer-time threshold of the service level
	// (default 20 s).
	ServiceLevel time.Duration `yaml:"service_level"`
	// AnnounceInterval between position announcements (default 30 s;
	// negative: never).
	AnnounceInterval time.Duration `yaml:"announce_interval"`
	// CallbackAfter offers a call-back when the estimated wait exceeds it
	// (0: never).
	CallbackAfter time.Duration `yaml:"callback_after"`
	// WrapUp overrides Config.WrapUp for this queue's calls when non-zero.
	WrapUp time.Duration `yaml:"wrap_up"`
}

func (c *Config) fill() {
	if c.OfferTimeout <= 0 {
		c.OfferTimeout = 15 * time.Second
	}
	if c.MaxMissed <= 0 {
		c.MaxMissed = 1
	}
	if c.ReofferAfter <= 0 {
		c.ReofferAfter = 30 * time.Second
	}
	if c.WrapUp == 0 {
		c.WrapUp = 10 * time.Second
	}
	if c.PreferredWait == 0 {
		c.PreferredWait = 30 * time.Second
	}
	if c.HandleTime <= 0 {
		c.HandleTime = 3 * time.Minute
	}
	if c.Smoothing <= 0 || c.Smoothing > 1 {
		c.Smoothing = 0.2
	}
	if c.CallbackAttempts <= 0 {
		c.CallbackAttempts = 3
	}
	if c.CallbackRetry <= 0 {
		c.CallbackRetry = 2 * time.Minute
	}
	for i := range c.Queues {
		q := &c.Queues[i]
		if q.MaxWait == 0 {
			q.MaxWait = DefaultMaxWait
		}
		if q.ServiceLevel <= 0 {
			q.ServiceLevel = 20 * time.Second
		}
		if q.AnnounceInterval == 0 {
			q.AnnounceInterval = 30 * time.Second
		}
	}
}

// Validate reports every error of the configuration, as New would: a
// configuration file can be checked before anything is started.
func (c Config) Validate() error {
	c.Queues = append([]QueueConfig(nil), c.Queues...)
	c.fill()
	return c.validate()
}

func (c *Config) validate() error {
	var errs []error
	names := map[string]*QueueConfig{}
	for i := range c.Queues {
		q := &c.Queues[i]
		if q.Name == "" {
			errs = append(errs, fmt.Errorf("routing: queue %d has no name", i))
			continue
		}
		if names[q.Name] != nil {
			errs = append(errs, fmt.Errorf("routing: queue %q defined twice", q.Name))
		}
		names[q.Name] = q
		if _, err := parseSkills(q.Skills); err != nil {
			errs = append(errs, fmt.Errorf("routing: queue %q: %w", q.Name, err))
		}
	}
	for _, q := range c.Queues {
		if q.Overflow == "" {
			continue
		}
		if names[q.Overflow] == nil {
			errs = append(errs, fmt.Errorf("routing: queue %q overflows to unknown queue %q", q.Name, q.Overflow))
			continue
		}
		if q.MaxWait <= 0 {
			errs = append(errs, fmt.Errorf("routing: queue %q has an overflow but no max_wait", q.Name))
		}
		// Follow the chain: a cycle would move a call round forever.
		seen := map[string]bool{q.Name: true}
		for n := q.Overflow; n != ""; n = names[n].Overflow {
			if seen[n] {
				errs = append(errs, fmt.Errorf("routing: queue %q: overflow cycle through %q", q.Name, n))
				break
			}
			seen[n] = true
			if names[n] == nil {
				break
			}
		}
	}
	agents := map[string]bool{}
	for _, a := range c.Agents {
		if a.ID == "" {
			errs = append(errs, errors.New("routing: agent profile without id"))
		} else if agents[a.ID] {
			errs = append(errs, fmt.Errorf("routing: agent %q defined twice", a.ID))
		}
		agents[a.ID] = true
		for s, l := range a.Skills {
			if s == "" || l < 0 {
				errs = append(errs, fmt.Errorf("routing: agent %q: bad skill %q:%d", a.ID, s, l))
			}
		}
	}
	return errors.Join(errs...)
}

// skill is one required skill with its minimum level.
type skill struct {
	name  string
	level int
}

// parseSkills reads "name" or "name:level" items.
func parseSkills(items []string) ([]skill, error) {
	out := make([]skill, 0, len(items))
	for _, it := range items {
		it = strings.TrimSpace(it)
		if it == "" {
			continue
		}
		name, lv, hasLevel := strings.Cut(it, ":")
		name = strings.TrimSpace(name)
		level := 1
		if hasLevel {
			n, err := strconv.Atoi(strings.TrimSpace(lv))
			if err != nil || n < 0 {
				return nil, fmt.Errorf("bad skill level in %q", it)
			}
			level = n
		}
		if name == "" {
			return nil, fmt.Errorf("empty skill name in %q", it)
		}
		out = append(out, skill{name, level})
	}
	return out, nil
}

// splitList splits a comma-separated call variable.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
