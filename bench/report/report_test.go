package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// A synthetic results directory: three interleaved repetitions, noise lines,
// the -2 GOMAXPROCS suffix, every family of benchmarks the report knows and
// one it does not.
const benchA = `goos: linux
goarch: amd64
pkg: github.com/s2n-go/s2n/bench
cpu: AMD EPYC
BenchmarkInProcess/handshake/ecdsa/tls13/none-2   	    1234	    812345 ns/op	  3051 native-handshakes/s	  2950 binding-handshakes/s	  0.967 ratio-native-wall	  0.95 ratio-native-cpu	  40.0 rounds
BenchmarkInProcess/bulk/16KiB-2   	   15396	     83242 ns/op	       382.2 binding-MB/s	       406.2 native-MB/s	         0.9523 ratio-cpu	         0.9400 ratio-wall	       963.0 rounds
BenchmarkLatency/async/c=512-2 	 10	 1000 ns/op	 1700 handshakes/s	 300 p50-ms	 400 p99-ms	 6 threads
BenchmarkLatency/async/c=64-2 	 10	 1000 ns/op	 1650 handshakes/s	 40 p50-ms	 50 p99-ms	 6 threads
BenchmarkLatency/blocking/c=512-2 	 10	 1000 ns/op	 1500 handshakes/s	 350 p50-ms	 450 p99-ms	 404 threads
BenchmarkLatency/async/c=1-2 	 10	 1000 ns/op	 98 handshakes/s	 10.2 p50-ms	 12 p99-ms	 5 threads
BenchmarkLatency/cpubound/async-2 	 10	 1000 ns/op	 1800 handshakes/s
BenchmarkLoopback/16KiB-2 	 100	 1000 ns/op	 350 native-MB/s	 320 binding-MB/s	 230 cryptotls-MB/s	 0.914 ratio-native-wall	 1.39 ratio-cryptotls-wall
BenchmarkCall/getter-2 	 1000000	 45.3 ns/op	 22000000 calls/s
PASS
ok  	github.com/s2n-go/s2n/bench	12.3s
BenchmarkInProcess/handshake/ecdsa/tls13/none-2   	    1234	    812345 ns/op	  3000 native-handshakes/s	  2800 binding-handshakes/s	  0.900 ratio-native-wall	  0.95 ratio-native-cpu	  40.0 rounds
BenchmarkLoopback/1KiB-2 	 100	 1000 ns/op	 90 native-MB/s	 80 binding-MB/s	 60 cryptotls-MB/s	 0.889 ratio-native-wall	 1.33 ratio-cryptotls-wall
`

const benchB = `BenchmarkInProcess/handshake/ecdsa/tls13/none-2   	    1234	    812345 ns/op	  3100 native-handshakes/s	  2990 binding-handshakes/s	  0.930 ratio-native-wall	  0.95 ratio-native-cpu	  40.0 rounds
BenchmarkHandshake/ecdsa/tls13/sync-2         	     842	   1783911 ns/op	         1.000 callbacks/op	        25.00 cgocalls/op	      1275 handshakes/cpu-s	       560.6 handshakes/s	    1681 B/op	      46 allocs/op
BenchmarkIdleMemory/binding-2 	 1	 1000 ns/op	 38.5 rss-KiB/conn	 30.25 heap-KiB/conn
not a benchmark line
BenchmarkBroken-2 	 many	 12 ns/op
`

