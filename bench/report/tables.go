package main

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/perf/benchmath"
)

// A column of a Markdown table: its heading and how to fill its cell for a
// row key. An empty cell means no data; a column empty in every row is left
// out unless keep is set.
type column struct {
	head string
	cell func(row string) string
	keep bool
}

// A table: a ### heading, one sentence, rows (keys handed to the columns'
// cell functions) and notes printed after it.
type table struct {
	title, about string
	rows         []string
	cols         []column
	notes        []string
}

func (t table) render(b *strings.Builder) {
	var cols []column
	cells := make([][]string, len(t.rows))
	for _, c := range t.cols {
		vals := make([]string, len(t.rows))
		any := false
		for i, row := range t.rows {
			vals[i] = c.cell(row)
			any = any || vals[i] != ""
		}
		if !any && !c.keep {
			continue
		}
		cols = append(cols, c)
		for i := range t.rows {
			cells[i] = append(cells[i], vals[i])
		}
	}
	fmt.Fprintf(b, "### %s\n\n%s\n\n", t.title, t.about)
	b.WriteString("|")
	for _, c := range cols {
		b.WriteString(" " + mdEscape(c.head) + " |")
	}
	b.WriteString("\n|")
	for range cols {
		b.WriteString(" --- |")
	}
	b.WriteString("\n")
	for _, row := range cells {
		b.WriteString("|")
		for _, v := range row {
			if v == "" {
				v = "-"
			}
			b.WriteString(" " + mdEscape(v) + " |")
		}
		b.WriteString("\n")
	}
	for _, n := range t.notes {
		b.WriteString("\n" + n + "\n")
	}
	b.WriteString("\n")
}

// The column builders below read benchmark bench(row); identity maps a row
// key to itself (rows that are benchmark names).
func identity(row string) string { return row }

func labelCol(head string, label func(row string) string) column {
	return column{head: head, cell: label, keep: true}
}

// trimLabel shows a benchmark name without a leading prefix.
func trimLabel(prefix string) func(string) string {
	return func(row string) string { return strings.TrimPrefix(row, prefix) }
}

// statCol shows one statistic of the first of metrics that the benchmark has.
func statCol(r *Results, head string, bench func(string) string, pick func(Stat) float64, metrics ...string) column {
	return column{head: head, cell: func(row string) string {
		s, m, ok := r.StatAny(bench(row), metrics...)
		if !ok {
			return ""
		}
		return fmtValue(m, pick(s))
	}}
}

func median(s Stat) float64  { return s.Median }
func minimum(s Stat) float64 { return s.Min }
func maximum(s Stat) float64 { return s.Max }

func medCol(r *Results, head string, bench func(string) string, metrics ...string) column {
	return statCol(r, head, bench, median, metrics...)
}

// ciCol shows the confidence interval of the median of the first of metrics
// that the benchmark has, in percent of the median as benchstat writes it
// (±2%; ±∞ when there are too few repetitions for one).
func ciCol(r *Results, bench func(string) string, metrics ...string) column {
	return column{head: "±", cell: func(row string) string {
		s, _, ok := r.StatAny(bench(row), metrics...)
		if !ok {
			return ""
		}
		return ciText(s)
	}}
}

func ciText(s Stat) string { return "±" + s.Summary.PctRangeString() }

// nCol shows the largest repetition count over metrics.
func nCol(r *Results, head string, bench func(string) string, metrics ...string) column {
	return column{head: head, cell: func(row string) string {
		n := 0
		for _, m := range metrics {
			if s, ok := r.Stat(bench(row), m); ok {
				n = max(n, s.N)
			}
		}
		if n == 0 {
			return ""
		}
		return strconv.Itoa(n)
	}}
}

