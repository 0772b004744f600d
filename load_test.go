package s2n

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// raceEnabled reports whether the test binary was built with -race, from
// its build settings: sizes are scaled down there, never assertions.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// loadEchoSize is what every load connection sends and gets back.
const loadEchoSize = 64 << 10

// loadChunk is how much is written before the echo of it is read back.
const loadChunk = 16 << 10

// TestLoadConcurrentConns opens many TLS connections at once through the
// net.Conn layer on loopback, with the server key offloaded to a
// crypto.Signer: each one handshakes, echoes 64 KiB, and then stays open
// until every connection has finished, so all of them are open at the
// same time. No error is allowed, memory must stay bounded, and every
// handle, op and goroutine must be gone afterwards.
//
// Sizes: 5,000 by default (measured on 2 cores: 6-17 s, 1.1 GiB peak
// RSS); 1,000 under -race, where 5,000 take 10-40 s and 1.9 GiB (the
// detector's shadow memory); 200 with -short. S2N_LOAD=1 forces 5,000,
// S2N_LOAD=N runs N.
func TestLoadConcurrentConns(t *testing.T) {
	def := 5000
	if raceEnabled() {
		def = 1000
	}
	if testing.Short() {
		def = 200
	}
	n := envInt(t, "S2N_LOAD", def)
	if n == 1 {
		n = 5000 // S2N_LOAD=1: the full run
	}
	// The memory bound is generous; the race detector's shadow memory
	// roughly doubles what the Go heap costs.
	rssBoundKB := int64(2 << 20)
	if raceEnabled() {
		rssBoundKB = 3 << 20
	}
	ec, _, _ := testKeys(t)
	signer := &faultySigner{key: ec.signer}
	serverCfg := signerConfig(t, "default_tls13", ec, signer)
	clientCfg := clientConfig(t, "default_tls13", ec)

	// Leftovers of earlier tests (an op freed late, a blinded connection)
	// must not count against this one.
	settledStats(t)
	runtime.GC()
	base := Stats()
	baseGoroutines := runtime.NumGoroutine()
	baseRSS := procStatusKB(t, "VmRSS")
	hwmReset := resetPeakRSS()
	start := time.Now()

	// The whole run is bounded: past this, every socket is closed and the
	// test fails instead of hanging.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	deadline, _ := ctx.Deadline()

	var (
		mu          sync.Mutex
		errs        []error
		clientWG    sync.WaitGroup
		openServers atomic.Int64
		openClients atomic.Int64
		peakClients atomic.Int64
		peakServers atomic.Int64
		peakCBytes  atomic.Int64
		echoed      atomic.Int64
	)
	report := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if len(errs) < 20 {
			errs = append(errs, err)
		}
	}
	peak := func(v *atomic.Int64, n int64) {
		for m := v.Load(); n > m && !v.CompareAndSwap(m, n); m = v.Load() {
		}
	}

	// Server: n connections, each echoing until the client's close_notify.
	addr, served := serveResults(t, serverCfg, n, func(conn *Conn) error {
		peak(&peakServers, openServers.Add(1))
		defer openServers.Add(-1)
		defer conn.Close() // before the handler counts as done
		conn.SetDeadline(deadline)
		if err := conn.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("server handshake: %w", err)
		}
		buf := make([]byte, loadChunk)
		if _, err := io.CopyBuffer(struct{ io.Writer }{conn}, struct{ io.Reader }{conn}, buf); err != nil {
			return fmt.Errorf("server echo: %w", err)
		}
		return nil
	})

	// Memory sampler: C memory at its highest.
	stopSampler := make(chan struct{})
	samplerDone := make(chan struct{})
	go func() {
		defer close(samplerDone)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			peak(&peakCBytes, Stats().CBytes)
			select {
			case <-stopSampler:
				return
			case <-tick.C:
			}
		}
	}()

	payload := make([]byte, loadEchoSize)
	for i := range payload {
		payload[i] = byte(i*31 + i>>8)
	}
	// Clients: all start at once; a gate bounds how many dial and
	// handshake at the same moment (the listen backlog is finite), but
	// every connection stays open until all are done.
	gate := make(chan struct{}, 256)
	allDone := make(chan struct{})
	var arrived atomic.Int64
	for i := range n {
		clientWG.Add(1)
		go func() {
			defer clientWG.Done()
			// A client arrives once: after its echo, or when it fails.
			var once sync.Once
			arrive := func() {
				once.Do(func() {
					if arrived.Add(1) == int64(n) {
						close(allDone)
					}
				})
			}
			defer arrive()
			gate <- struct{}{}
			c, err := DialContext(ctx, "tcp", addr, clientCfg)
			if err != nil {
				<-gate
				report(fmt.Errorf("client %d: dial: %w", i, err))
				return
			}
			peak(&peakClients, openClients.Add(1))
			defer openClients.Add(-1)
			defer c.Close()
			c.SetDeadline(deadline)
			err = loadEcho(c, payload)
			<-gate
			if err != nil {
				report(fmt.Errorf("client %d: echo: %w", i, err))
				return
			}
			echoed.Add(1)
			arrive()
			// Hold the connection until every client got this far.
			select {
			case <-allDone:
			case <-ctx.Done():
			}
		}()
	}
	clientsDone := make(chan struct{})
	go func() { clientWG.Wait(); close(clientsDone) }()
	select {
	case <-clientsDone:
	case <-ctx.Done():
		t.Errorf("load run did not finish in time: %d of %d echoed", echoed.Load(), n)
	}
	elapsed := time.Since(start)
	cancel() // unsticks anything left: contexts end, deadlines have passed
	<-clientsDone
	for range n {
		if err := await(t, served, "a server connection"); err != nil {
			report(err)
		}
	}
	close(stopSampler)
	<-samplerDone

	peakRSS := procStatusKB(t, "VmHWM")
	mu.Lock()
	for _, err := range errs {
		t.Error(err)
	}
	mu.Unlock()
	after := requireSettled(t, base, "after the load run")
	waitGoroutines(t, baseGoroutines, "after the load run")
	runtime.GC()
	after = Stats()
	t.Logf("load: %d connections (race=%v) in %v; peak open: %d clients, %d servers; signer calls %d",
		n, raceEnabled(), elapsed.Round(time.Millisecond), peakClients.Load(), peakServers.Load(), signer.calls.Load())
	t.Logf("load: RSS before %d MiB, peak %d MiB (VmHWM reset: %v); C bytes before %d, peak %d (%.1f KiB per open connection), after %d; C allocations before %d, after %d",
		baseRSS>>10, peakRSS>>10, hwmReset, base.CBytes, peakCBytes.Load(),
		float64(peakCBytes.Load()-base.CBytes)/1024/float64(max(1, peakClients.Load()+peakServers.Load())),
		after.CBytes, base.CAllocations, after.CAllocations)

	require.EqualValues(t, n, echoed.Load(), "every connection echoed 64 KiB")
	require.EqualValues(t, n, peakClients.Load(), "all client connections were open at once")
	require.EqualValues(t, n, signer.calls.Load(), "one offloaded signature per handshake")
	require.Less(t, peakRSS-baseRSS, rssBoundKB, "RSS growth (KiB) stays bounded")
	require.Equal(t, base.CAllocations, after.CAllocations, "every C allocation of the run was freed")
	require.Equal(t, base.CBytes, after.CBytes, "every C byte of the run was freed")
}

// loadEcho writes payload in chunks and reads each chunk's echo back.
func loadEcho(c *Conn, payload []byte) error {
	got := make([]byte, loadChunk)
	for off := 0; off < len(payload); off += loadChunk {
		chunk := payload[off:min(off+loadChunk, len(payload))]
		if _, err := c.Write(chunk); err != nil {
			return err
		}
		if _, err := io.ReadFull(c, got[:len(chunk)]); err != nil {
			return err
		}
		if !bytes.Equal(chunk, got[:len(chunk)]) {
			return fmt.Errorf("echo differs at offset %d", off)
		}
	}
	return nil
}
