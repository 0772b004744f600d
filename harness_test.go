package s2n

// The shared test harness of the package's tests: keys and certificates,
// Configs, a faulty signer, connection pairs over socket pairs, the one
// loopback server, the error assertions and the waits. Other test files
// keep only their own helpers, except interop_test.go's exchange
// (interopCase, interopResult and their helpers), which pkcs11_test.go's
// interop runs against a token use too.

import (
	"bufio"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// ---- keys and certificates ----

// testKey is a throwaway certificate and key generated for the test run.
type testKey struct {
	name    string
	certPEM []byte
	keyPEM  []byte
	signer  crypto.Signer
	cert    *x509.Certificate
}

var (
	keysOnce sync.Once
	ecKey    *testKey
	rsaKey   *testKey
	ecKey2   *testKey // a second ECDSA key: signatures from the wrong key

	rsaKey2Once sync.Once
	rsaKey2     *testKey // a second RSA key, made on first use
)

func testKeys(t testing.TB) (ec, rs, ec2 *testKey) {
	keysOnce.Do(func() {
		ecPriv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		rsaPriv, err := rsa.GenerateKey(rand.Reader, 2048)
		require.NoError(t, err)
		ecPriv2, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		ecKey = makeTestKey(t, "ecdsa-p256", ecPriv)
		rsaKey = makeTestKey(t, "rsa-2048", rsaPriv)
		ecKey2 = makeTestKey(t, "ecdsa-p256-other", ecPriv2)
	})
	return ecKey, rsaKey, ecKey2
}

// wrongKey returns a second key of the same type as k (one of testKeys'):
// its signatures are valid, but not for k's certificate.
func wrongKey(t testing.TB, k *testKey) crypto.Signer {
	ec, rs, ec2 := testKeys(t)
	switch k {
	case ec:
		return ec2.signer
	case rs:
		rsaKey2Once.Do(func() {
			priv, err := rsa.GenerateKey(rand.Reader, 2048)
			require.NoError(t, err)
			rsaKey2 = makeTestKey(t, "rsa-2048-other", priv)
		})
		return rsaKey2.signer
	}
	t.Fatalf("no wrong key for %s", k.name)
	return nil
}

func makeTestKey(t testing.TB, name string, priv crypto.Signer) *testKey {
	return makeTestKeyFor(t, name, "localhost", priv)
}

// makeTestKeyFor makes a self-signed certificate for the DNS name dns.
func makeTestKeyFor(t testing.TB, name, dns string, priv crypto.Signer) *testKey {
	var dnsNames []string
	var ips []net.IP
	if ip := net.ParseIP(dns); ip != nil {
		ips = []net.IP{ip}
	} else {
		dnsNames = []string{dns}
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: dns},
		DNSNames:              dnsNames,
		IPAddresses:           ips,
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	return createTestKey(t, name, tmpl, nil, priv)
}

// newTestCA makes a self-signed P-256 CA that may sign certificates and
// CRLs.
func newTestCA(t testing.TB, name string) *testKey {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	return createTestKey(t, name, tmpl, nil, priv)
}

// issue makes a P-256 end-entity certificate for the DNS name dns, usable
// by a server and a client, signed by ca with the given serial number.
func (ca *testKey) issue(t testing.TB, name, dns string, serial int64) *testKey {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: dns},
		DNSNames:     []string{dns},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	return createTestKey(t, name, tmpl, ca, priv)
}

// createTestKey signs tmpl with parent (nil: self-signed) for priv.
func createTestKey(t testing.TB, name string, tmpl *x509.Certificate, parent *testKey, priv crypto.Signer) *testKey {
	issuer, signer := tmpl, priv
	if parent != nil {
		issuer, signer = parent.cert, parent.signer
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, priv.Public(), signer)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(priv)
	require.NoError(t, err)
	return &testKey{
		name:    name,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		signer:  priv,
		cert:    cert,
	}
}

// ---- the matrix every behaviour runs over ----

// variant is one cell of the matrix every behaviour runs over.
type variant struct {
	name    string
	key     *testKey
	policy  string
	version ProtocolVersion
	opType  AsyncPkeyOpType
}

// policyTLS12 is a TLS 1.2-only policy with ECDHE suites first.
const policyTLS12 = "ELBSecurityPolicy-TLS-1-2-Ext-2018-06"

