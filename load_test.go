package s2n

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Helpers shared by the reliability tests (faults, races, load, soak).

// relProcKB reads a "Vm..." line of /proc/self/status, in KiB.
func relProcKB(t testing.TB, field string) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, field+":") {
			continue
		}
		fields := strings.Fields(line[len(field)+1:])
		require.NotEmpty(t, fields, line)
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		require.NoError(t, err)
		return kb
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}

// relResetPeakRSS resets VmHWM to the current RSS (Linux: "5" to
// clear_refs), so a test reports its own peak; false if not permitted.
func relResetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// relRaceEnabled reports whether the test binary was built with -race, from
// its build settings: sizes are scaled down there, never assertions.
func relRaceEnabled() bool {
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

// relEnvInt reads a positive integer from the environment; def if unset.
func relEnvInt(t testing.TB, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	require.NoError(t, err, "%s=%q", name, v)
	require.Positive(t, n, "%s", name)
	return n
}

// relBase waits until nothing of earlier tests is still winding down (an
// op freed by its goroutine just after Apply, a connection held for its
// blinding delay) and returns the counters to compare against.
func relBase(t testing.TB) RuntimeStats {
	t.Helper()
	require.Eventually(t, func() bool {
		st := Stats()
		return st.PendingOps == 0 && st.Blinding == 0
	}, 40*time.Second, 5*time.Millisecond, "earlier tests' ops and blinded connections")
	return Stats()
}

// relSettle waits until the binding's counters are back at base (async
// op goroutines free their op just after applying it; a Conn closed after
// a failed handshake is freed by a timer once its blinding delay, capped by
// the tests, has passed), and fails the test if they never are.
func relSettle(t testing.TB, base RuntimeStats, what string) RuntimeStats {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var st RuntimeStats
	for {
		st = Stats()
		if st.Handles == base.Handles && st.PendingOps == base.PendingOps && st.Blinding == base.Blinding {
			return st
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	require.Failf(t, "leak", "%s: handles %d (want %d), pending ops %d (want %d), blinding %d (want %d)",
		what, st.Handles, base.Handles, st.PendingOps, base.PendingOps, st.Blinding, base.Blinding)
	return st
}

// relWaitGoroutines waits for the goroutine count to fall to at most n.
func relWaitGoroutines(t testing.TB, n int, what string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			require.Failf(t, "goroutine leak", "%s: %d goroutines, want <= %d\n%s", what, runtime.NumGoroutine(), n, buf)
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
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
	if relRaceEnabled() {
		def = 1000
	}
	if testing.Short() {
		def = 200
	}
	n := relEnvInt(t, "S2N_LOAD", def)
	if n == 1 {
		n = 5000 // S2N_LOAD=1: the full run
	}
	// The memory bound is generous; the race detector's shadow memory
	// roughly doubles what the Go heap costs.
	rssBoundKB := int64(2 << 20)
	if relRaceEnabled() {
		rssBoundKB = 3 << 20
	}
	ec, _, _ := testKeys(t)
	signer := &testSigner{key: ec.signer}
	serverCfg := signerConfig(t, "default_tls13", ec, signer)
	clientCfg := clientConfig(t, "default_tls13", ec)

	// Leftovers of earlier tests (an op freed late, a blinded connection)
	// must not count against this one.
	relBase(t)
	runtime.GC()
	base := Stats()
	baseGoroutines := runtime.NumGoroutine()
	baseRSS := relProcKB(t, "VmRSS")
	hwmReset := relResetPeakRSS()
	start := time.Now()

	// The whole run is bounded: past this, every socket is closed and the
	// test fails instead of hanging.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	deadline, _ := ctx.Deadline()

	l, err := Listen("tcp", "127.0.0.1:0", serverCfg)
	require.NoError(t, err)
	addr := localhostAddr(l.Addr())

	var (
		mu          sync.Mutex
		errs        []error
		serverWG    sync.WaitGroup
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

	// Server: accept until the listener closes; echo until the client's
	// close_notify.
	serverWG.Add(1)
	go func() {
		defer serverWG.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					report(fmt.Errorf("accept: %w", err))
				}
				return
			}
			serverWG.Add(1)
			go func() {
				defer serverWG.Done()
				conn := c.(*Conn)
				peak(&peakServers, openServers.Add(1))
				defer openServers.Add(-1)
				defer conn.Close()
				conn.SetDeadline(deadline)
				if err := conn.HandshakeContext(ctx); err != nil {
					report(fmt.Errorf("server handshake: %w", err))
					return
				}
				buf := make([]byte, loadChunk)
				if _, err := io.CopyBuffer(struct{ io.Writer }{conn}, struct{ io.Reader }{conn}, buf); err != nil {
					report(fmt.Errorf("server echo: %w", err))
				}
			}()
		}
	}()

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
	l.Close()
	cancel() // unsticks anything left: contexts end, deadlines have passed
	<-clientsDone
	serverWG.Wait()
	close(stopSampler)
	<-samplerDone

	peakRSS := relProcKB(t, "VmHWM")
	mu.Lock()
	for _, err := range errs {
		t.Error(err)
	}
	mu.Unlock()
	after := relSettle(t, base, "after the load run")
	relWaitGoroutines(t, baseGoroutines, "after the load run")
	runtime.GC()
	after = Stats()
	t.Logf("load: %d connections (race=%v) in %v; peak open: %d clients, %d servers; signer calls %d",
		n, relRaceEnabled(), elapsed.Round(time.Millisecond), peakClients.Load(), peakServers.Load(), signer.calls.Load())
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
