package main

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

const plotW, plotH = 6 * vg.Inch, 4 * vg.Inch

// A series of a line plot: a name and its points.
type series struct {
	name string
	xys  plotter.XYs
}

// linePlot is a plot of lines with points, one per series, sharing an x
// axis. xTicks, if set, replaces the x axis' tick marks.
type linePlot struct {
	title, xLabel, yLabel string
	series                []series
	logX, logY            bool
	xTicks                plot.Ticker
	xRange                *[2]float64 // fixed x axis range, if set
	legendBottomRight     bool        // else top left
	hline                 *series     // a dashed horizontal line at hline.xys[0].Y, if set
}

func (lp linePlot) save(path string) error {
	p := plot.New()
	p.Title.Text = lp.title
	p.X.Label.Text = lp.xLabel
	p.Y.Label.Text = lp.yLabel
	p.Legend.Top = !lp.legendBottomRight
	p.Legend.Left = !lp.legendBottomRight
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(-6), vg.Points(6)
	if !lp.legendBottomRight {
		p.Legend.XOffs, p.Legend.YOffs = vg.Points(6), vg.Points(-6)
	}
	xmin, xmax, ymax := math.Inf(1), math.Inf(-1), math.Inf(-1)
	for i, s := range lp.series {
		l, pts, err := plotter.NewLinePoints(s.xys)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", path, s.name, err)
		}
		l.Color = plotutil.Color(i)
		pts.Color = plotutil.Color(i)
		pts.Shape = plotutil.Shape(i)
		p.Add(l, pts)
		p.Legend.Add(s.name, l, pts)
		for _, xy := range s.xys {
			xmin, xmax, ymax = math.Min(xmin, xy.X), math.Max(xmax, xy.X), math.Max(ymax, xy.Y)
		}
	}
	if lp.hline != nil && len(lp.series) > 0 {
		y := lp.hline.xys[0].Y
		ymax = math.Max(ymax, y)
		l, err := plotter.NewLine(plotter.XYs{{X: xmin, Y: y}, {X: xmax, Y: y}})
		if err != nil {
			return err
		}
		l.Color = plotutil.Color(len(lp.series))
		l.Dashes = []vg.Length{vg.Points(6), vg.Points(4)}
		p.Add(l)
		p.Legend.Add(lp.hline.name, l)
	}
	if lp.logX {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	if lp.logY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = log125Ticks()
	} else {
		// Room above the highest point for the legend and the title.
		p.Y.Min, p.Y.Max = 0, ymax*1.12
		p.Y.Tick.Marker = plainTicks()
	}
	if lp.xTicks != nil {
		p.X.Tick.Marker = lp.xTicks
	}
	if lp.xRange != nil {
		p.X.Min, p.X.Max = lp.xRange[0], lp.xRange[1]
	}
	p.Add(plotter.NewGrid())
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return p.Save(plotW, plotH, path)
}