// targetCols are a "target" and a "met" column: met is yes when the median
// of the first of metrics present is at least the row's target (atMost
// flips the comparison). target returns false for rows without one.
func targetCols(r *Results, suffix string, bench func(string) string, target func(row string) (float64, bool), atMost bool, metrics ...string) []column {
	return []column{
		{head: "target" + suffix, keep: true, cell: func(row string) string {
			t, ok := target(row)
			if !ok {
				return "-"
			}
			return fmtTarget(t)
		}},
		{head: "met" + suffix, keep: true, cell: func(row string) string {
			t, ok := target(row)
			s, _, have := r.StatAny(bench(row), metrics...)
			if !ok || !have {
				return "-"
			}
			if met(s.Median, t, atMost) {
				return "yes"
			}
			return "no"
		}},
	}
}

func met(v, target float64, atMost bool) bool {
	if atMost {
		return v <= target
	}
	return v >= target
}

func yesNo(b bool) string {
	if b {
		return "met"
	}
	return "not met"
}

func constTarget(v float64) func(string) (float64, bool) {
	return func(string) (float64, bool) { return v, true }
}

// segment returns the i-th /-separated part of a name below prefix.
func segment(name, prefix string, i int) string {
	parts := strings.Split(strings.TrimPrefix(strings.TrimPrefix(name, prefix), "/"), "/")
	if i < 0 {
		i += len(parts)
	}
	if i < 0 || i >= len(parts) {
		return ""
	}
	return parts[i]
}

// Metric names the tables rely on. The in-process benchmark reported its
// wall-clock ratio as ratio-wall before it was named ratio-native-wall:
// both are accepted, the new name first.
var (
	ratioNativeWall = []string{"ratio-native-wall", "ratio-wall"}
)

const (
	prefInProc   = "BenchmarkInProcess"
	prefVsCrypto = "BenchmarkVsCryptoTLS"
	prefLoopback = "BenchmarkLoopback"
	prefLatency  = "BenchmarkLatency"
	prefIdle     = "BenchmarkIdleMemory"
)

// Tables builds every table that has data, in order, and returns the
// benchmarks they show so that the rest go to the catch-all table.
func Tables(r *Results) ([]table, map[string]bool) {
	claimed := map[string]bool{}
	var out []table
	add := func(t table) {
		if len(t.rows) == 0 {
			return
		}
		for _, row := range t.rows {
			claimed[row] = true
		}
		out = append(out, t)
	}
	add(inProcessTable(r))
	if t, ok := separateTable(r); ok {
		out = append(out, t)
	}
	add(vsCryptoTable(r))
	add(loopbackTable(r))
	if lt, names, ok := latencyTable(r); ok {
		out = append(out, lt)
		for _, n := range names {
			claimed[n] = true
		}
	}
	add(idleMemoryTable(r))
	add(allocTable(r))
	var rest []string
	for _, n := range r.Names {
		if !claimed[n] {
			rest = append(rest, n)
		}
	}
	if len(rest) > 0 {
		out = append(out, otherTable(r, rest))
	}
	return out, claimed
}

// 1. BenchmarkInProcess/handshake/<key>/<ver>/<mode>, BenchmarkInProcess/bulk/<size>.
func inProcessTable(r *Results) table {
	rows := append(r.WithPrefix(prefInProc+"/handshake"), r.WithPrefix(prefInProc+"/bulk")...)
	target := func(row string) (float64, bool) {
		rest := strings.TrimPrefix(row, prefInProc+"/")
		if strings.HasPrefix(rest, "bulk/") {
			return 0.95, segment(rest, "bulk", 0) == "16KiB"
		}
		switch segment(rest, "handshake", -1) {
		case "none", "sync", "reuse":
			return 0.95, true
		case "async", "offthread":
			return 0.93, true
		}
		return 0, false
	}
	cols := []column{
		labelCol("benchmark", trimLabel(prefInProc+"/")),
		medCol(r, "native rate", identity, "native-handshakes/s", "native-MB/s"),
		medCol(r, "binding rate", identity, "binding-handshakes/s", "binding-MB/s"),
		medCol(r, "ratio-native-wall median", identity, ratioNativeWall...),
		ciCol(r, identity, ratioNativeWall...),
		statCol(r, "min", identity, minimum, ratioNativeWall...),
		nCol(r, "n", identity, ratioNativeWall...),
	}
	cols = append(cols, targetCols(r, "", identity, target, false, ratioNativeWall...)...)
	return table{
		title: "Binding vs native C, in process",
		about: "Native C and the binding alternating in one process (`BenchmarkInProcess`); rates are handshakes/s for handshakes and MB/s for bulk, " +
			"ratio-native-wall is binding over native throughput (wall clock), the median over repetitions of each run's median per-round ratio, with its confidence interval and the lowest run.",
		rows: rows,
		cols: cols,
	}
}

