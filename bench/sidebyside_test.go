package bench

import (
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// The side-by-side measurement of BenchmarkInProcess, BenchmarkVsCryptoTLS
// and BenchmarkLoopback: the sides alternate in one process, and each ratio
// is the median of per-round ratios. This is the one statistic the suite
// computes itself: benchstat (bench/report) sees one value per run, not the
// rounds inside it.

// side is one implementation in a side-by-side benchmark: run does n ops.
type side struct {
	name string
	run  func(n int)
}

// ratio names a pair of sides whose rate ratio num/den is reported, as
// "ratio-<den>-wall" and "ratio-<den>-cpu" when num is "binding", else
// "ratio-<num>-<den>-wall" and "-cpu".
type ratio struct{ num, den string }

// roundRatios collects one ratio num/den of two sides' rates, round by
// round: both sides did the same ops in a round, so the ratio of their rates
// is the inverse ratio of their times.
type roundRatios struct {
	wall, cpu []float64
}

// add records one round from num's and den's wall and CPU times. A round in
// which num used no measurable CPU time gives no CPU ratio.
func (r *roundRatios) add(numWall, denWall time.Duration, numCPU, denCPU float64) {
	r.wall = append(r.wall, denWall.Seconds()/numWall.Seconds())
	if numCPU > 0 {
		r.cpu = append(r.cpu, denCPU/numCPU)
	}
}

// medians returns the median over rounds of the wall and the CPU ratio: a
// burst of load from elsewhere spoils a round or two, not the result.
func (r *roundRatios) medians() (wall, cpu float64) {
	return median(r.wall), median(r.cpu)
}

// sideBySide runs b.N ops of each side in alternating batches (the order
// of the sides rotates every round) and reports each side's rate, and each
// ratio as the median over rounds of that round's ratio (roundRatios).
//
// S2N_BENCH_ONLY=name,name runs only the named sides (to profile one), and
// the ratios between them.
func sideBySide(b *testing.B, batch int, unit string, perOp float64, sides []side, ratios []ratio) {
	if only := os.Getenv("S2N_BENCH_ONLY"); only != "" {
		names := strings.Split(only, ",")
		sides = slices.DeleteFunc(slices.Clone(sides), func(s side) bool { return !slices.Contains(names, s.name) })
		ratios = slices.DeleteFunc(slices.Clone(ratios), func(r ratio) bool {
			return !slices.Contains(names, r.num) || !slices.Contains(names, r.den)
		})
	}
	idx := map[string]int{}
	for i, s := range sides {
		idx[s.name] = i
	}
	wall := make([]time.Duration, len(sides))
	perRound := make([]roundRatios, len(ratios))
	w := make([]time.Duration, len(sides))
	c := make([]float64, len(sides))
	b.ResetTimer()
	rounds := 0
	for done := 0; done < b.N; rounds++ {
		n := min(batch, b.N-done)
		for j := range sides {
			i := (j + rounds) % len(sides)
			t0, c0 := time.Now(), cpuTime()
			sides[i].run(n)
			c[i] = cpuTime() - c0
			w[i] = time.Since(t0)
			wall[i] += w[i]
		}
		for k, r := range ratios {
			num, den := idx[r.num], idx[r.den]
			perRound[k].add(w[num], w[den], c[num], c[den])
		}
		done += n
	}
	b.StopTimer()
	ops := float64(b.N) * perOp
	for i, s := range sides {
		b.ReportMetric(ops/wall[i].Seconds(), s.name+"-"+unit+"/s")
	}
	for k, r := range ratios {
		name := "ratio-" + r.den
		if r.num != "binding" {
			name = "ratio-" + r.num + "-" + r.den
		}
		wallRatio, cpuRatio := perRound[k].medians()
		b.ReportMetric(wallRatio, name+"-wall")
		b.ReportMetric(cpuRatio, name+"-cpu")
	}
	b.ReportMetric(float64(rounds), "rounds")
}

// vsNative: the sides and ratio of a binding-against-native comparison.
func vsNative(nativeRun, bindingRun func(int)) ([]side, []ratio) {
	return []side{{"native", nativeRun}, {"binding", bindingRun}}, []ratio{{"binding", "native"}}
}

// median of v (sorted in place); 0 for no values.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{0.9, 0.95, 100, 0.97, 0.96}, 0.96},
	} {
		if got := median(slices.Clone(c.in)); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

// TestRoundRatios: the binding side (num) takes 25% longer than native (den)
// in every round but one, in which a burst of load makes it 10 times slower;
// the median ignores that round. CPU time: one round without any for num
// gives no CPU ratio.
func TestRoundRatios(t *testing.T) {
	var r roundRatios
	ms := time.Millisecond
	r.add(5*ms, 4*ms, 0.005, 0.004)
	r.add(50*ms, 4*ms, 0.050, 0.004)
	r.add(10*ms, 8*ms, 0.010, 0.008)
	r.add(2500*time.Microsecond, 2*ms, 0, 0.002)
	r.add(5*ms, 4*ms, 0.004, 0.004)
	wall, cpu := r.medians()
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-12 }
	if len(r.wall) != 5 || !near(wall, 0.8) {
		t.Errorf("wall: %d rounds, median %v; want 5 rounds, 0.8", len(r.wall), wall)
	}
	if len(r.cpu) != 4 || !near(cpu, 0.8) {
		t.Errorf("cpu: %d rounds, median %v (%v); want 4 rounds, 0.8", len(r.cpu), cpu, r.cpu)
	}
}
