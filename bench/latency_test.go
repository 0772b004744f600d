package bench

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/s2n-go/s2n"
)

// BenchmarkLatency is the "latency hiding" benchmark: what a server does
// when its private key answers only after a remote round trip (a KMS, an
// HSM on the network, a signing service). The key is an in-memory ECDSA
// P-256 key wrapped in a crypto.Signer that sleeps for the delay before
// signing. Each op is one full TLS 1.3 handshake (ECDSA P-256 certificate,
// P-256 key exchange, no session tickets, no resumption) from a crypto/tls
// client in this process to a server in this process over loopback TCP: the
// client dials, handshakes and closes; the server (a goroutine per accepted
// connection) handshakes explicitly and closes. b.N handshakes are spread
// over C client goroutines, each taking the next ticket of a shared counter
// until b.N are done (so with b.N < C, at most b.N run at once). GOMAXPROCS
// is 2 for the run. Any handshake error, client or server side, fails the
// benchmark; so does a binding resource (s2n.Stats: Handles, PendingOps,
// Blinding) or a goroutine not released within 2 s of the end.
//
// Server modes, all with the same client and the same slow key:
//
//   - async: the binding's s2n.Conn with Config.AddCertChainWithSigner; each
//     signature runs on a goroutine of the binding, and the handshake's
//     goroutine parks until it is applied: no thread waits for the key.
//   - blocking: the binding's s2n.Conn with a public-only chain and a
//     Config.SetAsyncPkeyCallback callback that signs synchronously inside
//     the callback, then applies: the handshake holds its OS thread (inside
//     a cgo callback) for the whole delay. Validation is strict, as
//     AddCertChainWithSigner sets it for async.
//   - cryptotls: a crypto/tls server whose certificate's PrivateKey is the
//     slow signer (crypto/tls calls it on the handshake goroutine, which
//     parks while it sleeps).
//
// Sub-benchmarks: Latency/<mode>/c=<C> with the delay, for each mode
// (cryptotls, async, blocking, in that order) and each concurrency C; then
// Latency/cpubound/<mode> with no delay at C=64, the CPU-bound rate each
// mode reaches when the key answers at once.
//
// Metrics:
//
//   - handshakes/s: b.N over the wall time of the run.
//   - p50-ms, p99-ms: percentiles of one handshake's latency, from the
//     client's dial to the completion of its handshake.
//   - threads: the largest Threads: count of /proc/self/status, sampled
//     every 2 ms during the run; threads-start: the count before the run.
//
// Go never destroys idle OS threads: a mode that made many threads leaves
// them to the sub-benchmarks that follow it in the same process, so
// "threads" of a mode is meaningful only when that mode runs in its own
// process. The runner (make bench) does so, one invocation per mode:
// -test.bench 'Latency/cryptotls/', 'Latency/async/', 'Latency/blocking/',
// 'Latency/cpubound/'.
//
// Environment:
//
//   - S2N_BENCH_DELAY: the key's delay as a Go duration (default 10ms).
//   - S2N_BENCH_CONC: the concurrencies, comma-separated (default
//     1,2,4,8,16,32,64,128,256,512,1024); a smoke run might use "1,4".
//   - S2N_BENCH_CERTS: see loadKeys; its ecdsa.{crt,key} is the key used.
func BenchmarkLatency(b *testing.B) {
	delay, err := latencyDelay()
	if err != nil {
		b.Fatal(err)
	}
	concs, err := latencyConcs()
	if err != nil {
		b.Fatal(err)
	}
	k := loadKeys(b)["ecdsa"]
	for _, mode := range latencyModes {
		b.Run(mode, func(b *testing.B) {
			for _, c := range concs {
				b.Run(fmt.Sprintf("c=%d", c), func(b *testing.B) {
					runLatency(b, k, mode, delay, c)
				})
			}
		})
	}
	b.Run("cpubound", func(b *testing.B) {
		for _, mode := range latencyModes {
			b.Run(mode, func(b *testing.B) { runLatency(b, k, mode, 0, cpuboundConc) })
		}
	})
}

// The server modes, in the order they run.
const (
	modeCryptoTLS = "cryptotls"
	modeAsync     = "async"
	modeBlocking  = "blocking"
)

var latencyModes = []string{modeCryptoTLS, modeAsync, modeBlocking}