// 2. BenchmarkVsCryptoTLS/handshake/<key>/<ver>/<keymode>.
func vsCryptoTable(r *Results) table {
	p := prefVsCrypto + "/handshake"
	wall := []string{"ratio-cryptotls-wall"}
	target := func(row string) (float64, bool) {
		switch segment(row, p, 0) {
		case "ecdsa":
			return 1.2, true
		case "rsa":
			return 1.8, true
		}
		return 0, false
	}
	cols := []column{
		labelCol("benchmark", trimLabel(prefVsCrypto+"/")),
		medCol(r, "binding handshakes/s", identity, "binding-handshakes/s"),
		medCol(r, "crypto/tls handshakes/s", identity, "cryptotls-handshakes/s"),
		medCol(r, "native handshakes/s", identity, "native-handshakes/s"),
		// The binding through its net.Conn API, where reported.
		medCol(r, "binding-conn handshakes/s", identity, "binding-conn-handshakes/s"),
		medCol(r, "ratio-cryptotls-wall median", identity, wall...),
		ciCol(r, identity, wall...),
		statCol(r, "min", identity, minimum, wall...),
		medCol(r, "ratio-cryptotls-cpu median", identity, "ratio-cryptotls-cpu"),
		medCol(r, "ratio-binding-conn-cryptotls-wall median", identity, "ratio-binding-conn-cryptotls-wall"),
		// The ceiling: native s2n over crypto/tls in the same run.
		medCol(r, "native / crypto/tls median", identity, "ratio-native-cryptotls-wall"),
		nCol(r, "n", identity, append(wall, "binding-handshakes/s")...),
	}
	cols = append(cols, targetCols(r, "", identity, target, false, wall...)...)
	return table{
		title: "Binding vs crypto/tls",
		about: "Handshakes through the binding against Go's crypto/tls on the same keys (`BenchmarkVsCryptoTLS`); " +
			"ratio-cryptotls-wall is binding over crypto/tls throughput, medians over repetitions; " +
			"native / crypto/tls is what s2n itself reaches in the same run.",
		rows: r.WithPrefix(p),
		cols: cols,
	}
}

// 3. BenchmarkLoopback/<size>.
func loopbackTable(r *Results) table {
	rows := r.WithPrefix(prefLoopback)
	rows = slices.DeleteFunc(rows, func(n string) bool { return n == prefLoopback })
	cols := []column{
		labelCol("write size", trimLabel(prefLoopback+"/")),
		medCol(r, "native MB/s", identity, "native-MB/s"),
		medCol(r, "binding MB/s", identity, "binding-MB/s"),
		medCol(r, "crypto/tls MB/s", identity, "cryptotls-MB/s"),
		medCol(r, "ratio-native-wall", identity, "ratio-native-wall"),
		ciCol(r, identity, "ratio-native-wall"),
	}
	cols = append(cols, targetCols(r, " (native)", identity, constTarget(0.85), false, "ratio-native-wall")...)
	cols = append(cols, medCol(r, "ratio-cryptotls-wall", identity, "ratio-cryptotls-wall"), ciCol(r, identity, "ratio-cryptotls-wall"))
	cols = append(cols, targetCols(r, " (crypto/tls)", identity, constTarget(1.3), false, "ratio-cryptotls-wall")...)
	cols = append(cols, nCol(r, "n", identity, "binding-MB/s", "ratio-native-wall", "ratio-cryptotls-wall"))
	return table{
		title: "Bulk over loopback TCP through net.Conn",
		about: "One write of each size per op over a loopback TCP connection through the `net.Conn` API (`BenchmarkLoopback`); medians over repetitions, ratios are binding over the other side's throughput.",
		rows:  rows,
		cols:  cols,
	}
}

