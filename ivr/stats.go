package ivr

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/voxdesk/voxdesk/call"
)

// stats are the per-flow counters a Library's runners keep: how calls
// end up identified and where callers press 0 (a step many callers
// leave is a step to rework).
type stats struct {
	calls *prometheus.CounterVec
	zeros *prometheus.CounterVec
}

func newStats() *stats {
	return &stats{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "voxdesk", Subsystem: "ivr", Name: "calls_total",
			Help: "Calls that ran a flow, by flow, identification method and queue reached (empty: none).",
		}, []string{"flow", "method", "queue"}),
		zeros: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "voxdesk", Subsystem: "ivr", Name: "operator_total",
			Help: "Times callers pressed 0 to reach a person, by flow and the step they left.",
		}, []string{"flow", "step"}),
	}
}

func (s *stats) ended(flow string, c *call.Call) {
	if s == nil {
		return
	}
	m, _ := c.Var(call.VarIdentMethod)
	if m == "" {
		m = string(call.MethodNone)
	}
	q, _ := c.Var(call.VarQueue)
	s.calls.WithLabelValues(flow, m, q).Inc()
}

func (s *stats) operator(flow, step string) {
	if s != nil {
		s.zeros.WithLabelValues(flow, step).Inc()
	}
}

func (s *stats) describe(ch chan<- *prometheus.Desc) {
	s.calls.Describe(ch)
	s.zeros.Describe(ch)
}

func (s *stats) collect(ch chan<- prometheus.Metric) {
	s.calls.Collect(ch)
	s.zeros.Collect(ch)
}