const (
	defaultLatencyDelay = 10 * time.Millisecond
	cpuboundConc        = 64
	latencyGOMAXPROCS   = 2
	// latencyTimeout bounds each handshake (and server connection), so a
	// hang fails the benchmark instead of stalling it.
	latencyTimeout = time.Minute
	// leakWait is how long resources get to return after a run.
	leakWait = 2 * time.Second
)

var defaultLatencyConcs = []int{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}

func latencyDelay() (time.Duration, error) {
	v := os.Getenv("S2N_BENCH_DELAY")
	if v == "" {
		return defaultLatencyDelay, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("S2N_BENCH_DELAY=%q: want a non-negative Go duration", v)
	}
	return d, nil
}

func latencyConcs() ([]int, error) {
	v := os.Getenv("S2N_BENCH_CONC")
	if v == "" {
		return defaultLatencyConcs, nil
	}
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("S2N_BENCH_CONC=%q: want positive integers, comma-separated", v)
		}
		out = append(out, n)
	}
	return out, nil
}

// slowSigner is the remote key: it waits delay, then signs with key.
type slowSigner struct {
	key   *ecdsa.PrivateKey
	delay time.Duration
	signs atomic.Int64 // so the run can check every handshake used this key
}

func (s *slowSigner) Public() crypto.PublicKey { return s.key.Public() }

func (s *slowSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	s.signs.Add(1)
	if s.delay > 0 {
		time.Sleep(s.delay)
	}
	return s.key.Sign(r, digest, opts)
}

// blockingSign is the blocking mode's callback body: the op is completed
// synchronously inside the callback, with the same signer, on the calling
// thread.
func blockingSign(key crypto.Signer, conn *s2n.Connection, op *s2n.AsyncPkeyOp) error {
	defer op.Free()
	if err := op.PerformWithSigner(conn, key); err != nil {
		return err
	}
	return op.Apply(conn)
}

// latencyServer is a listener of one mode with its accept loop and one
// goroutine per connection.
type latencyServer struct {
	mode      string
	ln        net.Listener
	s2nConfig *s2n.Config // async, blocking
	tlsConfig *tls.Config // cryptotls

	acceptDone chan struct{}
	conns      sync.WaitGroup

	errs     atomic.Int64
	errMu    sync.Mutex
	firstErr error
}

func (s *latencyServer) fail(err error) {
	s.errs.Add(1)
	s.errMu.Lock()
	if s.firstErr == nil {
		s.firstErr = err
	}
	s.errMu.Unlock()
}

func (s *latencyServer) err() error {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	if s.firstErr == nil {
		return nil
	}
	return fmt.Errorf("%d server errors, the first: %w", s.errs.Load(), s.firstErr)
}

func newLatencyServer(k *keyPair, mode string, signer *slowSigner) (*latencyServer, error) {
	s := &latencyServer{mode: mode, acceptDone: make(chan struct{})}
	var err error
	switch mode {
	case modeAsync:
		s.s2nConfig, err = newS2NServerConfig(func(cfg *s2n.Config) error {
			return cfg.AddCertChainWithSigner(k.certPEM, signer)
		})
	case modeBlocking:
		s.s2nConfig, err = newS2NServerConfig(func(cfg *s2n.Config) error {
			chain, err := s2n.NewPublicCertChain(k.certPEM)
			if err != nil {
				return err
			}
			defer chain.Close() // the Config keeps its own reference
			if err := cfg.AddCertChainAndKey(chain); err != nil {
				return err
			}
			if err := cfg.SetAsyncPkeyValidationMode(s2n.ValidationStrict); err != nil {
				return err
			}
			return cfg.SetAsyncPkeyCallback(func(conn *s2n.Connection, op *s2n.AsyncPkeyOp) error {
				return blockingSign(signer, conn, op)
			})
		})
	case modeCryptoTLS:
		var chain [][]byte
		for rest := k.certPEM; ; {
			var blk *pem.Block
			if blk, rest = pem.Decode(rest); blk == nil {
				break
			}
			if blk.Type == "CERTIFICATE" {
				chain = append(chain, blk.Bytes)
			}
		}
		s.tlsConfig = &tls.Config{
			Certificates:           []tls.Certificate{{Certificate: chain, PrivateKey: signer}},
			MinVersion:             tls.VersionTLS13,
			CurvePreferences:       []tls.CurveID{tls.CurveP256},
			SessionTicketsDisabled: true, // as s2n's default: nothing sent after Finished
		}
	default:
		err = fmt.Errorf("unknown mode %q", mode)
	}
	if err != nil {
		return nil, err
	}
	// net.Listen's backlog is somaxconn: enough for 1024 dials at once.
	if s.ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		if s.s2nConfig != nil {
			s.s2nConfig.Close()
		}
		return nil, err
	}
	go s.acceptLoop()
	return s, nil
}

