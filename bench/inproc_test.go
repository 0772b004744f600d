package bench

import (
	"os"
	"testing"

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