// 4. BenchmarkLatency/<mode>/c=<C> and BenchmarkLatency/cpubound/<mode>.

var (
	reLatency  = regexp.MustCompile(`^BenchmarkLatency/([^/]+)/c=(\d+)$`)
	reCPUBound = regexp.MustCompile(`^BenchmarkLatency/cpubound/([^/]+)$`)
)

// latencyData is what the latency table and plots share.
type latencyData struct {
	modes    []string // async, blocking, cryptotls first, then any other
	cs       []int    // concurrencies, ascending
	cpuModes []string // modes of BenchmarkLatency/cpubound/<mode>
	names    []string // every benchmark above
}

func latencyName(mode string, c int) string {
	return fmt.Sprintf("%s/%s/c=%d", prefLatency, mode, c)
}

func cpuBoundName(mode string) string { return prefLatency + "/cpubound/" + mode }

func getLatency(r *Results) latencyData {
	var d latencyData
	seenC := map[int]bool{}
	var modes []string
	for _, n := range r.Names {
		if m := reCPUBound.FindStringSubmatch(n); m != nil {
			d.cpuModes = append(d.cpuModes, m[1])
			d.names = append(d.names, n)
			continue
		}
		m := reLatency.FindStringSubmatch(n)
		if m == nil {
			continue
		}
		c, err := strconv.Atoi(m[2])
		if err != nil {
			continue
		}
		if !slices.Contains(modes, m[1]) {
			modes = append(modes, m[1])
		}
		if !seenC[c] {
			seenC[c] = true
			d.cs = append(d.cs, c)
		}
		d.names = append(d.names, n)
	}
	slices.Sort(d.cs)
	for _, m := range []string{"async", "blocking", "cryptotls"} {
		if slices.Contains(modes, m) {
			d.modes = append(d.modes, m)
		}
	}
	for _, m := range modes {
		if !slices.Contains(d.modes, m) {
			d.modes = append(d.modes, m)
		}
	}
	return d
}

// latencyParams returns the remote key's delay (ms) and GOMAXPROCS of the
// latency benchmarks: metrics delay-ms and gomaxprocs if reported (from
// async c=512 first, else any latency benchmark), else 10 ms and the
// benchmark names' -N suffix, else 2.
func latencyParams(r *Results, d latencyData) (delayMS float64, procs int) {
	find := func(metric string) (float64, bool) {
		if v, ok := r.Median(latencyName("async", 512), metric); ok {
			return v, true
		}
		for _, n := range d.names {
			if v, ok := r.Median(n, metric); ok {
				return v, true
			}
		}
		return 0, false
	}
	delayMS = 10
	if v, ok := find("delay-ms"); ok && v > 0 {
		delayMS = v
	}
	procs = 2
	if v, ok := find("gomaxprocs"); ok && v >= 1 {
		procs = int(math.Round(v))
	} else if r.Procs > 0 {
		procs = r.Procs
	}
	return delayMS, procs
}

