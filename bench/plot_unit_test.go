package bench

import (
	"encoding/xml"
	"io"
	"strings"
	"testing"
	"time"
)

func TestPeerPlot(t *testing.T) {
	var runs []*peerRun
	for i, n := range []int{50, 100, 200, 500} {
		for _, peer := range []string{"voxdesk", "diago"} {
			r := &peerRun{peerParams: peerParams{peer: peer, calls: n}}
			r.cpuPerCallMinute = 0.01 * float64(i+1)
			r.out.jitterP99 = time.Duration(i+1) * time.Millisecond
			r.in.jitterP99 = time.Duration(2*i+1) * time.Millisecond
			runs = append(runs, r)
		}
	}
	lines, points := svgShapes(t, peerPlot(runs))
	// CPU: one line per peer; jitter: two directions per peer.
	if lines != 6 || points != 6*4 {
		t.Errorf("%d lines and %d points, want 6 and 24", lines, points)
	}
}

func TestE2EPlot(t *testing.T) {
	var runs []*e2eResult
	for i, n := range []int{50, 100, 200, 350, 500} {
		r := &e2eResult{e2eParams: e2eParams{calls: n, agent: e2eAgentParams{agents: 10}}}
		r.cpu, r.elapsed = time.Duration(i+1)*time.Second, 10*time.Second
		r.busy = []float64{0.2, 0.1 * float64(i+1)}
		r.out.jitterP99, r.in.jitterP99 = time.Duration(i+1)*time.Millisecond, time.Duration(2*i+1)*time.Millisecond
		if i < 3 { // at 350 and 500 no call reached an agent
			r.toAgents.jitterP99, r.toAgents.callsWithRTP = time.Duration(3*i+1)*time.Millisecond, 10
		}
		runs = append(runs, r)
	}
	lines, points := svgShapes(t, e2ePlot(runs))
	// CPU: the switch and both cores' busy share; jitter: both ways on
	// the callers' legs, and to the agents where calls reached them.
	if lines != 6 || points != 5*5+3 {
		t.Errorf("%d lines and %d points, want 6 and 28", lines, points)
	}
}

// svgShapes checks that svg is well-formed XML with finite coordinates
// and counts its polylines and circles.
func svgShapes(t *testing.T, svg string) (lines, points int) {
	t.Helper()
	if strings.Contains(svg, "NaN") || strings.Contains(svg, "Inf") {
		t.Fatal("plot has NaN or Inf coordinates")
	}
	d := xml.NewDecoder(strings.NewReader(svg))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return lines, points
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			switch se.Name.Local {
			case "polyline":
				lines++
			case "circle":
				points++
			}
		}
	}
}
