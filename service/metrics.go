package service

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/voxdesk/voxdesk/media"
	"github.com/voxdesk/voxdesk/sip"
)

// metrics are the switch's Prometheus series, on a registry of its own
// so several Services can run in one test process.
type metrics struct {
	reg        *prometheus.Registry
	calls      *prometheus.CounterVec
	refused    *prometheus.CounterVec
	rtpPackets *prometheus.CounterVec
	rtpBytes   *prometheus.CounterVec
	rtpLost    prometheus.Counter
	rtpLate    prometheus.Counter
	rtpConceal prometheus.Counter
	rtpStrange prometheus.Counter
	digits     prometheus.Counter
	rtcp       *prometheus.CounterVec
	sipShed    *prometheus.CounterVec
}

var _ sip.Metrics = (*metrics)(nil)

func newMetrics(active func() float64, portsInUse func() float64) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "voxdesk_calls_total", Help: "Calls that ended, by outcome (completed, timeout, cancelled, rejected, failed).",
		}, []string{"outcome"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "voxdesk_sip_invites_refused_total", Help: "INVITEs refused before becoming a call, by SIP status.",
		}, []string{"status"}),
		rtpPackets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "voxdesk_rtp_packets_total", Help: "RTP packets of ended calls, by direction (in, out).",
		}, []string{"direction"}),
		rtpBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "voxdesk_rtp_payload_bytes_total", Help: "RTP payload bytes of ended calls, by direction.",
		}, []string{"direction"}),
		rtpLost:    prometheus.NewCounter(prometheus.CounterOpts{Name: "voxdesk_rtp_lost_packets_total", Help: "Received RTP packets lost (RFC 3550 A.3)."}),
		rtpLate:    prometheus.NewCounter(prometheus.CounterOpts{Name: "voxdesk_rtp_late_packets_total", Help: "Received RTP packets dropped as too late for playout."}),
		rtpConceal: prometheus.NewCounter(prometheus.CounterOpts{Name: "voxdesk_rtp_concealed_frames_total", Help: "Frames played out with nothing received."}),
		rtpStrange: prometheus.NewCounter(prometheus.CounterOpts{Name: "voxdesk_rtp_stranger_packets_total", Help: "RTP and RTCP packets dropped because they came from another address than the call's peer (injection or hijack attempts)."}),
		sipShed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "voxdesk_sip_messages_shed_total", Help: "SIP messages and connections not served, by reason (malformed, rate-limited, tcp-cap, tcp-timeout).",
		}, []string{"reason"}),
		rtcp: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "voxdesk_rtcp_packets_total", Help: "RTCP compound packets of ended calls, by direction (in, out).",
		}, []string{"direction"}),
		digits: prometheus.NewCounter(prometheus.CounterOpts{Name: "voxdesk_dtmf_digits_total", Help: "DTMF digits received by the demo handler."}),
	}
	m.reg.MustRegister(m.calls, m.refused, m.rtpPackets, m.rtpBytes, m.rtpLost, m.rtpLate, m.rtpConceal, m.rtpStrange, m.digits, m.rtcp, m.sipShed,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "voxdesk_calls_active", Help: "Calls in progress (ringing or up)."}, active),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "voxdesk_rtp_ports_in_use", Help: "RTP ports allocated."}, portsInUse),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	for _, o := range []string{"completed", "timeout", "cancelled", "rejected", "failed"} {
		m.calls.WithLabelValues(o)
	}
	return m
}

func (m *metrics) Refused(status int)       { m.refused.WithLabelValues(strconv.Itoa(status)).Inc() }
func (m *metrics) CallStarted()             {}
func (m *metrics) CallEnded(outcome string) { m.calls.WithLabelValues(outcome).Inc() }
func (m *metrics) Shed(reason string)       { m.sipShed.WithLabelValues(reason).Inc() }

func (m *metrics) addRTP(st media.Stats) {
	m.rtpPackets.WithLabelValues("in").Add(float64(st.PacketsIn))
	m.rtpPackets.WithLabelValues("out").Add(float64(st.PacketsOut))
	m.rtpBytes.WithLabelValues("in").Add(float64(st.BytesIn))
	m.rtpBytes.WithLabelValues("out").Add(float64(st.BytesOut))
	m.rtpLost.Add(float64(st.Lost))
	m.rtpLate.Add(float64(st.Late))
	m.rtpConceal.Add(float64(st.Concealed))
	m.rtpStrange.Add(float64(st.Strangers))
	m.rtcp.WithLabelValues("in").Add(float64(st.RTCPIn))
	m.rtcp.WithLabelValues("out").Add(float64(st.RTCPOut))
}
