package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Results holds every sample of every (benchmark, metric) pair found in a
// results directory, in the order the benchmarks and metrics first appeared.
type Results struct {
	Names   []string                        // benchmark names, suffix stripped, first-appearance order
	Samples map[string]map[string][]float64 // name → metric → one value per repetition
	Metrics map[string][]string             // name → metric names, first-appearance order

	Info        string   // info.txt, verbatim ("" if absent)
	HasInfo     bool     // info.txt was present
	BenchFiles  []string // base names of the *.bench files read
	NativeLines int      // "name value unit" lines in native.txt (-1 if absent)
	Procs       int      // the -N suffix of benchmark lines (GOMAXPROCS), 0 if none seen
}

// Stat summarises the repetitions of one (benchmark, metric) pair.
type Stat struct {
	N                int
	Min, Median, Max float64
}

func newResults() *Results {
	return &Results{
		Samples:     map[string]map[string][]float64{},
		Metrics:     map[string][]string{},
		NativeLines: -1,
	}
}

// procsSuffix is the -<GOMAXPROCS> suffix go test appends to benchmark names
// (it appends none when GOMAXPROCS is 1).
var procsSuffix = regexp.MustCompile(`-(\d+)$`)

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

// parseBench reads `go test -bench` output: lines
//
//	BenchmarkName-<procs>  <iterations>  <value> <unit>  <value> <unit> ...
//
// and ignores every other line (goos:, pkg:, PASS, ok, logs).
func (r *Results) parseBench(rd io.Reader) error {
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		if _, err := strconv.ParseUint(f[1], 10, 64); err != nil {
			continue
		}
		type pair struct {
			unit string
			v    float64
		}
		var pairs []pair
		ok := true
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				ok = false
				break
			}
			pairs = append(pairs, pair{f[i+1], v})
		}
		if !ok {
			continue
		}
		name := f[0]
		if m := procsSuffix.FindStringSubmatch(name); m != nil {
			name = strings.TrimSuffix(name, m[0])
			if p, err := strconv.Atoi(m[1]); err == nil {
				r.Procs = p
			}
		}
		for _, p := range pairs {
			r.add(name, p.unit, p.v)
		}
	}
	return sc.Err()
}

// countNative counts the `name value unit` lines of native.txt.
func countNative(rd io.Reader) (int, error) {
	n := 0
	sc := bufio.NewScanner(rd)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if _, err := strconv.ParseFloat(f[1], 64); err == nil {
			n++
		}
	}
	return n, sc.Err()
}

// Load reads a results directory: info.txt, *.bench and native.txt.
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
		err = r.parseBench(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", fn, err)
		}
		r.BenchFiles = append(r.BenchFiles, filepath.Base(fn))
	}
	if f, err := os.Open(filepath.Join(dir, "native.txt")); err == nil {
		r.NativeLines, err = countNative(f)
		f.Close()
		if err != nil {
			return nil, err
		}
	} else if !os.IsNotExist(err) {
		return nil, err
	}
	return r, nil
}

// Stat returns n, min, median and max of one (benchmark, metric) pair.
func (r *Results) Stat(name, metric string) (Stat, bool) {
	v := r.Samples[name][metric]
	if len(v) == 0 {
		return Stat{}, false
	}
	s := slices.Clone(v)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return Stat{N: len(s), Min: s[0], Median: med, Max: s[len(s)-1]}, true
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