func latencyTable(r *Results) (table, []string, bool) {
	d := getLatency(r)
	if len(d.names) == 0 {
		return table{}, nil, false
	}
	rows := make([]string, len(d.cs))
	for i, c := range d.cs {
		rows[i] = strconv.Itoa(c)
	}
	cols := []column{labelCol("c", identity)}
	for _, mode := range d.modes {
		bench := func(row string) string { return prefLatency + "/" + mode + "/c=" + row }
		cols = append(cols,
			medCol(r, mode+" hs/s", bench, "handshakes/s"),
			medCol(r, mode+" p50 ms", bench, "p50-ms"),
			medCol(r, mode+" p99 ms", bench, "p99-ms"),
			medCol(r, mode+" threads", bench, "threads"),
		)
	}
	t := table{
		title: "Latency hiding",
		about: "Handshakes against a remote private key with a fixed delay at c concurrent connections (`BenchmarkLatency`); medians over repetitions per mode: handshakes/s, p50 and p99 handshake latency in ms, OS threads.",
		rows:  rows,
		cols:  cols,
	}
	if len(d.cpuModes) > 0 {
		var b strings.Builder
		b.WriteString("CPU-bound rate (no delay, `BenchmarkLatency/cpubound/<mode>`), handshakes/s median:")
		for i, m := range d.cpuModes {
			sep := ","
			if i == 0 {
				sep = ""
			}
			if s, ok := r.Stat(cpuBoundName(m), "handshakes/s"); ok {
				fmt.Fprintf(&b, "%s %s %s (n=%d)", sep, m, fmtValue("handshakes/s", s.Median), s.N)
			} else {
				fmt.Fprintf(&b, "%s %s -", sep, m)
			}
		}
		t.notes = append(t.notes, b.String()+".")
	}
	t.notes = append(t.notes, latencyTargets(r, d)...)
	return t, d.names, true
}

// latencyTargets: async at c=512 should reach 0.8 × min(512 / delay, the
// cpu-bound async rate), with at most 2 × GOMAXPROCS + 16 threads.
func latencyTargets(r *Results, d latencyData) []string {
	delayMS, procs := latencyParams(r, d)
	name := latencyName("async", 512)
	var out []string
	bound := 512 / (delayMS / 1000)
	boundText := fmt.Sprintf("512 / %s ms = %s", fmtTarget(delayMS), fmtValue("handshakes/s", bound))
	if cpu, ok := r.Median(cpuBoundName("async"), "handshakes/s"); ok {
		boundText = fmt.Sprintf("min(%s, cpu-bound async %s)", boundText, fmtValue("handshakes/s", cpu))
		bound = math.Min(bound, cpu)
	} else {
		boundText += " (no cpu-bound async rate)"
	}
	target := 0.8 * bound
	if v, ok := r.Median(name, "handshakes/s"); ok {
		out = append(out, fmt.Sprintf("Target, rate: async at c=512 reaches %s handshakes/s against 0.8 × %s = %s: **%s** (%s of the bound).",
			fmtValue("handshakes/s", v), boundText, fmtValue("handshakes/s", target), yesNo(v >= target), sig3(v/bound)))
	} else {
		out = append(out, fmt.Sprintf("Target, rate: 0.8 × %s = %s handshakes/s for async at c=512: no data.", boundText, fmtValue("handshakes/s", target)))
	}
	limit := float64(2*procs + 16)
	if v, ok := r.Median(name, "threads"); ok {
		out = append(out, fmt.Sprintf("Target, threads: async at c=512 uses %s threads against at most 2 × GOMAXPROCS (%d) + 16 = %d: **%s**.",
			fmtValue("threads", v), procs, int(limit), yesNo(v <= limit)))
	} else {
		out = append(out, fmt.Sprintf("Target, threads: at most 2 × GOMAXPROCS (%d) + 16 = %d for async at c=512: no data.", procs, int(limit)))
	}
	return out
}

// 5. BenchmarkIdleMemory/<impl>: every metric present, rss and heap first.
func idleMemoryTable(r *Results) table {
	rows := r.WithPrefix(prefIdle)
	metrics := []string{"rss-KiB/conn", "heap-KiB/conn"}
	for _, n := range rows {
		for _, m := range r.Metrics[n] {
			if !slices.Contains(metrics, m) && m != "ns/op" {
				metrics = append(metrics, m)
			}
		}
	}
	metrics = append(metrics, "ns/op") // go test's own, last
	cols := metricCols(r, labelCol("implementation", trimLabel(prefIdle+"/")), metrics)
	return table{
		title: "Memory per idle connection",
		about: "Memory held per established, idle connection by each implementation (`BenchmarkIdleMemory`); medians over repetitions of every metric reported.",
		rows:  rows,
		cols:  cols,
	}
}