func newS2NServerConfig(addCert func(*s2n.Config) error) (*s2n.Config, error) {
	cfg, err := s2n.NewConfig()
	if err != nil {
		return nil, err
	}
	if err = cfg.SetCipherPreferences(policyTLS13); err == nil {
		err = addCert(cfg)
	}
	if err != nil {
		cfg.Close()
		return nil, err
	}
	return cfg, nil
}

func (s *latencyServer) acceptLoop() {
	defer close(s.acceptDone)
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				s.fail(fmt.Errorf("accept: %w", err))
			}
			return
		}
		s.conns.Add(1)
		go s.serve(c)
	}
}

func (s *latencyServer) serve(raw net.Conn) {
	defer s.conns.Done()
	type handshaker interface {
		net.Conn
		Handshake() error
	}
	var c handshaker
	if s.s2nConfig != nil {
		c = s2n.Server(raw, s.s2nConfig)
	} else {
		c = tls.Server(raw, s.tlsConfig)
	}
	c.SetDeadline(time.Now().Add(latencyTimeout))
	if err := c.Handshake(); err != nil {
		s.fail(fmt.Errorf("server handshake: %w", err))
	} else if sc, ok := c.(*s2n.Conn); ok {
		// The mode is what it claims: async offloads, blocking does not.
		if got, want := sc.HandshakeInfo().KeyOffloaded, s.mode == modeAsync; got != want {
			s.fail(fmt.Errorf("%s server: KeyOffloaded = %v", s.mode, got))
		}
	}
	c.Close() // after a completed handshake the client may be gone already: no error matters here
}

// stop closes the listener and waits for the accept loop and every
// connection's goroutine, then releases the s2n Config.
func (s *latencyServer) stop() {
	s.ln.Close()
	<-s.acceptDone
	s.conns.Wait()
	if s.s2nConfig != nil {
		s.s2nConfig.Close()
	}
}

// latencyClient dials addr and runs one handshake.
type latencyClient struct {
	addr   string
	config *tls.Config
}

func newLatencyClient(k *keyPair, addr string) (*latencyClient, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(k.certPEM) {
		return nil, errors.New("no certificate in the ecdsa PEM")
	}
	blk, _ := pem.Decode(k.certPEM)
	leaf, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, err
	}
	name := leaf.Subject.CommonName
	if len(leaf.DNSNames) > 0 {
		name = leaf.DNSNames[0]
	}
	return &latencyClient{addr: addr, config: &tls.Config{
		RootCAs:          pool,
		ServerName:       name,
		MinVersion:       tls.VersionTLS13,
		CurvePreferences: []tls.CurveID{tls.CurveP256}, // s2n's default_tls13 first choice, for every mode
	}}, nil
}

// handshake returns the time from the dial to the completion of the
// client's handshake.
func (c *latencyClient) handshake() (time.Duration, error) {
	t0 := time.Now()
	d := net.Dialer{Timeout: latencyTimeout}
	raw, err := d.Dial("tcp", c.addr)
	if err != nil {
		return 0, err
	}
	conn := tls.Client(raw, c.config)
	defer conn.Close()
	conn.SetDeadline(t0.Add(latencyTimeout))
	if err := conn.Handshake(); err != nil {
		return 0, fmt.Errorf("client handshake: %w", err)
	}
	lat := time.Since(t0)
	if v := conn.ConnectionState().Version; v != tls.VersionTLS13 {
		return 0, fmt.Errorf("negotiated %s, not TLS 1.3", tls.VersionName(v))
	}
	return lat, nil
}

// procThreads reads the Threads: line of /proc/self/status.
func procThreads() (int, error) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for line := range bytes.Lines(data) {
		if v, ok := bytes.CutPrefix(line, []byte("Threads:")); ok {
			return strconv.Atoi(string(bytes.TrimSpace(v)))
		}
	}
	return 0, errors.New("no Threads: line in /proc/self/status")
}

