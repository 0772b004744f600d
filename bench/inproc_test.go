package bench

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/s2n-go/s2n"
)

// BenchmarkInProcess measures binding and native side by side in one
// process, on one goroutine, in alternating batches of a few milliseconds:
// on a shared, noisy machine, both sides then see the same conditions, and
// their ratio is much steadier than the ratio of two separate runs. One op is
// one handshake (or one transfer) on each side. Metrics: native and binding
// rates, and binding/native ratios of wall time and of process CPU time.
//
// The native side is the standalone driver's C code (native/core.h) built
// into this package (inproc.c), called once per batch.
func BenchmarkInProcess(b *testing.B) {
	ks := loadKeys(b)
	b.Run("handshake", func(b *testing.B) {
		for _, kname := range []string{"ecdsa", "rsa"} {
			b.Run(kname, func(b *testing.B) {
				for _, v := range []struct{ name, policy string }{{"tls13", policyTLS13}, {"tls12", policyTLS12}} {
					b.Run(v.name, func(b *testing.B) {
						for _, mode := range cbModes {
							b.Run(string(mode), func(b *testing.B) {
								inProcHandshakes(b, ks[kname], v.policy, mode)
							})
						}
					})
				}
			})
		}
	})
	b.Run("bulk", func(b *testing.B) {
		for _, sz := range bulkSizes {
			b.Run(sz.name, func(b *testing.B) { inProcBulk(b, ks["ecdsa"], sz.size) })
		}
	})
}

// side is one implementation in a side-by-side benchmark: run does n ops.
type side struct {
	name string
	run  func(n int)
}

// ratio names a pair of sides whose rate ratio num/den is reported, as
// "ratio-<den>-wall" and "ratio-<den>-cpu" when num is "binding", else
// "ratio-<num>-<den>-wall" and "-cpu".
type ratio struct{ num, den string }

// sideBySide runs b.N ops of each side in alternating batches (the order
// of the sides rotates every round) and reports each side's rate, and each
// ratio as the median over rounds of that round's ratio: a burst of load
// from elsewhere spoils a round or two, not the result.
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
	wallRatios := make([][]float64, len(ratios))
	cpuRatios := make([][]float64, len(ratios))
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
			wallRatios[k] = append(wallRatios[k], w[den].Seconds()/w[num].Seconds())
			if c[num] > 0 {
				cpuRatios[k] = append(cpuRatios[k], c[den]/c[num])
			}
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
		b.ReportMetric(median(wallRatios[k]), name+"-wall")
		b.ReportMetric(median(cpuRatios[k]), name+"-cpu")
	}
	b.ReportMetric(float64(rounds), "rounds")
}

// vsNative: the sides and ratio of a binding-against-native comparison.
func vsNative(nativeRun, bindingRun func(int)) ([]side, []ratio) {
	return []side{{"native", nativeRun}, {"binding", bindingRun}}, []ratio{{"binding", "native"}}
}

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

// rawCgo replaces the binding side by native.rawHandshakes (mode none):
// S2N_BENCH_RAWCGO=1.
var rawCgo = os.Getenv("S2N_BENCH_RAWCGO") == "1"

func inProcHandshakes(b *testing.B, k *keyPair, policy string, mode cbMode) {
	e := newEnv(b, k, policy, mode)
	nat, err := newNative(k, policy, mode)
	if err != nil {
		b.Fatal(err)
	}
	defer nat.free()
	var server, client *s2n.Connection
	if mode == cbReuse {
		if server, client, err = e.newPair(); err != nil {
			b.Fatal(err)
		}
		defer server.Close()
		defer client.Close()
	}
	binding := func(n int) {
		for range n {
			if err := e.oneHandshake(server, client); err != nil {
				b.Fatal(err)
			}
		}
	}
	nat.handshakes(1)
	binding(1)
	if rawCgo && mode == cbNone {
		// Experiment (S2N_BENCH_RAWCGO=1): the "binding" side is the native
		// code driven from Go one cgo call per s2n call.
		binding = nat.rawHandshakes
	}
	sides, ratios := vsNative(nat.handshakes, binding)
	sideBySide(b, 1, "handshakes", 1, sides, ratios)
}

func inProcBulk(b *testing.B, k *keyPair, size int) {
	e := newEnv(b, k, policyTLS13, cbNone)
	nat, err := newNative(k, policyTLS13, cbNone)
	if err != nil {
		b.Fatal(err)
	}
	defer nat.free()
	server, client := e.established(b)
	buf := make([]byte, size)
	for i := range buf {
		buf[i] = 'x'
	}
	rbuf := make([]byte, recvBufSize)
	binding := func(n int) {
		for range n {
			if err := transfer(server, client, buf, rbuf); err != nil {
				b.Fatal(err)
			}
		}
	}
	nativeRun := func(n int) { nat.transfers(n, size) }
	nativeRun(1)
	binding(1)
	sides, ratios := vsNative(nativeRun, binding)
	sideBySide(b, max(1, (256<<10)/size), "MB", float64(size)/1e6, sides, ratios)
}
