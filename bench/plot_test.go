package bench

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// series is one line of a plot: y against x, drawn in colour, dashed or not.
type series struct {
	name   string
	colour string
	dashed bool
	x, y   []float64
}

// svgPlot draws panels side by side, each with its own y axis, as a
// standalone SVG document.
type svgPlot struct {
	title  string
	panels []panel
}

type panel struct {
	title, xLabel, yLabel string
	lines                 []series
}

const (
	panelW, panelH = 460, 320
	marginL        = 70
	marginT        = 60
	marginB        = 60
	plotW          = panelW - marginL - 20
	plotH          = panelH - marginT - marginB
)

func (p svgPlot) String() string {
	var s strings.Builder
	w := panelW * len(p.panels)
	fmt.Fprintf(&s, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", w, panelH+50)
	fmt.Fprintf(&s, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&s, `<text x="%d" y="20" text-anchor="middle" font-size="14">%s</text>`+"\n", w/2, html.EscapeString(p.title))
	for i, pn := range p.panels {
		pn.draw(&s, i*panelW)
	}
	s.WriteString("</svg>\n")
	return s.String()
}

func (pn panel) draw(s *strings.Builder, x0 int) {
	xmax, ymax := 0.0, 0.0
	var xs []float64
	for _, l := range pn.lines {
		for i := range l.x {
			if !math.IsNaN(l.y[i]) && !math.IsInf(l.y[i], 0) {
				ymax = math.Max(ymax, l.y[i])
			}
			xmax = math.Max(xmax, l.x[i])
		}
		if len(l.x) > len(xs) {
			xs = l.x
		}
	}
	ymax = niceCeil(ymax)
	if xmax == 0 {
		xmax = 1
	}
	px := func(x float64) float64 { return float64(x0+marginL) + x/xmax*plotW }
	py := func(y float64) float64 { return float64(marginT+plotH) - y/ymax*plotH }
	fmt.Fprintf(s, `<text x="%d" y="%d" text-anchor="middle" font-size="13">%s</text>`+"\n", x0+marginL+plotW/2, marginT-25, html.EscapeString(pn.title))
	fmt.Fprintf(s, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#888"/>`+"\n", x0+marginL, marginT, plotW, plotH)
	for i := 0; i <= 4; i++ {
		y := ymax * float64(i) / 4
		fmt.Fprintf(s, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", x0+marginL, x0+marginL+plotW, py(y), py(y))
		fmt.Fprintf(s, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", x0+marginL-5, py(y)+4, trimFloat(y))
	}
	for _, x := range xs {
		fmt.Fprintf(s, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", px(x), marginT+plotH+16, trimFloat(x))
	}
	fmt.Fprintf(s, `<text x="%d" y="%d" text-anchor="middle">%s</text>`+"\n", x0+marginL+plotW/2, marginT+plotH+36, html.EscapeString(pn.xLabel))
	fmt.Fprintf(s, `<text transform="translate(%d,%d) rotate(-90)" text-anchor="middle">%s</text>`+"\n", x0+16, marginT+plotH/2, html.EscapeString(pn.yLabel))
	for li, l := range pn.lines {
		var pts []string
		for i := range l.x {
			if math.IsNaN(l.y[i]) || math.IsInf(l.y[i], 0) {
				continue
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(l.x[i]), py(l.y[i])))
			fmt.Fprintf(s, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", px(l.x[i]), py(l.y[i]), l.colour)
		}
		dash := ""
		if l.dashed {
			dash = ` stroke-dasharray="6,4"`
		}
		fmt.Fprintf(s, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`+"\n", strings.Join(pts, " "), l.colour, dash)
		// The legend goes under the axis, two entries a row.
		lx, ly := x0+marginL+(li%2)*(plotW/2), marginT+plotH+56+16*(li/2)
		fmt.Fprintf(s, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="2"%s/>`+"\n", lx, lx+22, ly, ly, l.colour, dash)
		fmt.Fprintf(s, `<text x="%d" y="%d">%s</text>`+"\n", lx+27, ly+4, html.EscapeString(l.name))
	}
}

// niceCeil rounds up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func trimFloat(v float64) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.4f", v), "0"), ".")
}

// peerPlot draws the peer bench: CPU per call-minute and RTP jitter
// against concurrent calls, for voxdesk and the diago peer.
func peerPlot(runs []*peerRun) string {
	colours := map[string]string{"voxdesk": "#1f77b4", "diago": "#ff7f0e"}
	var cpu, jit []series
	for _, peer := range []string{"voxdesk", "diago"} {
		c := series{name: peer, colour: colours[peer]}
		out := series{name: peer + " peer->caller", colour: colours[peer]}
		in := series{name: peer + " caller->peer (SIPp)", colour: colours[peer], dashed: true}
		for _, r := range runs {
			if r.peer != peer {
				continue
			}
			n := float64(r.calls)
			c.x, c.y = append(c.x, n), append(c.y, r.cpuPerCallMinute)
			out.x, out.y = append(out.x, n), append(out.y, ms(r.out.jitterP99))
			in.x, in.y = append(in.x, n), append(in.y, ms(r.in.jitterP99))
		}
		cpu = append(cpu, c)
		jit = append(jit, out, in)
	}
	return svgPlot{
		title: "Same SIPp load on voxdesk (demo handler) and a diago peer, each pinned to one core (bench/peer_test.go)",
		panels: []panel{
			{title: "Peer CPU per call-minute", xLabel: "concurrent calls", yLabel: "CPU-s per call-minute", lines: cpu},
			{title: "RTP jitter p99 (RFC 3550, on the wire)", xLabel: "concurrent calls", yLabel: "ms", lines: jit},
		},
	}.String()
}
