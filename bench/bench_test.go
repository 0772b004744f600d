package bench

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/s2n-go/s2n"
)

// The two policies of the matrix, as in the native driver.
const (
	policyTLS13 = "default_tls13"
	policyTLS12 = "ELBSecurityPolicy-TLS-1-2-Ext-2018-06"
)

// recvBufSize is the server's Recv buffer in the bulk benchmarks (the native
// driver's RECV_BUF).
const recvBufSize = 16 * 1024

var (
	keysOnce sync.Once
	keys     map[string]*keyPair
	keysErr  error
)

// loadKeys reads the PEM files from S2N_BENCH_CERTS (shared with the native
// driver) or generates throwaway ones.
func loadKeys(tb testing.TB) map[string]*keyPair {
	tb.Helper()
	keysOnce.Do(func() {
		keys = map[string]*keyPair{}
		dir := os.Getenv("S2N_BENCH_CERTS")
		for _, name := range []string{"ecdsa", "rsa"} {
			var k *keyPair
			if dir != "" {
				k = &keyPair{name: name}
				if k.certPEM, keysErr = os.ReadFile(filepath.Join(dir, name+".crt")); keysErr != nil {
					return
				}
				if k.keyPEM, keysErr = os.ReadFile(filepath.Join(dir, name+".key")); keysErr != nil {
					return
				}
			} else if k, keysErr = generateKey(name); keysErr != nil {
				return
			}
			keys[name] = k
		}
	})
	if keysErr != nil {
		tb.Fatal(keysErr)
	}
	return keys
}

