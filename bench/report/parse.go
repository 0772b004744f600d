package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"
)

// Results holds every sample of every (benchmark, metric) pair found in a
// results directory, in the order the benchmarks and metrics first appeared.
// Results carrying an "impl" configuration key (the runs of the native
// driver and of the binding in separate processes, see run.sh's native
// family) are kept apart, one Results per value, in Impls.
type Results struct {
	Names   []string                        // benchmark names, GOMAXPROCS suffix stripped, first-appearance order
	Samples map[string]map[string][]float64 // name → metric → one value per repetition
	Metrics map[string][]string             // name → metric names, first-appearance order

	Impls     map[string]*Results // "impl" configuration value → its results
	ImplOrder []string            // keys of Impls, first-appearance order

	Info       string   // info.txt, verbatim ("" if absent)
	HasInfo    bool     // info.txt was present
	BenchFiles []string // base names of the *.bench files read
	Procs      int      // the -N suffix of benchmark lines (GOMAXPROCS), 0 if none seen
	Errors     []string // lines benchfmt could not parse, as file:line: message
}

// Confidence is the level of the confidence intervals of medians.
const Confidence = 0.95

// Stat summarises the repetitions of one (benchmark, metric) pair:
// benchmath's median and its confidence interval, making no assumption
// about the distribution (benchstat's default).
type Stat struct {
	N                int
	Min, Median, Max float64
	Summary          benchmath.Summary // Center is Median; Lo, Hi the interval at level Confidence
	Sample           *benchmath.Sample
}

func newResults() *Results {
	return &Results{
		Samples: map[string]map[string][]float64{},
		Metrics: map[string][]string{},
		Impls:   map[string]*Results{},
	}
}

// add records one sample.
func (r *Results) add(name, metric string, v float64) {
	m, ok := r.Samples[name]
	if !ok {
		m = map[string][]float64{}
		r.Samples[name] = m
		r.Names = append(r.Names, name)
	}
	if _, ok := m[metric]; !ok {
		r.Metrics[name] = append(r.Metrics[name], metric)
	}
	m[metric] = append(m[metric], v)
}

// impl returns the Results of one "impl" value, created on first use.
func (r *Results) impl(name string) *Results {
	sub, ok := r.Impls[name]
	if !ok {
		sub = newResults()
		r.Impls[name] = sub
		r.ImplOrder = append(r.ImplOrder, name)
	}
	return sub
}

// parseBench reads Go benchmark format (benchfmt): `go test -bench` output
// and the native driver's, which prints the same format. Metrics keep the
// units as written (benchfmt tidies MB/s into B/s, ns/op into sec/op; the
// tables name the units the benchmarks report). Lines benchfmt cannot parse
// are collected in r.Errors.
func (r *Results) parseBench(rd io.Reader, fileName string) error {
	br := benchfmt.NewReader(rd, fileName)
	for br.Scan() {
		switch rec := br.Result().(type) {
		case *benchfmt.SyntaxError:
			r.Errors = append(r.Errors, rec.Error())
		case *benchfmt.Result:
			// benchfmt drops the Benchmark prefix; the tables use the
			// names as go test prints them.
			base, parts := rec.Name.Parts()
			name := "Benchmark" + string(base)
			for _, p := range parts {
				if p[0] == '-' {
					if n, err := strconv.Atoi(string(p[1:])); err == nil {
						r.Procs = n
						continue
					}
				}
				name += string(p)
			}
			dst := r
			if impl := rec.GetConfig("impl"); impl != "" {
				dst = r.impl(impl)
			}
			for _, v := range rec.Values {
				unit, val := v.Unit, v.Value
				if v.OrigUnit != "" {
					unit, val = v.OrigUnit, v.OrigValue
				}
				dst.add(name, unit, val)
			}
		}
	}
	return br.Err()
}

// Load reads a results directory: info.txt and every *.bench file.
func Load(dir string) (*Results, error) {
	r := newResults()
	st, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s: not a directory", dir)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "info.txt")); err == nil {
		r.Info, r.HasInfo = string(b), true
	} else if !os.IsNotExist(err) {
		return nil, err
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.bench"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	for _, fn := range files {
		f, err := os.Open(fn)
		if err != nil {
			return nil, err
		}
		err = r.parseBench(f, filepath.Base(fn))
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", fn, err)
		}
		r.BenchFiles = append(r.BenchFiles, filepath.Base(fn))
	}
	return r, nil
}

// Stat returns the statistics of one (benchmark, metric) pair.
func (r *Results) Stat(name, metric string) (Stat, bool) {
	v := r.Samples[name][metric]
	if len(v) == 0 {
		return Stat{}, false
	}
	return newStat(v), true
}

func newStat(values []float64) Stat {
	s := benchmath.NewSample(values, &benchmath.DefaultThresholds)
	sum := benchmath.AssumeNothing.Summary(s, Confidence)
	return Stat{
		N:       len(s.Values),
		Min:     s.Values[0],
		Median:  sum.Center,
		Max:     s.Values[len(s.Values)-1],
		Summary: sum,
		Sample:  s,
	}
}

// StatAny returns the Stat of the first of metrics that name has.
func (r *Results) StatAny(name string, metrics ...string) (Stat, string, bool) {
	for _, m := range metrics {
		if s, ok := r.Stat(name, m); ok {
			return s, m, true
		}
	}
	return Stat{}, "", false
}

// Median is Stat(name, metric).Median.
func (r *Results) Median(name, metric string) (float64, bool) {
	s, ok := r.Stat(name, metric)
	return s.Median, ok
}

// Has reports whether benchmark name was seen.
func (r *Results) Has(name string) bool { _, ok := r.Samples[name]; return ok }

// WithPrefix returns the benchmarks named prefix or prefix/..., in
// first-appearance order.
func (r *Results) WithPrefix(prefix string) []string {
	var out []string
	for _, n := range r.Names {
		if under(n, prefix) {
			out = append(out, n)
		}
	}
	return out
}

// under reports whether name is prefix itself or below it (prefix/...).
func under(name, prefix string) bool {
	return name == prefix || strings.HasPrefix(name, prefix+"/")
}
