package harness

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// systemColors keeps a system's colour the same in every panel: Rivulet's
// side in blue, peers in orange.
var systemColors = map[string]string{
	"rivulet":    "#1f77b4",
	"brokerlite": "#1f77b4",
	"goka":       "#ff7f0e",
	"kfake":      "#ff7f0e",
}

var otherColors = []string{"#2ca02c", "#d62728", "#9467bd"}

// Plot draws series as throughput over time to path, an SVG file: one panel
// per benchmark with one line per system, stacked vertically, with axes,
// ticks and a legend.
//
// It writes the SVG by hand (about a hundred lines) rather than through a
// plotting module: line charts are all it needs, and a plotting module
// (gonum/plot and its fonts) would add a noticeable share to the cold build
// of the rivulet binary, which the README's first command compiles.
func Plot(path string, series []Series) error {
	if strings.ToLower(filepath.Ext(path)) != ".svg" {
		return fmt.Errorf("harness: plot %s: use a .svg file name", path)
	}
	var benches []string
	byBench := map[string][]Series{}
	for _, s := range series {
		if len(s.Points) == 0 {
			continue
		}
		if _, ok := byBench[s.Bench]; !ok {
			benches = append(benches, s.Bench)
		}
		byBench[s.Bench] = append(byBench[s.Bench], s)
	}
	if len(benches) == 0 {
		return errors.New("harness: plot: no throughput was sampled")
	}
	const (
		width, panelH          = 720.0, 260.0
		left, right, top, bott = 80.0, 120.0, 36.0, 44.0
	)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" font-family="sans-serif" font-size="12">`+"\n", width, panelH*float64(len(benches)))
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	for i, bench := range benches {
		ss := byBench[bench]
		y0 := panelH * float64(i)
		var maxT, maxV float64
		for _, s := range ss {
			for _, p := range s.Points {
				maxT, maxV = math.Max(maxT, p.T), math.Max(maxV, p.V)
			}
		}
		tStep, vStep := niceStep(maxT), niceStep(maxV)
		maxT, maxV = math.Ceil(maxT/tStep)*tStep, math.Ceil(maxV/vStep)*vStep
		pw, ph := width-left-right, panelH-top-bott
		x := func(t float64) float64 { return left + t/maxT*pw }
		y := func(v float64) float64 { return y0 + top + ph - v/maxV*ph }
		fmt.Fprintf(&b, `<text x="%g" y="%g" text-anchor="middle" font-size="14">%s</text>`+"\n", left+pw/2, y0+22, xmlEscape(bench))
		for v := 0.0; v <= maxV+vStep/2; v += vStep {
			fmt.Fprintf(&b, `<line x1="%g" y1="%.1f" x2="%g" y2="%.1f" stroke="#ddd"/>`, left, y(v), left+pw, y(v))
			fmt.Fprintf(&b, `<text x="%g" y="%.1f" text-anchor="end">%s</text>`+"\n", left-6, y(v)+4, Human(v))
		}
		for t := 0.0; t <= maxT+tStep/2; t += tStep {
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%g" x2="%.1f" y2="%g" stroke="#eee"/>`, x(t), y0+top, x(t), y0+top+ph)
			fmt.Fprintf(&b, `<text x="%.1f" y="%g" text-anchor="middle">%g</text>`+"\n", x(t), y0+top+ph+16, t)
		}
		fmt.Fprintf(&b, `<rect x="%g" y="%g" width="%g" height="%g" fill="none" stroke="black"/>`+"\n", left, y0+top, pw, ph)
		fmt.Fprintf(&b, `<text x="%g" y="%g" text-anchor="middle">seconds</text>`+"\n", left+pw/2, y0+panelH-8)
		fmt.Fprintf(&b, `<text transform="translate(16 %g) rotate(-90)" text-anchor="middle">%s</text>`+"\n", y0+top+ph/2, xmlEscape(ss[0].Unit))
		for j, s := range ss {
			c := systemColors[s.System]
			if c == "" {
				c = otherColors[j%len(otherColors)]
			}
			var pts strings.Builder
			for _, p := range s.Points {
				fmt.Fprintf(&pts, "%.1f,%.1f ", x(p.T), y(p.V))
			}
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.8" points="%s"/>`+"\n", c, strings.TrimSpace(pts.String()))
			ly := y0 + top + 14 + float64(j)*18
			fmt.Fprintf(&b, `<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="%s" stroke-width="3"/>`, left+pw+10, ly-4, left+pw+30, ly-4, c)
			fmt.Fprintf(&b, `<text x="%g" y="%g">%s</text>`+"\n", left+pw+36, ly, xmlEscape(s.System))
		}
	}
	b.WriteString("</svg>\n")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("harness: plot: %w", err)
	}
	return nil
}

// niceStep returns a tick step of 1, 2 or 5 times a power of ten that cuts
// max in about five parts.
func niceStep(max float64) float64 {
	if !(max > 0) {
		return 1
	}
	raw := max / 5
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func xmlEscape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")
	return r.Replace(s)
}