// sampleThreads records the largest thread count every 2 ms until stop is
// closed, then sends it.
func sampleThreads(stop <-chan struct{}, result chan<- int) {
	peak := 0
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		if n, err := procThreads(); err == nil && n > peak {
			peak = n
		}
		select {
		case <-tick.C:
		case <-stop:
			if n, err := procThreads(); err == nil && n > peak {
				peak = n
			}
			result <- peak
			return
		}
	}
}

func runLatency(b *testing.B, k *keyPair, mode string, delay time.Duration, conc int) {
	stats0, goroutines0 := s2n.Stats(), runtime.NumGoroutine()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(latencyGOMAXPROCS)) // set now, restored at return

	tk, err := tls.X509KeyPair(k.certPEM, k.keyPEM)
	if err != nil {
		b.Fatal(err)
	}
	key, ok := tk.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		b.Fatalf("ecdsa key is a %T", tk.PrivateKey)
	}
	signer := &slowSigner{key: key, delay: delay}
	srv, err := newLatencyServer(k, mode, signer)
	if err != nil {
		b.Fatal(err)
	}
	stopped := false
	defer func() { // on a b.Fatal before the normal stop
		if !stopped {
			srv.stop()
		}
	}()
	client, err := newLatencyClient(k, srv.ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	// Warm up: the first handshake pays for lazy initialisation.
	if _, err := client.handshake(); err != nil {
		b.Fatalf("warm-up: %v (server: %v)", err, srv.err())
	}
	threads0, err := procThreads()
	if err != nil {
		b.Fatal(err)
	}

	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var failed atomic.Bool
	var errMu sync.Mutex
	var firstErr error
	var workers sync.WaitGroup
	stopSampler, peak := make(chan struct{}), make(chan int, 1)
	go sampleThreads(stopSampler, peak)

	b.ResetTimer()
	t0 := time.Now()
	for range conc {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for !failed.Load() {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				d, err := client.handshake()
				if err != nil {
					errMu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("handshake %d: %w", i, err)
					}
					errMu.Unlock()
					failed.Store(true)
					return
				}
				lat[i] = d
			}
		}()
	}
	workers.Wait()
	elapsed := time.Since(t0)
	b.StopTimer()
	close(stopSampler)
	threads := <-peak

	srv.stop()
	stopped = true
	if firstErr != nil {
		b.Fatalf("%v (server: %v)", firstErr, srv.err())
	}
	if err := srv.err(); err != nil {
		b.Fatal(err)
	}
	if got, want := signer.signs.Load(), int64(b.N)+1; got != want { // +1: the warm-up
		b.Fatalf("the slow key signed %d times for %d handshakes", got, want)
	}

	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "handshakes/s")
	ms := make([]float64, len(lat))
	for i, d := range lat {
		ms[i] = float64(d) / float64(time.Millisecond)
	}
	slices.Sort(ms)
	b.ReportMetric(median(ms), "p50-ms")
	b.ReportMetric(ms[int(math.Ceil(0.99*float64(len(ms))))-1], "p99-ms")
	b.ReportMetric(float64(threads), "threads")
	b.ReportMetric(float64(threads0), "threads-start")
	b.ReportMetric(float64(delay)/float64(time.Millisecond), "delay-ms")
	b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "gomaxprocs")

	checkLatencyLeaks(b, stats0, goroutines0)
}

// checkLatencyLeaks waits up to leakWait for the binding's handles, pending
// operations and blinded connections, and for the goroutines, to come back
// to what they were before the run.
func checkLatencyLeaks(b *testing.B, stats0 s2n.RuntimeStats, goroutines0 int) {
	b.Helper()
	deadline := time.Now().Add(leakWait)
	for {
		st, g := s2n.Stats(), runtime.NumGoroutine()
		if st.Handles == stats0.Handles && st.PendingOps == stats0.PendingOps &&
			st.Blinding == stats0.Blinding && g <= goroutines0 {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("not released %v after the run: handles %d (was %d), pending ops %d (was %d), blinding %d (was %d), goroutines %d (was %d)",
				leakWait, st.Handles, stats0.Handles, st.PendingOps, stats0.PendingOps,
				st.Blinding, stats0.Blinding, g, goroutines0)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
