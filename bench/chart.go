package bench

// The sweep as a picture: p50 and p99 delivery against offered rate, each
// model beside the other, the knee and the bound marked.

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// ChartSeries is one model's sweep (medians) and knee.
type ChartSeries struct {
	Model string
	// Label names the series in the legend (default: Model), e.g. "ours
	// before" beside "ours after".
	Label string
	Steps []SweepStep
	Knee  float64
}

var chartColors = map[string]color.Color{
	"ours":     color.RGBA{R: 0x1f, G: 0x5f, B: 0xbf, A: 0xff},
	"original": color.RGBA{R: 0xd0, G: 0x50, B: 0x10, A: 0xff},
}

// moreColors are for further series (a model charted twice).
var moreColors = []color.Color{
	color.RGBA{R: 0x20, G: 0x90, B: 0x40, A: 0xff},
	color.RGBA{R: 0x80, G: 0x30, B: 0xa0, A: 0xff},
	color.RGBA{R: 0x60, G: 0x60, B: 0x60, A: 0xff},
}

// msFloor keeps a zero latency drawable on a log axis.
const msFloor = 0.1

func msOf(ms float64) float64 { return math.Max(ms, msFloor) }

// WriteSweepChart writes the chart to path; the format follows the
// extension (.svg, .png, .pdf).
func WriteSweepChart(path, title string, series []ChartSeries) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "offered rate, messages per second into the room (log scale)"
	p.Y.Label.Text = "delivery latency, ms (log scale)"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Add(plotter.NewGrid())
	// The legend goes in a column of its own, beside the plot, so that
	// it never hides a curve.
	legend := plot.NewLegend()
	legend.Top, legend.Left = true, true
	legend.Padding = vg.Points(3)

	var rates []float64
	ymax := float64(KneeP99) / 1e6
	for _, s := range series {
		for _, st := range s.Steps {
			rates = append(rates, st.Rate)
			ymax = math.Max(ymax, float64(st.Delivery.P99)/1e6)
		}
	}
	if len(rates) == 0 {
		return fmt.Errorf("chart: no steps")
	}
	lo, hi := Range(rates)
	p.X.Min, p.X.Max = lo/1.3, hi*1.3
	p.Y.Min, p.Y.Max = msFloor, ymax*3
	var ticks []plot.Tick
	all := append(slices.Clone(DefaultRates), rates...)
	slices.Sort(all)
	labelled := 0.0
	for _, r := range slices.Compact(all) {
		if r < p.X.Min || r > p.X.Max {
			continue
		}
		// A tick at every rate, a label only where it does not run into
		// the last one (1,600, 2,000, 2,400… crowd a log axis).
		t := plot.Tick{Value: r}
		if labelled == 0 || r >= labelled*1.6 {
			t.Label, labelled = fmt.Sprintf("%.0f", r), r
		}
		ticks = append(ticks, t)
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)

	// The bound.
	bound := float64(KneeP99) / 1e6
	if err := addLine(p, plotter.XYs{{X: p.X.Min, Y: bound}, {X: p.X.Max, Y: bound}}, color.Gray{Y: 0x80}, []vg.Length{vg.Points(2), vg.Points(3)}); err != nil {
		return err
	}
	if err := addLabel(p, p.X.Max/1.05, bound*1.15, fmt.Sprintf("p99 bound %v", KneeP99), color.Gray{Y: 0x60}, true); err != nil {
		return err
	}

	failed := plotter.XYs{}
	used := map[string]bool{}
	for n, s := range series {
		col := chartColors[s.Model]
		if col == nil || used[s.Model] {
			col = moreColors[n%len(moreColors)]
		}
		used[s.Model] = true
		if s.Label == "" {
			s.Label = s.Model
		}
		var p50, p99 plotter.XYs
		for _, st := range s.Steps {
			p50 = append(p50, plotter.XY{X: st.Rate, Y: msOf(float64(st.Delivery.P50) / 1e6)})
			p99 = append(p99, plotter.XY{X: st.Rate, Y: msOf(float64(st.Delivery.P99) / 1e6)})
			if !st.MajorityPassed() {
				failed = append(failed, p99[len(p99)-1])
			}
		}
		if err := addSeries(p, &legend, p50, col, []vg.Length{vg.Points(5), vg.Points(3)}, draw.CircleGlyph{}, s.Label+" p50"); err != nil {
			return err
		}
		if err := addSeries(p, &legend, p99, col, nil, draw.TriangleGlyph{}, s.Label+" p99"); err != nil {
			return err
		}
		if s.Knee > 0 {
			if err := addLine(p, plotter.XYs{{X: s.Knee, Y: p.Y.Min}, {X: s.Knee, Y: p.Y.Max}}, col, []vg.Length{vg.Points(6), vg.Points(3)}); err != nil {
				return err
			}
			// Right of the line, unless that runs off the plot; one
			// model's label under the other's.
			right := math.Log(s.Knee/p.X.Min) < 0.6*math.Log(p.X.Max/p.X.Min)
			x := s.Knee * 1.04
			if !right {
				x = s.Knee / 1.04
			}
			y := p.Y.Max / math.Pow(2.5, float64(n+1))
			if err := addLabel(p, x, y, fmt.Sprintf("knee (%s): %.0f msg/s", s.Label, s.Knee), col, !right); err != nil {
				return err
			}
		} else {
			legend.Add(fmt.Sprintf("%s: no knee", s.Label))
		}
	}
	if len(failed) > 0 {
		sc, err := plotter.NewScatter(failed)
		if err != nil {
			return err
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: color.Black, Radius: vg.Points(6), Shape: draw.CrossGlyph{}}
		p.Add(sc)
		legend.Add("step failed", sc)
	}
	return save(p, legend, path)
}

