package bench

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/s2n-go/s2n"
)

// Environment of BenchmarkIdleMemory and of its client process.
const (
	idleConnsEnv  = "S2N_BENCH_IDLE_CONNS" // connections per sub-benchmark (default idleDefaultConns)
	idleClientEnv = "S2N_IDLEMEM_CLIENT"   // "addr,N": makes TestIdleMemClient the client process
	idleCAEnv     = "S2N_IDLEMEM_CA"       // PEM file the client trusts (the server's certificate)

	idleDefaultConns = 10000
	idleMsgLen       = 100              // the message each client sends and reads back
	idleDialers      = 16               // the client's concurrent handshakes
	idleFdMargin     = 256              // fds beyond one per connection
	idleSetupTimeout = 5 * time.Minute  // for all connections to be established and idle
	idleIOTimeout    = 60 * time.Second // for one handshake and echo, and for the child to exit
)

// BenchmarkIdleMemory measures the memory a server holds per established,
// idle TLS connection: the cost of a keep-alive connection that waits for
// its client's next request.
//
// Servers, one sub-benchmark each, run in this order, all TLS 1.3 with the
// same ECDSA P-256 certificate (loadKeys "ecdsa"):
//
//   - cryptotls: a crypto/tls server (tls.NewListener; session tickets off,
//     as the s2n server, which has no ticket key, sends none).
//   - binding: the binding's s2n.Conn (s2n.NewListener), a Config with
//     "default_tls13" and the chain, nothing else.
//   - binding-release: the same with Config.SetReleaseBuffersWhenIdle(true).
//
// The server is this process: an accept loop and a goroutine per
// connection that handshakes, reads a 100-byte message, echoes it, then
// calls Read again (with the same 100-byte buffer) and stays blocked in it.
// The clients are crypto/tls connections in a child process, so their
// memory is not counted: the benchmark runs its own test binary again
// (-test.run '^TestIdleMemClient$' with S2N_IDLEMEM_CLIENT=addr,N and
// S2N_IDLEMEM_CA=the certificate file), which dials N connections (16 at a
// time), handshakes each (verifying the certificate for "localhost"), writes
// the message, reads the echo, prints "ready" once all N are established,
// and keeps them open until its stdin is closed.
//
// Measurements: first a baseline, after the listener exists and one warm-up
// connection (from this process) has been served and closed, right before
// the child starts; then again once the child is ready and the server has N
// goroutines blocked in their second Read, plus 200 ms. Each measurement
// runs runtime.GC twice and debug.FreeOSMemory, then reads VmRSS from
// /proc/self/status, runtime.MemStats and s2n.Stats. Metrics, per connection
// (the difference between the two measurements divided by N):
//
//   - rss-KiB/conn: resident memory of the process: Go heap and stacks, C
//     memory (s2n's, the binding's I/O buffers, libcrypto's, as malloc keeps
//     it) and the runtime's own. The number that matters.
//   - heap-KiB/conn: Go heap and goroutine stacks in use (HeapInuse +
//     StackInuse): what the Go side holds.
//   - cmem-KiB/conn: C memory s2n holds through the binding's allocator
//     (s2n.Stats().CBytes): s2n's connection and its buffers. It does not
//     include the binding's own I/O buffers (plain malloc) nor libcrypto's
//     allocations, nor malloc's overhead; 0 for cryptotls.
//   - conns: N.
//
// rss minus heap minus cmem is roughly the C memory s2n does not account
// for (the binding's I/O buffers, libcrypto's cipher contexts, malloc's
// overhead and fragmentation) plus the runtime's metadata. The baseline and
// the totals are logged (b.Log) with the negotiated parameters.
//
// N is 10000, or S2N_BENCH_IDLE_CONNS. Both processes need N+256 fds: the
// soft RLIMIT_NOFILE is raised to the hard limit when it is lower, and the
// benchmark fails if that is not enough. The measurement is done once per
// call of the sub-benchmark, whatever b.N: run it with -benchtime 1x (ns/op
// is then the wall time of the setup and the measurement, not a cost).
// Teardown closes the child's stdin, waits for it, closes every server
// connection and the listener, and waits for the server's goroutines; the
// binding's handles (s2n.Stats().Handles) must be back to their starting
// count within 5 s.
//
// Memory freed by a finished sub-benchmark does not always go back to the
// OS (malloc's arenas, the Go heap's retained spans), so a sub-benchmark run
// after another one can show a lower RSS delta. The baseline is taken per
// sub-benchmark for this reason, but the numbers to publish come from one
// process per sub-benchmark:
//
//	go test ./bench -run '^$' -bench 'IdleMemory/cryptotls$' -benchtime 1x
//	go test ./bench -run '^$' -bench 'IdleMemory/binding$' -benchtime 1x
//	go test ./bench -run '^$' -bench 'IdleMemory/binding-release$' -benchtime 1x
//
// Under -race every number is inflated by the race detector's shadow memory.
func BenchmarkIdleMemory(b *testing.B) {
	n := idleDefaultConns
	if v := os.Getenv(idleConnsEnv); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("%s=%q: want a positive integer", idleConnsEnv, v)
		}
	}
	if err := idleRaiseNofile(uint64(n + idleFdMargin)); err != nil {
		b.Fatal(err)
	}
	k := loadKeys(b)["ecdsa"]
	for _, impl := range []string{"cryptotls", "binding", "binding-release"} {
		b.Run(impl, func(b *testing.B) { runIdleMemory(b, k, impl, n) })
	}
}

