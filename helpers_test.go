package s2n

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
	"math/big"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

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

func makeTestKey(t testing.TB, name string, priv crypto.Signer) *testKey {
	return makeTestKeyFor(t, name, "localhost", priv)
}

// makeTestKeyFor makes a self-signed certificate for the host dns: a DNS
// name, or an IP address (then an IP address SAN).
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
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
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

// pair is a server and a client connection over a non-blocking socket pair,
// driven in turns the way an event loop would drive them.
type pair struct {
	server, client *Connection
	fds            [2]int // server's fd, client's fd
}

func newPair(t testing.TB, server, client *Config) *pair {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	require.NoError(t, err)
	for _, fd := range fds {
		require.NoError(t, syscall.SetNonblock(fd, true))
	}
	p := &pair{fds: fds}
	p.server = newTestConn(t, ModeServer, server, fds[0])
	p.client = newTestConn(t, ModeClient, client, fds[1])
	require.NoError(t, p.client.SetServerName("localhost"))
	t.Cleanup(func() {
		p.server.Close()
		p.client.Close()
		syscall.Close(fds[0])
		syscall.Close(fds[1])
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
// or the deadline passes. onBlockedApp runs when a side is blocked on
// application input (an async op outstanding).
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
