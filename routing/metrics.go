package routing

import "github.com/prometheus/client_golang/prometheus"

// metrics are the router's Prometheus series. They exist (and count)
// whether or not they are registered.
type metrics struct {
	queued, answered, abandoned, overflowed, timedOut *prometheus.CounterVec
	noAgents                                          *prometheus.CounterVec
	callbacks, offers, consults                       *prometheus.CounterVec
	wait, handle                                      *prometheus.HistogramVec
	serviceLevel, waiting, agents                     *prometheus.GaugeVec
}

func newMetrics() *metrics {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "voxdesk", Subsystem: "routing", Name: name, Help: help}, labels)
	}
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "voxdesk", Subsystem: "routing", Name: name, Help: help}, labels)
	}
	return &metrics{
		queued:     counter("calls_queued_total", "Calls that entered a queue.", "queue"),
		answered:   counter("calls_answered_total", "Queued calls answered by an agent.", "queue"),
		abandoned:  counter("calls_abandoned_total", "Queued calls whose caller hung up before an answer.", "queue"),
		overflowed: counter("calls_overflowed_total", "Calls moved to the overflow queue after the maximum wait.", "queue"),
		timedOut:   counter("calls_max_wait_total", "Calls that left a queue without overflow after the maximum wait.", "queue"),
		noAgents: counter("calls_no_agents_total",
			"Calls not queued, or sent back to their flow, because no agent able to take them was logged in.", "queue"),
		callbacks: counter("callbacks_total", "Call-backs by result: booked, connected, failed.", "queue", "result"),
		offers: counter("offers_total",
			"Offers to agents by how they ended: answered, declined, missed (rang out), withdrawn (caller gone, agent lost, call-back booked).",
			"queue", "result"),
		consults: counter("consultations_total",
			"Consultations (warm transfers) by how they ended: completed, transferred (the asking agent left while it rang), declined, not answered, cancelled, ended, caller hung up, connection lost.",
			"queue", "result"),
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "voxdesk", Subsystem: "routing",
			Name: "queue_wait_seconds", Help: "Time from enqueue to answer or abandonment.",
			Buckets: []float64{1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200}}, []string{"queue", "outcome"}),
		handle: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "voxdesk", Subsystem: "routing",
			Name: "handle_time_seconds", Help: "Talk plus wrap-up time of finished calls.",
			Buckets: []float64{15, 30, 60, 120, 180, 300, 600, 1200, 2400}}, []string{"queue"}),
		serviceLevel: gauge("service_level_ratio", "Calls answered within the queue's threshold over answered plus abandoned after it.", "queue"),
		waiting:      gauge("waiting_calls", "Calls waiting in the queue, ringing included.", "queue"),
		agents:       gauge("agents", "Logged-in agents by state.", "state"),
	}
}

func (m *metrics) register(reg prometheus.Registerer) {
	if reg == nil {
		return
	}
	reg.MustRegister(m.queued, m.answered, m.abandoned, m.overflowed, m.timedOut, m.noAgents, m.callbacks, m.offers,
		m.consults, m.wait, m.handle, m.serviceLevel, m.waiting, m.agents)
}

// initQueue makes a queue's series appear before its first call.
func (m *metrics) initQueue(q string) {
	m.queued.WithLabelValues(q)
	m.answered.WithLabelValues(q)
	m.abandoned.WithLabelValues(q)
	m.noAgents.WithLabelValues(q)
	m.serviceLevel.WithLabelValues(q).Set(1)
	m.waiting.WithLabelValues(q).Set(0)
}

var allStates = []State{StateAvailable, StateOffered, StateBusy, StateWrapUp, StateAway}

func (m *metrics) agentStates(agents map[string]*agent) {
	n := map[State]int{}
	for _, a := range agents {
		n[a.state]++
	}
	for _, s := range allStates {
		m.agents.WithLabelValues(string(s)).Set(float64(n[s]))
	}
}