// save draws the plot and, in a column to its right as wide as the
// legend needs, the legend.
func save(p *plot.Plot, legend plot.Legend, path string) error {
	const plotWidth, h = 7.3 * vg.Inch, 5 * vg.Inch
	format := strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	probe, err := draw.NewFormattedCanvas(plotWidth, h, format)
	if err != nil {
		return err
	}
	r := legend.Rectangle(draw.New(probe))
	// Room to spare: a viewer without the Liberation fonts the widths
	// were measured with draws in a wider one.
	legendWidth := 1.25*(r.Max.X-r.Min.X) + vg.Points(12)
	c, err := draw.NewFormattedCanvas(plotWidth+legendWidth, h, format)
	if err != nil {
		return err
	}
	dc := draw.New(c)
	p.Draw(draw.Crop(dc, 0, -legendWidth, 0, 0))
	legend.Draw(draw.Crop(dc, plotWidth, 0, 0, -vg.Points(30)))
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := c.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func addSeries(p *plot.Plot, legend *plot.Legend, xys plotter.XYs, col color.Color, dashes []vg.Length, glyph draw.GlyphDrawer, name string) error {
	l, pts, err := plotter.NewLinePoints(xys)
	if err != nil {
		return err
	}
	l.Color, l.Width, l.Dashes = col, vg.Points(1.5), dashes
	pts.GlyphStyle = draw.GlyphStyle{Color: col, Radius: vg.Points(3), Shape: glyph}
	p.Add(l, pts)
	legend.Add(name, l, pts)
	return nil
}

func addLine(p *plot.Plot, xys plotter.XYs, col color.Color, dashes []vg.Length) error {
	l, err := plotter.NewLine(xys)
	if err != nil {
		return err
	}
	l.Color, l.Width, l.Dashes = col, vg.Points(1), dashes
	p.Add(l)
	return nil
}

// addLabel writes s at (x, y): starting there, or ending there if left.
func addLabel(p *plot.Plot, x, y float64, s string, col color.Color, left bool) error {
	l, err := plotter.NewLabels(plotter.XYLabels{XYs: plotter.XYs{{X: x, Y: y}}, Labels: []string{s}})
	if err != nil {
		return err
	}
	for i := range l.TextStyle {
		l.TextStyle[i].Color = col
		if left {
			l.TextStyle[i].XAlign = text.XRight
		}
	}
	p.Add(l)
	return nil
}