// TestIdleMemClient is the client process of BenchmarkIdleMemory. Without
// S2N_IDLEMEM_CLIENT it does nothing.
func TestIdleMemClient(t *testing.T) {
	spec := os.Getenv(idleClientEnv)
	if spec == "" {
		return
	}
	addr, nstr, _ := strings.Cut(spec, ",")
	n, err := strconv.Atoi(nstr)
	if err != nil || n < 1 || addr == "" {
		t.Fatalf("%s=%q: want addr,N", idleClientEnv, spec)
	}
	if err := idleRaiseNofile(uint64(n + idleFdMargin)); err != nil {
		t.Fatal(err)
	}
	pemBytes, err := os.ReadFile(os.Getenv(idleCAEnv))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatalf("%s: no certificate", os.Getenv(idleCAEnv))
	}
	cfg := &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS13}

	conns := make([]*tls.Conn, n)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
		failed   atomic.Bool
	)
	for range min(n, idleDialers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				c, err := idleDial(addr, cfg)
				if err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("connection %d: %w", i, err) })
					failed.Store(true)
					return
				}
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	fmt.Fprintln(os.Stdout, "ready")
	io.Copy(io.Discard, os.Stdin) // until the benchmark closes it
}

// idleDial makes one client connection: handshake, message, echo.
func idleDial(addr string, cfg *tls.Config) (*tls.Conn, error) {
	raw, err := net.DialTimeout("tcp", addr, idleIOTimeout)
	if err != nil {
		return nil, err
	}
	c := tls.Client(raw, cfg)
	c.SetDeadline(time.Now().Add(idleIOTimeout))
	msg := bytes.Repeat([]byte{'m'}, idleMsgLen)
	echo := make([]byte, idleMsgLen)
	err = c.Handshake()
	if err == nil {
		_, err = c.Write(msg)
	}
	if err == nil {
		_, err = io.ReadFull(c, echo)
	}
	if err == nil && !bytes.Equal(msg, echo) {
		err = errors.New("echo differs from the message")
	}
	if err == nil {
		err = c.SetDeadline(time.Time{})
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// idleRaiseNofile makes sure the soft RLIMIT_NOFILE is at least need,
// raising it to the hard limit.
func idleRaiseNofile(need uint64) error {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return err
	}
	if r.Cur >= need {
		return nil
	}
	if r.Max < need {
		return fmt.Errorf("RLIMIT_NOFILE hard limit %d < %d fds needed: lower %s or raise ulimit -Hn", r.Max, need, idleConnsEnv)
	}
	r.Cur = r.Max
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r)
}

// idleMem is one measurement.
type idleMem struct {
	rss, heapInuse, stackInuse, sys int64 // bytes
	cBytes, cAllocs                 int64 // s2n's, through the binding's allocator
	goroutines                      int
}

func measureIdleMem(b *testing.B) idleMem {
	runtime.GC()
	runtime.GC()
	debug.FreeOSMemory()
	var m idleMem
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				b.Fatalf("VmRSS: %q: %v", line, err)
			}
			m.rss = kb * 1024
		}
	}
	if m.rss == 0 {
		b.Fatal("no VmRSS in /proc/self/status")
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.heapInuse, m.stackInuse, m.sys = int64(ms.HeapInuse), int64(ms.StackInuse), int64(ms.Sys)
	st := s2n.Stats()
	m.cBytes, m.cAllocs = st.CBytes, st.CAllocations
	m.goroutines = runtime.NumGoroutine()
	return m
}

func (m idleMem) String() string {
	return fmt.Sprintf("rss %d KiB, heap %d KiB, stacks %d KiB, go-sys %d KiB, s2n C %d KiB in %d allocations, %d goroutines",
		m.rss>>10, m.heapInuse>>10, m.stackInuse>>10, m.sys>>10, m.cBytes>>10, m.cAllocs, m.goroutines)
}

