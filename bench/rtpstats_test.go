package bench

import (
	"math"
	"slices"
	"time"
)

// rtpTrace is one RTP stream as seen at one point: when each packet
// arrived (since the run's start), with its RTP timestamp and sequence
// number.
type rtpTrace struct {
	arrival []time.Duration
	rtpTS   []uint32
	seq     []uint16
}

func (t *rtpTrace) add(at time.Duration, ts uint32, seq uint16) {
	t.arrival = append(t.arrival, at)
	t.rtpTS = append(t.rtpTS, ts)
	t.seq = append(t.seq, seq)
}

// rtpStats sums up a set of traces: packets against what the sequence
// numbers say was sent, the inter-arrival deviation from 20 ms over all
// packets, and RFC 3550 interarrival jitter per stream.
type rtpStats struct {
	callsWithRTP         int   // traces with 2 packets or more
	pktsIn, pktsExpected int64 // by sequence number
	devP50, devP99       time.Duration
	jitterP50, jitterP99 time.Duration // RFC 3550 interarrival jitter per stream
	maxGap               time.Duration
	rtpSeconds           float64 // sum over streams of first-to-last packet time
	intervals            int64   // sum over streams of packets-1
}

func summariseRTP(traces []*rtpTrace) rtpStats {
	var r rtpStats
	var devs, jitters []time.Duration
	for _, c := range traces {
		if len(c.arrival) < 2 {
			continue
		}
		r.callsWithRTP++
		r.pktsIn += int64(len(c.arrival))
		first, last := c.seq[0], c.seq[len(c.seq)-1]
		r.pktsExpected += int64(uint16(last-first)) + 1
		r.rtpSeconds += (c.arrival[len(c.arrival)-1] - c.arrival[0]).Seconds()
		r.intervals += int64(len(c.arrival) - 1)
		var j float64 // RFC 3550 section 6.4.1 / A.8, in seconds
		for i := 1; i < len(c.arrival); i++ {
			gap := c.arrival[i] - c.arrival[i-1]
			r.maxGap = max(r.maxGap, gap)
			devs = append(devs, (gap - 20*time.Millisecond).Abs())
			d := gap.Seconds() - float64(int32(c.rtpTS[i]-c.rtpTS[i-1]))/8000
			j += (math.Abs(d) - j) / 16
		}
		jitters = append(jitters, time.Duration(j*float64(time.Second)))
	}
	r.devP50, r.devP99 = quantile(devs, 0.5), quantile(devs, 0.99)
	r.jitterP50, r.jitterP99 = quantile(jitters, 0.5), quantile(jitters, 0.99)
	return r
}

// loadCost is what a load cost the answering side (a switch or a peer,
// whose RTP ports are peerRTPMin-peerRTPMax) and the RTP both ways.
type loadCost struct {
	cpu              time.Duration // the answering side's, during the run
	callMinutes      float64       // from the callers' RTP on the wire: answer to hang-up
	cpuPerCallMinute float64
	rssIdle, rssPeak int64
	memPerCall       float64
	out, in          rtpStats // answering side -> callers, callers -> answering side
}

// account sorts captured streams by direction and derives the per
// call-minute and per call figures for calls concurrent calls.
func (c *loadCost) account(streams map[streamKey]*rtpTrace, calls int) {
	var out, in []*rtpTrace
	for k, t := range streams {
		if k.src >= peerRTPMin && k.src <= peerRTPMax {
			out = append(out, t)
		} else {
			in = append(in, t)
		}
	}
	c.out, c.in = summariseRTP(out), summariseRTP(in)
	c.callMinutes = c.in.rtpSeconds / 60
	if c.callMinutes > 0 {
		c.cpuPerCallMinute = c.cpu.Seconds() / c.callMinutes
	}
	c.memPerCall = float64(c.rssPeak-c.rssIdle) / float64(max(1, calls))
}

func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[int(q*float64(len(ds)-1))]
}