// metricCols: the label column, a median column per metric, and n.
func metricCols(r *Results, label column, metrics []string) []column {
	cols := []column{label}
	for _, m := range metrics {
		cols = append(cols, medCol(r, m, identity, m))
	}
	return append(cols, nCol(r, "n", identity, metrics...))
}

// 6. BenchmarkHandshake/..., BenchmarkBulk/<size>, BenchmarkConnIO/...
func allocTable(r *Results) table {
	var rows []string
	for _, p := range []string{"BenchmarkHandshake", "BenchmarkBulk", "BenchmarkConnIO"} {
		rows = append(rows, r.WithPrefix(p)...)
	}
	metrics := []string{"allocs/op", "B/op", "cgocalls/op", "c2go/op", "callbacks/op"}
	cols := metricCols(r, labelCol("benchmark", trimLabel("Benchmark")), metrics)
	return table{
		title: "Allocations and cgo crossings",
		about: "Go heap allocations, bytes allocated, Go-to-C calls (runtime.NumCgoCall), C-to-Go callbacks (c2go, counted by the binding built with -tags s2n_cgocount) and the benchmark's own key callbacks per op (`BenchmarkHandshake`, `BenchmarkBulk`, `BenchmarkConnIO`; both sides of each connection); medians over repetitions.",
		rows:  rows,
		cols:  cols,
	}
}

// 7. Everything else: one row per (benchmark, metric).
func otherTable(r *Results, names []string) table {
	const sep = "\x00"
	var rows []string
	for _, n := range names {
		for _, m := range r.Metrics[n] {
			rows = append(rows, n+sep+m)
		}
	}
	split := func(row string) (string, string) { n, m, _ := strings.Cut(row, sep); return n, m }
	bench := func(row string) string { n, _ := split(row); return n }
	stat := func(head string, pick func(Stat) float64) column {
		return column{head: head, cell: func(row string) string {
			n, m := split(row)
			s, ok := r.Stat(n, m)
			if !ok {
				return ""
			}
			return fmtValue(m, pick(s))
		}}
	}
	return table{
		title: "Other benchmarks",
		about: "Every other benchmark, one row per metric, over its repetitions: median with its confidence interval, min, max.",
		rows:  rows,
		cols: []column{
			labelCol("benchmark", func(row string) string { return strings.TrimPrefix(bench(row), "Benchmark") }),
			labelCol("metric", func(row string) string { _, m := split(row); return m }),
			stat("median", median),
			{head: "±", cell: func(row string) string {
				n, m := split(row)
				if s, ok := r.Stat(n, m); ok {
					return ciText(s)
				}
				return ""
			}},
			stat("min", minimum),
			stat("max", maximum),
			{head: "n", keep: true, cell: func(row string) string {
				n, m := split(row)
				s, _ := r.Stat(n, m)
				return strconv.Itoa(s.N)
			}},
		},
	}
}

// Impl values of the native family (run.sh -F native): the standalone native
// driver and the binding's low-level benchmarks, in separate processes.
const (
	implNative  = "native"
	implBinding = "binding"
)

// rateUnits are the per-wall-second rates of BenchmarkHandshake, Bulk and
// Call and of the native driver; each has a per-CPU-second twin,
// handshakes/cpu-s and so on.
var rateUnits = []string{"handshakes/s", "MB/s", "calls/s"}

