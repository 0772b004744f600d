package bench

import (
	"errors"
	"runtime"
	"testing"

	"github.com/s2n-go/s2n"
)

// TestSteadyStateAllocs reports (it does not enforce: that is the binding's
// own tests' job once it reaches zero) the Go allocations and cgo calls of
// one Send of 16 KiB, one Recv of it, and one Recv that finds nothing to
// read, after the handshake. It also checks that the path works, so CI's
// plain `go test ./...` runs it as a smoke test.
func TestSteadyStateAllocs(t *testing.T) {
	e := newEnv(t, loadKeys(t)["ecdsa"], policyTLS13, cbNone)
	server, client := e.established(t)
	buf := make([]byte, 16<<10)
	rbuf := make([]byte, recvBufSize)

	// count runs f runs times after a warm-up and reports its mallocs and
	// cgo calls per run; before each run, prepare (not counted) sets up the
	// state f needs.
	count := func(name string, runs int, f, prepare func()) {
		prepare()
		f()
		var allocs, calls int64
		var m0, m1 runtime.MemStats
		for range runs {
			prepare()
			runtime.ReadMemStats(&m0)
			c0 := runtime.NumCgoCall()
			f()
			c1 := runtime.NumCgoCall()
			runtime.ReadMemStats(&m1)
			allocs += int64(m1.Mallocs - m0.Mallocs)
			calls += c1 - c0
		}
		t.Logf("%-18s %5.1f allocs/op %5.1f cgo calls/op", name, float64(allocs)/float64(runs), float64(calls)/float64(runs))
	}
	drain := func() {
		for {
			if _, _, err := server.Recv(rbuf); err != nil {
				if !errors.Is(err, s2n.ErrBlocked) {
					t.Fatal(err)
				}
				return
			}
		}
	}
	count("Send 16KiB", 20, func() {
		if n, _, err := client.Send(buf); err != nil || n != len(buf) {
			t.Fatalf("send: %d, %v", n, err)
		}
	}, drain)
	drain()
	count("Recv 16KiB", 20, func() {
		for got := 0; got < len(buf); {
			n, _, err := server.Recv(rbuf)
			if err != nil {
				t.Fatalf("recv: %v", err)
			}
			got += n
		}
	}, func() {
		if n, _, err := client.Send(buf); err != nil || n != len(buf) {
			t.Fatalf("send: %d, %v", n, err)
		}
	})
	count("Recv (blocked)", 20, func() {
		if _, _, err := server.Recv(rbuf); !errors.Is(err, s2n.ErrBlocked) {
			t.Fatalf("recv on an empty socket: %v", err)
		}
	}, func() {})
	count("ProtocolVersion", 20, func() {
		if server.ProtocolVersion() != s2n.TLS13 {
			t.Fatal("not TLS 1.3")
		}
	}, func() {})
}

// TestSmoke runs one handshake of every benchmark variant and one transfer
// of every bulk size: CI's check that the benchmarks still execute.
func TestSmoke(t *testing.T) {
	ks := loadKeys(t)
	for _, kname := range []string{"ecdsa", "rsa"} {
		for _, policy := range []string{policyTLS13, policyTLS12} {
			for _, mode := range cbModes {
				e := newEnv(t, ks[kname], policy, mode)
				var server, client *s2n.Connection
				if mode == cbReuse {
					var err error
					if server, client, err = e.newPair(); err != nil {
						t.Fatal(err)
					}
				}
				for range 2 {
					if err := e.oneHandshake(server, client); err != nil {
						t.Fatalf("%s %s %s: %v", kname, policy, mode, err)
					}
				}
				if server != nil {
					server.Close()
					client.Close()
				}
			}
		}
	}
	e := newEnv(t, ks["ecdsa"], policyTLS13, cbNone)
	server, client := e.established(t)
	rbuf := make([]byte, recvBufSize)
	for _, sz := range bulkSizes {
		if err := transfer(server, client, make([]byte, sz.size), rbuf); err != nil {
			t.Fatalf("bulk %s: %v", sz.name, err)
		}
	}
}
