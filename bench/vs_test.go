package bench

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"runtime"
	"testing"

	"github.com/s2n-go/s2n"
)

// BenchmarkVsCryptoTLS: full handshakes, side by side in one process and in
// alternating batches (see sideBySide), of four implementations, each
// talking to itself, client and server in one process:
//
//   - native: the native driver's C code, one thread, AF_UNIX socketpair;
//   - binding: the binding's low-level API, one goroutine, the same
//     socketpair (BenchmarkInProcess's binding side);
//   - binding-conn: the binding's net.Conn layer (s2n.Server, s2n.Client),
//     a goroutine per side, over a fresh in-memory pipe (memConnPair);
//   - cryptotls: Go's crypto/tls the same way.
//
// GOMAXPROCS is 1 for the run: every side then runs on one thread, and the
// two Go sides' goroutines hand over to each other without the kernel (over
// a socketpair and two threads, wake-ups and context switches were half the
// CPU time of both Go sides, hiding the TLS work being compared).
//
// Key modes: "key", the key in memory (s2n uses it itself; crypto/tls gets
// the *ecdsa/*rsa.PrivateKey); "signer", the key behind a crypto.Signer
// (binding-conn: AddCertChainWithSigner; crypto/tls: the same Signer,
// wrapped so it cannot recognise the key type; native and binding: the async
// op completed by another thread / goroutine, mode offthread).
//
// crypto/tls is given the group and cipher suite s2n negotiates (checked
// before measuring), so both do the same cryptography. Metrics: each side's
// handshakes/s, ratio-cryptotls-* (binding / crypto/tls),
// ratio-binding-conn-cryptotls-*, ratio-native-* (binding / native) and
// ratio-native-cryptotls-* (native / crypto/tls: the ceiling of the first).
func BenchmarkVsCryptoTLS(b *testing.B) {
	ks := loadKeys(b)
	for _, kname := range []string{"ecdsa", "rsa"} {
		b.Run("handshake/"+kname, func(b *testing.B) {
			for _, v := range []struct{ name, policy string }{{"tls13", policyTLS13}, {"tls12", policyTLS12}} {
				b.Run(v.name, func(b *testing.B) {
					for _, keyMode := range []string{"key", "signer"} {
						b.Run(keyMode, func(b *testing.B) {
							vsHandshakes(b, ks[kname], v.policy, keyMode == "signer")
						})
					}
				})
			}
		})
	}
}

// opaqueSigner hides the key's type from crypto/tls.
type opaqueSigner struct{ crypto.Signer }

// goPair is a client and server configuration of one Go-side
// implementation: s2n's Conn layer or crypto/tls.
type goPair struct {
	server func(net.Conn) handshaker
	client func(net.Conn) handshaker
}

type handshaker interface {
	net.Conn
	Handshake() error
}