func variants(t testing.TB) []variant {
	ec, rs, _ := testKeys(t)
	return []variant{
		{"ecdsa/tls13", ec, "default_tls13", TLS13, AsyncSign},
		{"rsa/tls13", rs, "default_tls13", TLS13, AsyncSign},
		{"ecdsa/tls12", ec, policyTLS12, TLS12, AsyncSign},
		{"rsa/tls12", rs, policyTLS12, TLS12, AsyncSign},
		// TLS 1.2 RSA key exchange: the server's key decrypts the premaster.
		{"rsa/tls12-rsa-kex", rs, "test_all_rsa_kex", TLS12, AsyncDecrypt},
	}
}

// signerCalls is how many times one full handshake of v calls its
// crypto.Signer: once, plus for an RSA key exchange the one probe per key of
// whether its Decrypt honours SessionKeyLen (see decryptPremaster).
func (v variant) signerCalls() int {
	if v.opType == AsyncDecrypt {
		return 2
	}
	return 1
}

// modeExpect looks up this build mode's expectation, failing the test (not
// skipping it) in a mode nobody wrote expectations for.
func modeExpect[V any](t testing.TB, table map[string]V) V {
	t.Helper()
	v, ok := table[buildMode]
	require.True(t, ok, "no expectation for build mode %q", buildMode)
	return v
}

// ---- Configs ----

// configOpts describes a test Config.
type configOpts struct {
	policy     string
	chain      *testKey // added with its private key
	public     *testKey // added public-only (offloaded key)
	trust      *testKey
	clientAuth ClientAuthType
	fn         AsyncPkeyFunc
	strict     bool
}

func newTestConfig(t testing.TB, o configOpts) *Config {
	t.Helper()
	cfg, err := NewConfig()
	require.NoError(t, err)
	t.Cleanup(func() { cfg.Close() })
	if o.policy != "" {
		require.NoError(t, cfg.SetCipherPreferences(o.policy))
	}
	if o.chain != nil {
		ck, err := NewCertChainAndKey(o.chain.certPEM, o.chain.keyPEM)
		require.NoError(t, err)
		require.NoError(t, cfg.AddCertChainAndKey(ck))
		require.NoError(t, ck.Close())
	}
	if o.public != nil {
		ck, err := NewPublicCertChain(o.public.certPEM)
		require.NoError(t, err)
		require.NoError(t, cfg.AddCertChainAndKey(ck))
		require.NoError(t, ck.Close())
	}
	if o.trust != nil {
		require.NoError(t, cfg.WipeTrustStore())
		require.NoError(t, cfg.AddPEMToTrustStore(o.trust.certPEM))
	}
	if o.clientAuth != ClientAuthNone {
		require.NoError(t, cfg.SetClientAuthType(o.clientAuth))
	}
	if o.fn != nil {
		require.NoError(t, cfg.SetAsyncPkeyCallback(o.fn))
	}
	if o.strict {
		require.NoError(t, cfg.SetAsyncPkeyValidationMode(ValidationStrict))
	}
	return cfg
}

// signerConfig is a server Config whose key is offloaded to signer.
func signerConfig(t testing.TB, policy string, key *testKey, signer crypto.Signer, alpn ...string) *Config {
	t.Helper()
	cfg := newTestConfig(t, configOpts{policy: policy})
	require.NoError(t, cfg.AddCertChainWithSigner(key.certPEM, signer))
	if len(alpn) > 0 {
		require.NoError(t, cfg.SetProtocolPreferences(alpn))
	}
	return cfg
}

// asyncConfig is a server Config over key's public chain whose key
// operations go to fn, with strict validation of their answers.
func asyncConfig(t testing.TB, policy string, key *testKey, fn AsyncPkeyFunc) *Config {
	return newTestConfig(t, configOpts{policy: policy, public: key, fn: fn, strict: true})
}

// clientConfig is a client Config that trusts trust's certificate.
func clientConfig(t testing.TB, policy string, trust *testKey, alpn ...string) *Config {
	cfg := newTestConfig(t, configOpts{policy: policy, trust: trust})
	if len(alpn) > 0 {
		require.NoError(t, cfg.SetProtocolPreferences(alpn))
	}
	return cfg
}

// certPool holds k's certificate.
func certPool(k *testKey) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(k.cert)
	return p
}

// goCert is k as a crypto/tls certificate, its key k's signer.
func goCert(k *testKey) tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{k.cert.Raw}, PrivateKey: k.signer, Leaf: k.cert}
}