func generateKey(name string) (*keyPair, error) {
	var priv crypto.Signer
	var err error
	if name == "rsa" {
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	} else {
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "localhost"},
		DNSNames:              []string{"localhost"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(48 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	return &keyPair{
		name:    name,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

// env is what one benchmark shares across its handshakes.
type env struct {
	server, client *s2n.Config
	chain          *s2n.CertChainAndKey
	fds            [2]int // server's, client's: a non-blocking socketpair
	mode           cbMode

	queue     []queued   // cbAsync: ops raised during the last Negotiate
	done      chan error // cbGoroutine: one completion per op
	callbacks atomic.Int64
}

type queued struct {
	conn *s2n.Connection
	op   *s2n.AsyncPkeyOp
}

// complete does what the native driver's complete() does: the selected
// chain's key performs the op, which is applied, then freed.
func complete(conn *s2n.Connection, op *s2n.AsyncPkeyOp) error {
	defer op.Free()
	cert, err := conn.SelectedCert()
	if err != nil {
		return err
	}
	key, err := cert.PrivateKey()
	if err != nil {
		return err
	}
	if err := op.Perform(key); err != nil {
		return err
	}
	return op.Apply(conn)
}

func newEnv(tb testing.TB, k *keyPair, policy string, mode cbMode) *env {
	tb.Helper()
	e := &env{mode: mode, done: make(chan error, 1)}
	must := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	var err error
	e.chain, err = s2n.NewCertChainAndKey(k.certPEM, k.keyPEM)
	must(err)
	e.server, err = s2n.NewConfig()
	must(err)
	must(e.server.SetCipherPreferences(policy))
	must(e.server.AddCertChainAndKey(e.chain))
	switch mode {
	case cbSync:
		must(e.server.SetAsyncPkeyCallback(func(conn *s2n.Connection, op *s2n.AsyncPkeyOp) error {
			e.callbacks.Add(1)
			return complete(conn, op)
		}))
	case cbAsync:
		must(e.server.SetAsyncPkeyCallback(func(conn *s2n.Connection, op *s2n.AsyncPkeyOp) error {
			e.callbacks.Add(1)
			e.queue = append(e.queue, queued{conn, op})
			return nil
		}))
	case cbGoroutine:
		must(e.server.SetAsyncPkeyCallback(func(conn *s2n.Connection, op *s2n.AsyncPkeyOp) error {
			e.callbacks.Add(1)
			go func() { e.done <- complete(conn, op) }()
			return nil
		}))
	}
	e.client, err = s2n.NewConfig()
	must(err)
	must(e.client.SetCipherPreferences(policy))
	must(e.client.WipeTrustStore())
	must(e.client.AddPEMToTrustStore(k.certPEM))

	e.fds, err = syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	must(err)
	for _, fd := range e.fds {
		must(syscall.SetNonblock(fd, true))
	}
	tb.Cleanup(func() {
		e.server.Close()
		e.client.Close()
		e.chain.Close()
		syscall.Close(e.fds[0])
		syscall.Close(e.fds[1])
	})
	return e
}

// setup sets on conn what the native driver's conn_setup sets (again after
// a Wipe).
func (e *env) setup(conn *s2n.Connection, mode s2n.Mode, wiped bool) error {
	if !wiped {
		cfg := e.server
		if mode == s2n.ModeClient {
			cfg = e.client
		}
		if err := conn.SetConfig(cfg); err != nil {
			return err
		}
	}
	fd := e.fds[0]
	if mode == s2n.ModeClient {
		fd = e.fds[1]
	}
	if err := conn.SetFd(fd); err != nil {
		return err
	}
	if err := conn.SetBlinding(s2n.SelfServiceBlinding); err != nil {
		return err
	}
	if mode == s2n.ModeClient {
		return conn.SetServerName("localhost")
	}
	return nil
}

func (e *env) newPair() (server, client *s2n.Connection, err error) {
	if server, err = s2n.NewConnection(s2n.ModeServer); err != nil {
		return nil, nil, err
	}
	if client, err = s2n.NewConnection(s2n.ModeClient); err != nil {
		server.Close()
		return nil, nil, err
	}
	if err = e.setup(server, s2n.ModeServer, false); err == nil {
		err = e.setup(client, s2n.ModeClient, false)
	}
	if err != nil {
		server.Close()
		client.Close()
		return nil, nil, err
	}
	return server, client, nil
}

// established returns a pair that has done its handshake, closed when the
// test or benchmark ends.
func (e *env) established(tb testing.TB) (server, client *s2n.Connection) {
	tb.Helper()
	server, client, err := e.newPair()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		server.Close()
		client.Close()
	})
	if err := e.handshake(server, client); err != nil {
		tb.Fatal(err)
	}
	return server, client
}

func (e *env) wipe(server, client *s2n.Connection) error {
	for _, c := range []struct {
		conn *s2n.Connection
		mode s2n.Mode
	}{{server, s2n.ModeServer}, {client, s2n.ModeClient}} {
		if err := c.conn.Wipe(); err != nil {
			return err
		}
		if err := e.setup(c.conn, c.mode, true); err != nil {
			return err
		}
	}
	return nil
}

// handshake drives both sides in turns, client first, until both are done:
// the native driver's loop.
func (e *env) handshake(server, client *s2n.Connection) error {
	cdone, sdone := false, false
	for i := 0; !(cdone && sdone); i++ {
		if i > 10000 {
			return errors.New("handshake does not finish")
		}
		if !cdone {
			_, err := client.Negotiate()
			if err != nil && !errors.Is(err, s2n.ErrBlocked) {
				return fmt.Errorf("client: %w", err)
			}
			cdone = err == nil
		}
		if !sdone {
			blocked, err := server.Negotiate()
			if err != nil && !errors.Is(err, s2n.ErrBlocked) {
				return fmt.Errorf("server: %w", err)
			}
			sdone = err == nil
			if err != nil && blocked == s2n.BlockedOnApplicationInput {
				switch e.mode {
				case cbAsync:
					for _, q := range e.queue {
						if err := complete(q.conn, q.op); err != nil {
							return err
						}
					}
					e.queue = e.queue[:0]
				case cbGoroutine:
					if err := <-e.done; err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// oneHandshake runs one full handshake the way the benchmark does.
func (e *env) oneHandshake(server, client *s2n.Connection) error {
	if e.mode == cbReuse {
		if err := e.handshake(server, client); err != nil {
			return err
		}
		return e.wipe(server, client)
	}
	server, client, err := e.newPair()
	if err != nil {
		return err
	}
	err = e.handshake(server, client)
	server.Close()
	client.Close()
	return err
}

// BenchmarkHandshake: full handshakes (fresh connections each, except
// "reuse"), client and server in this goroutine. Metrics: handshakes/s,
// Go→C cgo calls and C→Go callbacks per handshake, allocations.
func BenchmarkHandshake(b *testing.B) {
	ks := loadKeys(b)
	for _, kname := range []string{"ecdsa", "rsa"} {
		b.Run(kname, func(b *testing.B) {
			for _, v := range []struct{ name, policy string }{{"tls13", policyTLS13}, {"tls12", policyTLS12}} {
				b.Run(v.name, func(b *testing.B) {
					for _, mode := range cbModes {
						b.Run(string(mode), func(b *testing.B) {
							benchHandshake(b, ks[kname], v.policy, mode)
						})
					}
				})
			}
		})
	}
}

func benchHandshake(b *testing.B, k *keyPair, policy string, mode cbMode) {
	e := newEnv(b, k, policy, mode)
	var server, client *s2n.Connection
	if mode == cbReuse {
		var err error
		if server, client, err = e.newPair(); err != nil {
			b.Fatal(err)
		}
		defer server.Close()
		defer client.Close()
	}
	// Warm up: the first handshake pays for lazy initialisation.
	if err := e.oneHandshake(server, client); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	calls0, cb0, c2go0 := runtime.NumCgoCall(), e.callbacks.Load(), s2n.Stats().Callbacks
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if err := e.oneHandshake(server, client); err != nil {
			b.Fatal(err)
		}
	}
	cpu := cpuTime() - cpu0
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(n/b.Elapsed().Seconds(), "handshakes/s")
	b.ReportMetric(n/cpu, "handshakes/cpu-s")
	b.ReportMetric(float64(runtime.NumCgoCall()-calls0)/n, "cgocalls/op")
	b.ReportMetric(float64(e.callbacks.Load()-cb0)/n, "callbacks/op")
	if countingCallbacks {
		b.ReportMetric(float64(s2n.Stats().Callbacks-c2go0)/n, "c2go/op")
	}
}

// cpuTime is the CPU time of the whole process (every thread, the Go
// runtime's included), in seconds, as the native driver measures it.
func cpuTime() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// transfer moves len(buf) bytes from client to server: send what fits,
// receive what came, until the server has it all (the native driver's loop).
func transfer(server, client *s2n.Connection, buf, rbuf []byte) error {
	sent, recvd := 0, 0
	for recvd < len(buf) {
		if sent < len(buf) {
			n, _, err := client.Send(buf[sent:])
			if err != nil && !errors.Is(err, s2n.ErrBlocked) {
				return fmt.Errorf("send: %w", err)
			}
			sent += n
		}
		n, _, err := server.Recv(rbuf)
		if err != nil && !errors.Is(err, s2n.ErrBlocked) {
			return fmt.Errorf("recv: %w", err)
		}
		if n == 0 && err == nil {
			return errors.New("unexpected EOF")
		}
		recvd += n
	}
	return nil
}

var bulkSizes = []struct {
	name string
	size int
}{{"1KiB", 1 << 10}, {"16KiB", 16 << 10}, {"1MiB", 1 << 20}}

// BenchmarkBulk: application data client → server, TLS 1.3 with
// TLS_AES_128_GCM_SHA256 over the ECDSA certificate, one write of the given
// size per op through Send, received through Recv into a 16 KiB buffer.
// Metrics: MB/s (10^6 bytes), cgo calls and allocations per write.
func BenchmarkBulk(b *testing.B) {
	k := loadKeys(b)["ecdsa"]
	for _, sz := range bulkSizes {
		b.Run(sz.name, func(b *testing.B) {
			e := newEnv(b, k, policyTLS13, cbNone)
			server, client := e.established(b)
			buf := make([]byte, sz.size)
			for i := range buf {
				buf[i] = 'x'
			}
			rbuf := make([]byte, recvBufSize)
			if err := transfer(server, client, buf, rbuf); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			calls0 := runtime.NumCgoCall()
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				if err := transfer(server, client, buf, rbuf); err != nil {
					b.Fatal(err)
				}
			}
			cpu := cpuTime() - cpu0
			b.StopTimer()
			n := float64(b.N)
			b.ReportMetric(n*float64(sz.size)/b.Elapsed().Seconds()/1e6, "MB/s")
			b.ReportMetric(n*float64(sz.size)/cpu/1e6, "MB/cpu-s")
			b.ReportMetric(float64(runtime.NumCgoCall()-calls0)/n, "cgocalls/op")
		})
	}
}

// BenchmarkCall puts a number on one crossing of the binding: "getter" is
// ProtocolVersion (one cgo call that does almost nothing in C), and
// "recv-blocked" a Recv on an empty socket (a read(2) that fails with EAGAIN,
// and the ErrBlocked error the binding builds). The native driver's
// BenchmarkCall/getter and BenchmarkCall/recv-blocked do the same in C.
func BenchmarkCall(b *testing.B) {
	for _, name := range []string{"getter", "recv-blocked"} {
		b.Run(name, func(b *testing.B) {
			e := newEnv(b, loadKeys(b)["ecdsa"], policyTLS13, cbNone)
			server, _ := e.established(b)
			rbuf := make([]byte, recvBufSize)
			b.ReportAllocs()
			calls0 := runtime.NumCgoCall()
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				if name == "getter" {
					if server.ProtocolVersion() != s2n.TLS13 {
						b.Fatal("not TLS 1.3")
					}
				} else if _, _, err := server.Recv(rbuf); !errors.Is(err, s2n.ErrBlocked) {
					b.Fatalf("recv on an empty socket: %v", err)
				}
			}
			cpu := cpuTime() - cpu0
			b.StopTimer()
			n := float64(b.N)
			b.ReportMetric(n/b.Elapsed().Seconds(), "calls/s")
			b.ReportMetric(n/cpu, "calls/cpu-s")
			b.ReportMetric(float64(runtime.NumCgoCall()-calls0)/n, "cgocalls/op")
		})
	}
}
