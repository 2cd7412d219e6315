package main

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/voxdesk/voxdesk/identify"
)

// DET plot geometry: normal-deviate axes from detLo to detHi.
const (
	detW, detH   = 640.0, 520.0
	detLeft      = 70.0
	detBottom    = 60.0
	detTop       = 30.0
	detRight     = 160.0
	detLo, detHi = 1e-4, 0.95
)

var detTicks = []float64{1e-4, 1e-3, 0.01, 0.05, 0.2, 0.5, 0.8, 0.95}

var detColours = []string{"#1c71d8", "#e66100", "#26a269", "#9141ac", "#a51d2d"}

// probit is the standard normal quantile of p, clamped to the plot.
func probit(p float64) float64 {
	p = min(max(p, detLo), detHi)
	return -math.Sqrt2 * math.Erfcinv(2*p)
}

// detXY maps (false accept, miss) to the plot.
func detXY(fa, miss float64) (x, y float64) {
	lo, hi := probit(detLo), probit(detHi)
	x = detLeft + (probit(fa)-lo)/(hi-lo)*(detW-detLeft-detRight)
	y = detH - detBottom - (probit(miss)-lo)/(hi-lo)*(detH-detBottom-detTop)
	return x, y
}

func pct(p float64) string {
	s := fmt.Sprintf("%g", 100*p)
	return s + "%"
}

// detSVG draws one DET curve per duration with the policy's thresholds
// for N=1 and N=customers marked.
func detSVG(p *identify.Policy, curves []*detCurve, customers int) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" viewBox="0 0 %g %g" font-family="sans-serif" font-size="12">`+"\n", detW, detH, detW, detH)
	fmt.Fprintf(&b, `<rect width="%g" height="%g" fill="white"/>`+"\n", detW, detH)
	x0, y0 := detXY(detLo, detLo)
	x1, y1 := detXY(detHi, detHi)
	for _, t := range detTicks {
		x, _ := detXY(t, detLo)
		_, y := detXY(detLo, t)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", x, y0, x, y1)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", x0, y, x1, y)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", x, y0+16, pct(t))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n", x0-6, y, pct(t))
	}
	fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#333"/>`+"\n", x0, y1, x1-x0, y0-y1)
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">false accepts per comparison (impostor trials passing)</text>`+"\n", (x0+x1)/2, detH-18)
	fmt.Fprintf(&b, `<text transform="translate(18 %.1f) rotate(-90)" text-anchor="middle">misses (enrolled callers not verified)</text>`+"\n", (y0+y1)/2)
	fmt.Fprintf(&b, `<text x="%.1f" y="18" text-anchor="middle" font-weight="bold">DET by net speech; dots: thresholds for N=1 (filled) and N=%d (open)</text>`+"\n", detW/2, customers)
	for i, c := range curves {
		col := detColours[i%len(detColours)]
		ly := detTop + 20 + float64(i)*20
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2"/><text x="%.1f" y="%.1f" dominant-baseline="middle">%g s</text>`+"\n",
			detW-detRight+20, ly, detW-detRight+45, ly, col, detW-detRight+50, ly, c.seconds)
		if len(c.target) == 0 || len(c.impostor) == 0 {
			continue
		}
		pts, err := identify.DET(c.target, c.impostor)
		if err != nil {
			return "", err
		}
		var path strings.Builder
		for j, pt := range pts {
			x, y := detXY(pt.FalseAccept, pt.Miss)
			cmd := "L"
			if j == 0 {
				cmd = "M"
			}
			fmt.Fprintf(&path, "%s%.1f %.1f ", cmd, x, y)
		}
		fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.TrimSpace(path.String()), col)
		d := time.Duration(c.seconds * float64(time.Second))
		for k, n := range []int{1, max(customers, 1)} {
			thr, ok, _ := p.Threshold(n, d, 0)
			if !ok {
				continue
			}
			fa := 0
			for _, s := range c.impostor {
				if s >= thr {
					fa++
				}
			}
			x, y := detXY(float64(fa)/float64(len(c.impostor)), identify.MissAt(c.target, thr))
			fill := col
			if k == 1 {
				fill = "white"
			}
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="5" fill="%s" stroke="%s" stroke-width="2"><title>%g s, N=%d: threshold %.2f</title></circle>`+"\n", x, y, fill, col, c.seconds, n, thr)
		}
	}
	b.WriteString("</svg>\n")
	return b.String(), nil
}