// goTLSClientConfig is a crypto/tls client config that trusts key's
// certificate and names localhost.
func goTLSClientConfig(key *testKey) *tls.Config {
	return &tls.Config{RootCAs: certPool(key), ServerName: "localhost"}
}

// goPeerConfig is a crypto/tls config that presents and trusts key: Go's
// defaults otherwise, so its default groups (X25519MLKEM768 first) apply.
func goPeerConfig(t testing.TB, key *testKey) *tls.Config {
	t.Helper()
	cert, err := tls.X509KeyPair(key.certPEM, key.keyPEM)
	require.NoError(t, err)
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: certPool(key), ServerName: "localhost"}
}

// ---- the faulty signer ----

// signerFault is how a faultySigner misbehaves on one call. The zero value
// answers correctly.
type signerFault struct {
	delay   time.Duration                // sleep before answering
	err     error                        // fail with this error
	panics  bool                         // panic instead of answering
	wrong   crypto.Signer                // sign with this key instead: a valid signature, by the wrong key
	mangle  func(sig []byte) []byte      // corrupt a correct signature
	decrypt func([]byte) ([]byte, error) // answer a Decrypt with this instead
}

// faultySigner is a crypto.Signer (and crypto.Decrypter, for RSA keys) over
// key that counts its calls and misbehaves on demand.
type faultySigner struct {
	key   crypto.Signer
	fault signerFault        // every call's fault
	plan  func() signerFault // if set, picks each call's fault instead of fault

	release <-chan struct{} // if set, answer only once it is closed
	wait    func()          // if set, called before answering
	entered chan struct{}   // if set, signalled (non-blocking) on entry

	calls     atomic.Int32 // entries
	inside    atomic.Int32 // entered and not yet returned
	maxInside atomic.Int32 // the most ever inside at once
	done      atomic.Int32 // returns
}

func (s *faultySigner) Public() crypto.PublicKey { return s.key.Public() }

// enter counts a call, holds it as told, and returns its fault and the
// function that counts its return.
func (s *faultySigner) enter() (signerFault, func()) {
	s.calls.Add(1)
	n := s.inside.Add(1)
	for m := s.maxInside.Load(); n > m && !s.maxInside.CompareAndSwap(m, n); m = s.maxInside.Load() {
	}
	if s.entered != nil {
		select {
		case s.entered <- struct{}{}:
		default:
		}
	}
	if s.release != nil {
		<-s.release
	}
	if s.wait != nil {
		s.wait()
	}
	f := s.fault
	if s.plan != nil {
		f = s.plan()
	}
	time.Sleep(f.delay)
	return f, func() {
		s.inside.Add(-1)
		s.done.Add(1)
	}
}

func (s *faultySigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	f, exit := s.enter()
	defer exit()
	if f.panics {
		panic("signer exploded")
	}
	if f.err != nil {
		return nil, f.err
	}
	key := s.key
	if f.wrong != nil {
		key = f.wrong
	}
	sig, err := key.Sign(r, digest, opts)
	if err != nil {
		return nil, err
	}
	if f.mangle != nil {
		sig = f.mangle(sig)
	}
	return sig, nil
}

func (s *faultySigner) Decrypt(r io.Reader, msg []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	f, exit := s.enter()
	defer exit()
	if f.panics {
		panic("decrypter exploded")
	}
	if f.err != nil {
		return nil, f.err
	}
	if f.decrypt != nil {
		return f.decrypt(msg)
	}
	return s.key.(crypto.Decrypter).Decrypt(r, msg, opts)
}

// ---- connection pairs over socket pairs ----

// socketpair is a connected pair of non-blocking Unix sockets, closed when
// the test ends.
func socketpair(t testing.TB) [2]int {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	require.NoError(t, err)
	for _, fd := range fds {
		require.NoError(t, syscall.SetNonblock(fd, true))
	}
	t.Cleanup(func() {
		syscall.Close(fds[0])
		syscall.Close(fds[1])
	})
	return fds
}

// pair is a server and a client connection over a non-blocking socket pair,
// driven in turns the way an event loop would drive them.
type pair struct {
	server, client *Connection
	fds            [2]int // server's fd, client's fd
}

