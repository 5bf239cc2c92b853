package topology

import (
	"fmt"
	"html"
	"strings"
)

// SVG draws the topology as a standalone SVG picture, with no outside
// tool: one box per sub-topology side by side, its nodes in rows by depth
// (sources on top), edges as arrows. Source nodes show their topics, sinks
// their topic, processors their stores. notes adds one line under a node's
// name (for example a live rate), by node name; it may be nil.
//
// Each node is a <g class="node" data-node="NAME" data-kind="KIND">, so a
// page can find and style them.
func (d Description) SVG(notes map[string]string) string {
	const (
		charW   = 8  // width of a character of the 12px monospace font, rounded up
		lineH   = 15 // height of a text line
		padX    = 8  // text padding in a box
		gapX    = 16 // between boxes of a row
		gapY    = 34 // between rows
		subPad  = 14 // inside a sub-topology's frame
		subGap  = 24 // between sub-topologies
		titleH  = 22 // a sub-topology's title
		marginX = 10
	)
	type box struct {
		n          NodeDescription
		lines      []string
		x, y, w, h int
	}
	var b strings.Builder
	var body strings.Builder
	var edges []string
	x0, height := marginX, 0
	for _, s := range d.Subtopologies {
		// depth = longest path from a node without predecessors in this
		// sub-topology.
		in := map[string]NodeDescription{}
		for _, n := range s.Nodes {
			in[n.Name] = n
		}
		depth := map[string]int{}
		var depthOf func(string, int) int
		depthOf = func(name string, guard int) int {
			if v, ok := depth[name]; ok {
				return v
			}
			v := 0
			if guard < len(s.Nodes) {
				for _, p := range in[name].Predecessors {
					if _, ok := in[p]; ok {
						v = max(v, depthOf(p, guard+1)+1)
					}
				}
			}
			depth[name] = v
			return v
		}
		var rows [][]*box
		boxes := map[string]*box{}
		for _, n := range s.Nodes {
			bx := &box{n: n, lines: []string{n.Name}}
			switch n.Kind {
			case SourceNode:
				if n.Pattern != "" {
					bx.lines = append(bx.lines, "topics: /"+n.Pattern+"/")
				} else {
					bx.lines = append(bx.lines, "topics: "+strings.Join(n.Topics, ", "))
				}
			case SinkNode:
				if n.TopicChooser != "" {
					bx.lines = append(bx.lines, "topic: ("+n.TopicChooser+")")
				} else {
					bx.lines = append(bx.lines, "topic: "+n.Topic)
				}
			}
			if len(n.Stores) > 0 {
				bx.lines = append(bx.lines, "stores: "+strings.Join(n.Stores, ", "))
			}
			if note := notes[n.Name]; note != "" {
				bx.lines = append(bx.lines, note)
			}
			w := 0
			for _, l := range bx.lines {
				w = max(w, len([]rune(l)))
			}
			bx.w, bx.h = w*charW+2*padX, len(bx.lines)*lineH+8
			dep := depthOf(n.Name, 0)
			for len(rows) <= dep {
				rows = append(rows, nil)
			}
			rows[dep] = append(rows[dep], bx)
			boxes[n.Name] = bx
		}
		title := fmt.Sprintf("Sub-topology: %d", s.ID)
		if s.Global {
			title += " (global store " + s.GlobalStore + ")"
		}
		subW := len(title)*charW + 2*subPad
		for _, row := range rows {
			w := -gapX
			for _, bx := range row {
				w += bx.w + gapX
			}
			subW = max(subW, w+2*subPad)
		}
		y := titleH + subPad
		for _, row := range rows {
			w, h := -gapX, 0
			for _, bx := range row {
				w += bx.w + gapX
				h = max(h, bx.h)
			}
			x := x0 + (subW-w)/2
			for _, bx := range row {
				bx.x, bx.y = x, y
				x += bx.w + gapX
			}
			y += h + gapY
		}
		subH := y - gapY + subPad
		fmt.Fprintf(&body, `<g class="subtopology" data-id="%d"><rect x="%d" y="0" width="%d" height="%d" rx="6" fill="#f6f8fa" stroke="#8c959f"/>`+
			`<text x="%d" y="16" font-weight="bold">%s</text>`+"\n", s.ID, x0, subW, subH, x0+subPad, html.EscapeString(title))
		for _, n := range s.Nodes {
			bx := boxes[n.Name]
			fill := map[NodeKind]string{SourceNode: "#ddf4ff", ProcessorNode: "#ffffff", SinkNode: "#dafbe1"}[n.Kind]
			fmt.Fprintf(&body, `<g class="node" data-node="%s" data-kind="%s"><rect x="%d" y="%d" width="%d" height="%d" rx="4" fill="%s" stroke="#57606a"/>`,
				html.EscapeString(n.Name), n.Kind, bx.x, bx.y, bx.w, bx.h, fill)
			for i, l := range bx.lines {
				class := "name"
				if i > 0 {
					class = "detail"
				}
				if i > 0 && i == len(bx.lines)-1 && notes[n.Name] != "" {
					class = "note"
				}
				fmt.Fprintf(&body, `<text class="%s" x="%d" y="%d">%s</text>`, class, bx.x+padX, bx.y+(i+1)*lineH, html.EscapeString(l))
			}
			body.WriteString("</g>\n")
			for _, c := range n.Successors {
				cb, ok := boxes[c]
				if !ok {
					continue
				}
				edges = append(edges, fmt.Sprintf(`<line class="edge" x1="%d" y1="%d" x2="%d" y2="%d" stroke="#57606a" marker-end="url(#arrow)"/>`,
					bx.x+bx.w/2, bx.y+bx.h, cb.x+cb.w/2, cb.y))
			}
		}
		body.WriteString("</g>\n")
		x0 += subW + subGap
		height = max(height, subH)
	}
	width := max(x0-subGap+marginX, 2*marginX)
	height += 2
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="topology" width="%d" height="%d" viewBox="0 0 %d %d" font-family="monospace" font-size="12">`+"\n", width, height, width, height)
	b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#57606a"/></marker></defs>` + "\n")
	b.WriteString(`<style>.detail{fill:#57606a}.note{fill:#0969da;font-weight:bold}</style>` + "\n")
	b.WriteString(body.String())
	for _, e := range edges {
		b.WriteString(e + "\n")
	}
	b.WriteString("</svg>\n")
	return b.String()
}
