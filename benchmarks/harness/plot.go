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
	"franz-go":   "#2ca02c",
}

var otherColors = []string{"#d62728", "#9467bd", "#8c564b"}

// Plot draws series and charts to path, an SVG file: one panel per
// benchmark with one line per system (throughput over time, or latency
// against input rate on logarithmic axes), then one panel per bar chart
// (the streams cases side by side), stacked vertically, with axes, ticks and
// legends.
//
// It writes the SVG by hand (a few hundred lines) rather than through a
// plotting module: line and bar charts are all it needs, and a plotting
// module (gonum/plot and its fonts) would add a noticeable share to the cold
// build of the rivulet binary, which the README's first command compiles.
func Plot(path string, series []Series, charts ...BarChart) error {
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
	var bars []BarChart
	for _, c := range charts {
		if len(c.Groups) > 0 && len(c.Systems) > 0 {
			bars = append(bars, c)
		}
	}
	if len(benches) == 0 && len(bars) == 0 {
		return errors.New("harness: plot: nothing was measured to plot")
	}
	height := panelH * float64(len(benches))
	for _, c := range bars {
		height += c.height()
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" font-family="sans-serif" font-size="12">`+"\n", plotWidth, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	y0 := 0.0
	for _, bench := range benches {
		linePanel(&b, bench, byBench[bench], y0)
		y0 += panelH
	}
	for _, c := range bars {
		c.panel(&b, y0)
		y0 += c.height()
	}
	b.WriteString("</svg>\n")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("harness: plot: %w", err)
	}
	return nil
}

const (
	plotWidth, panelH      = 720.0, 260.0
	left, right, top, bott = 80.0, 120.0, 36.0, 44.0
)

func systemColor(system string, j int) string {
	if c := systemColors[system]; c != "" {
		return c
	}
	return otherColors[j%len(otherColors)]
}

// axis maps values to [0, 1] of a panel's side, linearly from 0 or
// logarithmically between decades, and lists its ticks.
type axis struct {
	log      bool
	min, max float64 // linear: 0 and a rounded max; log: decades (log10)
	step     float64
}

func newAxis(lo, hi float64, log bool) axis {
	if log {
		if !(lo > 0) {
			lo = 1
		}
		a := axis{log: true, min: math.Floor(math.Log10(lo)), max: math.Ceil(math.Log10(math.Max(hi, lo)))}
		if a.max <= a.min {
			a.max = a.min + 1
		}
		return a
	}
	step := niceStep(hi)
	return axis{min: 0, max: math.Ceil(hi/step) * step, step: step}
}

func (a axis) frac(v float64) float64 {
	if a.log {
		if !(v > 0) {
			return 0
		}
		return (math.Log10(v) - a.min) / (a.max - a.min)
	}
	if a.max == 0 {
		return 0
	}
	return v / a.max
}

func (a axis) ticks() []float64 {
	var out []float64
	if a.log {
		for d := a.min; d <= a.max+0.5; d++ {
			out = append(out, math.Pow(10, d))
		}
		return out
	}
	for v := 0.0; v <= a.max+a.step/2; v += a.step {
		out = append(out, v)
	}
	return out
}

