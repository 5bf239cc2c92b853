package harness

import (
	"errors"
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	_ "gonum.org/v1/plot/vg/vgimg" // registers png
	_ "gonum.org/v1/plot/vg/vgsvg" // registers svg
)

// systemColors keeps a system's colour the same in every panel: Rivulet's
// side in blue, peers in orange.
var systemColors = map[string]color.Color{
	"rivulet":    color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	"brokerlite": color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	"goka":       color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	"kfake":      color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
}

// Plot draws series as throughput over time to path, one panel per
// benchmark with one line per system, stacked vertically. The format comes
// from the extension: .png or .svg.
func Plot(path string, series []Series) error {
	format := strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	if format != "png" && format != "svg" {
		return fmt.Errorf("harness: plot %s: use a .png or .svg file name", path)
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
	rows := make([][]*plot.Plot, len(benches))
	for i, b := range benches {
		p := plot.New()
		p.Title.Text = b
		p.X.Label.Text = "seconds"
		p.Y.Label.Text = byBench[b][0].Unit
		p.X.Min, p.Y.Min = 0, 0
		p.Legend.Top = true
		p.Add(plotter.NewGrid())
		for j, s := range byBench[b] {
			xys := make(plotter.XYs, len(s.Points))
			for k, pt := range s.Points {
				xys[k].X, xys[k].Y = pt.T, pt.V
			}
			l, err := plotter.NewLine(xys)
			if err != nil {
				return fmt.Errorf("harness: plot %s/%s: %w", b, s.System, err)
			}
			l.Color = systemColors[s.System]
			if l.Color == nil {
				l.Color = plotColor(j)
			}
			l.Width = vg.Points(1.5)
			p.Add(l)
			p.Legend.Add(s.System, l)
		}
		rows[i] = []*plot.Plot{p}
	}
	const panelHeight = 2.6 * vg.Inch
	w, h := 7*vg.Inch, vg.Length(len(benches))*panelHeight
	c, err := draw.NewFormattedCanvas(w, h, format)
	if err != nil {
		return fmt.Errorf("harness: plot: %w", err)
	}
	tiles := draw.Tiles{Rows: len(benches), Cols: 1, PadX: vg.Millimeter, PadY: 4 * vg.Millimeter,
		PadTop: 2 * vg.Millimeter, PadBottom: 2 * vg.Millimeter, PadLeft: 2 * vg.Millimeter, PadRight: 4 * vg.Millimeter}
	canvases := plot.Align(rows, tiles, draw.New(c))
	for i := range rows {
		rows[i][0].Draw(canvases[i][0])
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("harness: plot: %w", err)
	}
	if _, err := c.WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("harness: plot %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("harness: plot %s: %w", path, err)
	}
	return nil
}

func plotColor(i int) color.Color {
	palette := []color.Color{
		color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
		color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
		color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
	}
	return palette[i%len(palette)]
}