func vsHandshakes(b *testing.B, k *keyPair, policy string, signer bool) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	mode := cbNone
	if signer {
		mode = cbGoroutine
	}
	e := newEnv(b, k, policy, mode)
	nat, err := newNative(k, policy, mode)
	if err != nil {
		b.Fatal(err)
	}
	defer nat.free()

	conn := bindingConnPair(b, k, policy, signer)
	state := connPairState(b, conn)
	gotls := cryptoTLSPair(b, k, state, signer)
	goState := connPairState(b, gotls)
	if goState != state {
		b.Fatalf("crypto/tls negotiates %+v, s2n %+v", goState, state)
	}

	binding := func(n int) {
		for range n {
			if err := e.oneHandshake(nil, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
	sides := []side{
		{"native", nat.handshakes},
		{"binding", binding},
		{"binding-conn", pairHandshakes(b, conn)},
		{"cryptotls", pairHandshakes(b, gotls)},
	}
	for _, s := range sides {
		s.run(1) // warm up
	}
	sideBySide(b, 1, "handshakes", 1, sides, []ratio{
		{"binding", "cryptotls"}, {"binding-conn", "cryptotls"}, {"binding", "native"},
		{"native", "cryptotls"}, // the ceiling: what s2n itself does against crypto/tls
	})
}

// negotiated is what must match between the two Go-side implementations.
type negotiated struct {
	version uint16
	suite   uint16
	group   tls.CurveID
}

// connPairState runs one handshake of p and returns its parameters.
func connPairState(b *testing.B, p goPair) negotiated {
	var st negotiated
	err := onePairHandshake(p, func(server handshaker) {
		// Both report IANA codes (s2n's Conn as crypto/tls does).
		cs := server.(interface{ ConnectionState() tls.ConnectionState }).ConnectionState()
		st = negotiated{cs.Version, cs.CipherSuite, cs.CurveID}
	})
	if err != nil {
		b.Fatal(err)
	}
	return st
}

// bindingConnPair: s2n's Conn layer with the env's policy.
func bindingConnPair(b *testing.B, k *keyPair, policy string, signer bool) goPair {
	return bindingConnPairWith(b, k, policy, signer, nil)
}

// bindingConnPairWith also applies configure to both Configs.
func bindingConnPairWith(b *testing.B, k *keyPair, policy string, signer bool, configure func(*s2n.Config) error) goPair {
	must := func(err error) {
		b.Helper()
		if err != nil {
			b.Fatal(err)
		}
	}
	server, err := s2n.NewConfig()
	must(err)
	must(server.SetCipherPreferences(policy))
	if signer {
		must(server.AddCertChainWithSigner(k.certPEM, parseKey(b, k)))
	} else {
		chain, err := s2n.NewCertChainAndKey(k.certPEM, k.keyPEM)
		must(err)
		defer chain.Close() // the Config keeps its own reference
		must(server.AddCertChainAndKey(chain))
	}
	client, err := s2n.NewConfig()
	must(err)
	must(client.SetCipherPreferences(policy))
	must(client.WipeTrustStore())
	must(client.AddPEMToTrustStore(k.certPEM))
	if configure != nil {
		must(configure(server))
		must(configure(client))
	}
	b.Cleanup(func() {
		server.Close()
		client.Close()
	})
	return goPair{
		server: func(c net.Conn) handshaker { return s2n.Server(c, server) },
		client: func(c net.Conn) handshaker { return s2n.Client(c, client, "localhost") },
	}
}

// cryptoTLSPair: crypto/tls limited to what s2n negotiated.
func cryptoTLSPair(b *testing.B, k *keyPair, want negotiated, signer bool) goPair {
	cert, err := tls.X509KeyPair(k.certPEM, k.keyPEM)
	if err != nil {
		b.Fatal(err)
	}
	if signer {
		cert.PrivateKey = opaqueSigner{cert.PrivateKey.(crypto.Signer)}
	}
	group := want.group
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(k.certPEM)
	server := &tls.Config{
		Certificates:     []tls.Certificate{cert},
		MinVersion:       want.version,
		MaxVersion:       want.version,
		CurvePreferences: []tls.CurveID{group},
	}
	client := &tls.Config{
		RootCAs:          pool,
		ServerName:       "localhost",
		MinVersion:       want.version,
		MaxVersion:       want.version,
		CurvePreferences: []tls.CurveID{group},
	}
	if want.version == tls.VersionTLS12 {
		server.CipherSuites = []uint16{want.suite}
	}
	return goPair{
		server: func(c net.Conn) handshaker { return tls.Server(c, server) },
		client: func(c net.Conn) handshaker { return tls.Client(c, client) },
	}
}

func parseKey(b *testing.B, k *keyPair) crypto.Signer {
	cert, err := tls.X509KeyPair(k.certPEM, k.keyPEM)
	if err != nil {
		b.Fatal(err)
	}
	return cert.PrivateKey.(crypto.Signer)
}

// onePairHandshake: a fresh in-memory pipe, the client's handshake on a
// goroutine, the server's here; inspect sees the server side before both
// are closed.
func onePairHandshake(p goPair, inspect func(server handshaker)) error {
	sc, cc := memConnPair()
	server, client := p.server(sc), p.client(cc)
	done := make(chan error, 1)
	go func() {
		done <- client.Handshake()
	}()
	serr := server.Handshake()
	if serr != nil {
		server.Close() // unblocks the client
	}
	cerr := <-done
	if inspect != nil && serr == nil && cerr == nil {
		inspect(server)
	}
	client.Close()
	server.Close()
	if serr != nil {
		return fmt.Errorf("server: %w", serr)
	}
	if cerr != nil {
		return fmt.Errorf("client: %w", cerr)
	}
	return nil
}

func pairHandshakes(b *testing.B, p goPair) func(int) {
	return func(n int) {
		for range n {
			if err := onePairHandshake(p, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkLoopback: bulk data client → server through a net.Conn over
// loopback TCP, one write of the given size per op, a writer goroutine (a
// thread natively) sending while the benchmark's goroutine receives into a
// 16 KiB buffer; TLS 1.3, TLS_AES_128_GCM_SHA256, the ECDSA certificate.
// Sides: native (inproc_tcp: s2n_send/s2n_recv on blocking sockets),
// binding (s2n.Conn) and cryptotls, alternating in batches of about 4 MiB.
// s2n sends 16 KiB records on both sides (native: prefer_throughput and
// recv buffering; binding: SetMaxFragmentLength(16384)), as crypto/tls does
// after its first 128 KiB; s2n's default is about 8 KiB.
func BenchmarkLoopback(b *testing.B) {
	k := loadKeys(b)["ecdsa"]
	for _, sz := range bulkSizes {
		b.Run(sz.name, func(b *testing.B) { loopback(b, k, sz.size) })
	}
}

func loopback(b *testing.B, k *keyPair, size int) {
	nat, err := newNative(k, policyTLS13, cbNone)
	if err != nil {
		b.Fatal(err)
	}
	defer nat.free()
	ntcp := nat.tcp()
	defer ntcp.free()

	conn := bindingConnPairWith(b, k, policyTLS13, false, func(c *s2n.Config) error { return c.SetMaxFragmentLength(16384) })
	gotls := cryptoTLSPair(b, k, connPairState(b, conn), false)
	bs, err := newStream(conn, size)
	if err != nil {
		b.Fatal(err)
	}
	defer bs.close()
	gs, err := newStream(gotls, size)
	if err != nil {
		b.Fatal(err)
	}
	defer gs.close()

	run := func(s *stream) func(int) {
		return func(n int) {
			if err := s.transfers(n); err != nil {
				b.Fatal(err)
			}
		}
	}
	sides := []side{
		{"native", func(n int) { ntcp.transfers(n, size) }},
		{"binding", run(bs)},
		{"cryptotls", run(gs)},
	}
	for _, s := range sides {
		s.run(1)
	}
	sideBySide(b, max(1, (4<<20)/size), "MB", float64(size)/1e6, sides,
		[]ratio{{"binding", "native"}, {"binding", "cryptotls"}})
}

// stream is an established pair over loopback TCP with a writer goroutine.
type stream struct {
	server, client handshaker
	size           int
	jobs           chan int
	done           chan error
	rbuf           []byte
}

func newStream(p goPair, size int) (*stream, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer l.Close()
	cc, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		return nil, err
	}
	sc, err := l.Accept()
	if err != nil {
		cc.Close()
		return nil, err
	}
	s := &stream{server: p.server(sc), client: p.client(cc), size: size,
		jobs: make(chan int), done: make(chan error), rbuf: make([]byte, recvBufSize)}
	hs := make(chan error, 1)
	go func() { hs <- s.client.Handshake() }()
	if err := errors.Join(s.server.Handshake(), <-hs); err != nil {
		s.server.Close()
		s.client.Close()
		return nil, err
	}
	go s.writer()
	return s, nil
}

func (s *stream) writer() {
	buf := make([]byte, s.size)
	for i := range buf {
		buf[i] = 'x'
	}
	for n := range s.jobs {
		var err error
		for range n {
			if _, err = s.client.Write(buf); err != nil {
				break
			}
		}
		s.done <- err
	}
}

// transfers: n writes of size bytes, all received before it returns.
func (s *stream) transfers(n int) error {
	s.jobs <- n
	want := n * s.size
	var rerr error
	for got := 0; got < want; {
		m, err := s.server.Read(s.rbuf)
		got += m
		if err != nil {
			rerr = err
			break
		}
	}
	if rerr != nil {
		s.server.Close() // unblocks the writer
	}
	return errors.Join(rerr, <-s.done)
}

func (s *stream) close() {
	close(s.jobs)
	s.client.Close()
	s.server.Close()
}
