package ivr

import (
	"bufio"
	"fmt"
	"html"
	"io"
)

// Layout of the graph: each step list is a column of boxes in file
// order; plain continuation runs straight down. Every jump (key,
// condition, fail, else, goto) gets its own vertical lane right of the
// column: it leaves the box's right edge under its label, runs along its
// lane and comes back into the target's right edge, so no two jumps share
// a line.
const (
	svgBoxW   = 300
	svgBoxH   = 44
	svgRow    = 70
	svgLabelW = 230 // room for a jump's label before the lanes
	svgLane   = 10
	svgMargin = 30
)

// WriteSVG draws the flow as an SVG image: one column per step list,
// steps in file order, jumps in lanes with their labels. The operator
// step (reached by pressing 0) is outlined in red; a dot under a step
// means the call (or sub-flow) can end there.
func (f *Flow) WriteSVG(w io.Writer) error {
	bw := bufio.NewWriter(w)
	seqs := f.seqs()
	isJump := func(st *Step, e edge) bool {
		if e.to == exit {
			return false
		}
		return e.label != "" || f.steps[e.to].index != st.index+1
	}
	// Column positions: each column is as wide as its lanes need.
	colX := make([]int, len(seqs))
	x, rows := svgMargin, 0
	for ci, s := range seqs {
		colX[ci] = x
		lanes := 0
		for _, st := range s.steps {
			for _, e := range f.labelledEdges(st) {
				if isJump(st, e) {
					lanes++
				}
			}
		}
		x += svgBoxW + svgLabelW + lanes*svgLane + 40
		rows = max(rows, len(s.steps))
	}
	width, height := x+svgMargin, svgMargin*2+40+rows*svgRow
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprint(bw, `<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>`+"\n")
	fmt.Fprintf(bw, `<text x="%d" y="%d" font-size="16" font-weight="bold">%s</text>`+"\n", svgMargin, svgMargin, esc(fmt.Sprintf("%s (version %s)", f.name, f.Version())))
	top := func(st *Step) int { return svgMargin + 40 + st.index*svgRow }
	for ci, s := range seqs {
		x := colX[ci]
		title := "main"
		if ci > 0 {
			title = "sub-flow " + s.name
		}
		fmt.Fprintf(bw, `<text x="%d" y="%d" font-weight="bold">%s</text>`+"\n", x, svgMargin+28, esc(title))
		lane := 0
		for _, st := range s.steps {
			y := top(st)
			stroke, sw := "#555", 1
			if st.id == f.operator {
				stroke, sw = "#d93025", 3
			}
			fmt.Fprintf(bw, `<g id="step-%s"><rect x="%d" y="%d" width="%d" height="%d" rx="6" fill="%s" stroke="%s" stroke-width="%d"/>`,
				esc(st.id), x, y, svgBoxW, svgBoxH, stepKinds[st.kind].colour, stroke, sw)
			fmt.Fprintf(bw, `<text x="%d" y="%d" font-weight="bold">%s</text>`, x+8, y+17, esc(st.id))
			fmt.Fprintf(bw, `<text x="%d" y="%d">%s</text></g>`+"\n", x+8, y+34, esc(clip(st.summary(), 46)))
			out := 0
			for _, e := range f.labelledEdges(st) {
				mid := x + svgBoxW/2
				switch {
				case e.to == exit:
					fmt.Fprintf(bw, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#555"/><circle cx="%d" cy="%d" r="5" fill="#555"/>`+"\n",
						mid, y+svgBoxH, mid, y+svgBoxH+12, mid, y+svgBoxH+17)
				case !isJump(st, e):
					fmt.Fprintf(bw, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#555" marker-end="url(#arrow)"/>`+"\n", mid, y+svgBoxH, mid, y+svgRow)
				default:
					lane++
					out++
					lx := x + svgBoxW + svgLabelW + lane*svgLane
					y1 := y + 10 + (out-1)*11
					y2 := top(f.steps[e.to]) + svgBoxH/2
					fmt.Fprintf(bw, `<path d="M%d,%d H%d V%d H%d" fill="none" stroke="#555" marker-end="url(#arrow)"/>`,
						x+svgBoxW, y1, lx, y2, x+svgBoxW)
					label := e.label
					if label == "" {
						label = "next"
						if st.kind == kindGoto {
							label = "goto"
						}
					}
					fmt.Fprintf(bw, `<text x="%d" y="%d" fill="#1a73e8" font-size="10">%s</text>`+"\n", x+svgBoxW+4, y1-2, esc(clip(label+" → "+e.to, 40)))
				}
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