// idleServer is the server side: an accept loop and one goroutine per
// connection.
type idleServer struct {
	ln net.Listener
	wg sync.WaitGroup

	mu    sync.Mutex
	conns []net.Conn
	err   error

	idle       atomic.Int64 // handlers blocked in their second Read
	handlers   atomic.Int64 // handlers running
	expectIdle atomic.Bool  // from now on a second Read must not return
	stopping   atomic.Bool
	infoOnce   sync.Once
	info       string // negotiated parameters of the first connection
}

func (s *idleServer) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
}

func (s *idleServer) firstErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *idleServer) serve() {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := s.ln.Accept()
			if err != nil {
				if !s.stopping.Load() {
					s.fail(fmt.Errorf("accept: %w", err))
				}
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			s.handlers.Add(1)
			s.wg.Add(1)
			go s.handle(c)
		}
	}()
}

func (s *idleServer) handle(c net.Conn) {
	defer s.wg.Done()
	defer s.handlers.Add(-1)
	defer c.Close()
	var err error
	switch tc := c.(type) {
	case *tls.Conn:
		if err = tc.Handshake(); err == nil {
			s.infoOnce.Do(func() {
				st := tc.ConnectionState()
				s.info = fmt.Sprintf("%s %s %s", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite), st.CurveID)
			})
		}
	case *s2n.Conn:
		if err = tc.Handshake(); err == nil {
			s.infoOnce.Do(func() {
				info := tc.HandshakeInfo()
				s.info = fmt.Sprintf("%v %s %s", info.Version, info.CipherSuite, info.KeyExchangeGroup)
			})
		}
	default:
		err = fmt.Errorf("unexpected connection type %T", c)
	}
	if err != nil {
		s.fail(fmt.Errorf("server handshake: %w", err))
		return
	}
	buf := make([]byte, idleMsgLen)
	if _, err := io.ReadFull(c, buf); err != nil {
		s.fail(fmt.Errorf("server read: %w", err))
		return
	}
	if _, err := c.Write(buf); err != nil {
		s.fail(fmt.Errorf("server write: %w", err))
		return
	}
	s.idle.Add(1)
	n, err := c.Read(buf) // the idle keep-alive wait
	s.idle.Add(-1)
	if s.expectIdle.Load() && !s.stopping.Load() {
		s.fail(fmt.Errorf("idle connection woke up: read %d bytes, %v", n, err))
	}
}