// separateTable: the native driver against the binding's low-level
// benchmarks, each in processes of its own (Results.Impls). run.sh runs the
// two sides of a benchmark back to back, alternating which goes first, so
// the i-th native run and the i-th binding run of a benchmark are a pair:
// the table shows the median of the per-pair ratios binding/native and their
// range, next to the in-process ratio of the same benchmark
// (BenchmarkInProcess), and compares the two sets of runs as benchstat does
// (a Mann-Whitney U test). References of the native driver (impl
// native-mem, native-s2nalloc) get a median column each. Targets (issue
// 14): 0.95 for every handshake and for bulk of 16 KiB and more.
func separateTable(r *Results) (table, bool) {
	nat, bnd := r.Impls[implNative], r.Impls[implBinding]
	if nat == nil || bnd == nil {
		return table{}, false
	}
	var rows []string
	for _, n := range nat.Names {
		if bnd.Has(n) {
			rows = append(rows, n)
		}
	}
	if len(rows) == 0 {
		return table{}, false
	}
	unit := func(row string) string {
		for _, u := range rateUnits {
			if _, ok := nat.Stat(row, u); ok {
				return u
			}
		}
		return ""
	}
	cpuUnit := func(row string) string {
		u := unit(row)
		return strings.TrimSuffix(u, "/s") + "/cpu-s"
	}
	withCI := func(res *Results, metric func(string) string) func(string) string {
		return func(row string) string {
			s, ok := res.Stat(row, metric(row))
			if !ok {
				return ""
			}
			return fmtValue(metric(row), s.Median) + " " + ciText(s)
		}
	}
	pairStat := func(row string, metric func(string) string) (Stat, bool) {
		p := pairRatios(nat.Samples[row][metric(row)], bnd.Samples[row][metric(row)])
		if len(p) == 0 {
			return Stat{}, false
		}
		return newStat(p), true
	}
	pairCol := func(head string, metric func(string) string, text func(Stat) string) column {
		return column{head: head, cell: func(row string) string {
			if s, ok := pairStat(row, metric); ok {
				return text(s)
			}
			return ""
		}}
	}
	pmed := func(s Stat) string { return sig3(s.Median) }
	prange := func(s Stat) string { return sig3(s.Min) + "–" + sig3(s.Max) }
	// binding vs native: benchstat's delta of the medians, "~" where the U
	// test finds no difference; its warnings go under the table.
	delta := map[string]string{}
	var warnings []string
	for _, row := range rows {
		n, ok1 := nat.Stat(row, unit(row))
		b, ok2 := bnd.Stat(row, unit(row))
		if !ok1 || !ok2 {
			continue
		}
		c := benchmath.AssumeNothing.Compare(n.Sample, b.Sample)
		for _, w := range c.Warnings {
			if !slices.Contains(warnings, w.Error()) {
				warnings = append(warnings, w.Error())
			}
		}
		delta[row] = c.FormatDelta(n.Median, b.Median) + " (" + c.String() + ")"
	}
	cols := []column{
		labelCol("benchmark", trimLabel("Benchmark")),
		labelCol("unit", unit),
		{head: "native median", cell: withCI(nat, unit)},
		{head: "binding median", cell: withCI(bnd, unit)},
		pairCol("binding / native, median of pairs", unit, pmed),
		pairCol("min–max", unit, prange),
		medCol(r, "in process", inProcessName, ratioNativeWall...),
		{head: "binding vs native", cell: func(row string) string { return delta[row] }},
		pairCol("per CPU second, median of pairs", cpuUnit, pmed),
	}
	for _, impl := range r.ImplOrder {
		if impl == implNative || impl == implBinding {
			continue
		}
		res := r.Impls[impl]
		cols = append(cols, column{head: impl + " median", cell: func(row string) string {
			if v, ok := res.Median(row, unit(row)); ok {
				return fmtValue(unit(row), v)
			}
			return ""
		}})
	}
	cols = append(cols, column{head: "n", keep: true, cell: func(row string) string {
		n, _ := nat.Stat(row, unit(row))
		b, _ := bnd.Stat(row, unit(row))
		return fmt.Sprintf("%d+%d", n.N, b.N)
	}})
	cols = append(cols,
		column{head: "target", keep: true, cell: func(row string) string {
			if t, ok := standaloneTarget(row); ok {
				return fmtTarget(t)
			}
			return "-"
		}},
		column{head: "met", keep: true, cell: func(row string) string {
			t, ok := standaloneTarget(row)
			s, have := pairStat(row, unit)
			if !ok || !have {
				return "-"
			}
			if s.Median >= t {
				return "yes"
			}
			return "no"
		}},
	)
	t := table{
		title: "Binding vs native C, separate processes",
		about: "The native driver (`bench/native/s2nbench.c`) and the binding's low-level benchmarks (`BenchmarkHandshake`, `BenchmarkBulk`, `BenchmarkCall`), " +
			"each in processes of its own, one after the other benchmark by benchmark, which side goes first alternating from repetition to repetition (`bench/run.sh`, family native): " +
			"rates per wall second, medians with their confidence intervals; binding / native is the median over the pairs (a native run and the binding run next to it) " +
			"of each pair's ratio, with the lowest and highest pair; in process is `BenchmarkInProcess`'s ratio for the same work (median over its repetitions); " +
			"binding vs native is the difference of the medians where a Mann-Whitney U test finds one at alpha 0.05 (~ where it does not), as benchstat reports it. " +
			"The target (issue 14) is 0.95 of native for every handshake and for bulk of 16 KiB and more, met when the median of pairs reaches it.",
		rows: rows,
		cols: cols,
	}
	var targets, met []string
	for _, row := range rows {
		tg, ok := standaloneTarget(row)
		s, have := pairStat(row, unit)
		if !ok || !have {
			continue
		}
		targets = append(targets, row)
		if s.Median >= tg {
			met = append(met, row)
		}
	}
	if len(targets) > 0 {
		t.notes = append(t.notes, fmt.Sprintf("Target, standalone: binding / native at least 0.95 for every handshake and for bulk of 16 KiB and more (median of pairs): **%s**, reached by %d of %d.",
			yesNo(len(met) == len(targets)), len(met), len(targets)))
	}
	for _, w := range warnings {
		t.notes = append(t.notes, "benchmath: "+w+".")
	}
	return t, true
}