func newPair(t testing.TB, server, client *Config) *pair {
	t.Helper()
	p := &pair{fds: socketpair(t)}
	p.server = newTestConn(t, ModeServer, server, p.fds[0])
	p.client = newTestConn(t, ModeClient, client, p.fds[1])
	require.NoError(t, p.client.SetServerName("localhost"))
	t.Cleanup(func() {
		p.server.Close()
		p.client.Close()
	})
	return p
}

func newTestConn(t testing.TB, mode Mode, cfg *Config, fd int) *Connection {
	t.Helper()
	c, err := NewConnection(mode)
	require.NoError(t, err)
	require.NoError(t, c.SetConfig(cfg))
	require.NoError(t, c.SetFd(fd))
	// Built-in blinding would sleep 10-30 s inside a failing call.
	require.NoError(t, c.SetBlinding(SelfServiceBlinding))
	return c
}

// handshakeResult is what driving one side produced.
type handshakeResult struct {
	done bool
	err  error // the first error that was not ErrBlocked
}

// drive calls Negotiate on both sides in turns until both finish, one fails,
// or the deadline passes.
func (p *pair) drive(t testing.TB, timeout time.Duration) (server, client handshakeResult) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	res := [2]*handshakeResult{&server, &client}
	conns := [2]*Connection{p.server, p.client}
	for time.Now().Before(deadline) {
		for i, c := range conns {
			r := res[i]
			if r.done || r.err != nil {
				continue
			}
			_, err := c.Negotiate()
			switch {
			case err == nil:
				r.done = true
			case !errors.Is(err, ErrBlocked):
				r.err = err
			}
		}
		if (server.done || server.err != nil) && (client.done || client.err != nil) {
			return
		}
		if server.err != nil || client.err != nil {
			// The other side waits for bytes that will never come.
			return
		}
		time.Sleep(50 * time.Microsecond)
	}
	t.Fatalf("handshake did not finish within %v: server %+v, client %+v", timeout, server, client)
	return
}

// handshake drives to completion and requires success.
func (p *pair) handshake(t testing.TB) {
	t.Helper()
	s, c := p.drive(t, 10*time.Second)
	require.NoError(t, s.err, "server")
	require.NoError(t, c.err, "client")
}

// exchange sends a message each way and checks it arrives.
func (p *pair) exchange(t testing.TB) {
	t.Helper()
	for _, dir := range [][2]*Connection{{p.client, p.server}, {p.server, p.client}} {
		msg := []byte("hello over s2n")
		sent := 0
		deadline := time.Now().Add(5 * time.Second)
		for sent < len(msg) && time.Now().Before(deadline) {
			n, _, err := dir[0].Send(msg[sent:])
			sent += n
			if err != nil {
				require.ErrorIs(t, err, ErrBlocked)
			}
		}
		got := make([]byte, 0, len(msg))
		buf := make([]byte, 64)
		for len(got) < len(msg) && time.Now().Before(deadline) {
			n, _, err := dir[1].Recv(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				require.ErrorIs(t, err, ErrBlocked)
				time.Sleep(50 * time.Microsecond)
			}
		}
		require.Equal(t, msg, got)
	}
}

// pendingBytes is how many bytes wait unread on fd.
func pendingBytes(t testing.TB, fd int) int {
	n, err := ioctlInt(fd, syscall.TIOCINQ)
	require.NoError(t, err)
	return n
}

// drainFd reads whatever is waiting on a non-blocking fd.
func drainFd(fd int) []byte {
	var out []byte
	buf := make([]byte, 16384)
	for {
		n, err := syscall.Read(fd, buf)
		if n <= 0 || err != nil {
			return out
		}
		out = append(out, buf[:n]...)
	}
}