// The native family (run.sh -F native): the native driver's output in Go
// benchmark format and the binding's, told apart by the impl key, six
// repetitions each (enough for a 95% confidence interval of the median), and
// one reference run of the driver over in-memory buffers.
const nativeBench = `impl: native
# s2nbench: AWS-LC, transport socketpair, allocator binding
BenchmarkHandshake/ecdsa/tls13/none 	 3000	 333333 ns/op	 3000 handshakes/s	 3100 handshakes/cpu-s
BenchmarkHandshake/ecdsa/tls13/none 	 3010	 333333 ns/op	 3010 handshakes/s	 3100 handshakes/cpu-s
BenchmarkHandshake/ecdsa/tls13/none 	 2990	 333333 ns/op	 2990 handshakes/s	 3100 handshakes/cpu-s
BenchmarkBulk/16KiB 	 20000	 50000 ns/op	 300 MB/s	 310 MB/cpu-s
BenchmarkBulk/1KiB 	 20000	 50000 ns/op	 100 MB/s	 100 MB/cpu-s
BenchmarkBulk/1MiB 	 200	 5000000 ns/op	 400 MB/s	 400 MB/cpu-s
impl: binding
goos: linux
pkg: github.com/s2n-go/s2n/bench
BenchmarkHandshake/ecdsa/tls13/none-2 	 2900	 344827 ns/op	 2900 handshakes/s	 3000 handshakes/cpu-s	 17 cgocalls/op
BenchmarkHandshake/ecdsa/tls13/none-2 	 2910	 344827 ns/op	 2910 handshakes/s	 3000 handshakes/cpu-s	 17 cgocalls/op
BenchmarkHandshake/ecdsa/tls13/none-2 	 2890	 344827 ns/op	 2890 handshakes/s	 3000 handshakes/cpu-s	 17 cgocalls/op
BenchmarkHandshake/ecdsa/tls13/none-2 	 2920	 344827 ns/op	 2920 handshakes/s	 3000 handshakes/cpu-s	 17 cgocalls/op
BenchmarkHandshake/ecdsa/tls13/none-2 	 2880	 344827 ns/op	 2880 handshakes/s	 3000 handshakes/cpu-s	 17 cgocalls/op
BenchmarkHandshake/ecdsa/tls13/none-2 	 2905	 344827 ns/op	 2905 handshakes/s	 3000 handshakes/cpu-s	 17 cgocalls/op
BenchmarkBulk/16KiB-2 	 20000	 50000 ns/op	 290 MB/s	 300 MB/cpu-s	 2 cgocalls/op
BenchmarkBulk/1KiB-2 	 20000	 50000 ns/op	 80 MB/s	 80 MB/cpu-s	 2 cgocalls/op
BenchmarkBulk/1MiB-2 	 200	 5000000 ns/op	 360 MB/s	 380 MB/cpu-s	 237 cgocalls/op
impl: native
BenchmarkBulk/1MiB 	 200	 5000000 ns/op	 400 MB/s	 400 MB/cpu-s
impl: binding
BenchmarkBulk/1MiB-2 	 200	 5000000 ns/op	 390 MB/s	 380 MB/cpu-s	 237 cgocalls/op
impl: native
BenchmarkHandshake/ecdsa/tls13/none 	 3020	 333333 ns/op	 3020 handshakes/s	 3100 handshakes/cpu-s
BenchmarkHandshake/ecdsa/tls13/none 	 2980	 333333 ns/op	 2980 handshakes/s	 3100 handshakes/cpu-s
BenchmarkHandshake/ecdsa/tls13/none 	 3005	 333333 ns/op	 3005 handshakes/s	 3100 handshakes/cpu-s
impl: native-mem
BenchmarkHandshake/ecdsa/tls13/none 	 3500	 285714 ns/op	 3500 handshakes/s	 3600 handshakes/cpu-s
`

const info = "# machine: synthetic, 2 CPUs\n# go version go1.26.8 linux/amd64\n# commit 0123abc\n"

func writeDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range map[string]string{
		"info.txt":     info,
		"a.bench":      benchA,
		"b.bench":      benchB,
		"native.bench": nativeBench,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadAndStats(t *testing.T) {
	r, err := Load(writeDir(t))
	if err != nil {
		t.Fatal(err)
	}
	const hs = "BenchmarkInProcess/handshake/ecdsa/tls13/none"
	s, ok := r.Stat(hs, "ratio-native-wall")
	if !ok || s.N != 3 || s.Min != 0.900 || s.Median != 0.930 || s.Max != 0.967 {
		t.Errorf("ratio-native-wall: %+v %v, want n=3 min 0.900 median 0.930 max 0.967", s, ok)
	}
	if s, _ := r.Stat(hs, "native-handshakes/s"); s.Median != 3051 {
		t.Errorf("native-handshakes/s median %v, want 3051", s.Median)
	}
	// Two repetitions: the median is the mean of both.
	r.add("BenchmarkX", "u", 1)
	r.add("BenchmarkX", "u", 4)
	if s, _ := r.Stat("BenchmarkX", "u"); s.Median != 2.5 {
		t.Errorf("even median %v, want 2.5", s.Median)
	}
	if r.Procs != 2 || !r.HasInfo || r.Info != info {
		t.Errorf("procs %d, info %q", r.Procs, r.Info)
	}
	if len(r.Errors) != 1 || !strings.HasPrefix(r.Errors[0], "b.bench:5: ") {
		t.Errorf("syntax errors %q, want one, at b.bench:5", r.Errors)
	}
	// Results with an impl key are kept apart from the others, and from each
	// other; names lose the -2 suffix and the native driver's have none.
	const nhs = "BenchmarkHandshake/ecdsa/tls13/none"
	if r.Has(nhs) || !slices.Equal(r.ImplOrder, []string{"native", "binding", "native-mem"}) {
		t.Errorf("impl results mixed in (%v) or impls %q", r.Has(nhs), r.ImplOrder)
	}
	nat, bnd := r.Impls["native"], r.Impls["binding"]
	if s, ok := nat.Stat(nhs, "handshakes/s"); !ok || s.N != 6 || s.Median != 3002.5 || s.Summary.Lo != 2980 || s.Summary.Hi != 3020 {
		t.Errorf("native %s: %+v %v, want n=6 median 3002.5 CI [2980, 3020]", nhs, s, ok)
	}
	if s, ok := bnd.Stat(nhs, "cgocalls/op"); !ok || s.N != 6 || s.Median != 17 {
		t.Errorf("binding cgocalls/op: %+v %v", s, ok)
	}
	// benchfmt tidies MB/s into B/s; the units as written are kept.
	if s, ok := nat.Stat("BenchmarkBulk/16KiB", "MB/s"); !ok || s.Median != 300 {
		t.Errorf("native MB/s: %+v %v", s, ok)
	}
	if r.Has("not") || r.Has(hs+"-2") {
		t.Error("noise line or unstripped name recorded")
	}
}

func TestRun(t *testing.T) {
	dir := writeDir(t)
	out := t.TempDir()
	md := filepath.Join(out, "BENCHMARKS.md")
	before := "# Benchmarks\n\nHand-written text | with a pipe.\n\n" + beginMarker + "\nstale results\n"
	after := endMarker + "\n\nMore hand-written text, no final newline"
	if err := os.WriteFile(md, []byte(before+after), 0o644); err != nil {
		t.Fatal(err)
	}
	plots := filepath.Join(out, "plots")
	var stdout, stderr bytes.Buffer
	if err := run(dir, md, plots, &stdout, &stderr); err != nil {
		t.Fatal(err, stderr.String())
	}
	got, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(got)
	if !strings.HasPrefix(doc, before[:len(before)-len("stale results\n")]) || !strings.HasSuffix(doc, after) {
		t.Errorf("text outside the markers changed:\n%s", doc)
	}
	if strings.Contains(doc, "stale results") {
		t.Error("old results kept")
	}
	section := doc[strings.Index(doc, beginMarker)+len(beginMarker)+1 : strings.Index(doc, endMarker)]
	if section != stdout.String() {
		t.Errorf("stdout and the Markdown section differ:\n%s\n---\n%s", stdout.String(), section)
	}
	for _, want := range []string{
		"```text\n" + info + "```",
		"(a.bench, b.bench, native.bench)",
		"### Binding vs native C, in process",
		// Three repetitions: too few for a 95% interval of the median.
		"| handshake/ecdsa/tls13/none | 3051 | 2950 | 0.930 | ±∞ | 0.900 | 3 | 0.95 | no |",
		// ratio-wall, the in-process benchmark's older name, is accepted.
		"| bulk/16KiB | 406 | 382 | 0.940 | ±∞ | 0.940 | 1 | 0.95 | no |",
		"### Binding vs native C, separate processes",
		"| benchmark | unit | native median | binding median | binding / native, median of pairs | min–max | in process | binding vs native | per CPU second, median of pairs | native-mem median | n | target | met |",
		// Six against six, every binding run below every native one: the
		// U test's smallest p, 2/924. The in-process ratio of the same work
		// sits next to it.
		"| Handshake/ecdsa/tls13/none | handshakes/s | 3003 ±1% | 2903 ±1% | 0.967 | 0.966–0.967 | 0.930 | -3.33% (p=0.002 n=6) | 0.968 | 3500 | 6+6 | 0.95 | yes |",
		"| Bulk/16KiB | MB/s | 300 ±∞ | 290 ±∞ | 0.967 | 0.967–0.967 | 0.940 | ~ (p=1.000 n=1) | 0.968 | - | 1+1 | 0.95 | yes |",
		// No target below 16 KiB.
		"| Bulk/1KiB | MB/s | 100 ±∞ | 80.0 ±∞ | 0.800 | 0.800–0.800 | - | ~ (p=1.000 n=1) | 0.800 | - | 1+1 | - | - |",
		// Pairs 360/400 and 390/400: the median of the pairs' ratios and their range.
		"| Bulk/1MiB | MB/s | 400 ±∞ | 375 ±∞ | 0.938 | 0.900–0.975 | - | ~ (p=0.333 n=2) | 0.950 | - | 2+2 | 0.95 | no |",
		"Target, standalone: binding / native at least 0.95 for every handshake and for bulk of 16 KiB and more (median of pairs): **not met**, reached by 2 of 3.",
		"benchmath: need >= 4 samples to detect a difference at alpha level 0.05.",
		"| 16KiB | 350 | 320 | 230 | 0.914 | ±∞ | 0.85 | yes | 1.39 | ±∞ | 1.3 | yes | 1 |",
		// The binding's runs of the native family stay out of this table.
		"| Handshake/ecdsa/tls13/sync | 46 | 1681 | 25 | 1 | 1 |\n\n",
		"| binding | 38.5 | 30.2 | 1000 | 1 |",
		"| Call/getter | calls/s | 22000000 | ±∞ | 22000000 | 22000000 | 1 |",
		"0.8 × min(512 / 10 ms = 51200, cpu-bound async 1800) = 1440: **met**",
		"at most 2 × GOMAXPROCS (2) + 16 = 20: **met**",
		"![latency](plots/latency.png)",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("missing %q in:\n%s", want, doc)
		}
	}
	// Concurrency rows sorted numerically: 1, 64, 512.
	i1, i64, i512 := strings.Index(doc, "\n| 1 |"), strings.Index(doc, "\n| 64 |"), strings.Index(doc, "\n| 512 |")
	if i1 < 0 || !(i1 < i64 && i64 < i512) {
		t.Errorf("latency rows out of order: %d %d %d", i1, i64, i512)
	}
	for _, name := range []string{"latency.png", "latency-p99.png", "threads.png", "throughput.png", "throughput-inprocess.png"} {
		b, err := os.ReadFile(filepath.Join(plots, name))
		if err != nil {
			t.Error(err)
			continue
		}
		if len(b) < 1000 || !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
			t.Errorf("%s: %d bytes, not a PNG", name, len(b))
		}
	}

	// A second run over its own output changes nothing.
	if err := run(dir, md, plots, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(md); !bytes.Equal(again, got) {
		t.Error("second run changed the file")
	}
}