// pairRatios returns binding[i] / native[i] for the runs both sides have.
func pairRatios(native, binding []float64) []float64 {
	var out []float64
	for i := range min(len(native), len(binding)) {
		if native[i] > 0 {
			out = append(out, binding[i]/native[i])
		}
	}
	return out
}

// inProcessName maps a benchmark of the native family to the
// BenchmarkInProcess case that does the same work ("" if none):
// BenchmarkHandshake/ecdsa/tls13/none → BenchmarkInProcess/handshake/ecdsa/tls13/none.
func inProcessName(name string) string {
	for _, p := range []struct{ from, to string }{
		{"BenchmarkHandshake/", prefInProc + "/handshake/"},
		{"BenchmarkBulk/", prefInProc + "/bulk/"},
	} {
		if rest, ok := strings.CutPrefix(name, p.from); ok {
			return p.to + rest
		}
	}
	return ""
}

// standaloneTarget is issue 14's target for the native family: binding /
// native at least 0.95 for every handshake and for bulk writes of 16 KiB
// and more.
func standaloneTarget(name string) (float64, bool) {
	if strings.HasPrefix(name, "BenchmarkHandshake/") {
		return 0.95, true
	}
	if size, ok := strings.CutPrefix(name, "BenchmarkBulk/"); ok {
		if b, ok := parseSize(size); ok && b >= 16<<10 {
			return 0.95, true
		}
	}
	return 0, false
}

// parseSize reads a size as the benchmarks name them: 1KiB, 16KiB, 1MiB.
func parseSize(s string) (int, bool) {
	mult := 1
	for _, u := range []struct {
		suffix string
		mult   int
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = v, u.mult
			break
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, false
	}
	return n * mult, true
}