// linePanel draws one benchmark's series, one line per system.
func linePanel(b *strings.Builder, bench string, ss []Series, y0 float64) {
	var maxT, maxV float64
	minT, minV := math.Inf(1), math.Inf(1)
	for _, s := range ss {
		for _, p := range s.Points {
			maxT, maxV = math.Max(maxT, p.T), math.Max(maxV, p.V)
			if p.T > 0 {
				minT = math.Min(minT, p.T)
			}
			if p.V > 0 {
				minV = math.Min(minV, p.V)
			}
		}
	}
	xa, ya := newAxis(minT, maxT, ss[0].LogX), newAxis(minV, maxV, ss[0].LogY)
	pw, ph := plotWidth-left-right, panelH-top-bott
	x := func(t float64) float64 { return left + xa.frac(t)*pw }
	y := func(v float64) float64 { return y0 + top + ph - ya.frac(v)*ph }
	fmt.Fprintf(b, `<text x="%g" y="%g" text-anchor="middle" font-size="14">%s</text>`+"\n", left+pw/2, y0+22, xmlEscape(bench))
	for _, v := range ya.ticks() {
		fmt.Fprintf(b, `<line x1="%g" y1="%.1f" x2="%g" y2="%.1f" stroke="#ddd"/>`, left, y(v), left+pw, y(v))
		fmt.Fprintf(b, `<text x="%g" y="%.1f" text-anchor="end">%s</text>`+"\n", left-6, y(v)+4, Human(v))
	}
	for _, t := range xa.ticks() {
		fmt.Fprintf(b, `<line x1="%.1f" y1="%g" x2="%.1f" y2="%g" stroke="#eee"/>`, x(t), y0+top, x(t), y0+top+ph)
		label := fmt.Sprintf("%g", t)
		if xa.log {
			label = Human(t)
		}
		fmt.Fprintf(b, `<text x="%.1f" y="%g" text-anchor="middle">%s</text>`+"\n", x(t), y0+top+ph+16, label)
	}
	xunit := ss[0].XUnit
	if xunit == "" {
		xunit = "seconds"
	}
	fmt.Fprintf(b, `<rect x="%g" y="%g" width="%g" height="%g" fill="none" stroke="black"/>`+"\n", left, y0+top, pw, ph)
	fmt.Fprintf(b, `<text x="%g" y="%g" text-anchor="middle">%s</text>`+"\n", left+pw/2, y0+panelH-8, xmlEscape(xunit))
	fmt.Fprintf(b, `<text transform="translate(16 %g) rotate(-90)" text-anchor="middle">%s</text>`+"\n", y0+top+ph/2, xmlEscape(ss[0].Unit))
	for j, s := range ss {
		c := systemColor(s.System, j)
		var pts strings.Builder
		for _, p := range s.Points {
			fmt.Fprintf(&pts, "%.1f,%.1f ", x(p.T), y(p.V))
		}
		fmt.Fprintf(b, `<polyline fill="none" stroke="%s" stroke-width="1.8" points="%s"/>`+"\n", c, strings.TrimSpace(pts.String()))
		if xa.log { // a sweep: mark the measured points
			for _, p := range s.Points {
				fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`, x(p.T), y(p.V), c)
			}
			b.WriteString("\n")
		}
		ly := y0 + top + 14 + float64(j)*18
		fmt.Fprintf(b, `<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="%s" stroke-width="3"/>`, left+pw+10, ly-4, left+pw+30, ly-4, c)
		fmt.Fprintf(b, `<text x="%g" y="%g">%s</text>`+"\n", left+pw+36, ly, xmlEscape(s.System))
	}
}

// BarChart is a set of measures per group (a case) and system, drawn as
// horizontal bars, one row of bars per group.
type BarChart struct {
	Title   string
	Unit    string
	Groups  []string
	Systems []string
	// Values[g][s] is group g's measure for system s; 0 draws no bar.
	Values [][]float64
}

const (
	barH, barGap, barLeft = 9.0, 8.0, 190.0
)

func (c BarChart) height() float64 {
	return top + bott + float64(len(c.Groups))*(float64(len(c.Systems))*barH+barGap)
}

func (c BarChart) panel(b *strings.Builder, y0 float64) {
	var maxV float64
	for _, row := range c.Values {
		for _, v := range row {
			maxV = math.Max(maxV, v)
		}
	}
	xa := newAxis(0, maxV, false)
	pw := plotWidth - barLeft - right
	ph := c.height() - top - bott
	x := func(v float64) float64 { return barLeft + xa.frac(v)*pw }
	fmt.Fprintf(b, `<text x="%g" y="%g" text-anchor="middle" font-size="14">%s</text>`+"\n", barLeft+pw/2, y0+22, xmlEscape(c.Title))
	for _, t := range xa.ticks() {
		fmt.Fprintf(b, `<line x1="%.1f" y1="%g" x2="%.1f" y2="%g" stroke="#ddd"/>`, x(t), y0+top, x(t), y0+top+ph)
		fmt.Fprintf(b, `<text x="%.1f" y="%g" text-anchor="middle">%s</text>`+"\n", x(t), y0+top+ph+16, Human(t))
	}
	fmt.Fprintf(b, `<rect x="%g" y="%g" width="%g" height="%g" fill="none" stroke="black"/>`+"\n", barLeft, y0+top, pw, ph)
	fmt.Fprintf(b, `<text x="%g" y="%g" text-anchor="middle">%s</text>`+"\n", barLeft+pw/2, y0+c.height()-8, xmlEscape(c.Unit))
	gy := y0 + top + barGap/2
	for g, name := range c.Groups {
		rowH := float64(len(c.Systems)) * barH
		fmt.Fprintf(b, `<text x="%g" y="%.1f" text-anchor="end">%s</text>`+"\n", barLeft-6, gy+rowH/2+4, xmlEscape(name))
		for s := range c.Systems {
			if g < len(c.Values) && s < len(c.Values[g]) && c.Values[g][s] > 0 {
				fmt.Fprintf(b, `<rect x="%g" y="%.1f" width="%.1f" height="%g" fill="%s"/>`, barLeft, gy+float64(s)*barH, x(c.Values[g][s])-barLeft, barH-1, systemColor(c.Systems[s], s))
			}
		}
		b.WriteString("\n")
		gy += rowH + barGap
	}
	for j, sys := range c.Systems {
		ly := y0 + top + 14 + float64(j)*18
		fmt.Fprintf(b, `<rect x="%g" y="%g" width="20" height="8" fill="%s"/>`, barLeft+pw+10, ly-9, systemColor(sys, j))
		fmt.Fprintf(b, `<text x="%g" y="%g">%s</text>`+"\n", barLeft+pw+36, ly, xmlEscape(sys))
	}
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