func TestPlotsSkippedWithoutData(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x.bench"), []byte("BenchmarkCall/getter-2 	 10	 45.3 ns/op\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	plots := filepath.Join(t.TempDir(), "plots")
	var stdout, stderr bytes.Buffer
	if err := run(dir, "", plots, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(plots); len(ents) != 0 {
		t.Errorf("plots written without data: %v", ents)
	}
	if !strings.Contains(stderr.String(), "latency.png: no data, skipped") || !strings.Contains(stderr.String(), "no info.txt") {
		t.Errorf("stderr: %s", stderr.String())
	}
	if strings.Contains(stdout.String(), "### Binding vs native C") || !strings.Contains(stdout.String(), "### Other benchmarks") {
		t.Errorf("stdout: %s", stdout.String())
	}
}

func TestReplaceBetweenMarkers(t *testing.T) {
	content := "new\n"
	for _, c := range []struct{ in, want string }{
		{"", beginMarker + "\nnew\n" + endMarker + "\n"},
		{"text", "text\n\n" + beginMarker + "\nnew\n" + endMarker + "\n"},
		{"text\n", "text\n\n" + beginMarker + "\nnew\n" + endMarker + "\n"},
		{"a\r\n" + beginMarker + "\r\nold\r\n" + endMarker + "\r\nb", "a\r\n" + beginMarker + "\nnew\n" + endMarker + "\r\nb"},
		{beginMarker + endMarker, beginMarker + "\nnew\n" + endMarker},
	} {
		got, err := ReplaceBetweenMarkers([]byte(c.in), content)
		if err != nil || string(got) != c.want {
			t.Errorf("%q: got %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{beginMarker + "\n", "x\n" + endMarker, endMarker + "\n" + beginMarker} {
		if _, err := ReplaceBetweenMarkers([]byte(bad), content); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	// A missing file is created.
	path := filepath.Join(t.TempDir(), "new.md")
	if err := UpdateFile(path, content); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != beginMarker+"\nnew\n"+endMarker+"\n" {
		t.Errorf("created %q", b)
	}
}

func TestFormat(t *testing.T) {
	for _, c := range []struct {
		metric string
		v      float64
		want   string
	}{
		{"ratio-native-wall", 0.96712, "0.967"},
		{"ratio-native-wall", 1.0423, "1.04"},
		{"ratio-wall", 0.99996, "1.00"},
		{"ratio-cryptotls-wall", 12.34, "12.3"},
		{"handshakes/s", 1743.6, "1744"},
		{"handshakes/s", 97.64, "97.6"},
		{"MB/s", 80, "80.0"},
		{"p99-ms", 12, "12.0"},
		{"allocs/op", 37, "37"},
		{"cgocalls/op", 25.05, "25.1"},
	} {
		if got := fmtValue(c.metric, c.v); got != c.want {
			t.Errorf("fmtValue(%q, %v) = %q, want %q", c.metric, c.v, got, c.want)
		}
	}
}