// writeSome writes what the non-blocking fd accepts now.
func writeSome(fd int, b []byte) int {
	n, err := syscall.Write(fd, b)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// recordHandshake runs a real handshake through a tap and returns the bytes
// each side sent: the client's whole stream and the server's.
func recordHandshake(t testing.TB, serverCfg, clientCfg *Config) (c2s, s2c []byte) {
	a, b := socketpair(t), socketpair(t)
	client := newTestConn(t, ModeClient, clientCfg, a[0])
	t.Cleanup(func() { client.Close() })
	require.NoError(t, client.SetServerName("localhost"))
	server := newTestConn(t, ModeServer, serverCfg, b[0])
	t.Cleanup(func() { server.Close() })
	var done [2]bool
	for i := 0; i < 10000 && !(done[0] && done[1]); i++ {
		for j, c := range []*Connection{client, server} {
			if done[j] {
				continue
			}
			_, err := c.Negotiate()
			if err == nil {
				done[j] = true
			} else {
				require.ErrorIs(t, err, ErrBlocked, "recording handshake")
			}
		}
		x := drainFd(a[1])
		c2s = append(c2s, x...)
		for len(x) > 0 {
			x = x[writeSome(b[1], x):]
		}
		y := drainFd(b[1])
		s2c = append(s2c, y...)
		for len(y) > 0 {
			y = y[writeSome(a[1], y):]
		}
	}
	require.True(t, done[0] && done[1], "recorded handshake did not finish")
	return c2s, s2c
}

// goPeerResult is what both ends of a binding/crypto-tls handshake saw.
type goPeerResult struct {
	conn    *Connection // the binding's side, closed by the test's cleanup
	err     error       // the binding's first error that is not ErrBlocked
	goState tls.ConnectionState
	goErr   error
}

// goPeerHandshake runs one handshake between a binding Connection playing mode
// and crypto/tls playing the other side, over a socket pair: the binding
// reads its non-blocking end directly (SetFd), crypto/tls gets the other end
// as a net.Conn on its own goroutine. It returns once both sides are done.
func goPeerHandshake(t *testing.T, mode Mode, cfg *Config, goCfg *tls.Config) goPeerResult {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	require.NoError(t, err)
	t.Cleanup(func() { syscall.Close(fds[0]) })
	require.NoError(t, syscall.SetNonblock(fds[0], true))
	f := os.NewFile(uintptr(fds[1]), "crypto/tls end")
	nc, err := net.FileConn(f) // dups the fd
	require.NoError(t, f.Close())
	require.NoError(t, err)

	type goResult struct {
		state tls.ConnectionState
		err   error
	}
	done := make(chan goResult, 1)
	go func() {
		defer nc.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var tc *tls.Conn
		if mode == ModeServer {
			tc = tls.Client(nc, goCfg)
		} else {
			tc = tls.Server(nc, goCfg)
		}
		err := tc.HandshakeContext(ctx)
		done <- goResult{tc.ConnectionState(), err}
	}()

	conn := newTestConn(t, mode, cfg, fds[0])
	t.Cleanup(func() { conn.Close() })
	if mode == ModeClient {
		require.NoError(t, conn.SetServerName("localhost"))
	}
	r := goPeerResult{conn: conn}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Microsecond) {
		if time.Now().After(deadline) {
			r.err = errors.New("binding handshake timed out")
			break
		}
		_, err := conn.Negotiate()
		if err == nil || !errors.Is(err, ErrBlocked) {
			r.err = err
			break
		}
	}
	if r.err != nil {
		// Unblock crypto/tls if it still waits for bytes from us. s2n sends
		// no alert unless the blinding delay is waited out first, so
		// crypto/tls reports EOF.
		syscall.Shutdown(fds[0], syscall.SHUT_RDWR)
	}
	g := <-done
	r.goState, r.goErr = g.state, g.err
	return r
}

// ---- async key operations ----

// blockOnOp drives p until an async callback (a key operation's, an
// offload's) has handed over its op on ops (that side then waits on
// BlockedOnApplicationInput), the other side going on as far as it can.
func blockOnOp[Op any](t testing.TB, p *pair, ops <-chan Op) Op {
	t.Helper()
	for range 10000 {
		p.client.Negotiate()
		p.server.Negotiate()
		select {
		case op := <-ops:
			return op
		default:
		}
	}
	t.Fatal("the callback never ran")
	var none Op
	return none
}

// blockedPair stops a TLS 1.3 ECDSA handshake at the server's sign op and
// returns the op, untouched.
func blockedPair(t testing.TB) (*pair, *AsyncPkeyOp) {
	ec, _, _ := testKeys(t)
	return blockedPairWith(t, configOpts{policy: "default_tls13", chain: ec})
}

// blockedPairWith is blockedPair with the server's Config described by
// server (its fn is replaced); the client trusts the server's chain.
func blockedPairWith(t testing.TB, server configOpts) (*pair, *AsyncPkeyOp) {
	ops := make(chan *AsyncPkeyOp, 1)
	server.fn = func(_ *Connection, op *AsyncPkeyOp) error {
		ops <- op
		return nil
	}
	trust := server.chain
	if trust == nil {
		trust = server.public
	}
	p := newPair(t, newTestConfig(t, server), newTestConfig(t, configOpts{policy: server.policy, trust: trust}))
	return p, blockOnOp(t, p, ops)
}