func runIdleMemory(b *testing.B, k *keyPair, impl string, n int) {
	handles0 := s2n.Stats().Handles
	s := &idleServer{conns: make([]net.Conn, 0, n+1)}
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var cfg *s2n.Config
	var chain *s2n.CertChainAndKey
	switch impl {
	case "cryptotls":
		cert, err := tls.X509KeyPair(k.certPEM, k.keyPEM)
		if err != nil {
			tcp.Close()
			b.Fatal(err)
		}
		s.ln = tls.NewListener(tcp, &tls.Config{
			Certificates:           []tls.Certificate{cert},
			MinVersion:             tls.VersionTLS13,
			SessionTicketsDisabled: true,
		})
	case "binding", "binding-release":
		err := func() error {
			var err error
			if chain, err = s2n.NewCertChainAndKey(k.certPEM, k.keyPEM); err != nil {
				return err
			}
			if cfg, err = s2n.NewConfig(); err != nil {
				return err
			}
			if err := cfg.SetCipherPreferences(policyTLS13); err != nil {
				return err
			}
			if err := cfg.AddCertChainAndKey(chain); err != nil {
				return err
			}
			return cfg.SetReleaseBuffersWhenIdle(impl == "binding-release")
		}()
		if err != nil {
			tcp.Close()
			cfg.Close()
			chain.Close()
			b.Fatal(err)
		}
		s.ln = s2n.NewListener(tcp, cfg)
	default:
		b.Fatalf("unknown server %q", impl)
	}
	s.serve()
	addr := tcp.Addr().String()

	// The child, once started, and its output.
	var (
		cmd      *exec.Cmd
		stdin    io.WriteCloser
		stderr   bytes.Buffer
		outLines []string
		ready    = make(chan struct{})
		outDone  = make(chan struct{})
	)
	childOutput := func() string { // valid after teardown
		return fmt.Sprintf("child stdout:\n%s\nchild stderr:\n%s", strings.Join(outLines, "\n"), stderr.String())
	}

	// teardown stops everything; it returns what went wrong doing so.
	var tdOnce sync.Once
	var tdErr error
	teardown := func() error {
		tdOnce.Do(func() {
			var errs []error
			s.stopping.Store(true)
			if cmd != nil {
				stdin.Close()
				select {
				case <-outDone:
				case <-time.After(idleIOTimeout):
					errs = append(errs, errors.New("child did not exit after its stdin was closed: killed"))
					cmd.Process.Kill()
					<-outDone
				}
				if err := cmd.Wait(); err != nil {
					errs = append(errs, fmt.Errorf("child: %w", err))
				}
			}
			s.ln.Close()
			s.mu.Lock()
			conns := s.conns
			s.mu.Unlock()
			for _, c := range conns {
				c.Close()
			}
			done := make(chan struct{})
			go func() { s.wg.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(idleIOTimeout):
				errs = append(errs, fmt.Errorf("%d server goroutines still running %v after teardown", s.handlers.Load(), idleIOTimeout))
			}
			cfg.Close()
			chain.Close()
			tdErr = errors.Join(errs...)
		})
		return tdErr
	}
	defer func() {
		if err := teardown(); err != nil {
			b.Error(err)
		}
	}()
	fatal := func(format string, args ...any) {
		b.Helper()
		err := teardown()
		b.Fatalf("%s\n%v\n%s", fmt.Sprintf(format, args...), err, childOutput())
	}

	// Warm-up: one connection from this process, served and closed.
	wc, err := idleDial(addr, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13})
	if err != nil {
		fatal("warm-up: %v", err)
	}
	wc.Close()
	for deadline := time.Now().Add(idleIOTimeout); s.handlers.Load() > 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			fatal("warm-up connection's handler did not finish")
		}
	}
	if err := s.firstErr(); err != nil {
		fatal("warm-up: %v", err)
	}
	caFile := filepath.Join(b.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, k.certPEM, 0o600); err != nil {
		fatal("%v", err)
	}
	s.expectIdle.Store(true)

	base := measureIdleMem(b)

	cmd = exec.Command(os.Args[0], "-test.run=^TestIdleMemClient$", "-test.count=1")
	cmd.Env = append(os.Environ(), idleClientEnv+"="+addr+","+strconv.Itoa(n), idleCAEnv+"="+caFile)
	cmd.Stderr = &stderr
	if stdin, err = cmd.StdinPipe(); err != nil {
		fatal("%v", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		fatal("%v", err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		cmd = nil
		fatal("starting the client process: %v", err)
	}
	go func() {
		defer close(outDone)
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() {
			if line := sc.Text(); line == "ready" && !sent {
				sent = true
				close(ready)
			} else {
				outLines = append(outLines, line)
			}
		}
		io.Copy(io.Discard, stdout)
	}()

	// Wait for the child's "ready" and for N idle server connections.
	timeout := time.After(idleSetupTimeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	childReady := false
	readyC, exitC := ready, outDone
	for !childReady || s.idle.Load() < int64(n) {
		select {
		case <-readyC:
			childReady = true
			readyC = nil
		case <-exitC:
			if !childReady {
				fatal("client process ended before it was ready")
			}
			fatal("client process ended with %d of %d connections idle", s.idle.Load(), n)
		case <-timeout:
			fatal("after %v: child ready %v, %d of %d connections idle", idleSetupTimeout, childReady, s.idle.Load(), n)
		case <-tick.C:
		}
		if err := s.firstErr(); err != nil {
			fatal("%v", err)
		}
	}
	setup := time.Since(start)
	time.Sleep(200 * time.Millisecond)
	if got := s.idle.Load(); got != int64(n) {
		fatal("%d idle connections, want %d", got, n)
	}
	after := measureIdleMem(b)
	if err := s.firstErr(); err != nil {
		fatal("%v", err)
	}

	per := func(d int64) float64 { return float64(d) / 1024 / float64(n) }
	b.ReportMetric(per(after.rss-base.rss), "rss-KiB/conn")
	b.ReportMetric(per(after.heapInuse+after.stackInuse-base.heapInuse-base.stackInuse), "heap-KiB/conn")
	b.ReportMetric(per(after.cBytes-base.cBytes), "cmem-KiB/conn")
	b.ReportMetric(float64(n), "conns")
	b.Logf("%s: %s; %d connections established in %v", impl, s.info, n, setup.Round(time.Millisecond))
	b.Logf("baseline: %v", base)
	b.Logf("idle:     %v", after)
	b.Logf("per connection: go-sys %.2f KiB, s2n C allocations %.1f", per(after.sys-base.sys),
		float64(after.cAllocs-base.cAllocs)/float64(n))

	if err := teardown(); err != nil {
		b.Fatalf("%v\n%s", err, childOutput())
	}
	var handles int64
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if handles = s2n.Stats().Handles; handles == handles0 || time.Now().After(deadline) {
			break
		}
	}
	if handles != handles0 {
		b.Fatalf("s2n handles: %d after teardown, %d before", handles, handles0)
	}
}
