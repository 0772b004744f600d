package bench

import (
	"io"
	"runtime"
	"testing"

	"github.com/s2n-go/s2n"
)

// BenchmarkConnIO: one 16 KiB Conn.Write on the client and the Conn.Read
// calls that take it in on the server, over loopback TCP, in one goroutine
// (16 KiB fits the socket buffers). Metrics: allocs/op (0 expected: the
// binding's own test asserts it), cgocalls/op (Go-to-C, counted by the
// runtime) and, built with -tags s2n_cgocount, c2go/op (C-to-Go callbacks,
// counted by the binding). Both sides' calls are counted.
func BenchmarkConnIO(b *testing.B) {
	k := loadKeys(b)["ecdsa"]
	for _, size := range []struct {
		name string
		n    int
	}{{"16KiB", 16 << 10}, {"1KiB", 1 << 10}} {
		b.Run(size.name, func(b *testing.B) {
			s, err := newStream(bindingConnPair(b, k, policyTLS13, false), size.n)
			if err != nil {
				b.Fatal(err)
			}
			defer s.close()
			buf := make([]byte, size.n)
			rbuf := make([]byte, size.n)
			op := func() {
				if _, err := s.client.Write(buf); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(s.server, rbuf); err != nil {
					b.Fatal(err)
				}
			}
			op()
			b.ReportAllocs()
			calls0, cb0 := runtime.NumCgoCall(), s2n.Stats().Callbacks
			b.SetBytes(int64(size.n))
			b.ResetTimer()
			for range b.N {
				op()
			}
			b.StopTimer()
			n := float64(b.N)
			b.ReportMetric(float64(runtime.NumCgoCall()-calls0)/n, "cgocalls/op")
			if countingCallbacks {
				b.ReportMetric(float64(s2n.Stats().Callbacks-cb0)/n, "c2go/op")
			}
		})
	}
}