// selectedKey is the private key of the chain conn's handshake selected.
func selectedKey(t testing.TB, conn *Connection) *PrivateKey {
	t.Helper()
	cert, err := conn.SelectedCert()
	require.NoError(t, err)
	key, err := cert.PrivateKey()
	require.NoError(t, err)
	return key
}

// signWithGo computes the output s2n expects for a sign op: the digest signed
// with the algorithm the connection selected.
func signWithGo(t testing.TB, conn *Connection, key crypto.Signer, digest []byte, client bool) []byte {
	t.Helper()
	var sig SignatureAlgorithm
	var hash HashAlgorithm
	var err error
	if client {
		sig, err = conn.SelectedClientCertSignatureAlgorithm()
		require.NoError(t, err)
		hash, err = conn.SelectedClientCertDigestAlgorithm()
	} else {
		sig, err = conn.SelectedSignatureAlgorithm()
		require.NoError(t, err)
		hash, err = conn.SelectedDigestAlgorithm()
	}
	require.NoError(t, err)
	require.Equal(t, hash.CryptoHash().Size(), len(digest), "digest length matches %v", hash)
	var opts crypto.SignerOpts = hash.CryptoHash()
	if sig == SignatureRSAPSSRSAE || sig == SignatureRSAPSSPSS {
		opts = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: hash.CryptoHash()}
	}
	out, err := key.Sign(rand.Reader, digest, opts)
	require.NoError(t, err)
	return out
}

// opSignature computes a correct (for key) signature for a server's sign op.
func opSignature(t testing.TB, conn *Connection, op *AsyncPkeyOp, key crypto.Signer) []byte {
	t.Helper()
	in, err := op.Input()
	require.NoError(t, err)
	return signWithGo(t, conn, key, in, false)
}

// offload completes op outside s2n, with Go's crypto and the test's key, the
// way an HSM or remote signer would: input out, output in.
func offload(t testing.TB, conn *Connection, op *AsyncPkeyOp, key *testKey, client bool) error {
	typ, err := op.Type()
	if err != nil {
		return err
	}
	in, err := op.Input()
	if err != nil {
		return err
	}
	again, err := op.Input()
	if err != nil {
		return err
	}
	if string(in) != string(again) {
		return errors.New("Input differs between calls")
	}
	var out []byte
	switch typ {
	case AsyncSign:
		out = signWithGo(t, conn, key.signer, in, client)
	case AsyncDecrypt:
		out, err = rsa.DecryptPKCS1v15(rand.Reader, key.signer.(*rsa.PrivateKey), in)
		if err != nil {
			return err
		}
	}
	if err := op.SetOutput(out); err != nil {
		return err
	}
	return op.Apply(conn)
}

// signOp computes a correct signature by key for a sign op, the way an
// external signer would (no testing.TB: it runs on any goroutine).
func signOp(conn *Connection, op *AsyncPkeyOp, key crypto.Signer) ([]byte, error) {
	in, err := op.Input()
	if err != nil {
		return nil, err
	}
	opts, err := signerOpts(conn)
	if err != nil {
		return nil, err
	}
	return key.Sign(rand.Reader, in, opts)
}

// signAndApply answers op with signOp's signature.
func signAndApply(conn *Connection, op *AsyncPkeyOp, key crypto.Signer) error {
	sig, err := signOp(conn, op, key)
	if err != nil {
		return err
	}
	return answerOp(conn, op, sig)
}

// answerOp is one answer to an op: a precomputed output, set and applied.
func answerOp(conn *Connection, op *AsyncPkeyOp, sig []byte) error {
	if err := op.SetOutput(sig); err != nil {
		return err
	}
	return op.Apply(conn)
}

// applyShuffled starts workers goroutines that take items from queue in
// batches of 1 to maxBatch (or what came within the last millisecond),
// shuffle each batch and apply its items in that order: completions in
// random order, from random goroutines. They return once queue is closed
// and drained; wait waits for them.
func applyShuffled[T any](workers, maxBatch int, queue <-chan T, apply func(T)) (wait func()) {
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			var batch []T
			flush := func() {
				mrand.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
				for _, q := range batch {
					apply(q)
				}
				batch = batch[:0]
			}
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case q, ok := <-queue:
					if !ok {
						flush()
						return
					}
					batch = append(batch, q)
					if len(batch) >= 1+mrand.IntN(maxBatch) {
						flush()
					}
				case <-tick.C:
					flush()
				}
			}
		})
	}
	return wg.Wait
}

