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
	svg := peerPlot(runs)
	if strings.Contains(svg, "NaN") || strings.Contains(svg, "Inf") {
		t.Fatal("plot has NaN or Inf coordinates")
	}
	d := xml.NewDecoder(strings.NewReader(svg))
	lines, points := 0, 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
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
	// CPU: one line per peer; jitter: two directions per peer.
	if lines != 6 || points != 6*4 {
		t.Errorf("%d lines and %d points, want 6 and 24", lines, points)
	}
}
