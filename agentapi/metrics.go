package agentapi

import "github.com/prometheus/client_golang/prometheus"

// metrics are the agent API's Prometheus series; they count whether or
// not they are registered (WithRegisterer).
type metrics struct {
	pages       *prometheus.GaugeVec   // open sockets by kind: agent, board, webcall
	logins      *prometheus.CounterVec // by result: ok, failed, locked
	badMessages *prometheus.CounterVec // by kind: agent, webcall
	webcalls    *prometheus.CounterVec // "call now" calls by how they ended (call.Cause)
	callbacks   *prometheus.CounterVec // "call me back" bookings by result: booked, refused
	// voicemailPlays counts voicemail downloads (each one audited).
	voicemailPlays prometheus.Counter
	// monitors counts supervisors' listen/whisper/barge requests by mode
	// and result; activeMonitors are those running.
	monitors       *prometheus.CounterVec
	activeMonitors prometheus.Gauge
}

func newMetrics() *metrics {
	opts := func(name, help string) prometheus.Opts {
		return prometheus.Opts{Namespace: "voxdesk", Subsystem: "agentapi", Name: name, Help: help}
	}
	return &metrics{
		pages:          prometheus.NewGaugeVec(prometheus.GaugeOpts(opts("open_sockets", "Open WebSockets by page kind (agent, board, webcall).")), []string{"kind"}),
		logins:         prometheus.NewCounterVec(prometheus.CounterOpts(opts("logins_total", "Login attempts by result (ok, failed, locked).")), []string{"result"}),
		badMessages:    prometheus.NewCounterVec(prometheus.CounterOpts(opts("bad_messages_total", "Malformed messages refused, by page kind.")), []string{"kind"}),
		webcalls:       prometheus.NewCounterVec(prometheus.CounterOpts(opts("webcalls_total", "Website \"call now\" calls by how they ended.")), []string{"cause"}),
		callbacks:      prometheus.NewCounterVec(prometheus.CounterOpts(opts("callback_requests_total", "Website \"call me back\" requests by result (booked, refused).")), []string{"result"}),
		voicemailPlays: prometheus.NewCounter(prometheus.CounterOpts(opts("voicemail_plays_total", "Voicemail messages served to a page (each access audited in the log)."))),
		monitors: prometheus.NewCounterVec(prometheus.CounterOpts(opts("monitor_requests_total",
			"Supervisors' listen, whisper and barge requests by mode and result (started, switched, refused-REASON).")), []string{"mode", "result"}),
		activeMonitors: prometheus.NewGauge(prometheus.GaugeOpts(opts("monitors_active", "Supervisors listening to, whispering to or barged into a call now."))),
	}
}

func (m *metrics) register(reg prometheus.Registerer) {
	if reg != nil {
		reg.MustRegister(m.pages, m.logins, m.badMessages, m.webcalls, m.callbacks, m.voicemailPlays, m.monitors, m.activeMonitors)
	}
}

// WithRegisterer registers the agent API's Prometheus metrics.
func WithRegisterer(reg prometheus.Registerer) Option {
	return func(s *Server) { s.reg = reg }
}
