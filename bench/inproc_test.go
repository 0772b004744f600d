package bench

import (
	"os"
	"slices"
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

// sideBySide runs b.N ops of each side in alternating batches (which side
// goes first alternates too) and reports the rates, and the binding/native
// ratios as the median over rounds of each round's ratio: a burst of load
// from elsewhere spoils a round or two, not the result.
func sideBySide(b *testing.B, batch int, unit string, perOp float64, nativeRun, bindingRun func(n int)) {
	var wall [2]time.Duration
	var wallRatios, cpuRatios []float64
	sides := [2]func(int){nativeRun, bindingRun}
	b.ResetTimer()
	for done, round := 0, 0; done < b.N; round++ {
		n := min(batch, b.N-done)
		var w [2]time.Duration
		var c [2]float64
		for j := range 2 {
			side := (j + round) % 2
			t0, c0 := time.Now(), cpuTime()
			sides[side](n)
			c[side] = cpuTime() - c0
			w[side] = time.Since(t0)
			wall[side] += w[side]
		}
		wallRatios = append(wallRatios, w[0].Seconds()/w[1].Seconds())
		if c[1] > 0 {
			cpuRatios = append(cpuRatios, c[0]/c[1])
		}
		done += n
	}
	b.StopTimer()
	ops := float64(b.N) * perOp
	b.ReportMetric(ops/wall[0].Seconds(), "native-"+unit+"/s")
	b.ReportMetric(ops/wall[1].Seconds(), "binding-"+unit+"/s")
	b.ReportMetric(median(wallRatios), "ratio-wall")
	b.ReportMetric(median(cpuRatios), "ratio-cpu")
	b.ReportMetric(float64(len(wallRatios)), "rounds")
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
	sideBySide(b, 1, "handshakes", 1, nat.handshakes, binding)
}

func inProcBulk(b *testing.B, k *keyPair, size int) {
	e := newEnv(b, k, policyTLS13, cbNone)
	nat, err := newNative(k, policyTLS13, cbNone)
	if err != nil {
		b.Fatal(err)
	}
	defer nat.free()
	server, client, err := e.newPair()
	if err != nil {
		b.Fatal(err)
	}
	defer server.Close()
	defer client.Close()
	if err := e.handshake(server, client); err != nil {
		b.Fatal(err)
	}
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
	sideBySide(b, max(1, (256<<10)/size), "MB", float64(size)/1e6, nativeRun, binding)
}
