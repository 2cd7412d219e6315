package ivr

import (
	"bufio"
	"fmt"
	"html"
	"io"
)

// Layout of the graph: each step list is a column of boxes in file
// order; plain continuation runs straight down, jumps are arcs on the
// right of the column with their label (key, condition, fail, else).
const (
	svgBoxW   = 300
	svgBoxH   = 44
	svgRow    = 70
	svgColGap = 260
	svgMargin = 30
)

var kindColour = map[string]string{
	kindPlay: "#e8f0fe", kindMenu: "#fff4d6", kindCollect: "#fff4d6", kindIdentify: "#e6f6ea",
	kindVerify: "#e6f6ea", kindPIN: "#e6f6ea", kindEnrol: "#e6f6ea", kindBranch: "#f3e8fd",
	kindSet: "#f1f3f4", kindQueue: "#fde8e8", kindTransfer: "#fde8e8", kindCallback: "#fde8e8",
	kindVoicemail: "#fde8e8", kindHangup: "#dadce0", kindGoto: "#f1f3f4", kindCall: "#f1f3f4",
	kindReturn: "#dadce0",
}

// WriteSVG draws the flow as an SVG image: one column per step list,
// steps in file order, jumps as labelled arcs. The operator step (reached
// by pressing 0) is outlined in red.
func (f *Flow) WriteSVG(w io.Writer) error {
	bw := bufio.NewWriter(w)
	seqs := f.seqs()
	rows := 0
	for _, s := range seqs {
		rows = max(rows, len(s.steps))
	}
	width := svgMargin*2 + len(seqs)*(svgBoxW+svgColGap)
	height := svgMargin*2 + 40 + rows*svgRow
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprint(bw, `<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>`+"\n")
	fmt.Fprintf(bw, `<text x="%d" y="%d" font-size="16" font-weight="bold">%s</text>`+"\n", svgMargin, svgMargin, esc(fmt.Sprintf("%s (version %s)", f.name, f.Version())))
	pos := map[string][2]int{} // step id -> box top-left
	for ci, s := range seqs {
		x := svgMargin + ci*(svgBoxW+svgColGap)
		title := "main"
		if ci > 0 {
			title = "sub-flow " + s.name
		}
		fmt.Fprintf(bw, `<text x="%d" y="%d" font-weight="bold">%s</text>`+"\n", x, svgMargin+28, esc(title))
		for i, st := range s.steps {
			pos[st.id] = [2]int{x, svgMargin + 40 + i*svgRow}
		}
	}
	for _, s := range seqs {
		for _, st := range s.steps {
			p := pos[st.id]
			stroke, sw := "#555", 1
			if st.id == f.operator {
				stroke, sw = "#d93025", 3
			}
			fmt.Fprintf(bw, `<g id="step-%s"><rect x="%d" y="%d" width="%d" height="%d" rx="6" fill="%s" stroke="%s" stroke-width="%d"/>`,
				esc(st.id), p[0], p[1], svgBoxW, svgBoxH, kindColour[st.kind], stroke, sw)
			fmt.Fprintf(bw, `<text x="%d" y="%d" font-weight="bold">%s</text>`, p[0]+8, p[1]+17, esc(st.id))
			fmt.Fprintf(bw, `<text x="%d" y="%d">%s</text></g>`+"\n", p[0]+8, p[1]+34, esc(clip(st.summary(), 46)))
			lane := 0
			for _, e := range f.labelledEdges(st) {
				from := [2]int{p[0] + svgBoxW/2, p[1] + svgBoxH}
				if e.to == exit {
					fmt.Fprintf(bw, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#555" marker-end="url(#arrow)"/><circle cx="%d" cy="%d" r="5" fill="#555"/>`+"\n",
						from[0], from[1], from[0], from[1]+14, from[0], from[1]+20)
					continue
				}
				q := pos[e.to]
				if e.label == "" && q[1] == p[1]+svgRow && q[0] == p[0] {
					fmt.Fprintf(bw, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#555" marker-end="url(#arrow)"/>`+"\n", from[0], from[1], q[0]+svgBoxW/2, q[1])
					continue
				}
				lane++
				bend := p[0] + svgBoxW + 20*lane
				y1, y2 := p[1]+svgBoxH/2, q[1]+svgBoxH/2
				fmt.Fprintf(bw, `<path d="M%d,%d C%d,%d %d,%d %d,%d" fill="none" stroke="#555" marker-end="url(#arrow)"/>`,
					p[0]+svgBoxW, y1, bend+40, y1, bend+40, y2, q[0]+svgBoxW, y2)
				if e.label != "" {
					fmt.Fprintf(bw, `<text x="%d" y="%d" fill="#1a73e8">%s</text>`, p[0]+svgBoxW+6, y1-4-12*(lane-1), esc(clip(e.label, 36)))
				}
				fmt.Fprintln(bw)
			}
		}
	}
	fmt.Fprintln(bw, "</svg>")
	return bw.Flush()
}

func esc(s string) string { return html.EscapeString(s) }

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