// ---- loopback servers ----

// serveLoopback is the accept loop under every loopback server of the
// tests. Each connection l accepts goes to handle, on a goroutine of its
// own, which owns it. With n > 0, l closes after n connections; with
// n <= 0 it accepts until the test ends. finished is closed once the loop
// and every handle have returned. An accept error other than l's closing
// fails the test. When the test ends, l is closed and the loop waited for.
func serveLoopback(t testing.TB, l net.Listener, n int, handle func(net.Conn)) (addr string, finished <-chan struct{}) {
	var handlers sync.WaitGroup
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; n <= 0 || i < n; i++ {
			c, err := l.Accept()
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					t.Errorf("loopback server: accept: %v", err)
				}
				break
			}
			handlers.Add(1)
			go func() {
				defer handlers.Done()
				handle(c)
			}()
		}
		if n > 0 {
			l.Close()
		}
		handlers.Wait()
	}()
	t.Cleanup(func() {
		l.Close()
		select {
		case <-done:
		case <-time.After(awaitTimeout):
			t.Errorf("loopback server: connections still served after the test\n%s", goroutineStacks())
		}
	})
	return localhostAddr(l.Addr()), done
}

// serveResults serves cfg on a loopback listener (see serveLoopback for n):
// fn runs on each accepted Conn, on a goroutine of its own; its result is
// sent on results, then the Conn is closed. With n > 0, results is buffered
// for n and closed once every fn has returned; with n <= 0 it is nil and
// the results are dropped.
func serveResults[R any](t testing.TB, cfg *Config, n int, fn func(*Conn) R) (addr string, results <-chan R) {
	t.Helper()
	l, err := Listen("tcp", "127.0.0.1:0", cfg)
	require.NoError(t, err)
	return collectResults(t, l, n, func(c net.Conn) R { return fn(c.(*Conn)) })
}

// serveGoTLS is serveResults with a crypto/tls server as the peer.
func serveGoTLS[R any](t testing.TB, cfg *tls.Config, n int, fn func(*tls.Conn) R) (addr string, results <-chan R) {
	t.Helper()
	l, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	require.NoError(t, err)
	return collectResults(t, l, n, func(c net.Conn) R { return fn(c.(*tls.Conn)) })
}

func collectResults[R any](t testing.TB, l net.Listener, n int, fn func(net.Conn) R) (string, <-chan R) {
	var out chan R
	if n > 0 {
		out = make(chan R, n)
	}
	addr, finished := serveLoopback(t, l, n, func(c net.Conn) {
		r := fn(c)
		if out != nil {
			out <- r
		}
		c.Close()
	})
	if out != nil {
		go func() {
			<-finished
			close(out)
		}()
	}
	return addr, out
}

// acceptConns serves cfg on a loopback listener and hands the server Conns,
// their handshakes not run, to the test: accept returns the next one. Every
// Conn is closed when the test ends.
func acceptConns(t testing.TB, cfg *Config) (addr string, accept func() *Conn) {
	t.Helper()
	l, err := Listen("tcp", "127.0.0.1:0", cfg)
	require.NoError(t, err)
	conns := make(chan *Conn, 64)
	stop := make(chan struct{})
	// Cleanups run last first: stop frees handlers waiting on a full queue,
	// then serveLoopback's waits for them, then the queue is emptied.
	t.Cleanup(func() {
		for {
			select {
			case c := <-conns:
				c.Close()
			default:
				return
			}
		}
	})
	addr, _ = serveLoopback(t, l, 0, func(c net.Conn) {
		select {
		case conns <- c.(*Conn):
		case <-stop:
			c.Close()
		}
	})
	t.Cleanup(func() { close(stop) })
	return addr, func() *Conn {
		t.Helper()
		c := awaitWithin(t, conns, testHandshakeTimeout, "no connection accepted")
		t.Cleanup(func() { c.Close() }) // even if the test fails first
		return c
	}
}

// localhostAddr names a loopback listener by the name its certificate has.
func localhostAddr(a net.Addr) string {
	return net.JoinHostPort("localhost", strconv.Itoa(a.(*net.TCPAddr).Port))
}