// pow2Ticks labels the powers of two 1, 2, 4, ..., 1024 (and beyond, if the
// data goes there) that fall inside the axis range.
func pow2Ticks() plot.Ticker {
	return plot.TickerFunc(func(lo, hi float64) []plot.Tick {
		var ts []plot.Tick
		for v := 1.0; v <= math.Max(hi, 1024); v *= 2 {
			if v >= lo*(1-1e-9) && v <= hi*(1+1e-9) {
				ts = append(ts, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
			}
		}
		return ts
	})
}

// plainTicks are gonum's default ticks labelled without trailing zeros
// (500, not 500.00).
func plainTicks() plot.Ticker {
	return plot.TickerFunc(func(lo, hi float64) []plot.Tick {
		ts := plot.DefaultTicks{}.Ticks(lo, hi)
		for i := range ts {
			if ts[i].Label != "" {
				ts[i].Label = strconv.FormatFloat(ts[i].Value, 'f', -1, 64)
			}
		}
		return ts
	})
}

// log125Ticks labels 1, 2 and 5 × 10^k inside the axis range, with minor
// ticks at the other integer multiples, for a log axis.
func log125Ticks() plot.Ticker {
	return plot.TickerFunc(func(lo, hi float64) []plot.Tick {
		if lo <= 0 || hi <= 0 {
			return nil
		}
		var ts []plot.Tick
		for dec := math.Pow10(int(math.Floor(math.Log10(lo)))); dec <= hi; dec *= 10 {
			for i := 1; i < 10; i++ {
				v := dec * float64(i)
				if v < lo*(1-1e-9) || v > hi*(1+1e-9) {
					continue
				}
				t := plot.Tick{Value: v}
				if i == 1 || i == 2 || i == 5 {
					t.Label = strconv.FormatFloat(v, 'g', -1, 64)
				}
				ts = append(ts, t)
			}
		}
		return ts
	})
}

// Plots writes every plot that has data to dir and returns the files
// written; a plot without data is skipped with a note to log.
func Plots(r *Results, dir string, log io.Writer) ([]string, error) {
	var written []string
	save := func(name string, lp linePlot) error {
		if len(lp.series) == 0 {
			fmt.Fprintf(log, "report: %s: no data, skipped\n", name)
			return nil
		}
		path := filepath.Join(dir, name)
		if err := lp.save(path); err != nil {
			return err
		}
		written = append(written, path)
		return nil
	}

	d := getLatency(r)
	delayMS, procs := latencyParams(r, d)
	latency := func(metric string) []series {
		var out []series
		for _, mode := range d.modes {
			var xys plotter.XYs
			for _, c := range d.cs {
				if v, ok := r.Median(latencyName(mode, c), metric); ok && c > 0 {
					xys = append(xys, plotter.XY{X: float64(c), Y: v})
				}
			}
			if len(xys) > 0 {
				out = append(out, series{mode, xys})
			}
		}
		return out
	}
	hs := linePlot{
		title:  fmt.Sprintf("Handshakes/s vs concurrency (%s ms remote key, GOMAXPROCS=%d)", fmtTarget(delayMS), procs),
		xLabel: "concurrent connections",
		yLabel: "handshakes/s",
		series: latency("handshakes/s"),
		logX:   true,
		xTicks: pow2Ticks(),
		// The rate climbs from the bottom left to a plateau: the bottom
		// right is free.
		legendBottomRight: true,
	}
	if v, ok := r.Median(cpuBoundName("async"), "handshakes/s"); ok {
		hs.hline = &series{name: "async cpu-bound", xys: plotter.XYs{{Y: v}}}
	}
	p99 := linePlot{
		title:  "p99 handshake latency vs concurrency",
		xLabel: "concurrent connections",
		yLabel: "p99 latency (ms)",
		series: latency("p99-ms"),
		logX:   true,
		logY:   true,
		xTicks: pow2Ticks(),
	}
	for _, s := range p99.series {
		for _, xy := range s.xys {
			if xy.Y <= 0 {
				p99.logY = false
			}
		}
	}
	threads := linePlot{
		title:  "OS threads vs concurrency",
		xLabel: "concurrent connections",
		yLabel: "threads",
		series: latency("threads"),
		logX:   true,
		xTicks: pow2Ticks(),
	}

	tput := throughput(r, prefLoopback, []string{"native", "binding", "cryptotls"})
	tput.title = "Bulk MB/s over loopback TCP (net.Conn)"
	inproc := throughput(r, prefInProc+"/bulk", []string{"native", "binding"})
	inproc.title = "Bulk MB/s in process (native vs binding)"

	for _, p := range []struct {
		name string
		lp   linePlot
	}{
		{"latency.png", hs},
		{"latency-p99.png", p99},
		{"threads.png", threads},
		{"throughput.png", tput},
		{"throughput-inprocess.png", inproc},
	} {
		if err := save(p.name, p.lp); err != nil {
			return written, err
		}
	}
	return written, nil
}

var reSize = regexp.MustCompile(`^(\d+(?:\.\d+)?)([KMG]i?B|B)$`)

// sizeBytes parses 1KiB, 16KiB, 1MiB, 64B (and KB, MB: powers of ten).
func sizeBytes(s string) (float64, bool) {
	m := reSize.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, false
	}
	mult := map[string]float64{"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "KB": 1e3, "MB": 1e6, "GB": 1e9}[m[2]]
	return v * mult, true
}

// throughput builds MB/s against write size for the sides given, from the
// <side>-MB/s metrics of prefix/<size>. Sizes go on a categorical x axis,
// ordered by bytes (unparsable sizes last, in order of appearance).
func throughput(r *Results, prefix string, sides []string) linePlot {
	type size struct {
		name  string
		bytes float64
		ok    bool
	}
	var sizes []size
	for _, n := range r.WithPrefix(prefix) {
		s := strings.TrimPrefix(n, prefix+"/")
		if s == n || strings.Contains(s, "/") {
			continue
		}
		b, ok := sizeBytes(s)
		sizes = append(sizes, size{s, b, ok})
	}
	slices.SortStableFunc(sizes, func(a, b size) int {
		if a.ok != b.ok {
			if a.ok {
				return -1
			}
			return 1
		}
		if a.ok {
			return cmp.Compare(a.bytes, b.bytes)
		}
		return 0
	})
	lp := linePlot{xLabel: "write size", yLabel: "MB/s", xRange: &[2]float64{-0.5, float64(len(sizes)) - 0.5}}
	var ticks plot.ConstantTicks
	for i, s := range sizes {
		ticks = append(ticks, plot.Tick{Value: float64(i), Label: s.name})
	}
	lp.xTicks = ticks
	for _, side := range sides {
		var xys plotter.XYs
		for i, s := range sizes {
			if v, ok := r.Median(prefix+"/"+s.name, side+"-MB/s"); ok {
				xys = append(xys, plotter.XY{X: float64(i), Y: v})
			}
		}
		if len(xys) > 0 {
			lp.series = append(lp.series, series{side, xys})
		}
	}
	return lp
}