// dialClient connects a client Conn to addr without running the handshake;
// it is closed when the test ends.
func dialClient(t testing.TB, addr string, cfg *Config) *Conn {
	t.Helper()
	raw, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	c := Client(raw, cfg, "localhost")
	t.Cleanup(func() { c.Close() }) // even if the test fails first
	return c
}

// echoOnce reads a line-sized message and writes it back.
func echoOnce(c *Conn) error {
	buf := make([]byte, 1024)
	n, err := c.Read(buf)
	if err != nil {
		return err
	}
	_, err = c.Write(buf[:n])
	return err
}

// ---- errors ----

// requireS2nError checks that err is, or wraps, an *Error named name, and
// that errors.Is(err, kind) holds for each of kinds (type sentinels such
// as ErrUsage, or any error its chain must hold).
func requireS2nError(t testing.TB, err error, name string, kinds ...error) {
	t.Helper()
	var se *Error
	require.ErrorAs(t, err, &se, "an *s2n.Error in the chain of %v", err)
	require.Equal(t, name, se.Name, "error: %v", err)
	for _, kind := range kinds {
		require.ErrorIs(t, err, kind)
	}
}

// requireTyped fails unless err is nil or the binding's own error type.
func requireTyped(t testing.TB, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var e *Error
	require.ErrorAs(t, err, &e, "error of the wrong type: %v", err)
	require.NotEmpty(t, e.Name)
	require.NotEqual(t, ErrorTypeOK, e.Type, "failure reported as type ok: %v", err)
}

// isAbortErr reports whether err is how a vanished peer or a local Close
// shows: end of stream, reset, broken pipe, or use of a closed connection.
func isAbortErr(err error) bool {
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, net.ErrClosed)
}

// isTimeout reports whether err is a deadline or context timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		(errors.As(err, &ne) && ne.Timeout())
}

// ---- waits ----

// testHandshakeTimeout bounds the handshakes of the loopback tests: it is a
// hang guard, never the expected way out (tests assert errors are not
// timeouts unless a timeout is what they test).
const testHandshakeTimeout = 20 * time.Second

// awaitTimeout is how long await waits before it calls the wait a hang.
const awaitTimeout = 2 * testHandshakeTimeout

// await waits for a value on ch, failing the test instead of hanging.
func await[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	return awaitWithin(t, ch, awaitTimeout, what+" never returned")
}

func awaitWithin[T any](t testing.TB, ch <-chan T, d time.Duration, failure string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
		t.Fatal(failure)
		var zero T
		return zero
	}
}

// withinTimeout runs f and fails the test if it does not return in 10 s (a
// deadlock), leaving it running.
func withinTimeout(t testing.TB, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	awaitWithin(t, done, 10*time.Second, what+": no return within 10 s (deadlock)")
}

// goroutineStacks is every goroutine's stack.
func goroutineStacks() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}

// settledStats waits until nothing of earlier tests is still winding down
// (an op freed by its goroutine just after Apply, a connection held for its
// blinding delay) and returns the counters to compare against.
func settledStats(t testing.TB) RuntimeStats {
	t.Helper()
	require.Eventually(t, func() bool {
		st := Stats()
		return st.PendingOps == 0 && st.Blinding == 0
	}, 40*time.Second, 5*time.Millisecond, "earlier tests' ops and blinded connections")
	return Stats()
}

// requireSettled waits until the binding's counters are back at base (async
// op goroutines free their op just after applying it; a Conn closed after
// a failed handshake is freed by a timer once its blinding delay, capped by
// the tests, has passed), and fails the test if they never are.
func requireSettled(t testing.TB, base RuntimeStats, what string) RuntimeStats {
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

// waitGoroutines waits for the goroutine count to fall to at most n, and
// fails the test, with every stack, if it never does.
func waitGoroutines(t testing.TB, n int, what string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			require.Failf(t, "goroutine leak", "%s: %d goroutines, want <= %d\n%s", what, runtime.NumGoroutine(), n, goroutineStacks())
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ---- the process ----

// procStatusKB reads a "Vm..." line of /proc/self/status, in KiB.
func procStatusKB(t testing.TB, field string) int64 {
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

// resetPeakRSS resets VmHWM to the current RSS (Linux: "5" to clear_refs),
// so a test reports its own peak; false if not permitted.
func resetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// envInt reads a positive integer from the environment; def if unset.
func envInt(t testing.TB, name string, def int) int {
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
