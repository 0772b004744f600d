package s2n

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testSigner is a crypto.Signer (and Decrypter, for RSA) that counts calls
// and can be told to misbehave.
type testSigner struct {
	key      crypto.Signer
	calls    atomic.Int32
	delay    time.Duration
	err      error
	panics   bool
	block    chan struct{} // if set, answer only once it is closed
	inflight atomic.Int32
	maxSeen  atomic.Int32
}

func (s *testSigner) Public() crypto.PublicKey { return s.key.Public() }

func (s *testSigner) enter() func() {
	s.calls.Add(1)
	n := s.inflight.Add(1)
	for {
		m := s.maxSeen.Load()
		if n <= m || s.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	if s.block != nil {
		<-s.block
	}
	time.Sleep(s.delay)
	if s.panics {
		panic("signer exploded")
	}
	return func() { s.inflight.Add(-1) }
}

func (s *testSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	defer s.enter()()
	if s.err != nil {
		return nil, s.err
	}
	return s.key.Sign(r, digest, opts)
}

func (s *testSigner) Decrypt(r io.Reader, msg []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	defer s.enter()()
	if s.err != nil {
		return nil, s.err
	}
	return s.key.(crypto.Decrypter).Decrypt(r, msg, opts)
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

// serveOnce accepts one connection on a loopback listener and runs fn on it.
func serveOnce(t testing.TB, cfg *Config, fn func(*Conn) error) (addr string, result <-chan error) {
	t.Helper()
	l, err := Listen("tcp", "127.0.0.1:0", cfg)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		defer l.Close()
		c, err := l.Accept()
		if err != nil {
			done <- err
			return
		}
		conn := c.(*Conn)
		defer conn.Close()
		done <- fn(conn)
	}()
	return localhostAddr(l.Addr()), done
}

// localhostAddr names a loopback listener by the name its certificate has.
func localhostAddr(a net.Addr) string {
	return net.JoinHostPort("localhost", strconv.Itoa(a.(*net.TCPAddr).Port))
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

func clientConfig(t testing.TB, policy string, trust *testKey, alpn ...string) *Config {
	cfg := newTestConfig(t, configOpts{policy: policy, trust: trust})
	if len(alpn) > 0 {
		require.NoError(t, cfg.SetProtocolPreferences(alpn))
	}
	return cfg
}

func TestConnBindingToBindingWithSigner(t *testing.T) {
	for _, v := range variants(t) {
		t.Run(v.name, func(t *testing.T) {
			signer := &testSigner{key: v.key.signer}
			addr, served := serveOnce(t, signerConfig(t, v.policy, v.key, signer, "h2", "http/1.1"), func(c *Conn) error {
				if err := c.Handshake(); err != nil {
					return err
				}
				info := c.HandshakeInfo()
				if !info.KeyOffloaded || info.OffloadedOps != 1 {
					return errors.New("server key was not offloaded")
				}
				return echoOnce(c)
			})
			c, err := Dial("tcp", addr, clientConfig(t, v.policy, v.key, "h2"))
			require.NoError(t, err)
			defer c.Close()
			_, err = c.Write([]byte("ping"))
			require.NoError(t, err)
			buf := make([]byte, 16)
			n, err := io.ReadAtLeast(c, buf, 4)
			require.NoError(t, err)
			require.Equal(t, "ping", string(buf[:n]))
			require.NoError(t, <-served)

			st, info := c.ConnectionState(), c.HandshakeInfo()
			require.True(t, st.HandshakeComplete)
			require.Equal(t, v.version, info.Version)
			require.Equal(t, "h2", st.NegotiatedProtocol)
			require.Equal(t, "localhost", st.ServerName)
			require.False(t, info.KeyOffloaded, "the client has no key")
			require.Len(t, st.PeerCertificates, 1)
			require.Equal(t, v.key.cert.Raw, st.PeerCertificates[0].Raw)
			if v.opType == AsyncDecrypt {
				require.Empty(t, info.KeyExchangeGroup)
			} else {
				require.NotEmpty(t, info.KeyExchangeGroup)
			}
			require.EqualValues(t, v.signerCalls(), signer.calls.Load())
		})
	}
}

func goTLSClientConfig(key *testKey) *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(key.cert)
	return &tls.Config{RootCAs: pool, ServerName: "localhost"}
}

func TestConnServerWithGoTLSClient(t *testing.T) {
	ec, rs, _ := testKeys(t)
	cases := []struct {
		name   string
		key    *testKey
		policy string
		client *tls.Config
	}{
		{"ecdsa/tls13", ec, "default_tls13", &tls.Config{MinVersion: tls.VersionTLS13}},
		{"rsa/tls13", rs, "default_tls13", &tls.Config{MinVersion: tls.VersionTLS13}},
		{"ecdsa/tls12", ec, "default_tls13", &tls.Config{MaxVersion: tls.VersionTLS12}},
		{"rsa/tls12", rs, "default_tls13", &tls.Config{MaxVersion: tls.VersionTLS12}},
		{"rsa/tls12-rsa-kex", rs, "test_all_rsa_kex", &tls.Config{MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			signer := &testSigner{key: tc.key.signer}
			addr, served := serveOnce(t, signerConfig(t, tc.policy, tc.key, signer), echoOnce)
			cfg := goTLSClientConfig(tc.key)
			cfg.MinVersion, cfg.MaxVersion, cfg.CipherSuites = tc.client.MinVersion, tc.client.MaxVersion, tc.client.CipherSuites
			c, err := tls.Dial("tcp", addr, cfg)
			require.NoError(t, err)
			defer c.Close()
			_, err = c.Write([]byte("hello"))
			require.NoError(t, err)
			buf := make([]byte, 5)
			_, err = io.ReadFull(c, buf)
			require.NoError(t, err)
			require.Equal(t, "hello", string(buf))
			require.NoError(t, <-served)
			opType := AsyncSign
			if tc.client.CipherSuites != nil { // RSA key exchange
				opType = AsyncDecrypt
			}
			require.EqualValues(t, variant{opType: opType}.signerCalls(), signer.calls.Load())
		})
	}
}

func TestConnClientWithGoTLSServer(t *testing.T) {
	ec, _, _ := testKeys(t)
	cert, err := tls.X509KeyPair(ec.certPEM, ec.keyPEM)
	require.NoError(t, err)
	for _, max := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MaxVersion: max, NextProtos: []string{"http/1.1"}})
		require.NoError(t, err)
		go func() {
			defer l.Close()
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			io.Copy(c, c)
		}()
		c, err := Dial("tcp", localhostAddr(l.Addr()), clientConfig(t, "default_tls13", ec, "http/1.1"))
		require.NoError(t, err)
		_, err = c.Write([]byte("over crypto/tls"))
		require.NoError(t, err)
		buf := make([]byte, 15)
		_, err = io.ReadFull(c, buf)
		require.NoError(t, err)
		require.Equal(t, "over crypto/tls", string(buf))
		st := c.ConnectionState()
		require.Equal(t, max, st.Version)
		require.Equal(t, map[uint16]ProtocolVersion{tls.VersionTLS13: TLS13, tls.VersionTLS12: TLS12}[max], c.HandshakeInfo().Version)
		require.Equal(t, "http/1.1", st.NegotiatedProtocol)
		require.NoError(t, c.Close())
	}
}

func TestConnBulkBothWays(t *testing.T) {
	ec, _, _ := testKeys(t)
	payload := make([]byte, 3<<20+123)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	addr, served := serveOnce(t, signerConfig(t, "default_tls13", ec, &testSigner{key: ec.signer}), func(c *Conn) error {
		got := make([]byte, len(payload))
		if _, err := io.ReadFull(c, got); err != nil {
			return err
		}
		if _, err := c.Write(got); err != nil {
			return err
		}
		return c.CloseWrite()
	})
	c, err := Dial("tcp", addr, clientConfig(t, "default_tls13", ec))
	require.NoError(t, err)
	defer c.Close()
	go c.Write(payload)
	got, err := io.ReadAll(c)
	require.NoError(t, err, "close_notify ends the stream with io.EOF")
	require.Equal(t, payload, got)
	require.NoError(t, <-served)
}

func TestConnSignerFailures(t *testing.T) {
	ec, _, _ := testKeys(t)
	errKMS := errors.New("kms: throttled")
	for name, signer := range map[string]*testSigner{
		"error": {key: ec.signer, err: errKMS},
		"panic": {key: ec.signer, panics: true},
	} {
		t.Run(name, func(t *testing.T) {
			addr, served := serveOnce(t, signerConfig(t, "default_tls13", ec, signer), func(c *Conn) error { return c.Handshake() })
			raw, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			c := Client(raw, clientConfig(t, "default_tls13", ec), "localhost")
			defer c.Close()
			require.Error(t, c.Handshake())
			err = <-served
			require.Error(t, err)
			if name == "error" {
				require.ErrorIs(t, err, errKMS)
			} else {
				var pe *PanicError
				require.ErrorAs(t, err, &pe)
			}
		})
	}
}

func TestConnSignerNeverAnswers(t *testing.T) {
	ec, _, _ := testKeys(t)
	release := make(chan struct{})
	signer := &testSigner{key: ec.signer, block: release}
	defer close(release) // let the stuck signer goroutine finish
	cfg := signerConfig(t, "default_tls13", ec, signer)

	for _, how := range []string{"context", "deadline"} {
		t.Run(how, func(t *testing.T) {
			addr, served := serveOnce(t, cfg, func(c *Conn) error {
				if how == "deadline" {
					c.SetDeadline(time.Now().Add(200 * time.Millisecond))
					return c.Handshake()
				}
				ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
				defer cancel()
				return c.HandshakeContext(ctx)
			})
			raw, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			c := Client(raw, clientConfig(t, "default_tls13", ec), "localhost")
			defer c.Close()
			go c.Handshake()
			err = <-served
			if how == "context" {
				require.ErrorIs(t, err, context.DeadlineExceeded)
			} else {
				var ne net.Error
				require.ErrorAs(t, err, &ne)
				require.True(t, ne.Timeout())
			}
			require.Zero(t, Stats().PendingOps, "the op was freed with the failed handshake")
		})
	}
}

func TestConnMaxInflightKeyOps(t *testing.T) {
	ec, _, _ := testKeys(t)
	signer := &testSigner{key: ec.signer, delay: 5 * time.Millisecond}
	cfg := newTestConfig(t, configOpts{policy: "default_tls13"})
	require.NoError(t, cfg.SetMaxInflightKeyOps(2))
	require.NoError(t, cfg.AddCertChainWithSigner(ec.certPEM, signer))
	l, err := Listen("tcp", "127.0.0.1:0", cfg)
	require.NoError(t, err)
	defer l.Close()
	const n = 12
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			c.(*Conn).Handshake()
		}()
	}
	client := clientConfig(t, "default_tls13", ec)
	var clients sync.WaitGroup
	for range n {
		clients.Add(1)
		go func() {
			defer clients.Done()
			c, err := Dial("tcp", localhostAddr(l.Addr()), client)
			if err == nil {
				c.Close()
			}
		}()
	}
	clients.Wait()
	wg.Wait()
	require.EqualValues(t, n, signer.calls.Load())
	require.LessOrEqual(t, signer.maxSeen.Load(), int32(2))
}

func TestConnChainsChosenByKeyType(t *testing.T) {
	ec, rs, _ := testKeys(t)
	sEC, sRSA := &testSigner{key: ec.signer}, &testSigner{key: rs.signer}
	cfg := newTestConfig(t, configOpts{policy: "default_tls13"})
	require.NoError(t, cfg.AddCertChainWithSigner(ec.certPEM, sEC))
	require.NoError(t, cfg.AddCertChainWithSigner(rs.certPEM, sRSA))
	l, err := Listen("tcp", "127.0.0.1:0", cfg)
	require.NoError(t, err)
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.(*Conn).Handshake()
			}()
		}
	}()
	// A TLS 1.2 client that only takes RSA certificates gets the RSA chain.
	for _, tc := range []struct {
		suite  uint16
		key    *testKey
		signer *testSigner
	}{
		{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, rs, sRSA},
		{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, ec, sEC},
	} {
		before := tc.signer.calls.Load()
		cfg := goTLSClientConfig(tc.key)
		cfg.MaxVersion = tls.VersionTLS12
		cfg.CipherSuites = []uint16{tc.suite}
		c, err := tls.Dial("tcp", l.Addr().String(), cfg)
		require.NoError(t, err)
		require.Equal(t, tc.key.cert.Raw, c.ConnectionState().PeerCertificates[0].Raw)
		c.Close()
		require.Equal(t, before+1, tc.signer.calls.Load())
	}
}

func TestConnHTTPS(t *testing.T) {
	ec, _, _ := testKeys(t)
	signer := &testSigner{key: ec.signer}
	cfg := signerConfig(t, "default_tls13", ec, signer, "h2", "http/1.1")
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	// The handler sees r.TLS as crypto/tls would fill it: net/http asks the
	// Conn for its ConnectionState, which runs the handshake first.
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || !r.TLS.HandshakeComplete || r.TLS.Version != tls.VersionTLS13 ||
			r.TLS.CipherSuite == 0 || r.TLS.ServerName != "localhost" || r.TLS.NegotiatedProtocol == "h2" {
			http.Error(w, fmt.Sprintf("r.TLS = %+v", r.TLS), http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "hello from s2n, "+r.Proto)
	})}
	go srv.Serve(NewListener(inner, cfg))
	defer srv.Close()
	url := "https://localhost:" + strings.Split(inner.Addr().String(), ":")[1] + "/"

	// crypto/tls client against the s2n server.
	goClient := &http.Client{Transport: &http.Transport{TLSClientConfig: goTLSClientConfig(ec)}}
	resp, err := goClient.Get(url)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, "hello from s2n, HTTP/1.1", string(body))

	// s2n client through http.Transport.DialTLSContext.
	clientCfg := clientConfig(t, "default_tls13", ec, "http/1.1")
	s2nClient := &http.Client{Transport: &http.Transport{
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return DialContext(ctx, network, addr, clientCfg)
		},
	}}
	resp, err = s2nClient.Get(url)
	require.NoError(t, err)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, "hello from s2n, HTTP/1.1", string(body))
	s2nClient.CloseIdleConnections()
	goClient.CloseIdleConnections()
	require.GreaterOrEqual(t, signer.calls.Load(), int32(2))
}

// TestConnBlindingAfterFailedHandshake: a client that rejects the server's
// certificate fails; its Close returns at once, the connection is held for
// s2n's blinding delay by a timer (no goroutine, no thread), then s2n's alert
// is sent and everything is freed.
func TestConnBlindingAfterFailedHandshake(t *testing.T) {
	ec, _, ec2 := testKeys(t)
	addr, served := serveOnce(t, signerConfig(t, "default_tls13", ec, &testSigner{key: ec.signer}), func(c *Conn) error {
		if err := c.Handshake(); err != nil {
			return err
		}
		_, err := c.Read(make([]byte, 1))
		return err
	})
	client := newTestConfig(t, configOpts{policy: "default_tls13", trust: ec2}) // trusts the wrong key
	require.NoError(t, client.SetMaxBlindingDelay(time.Second))
	raw, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	tr := &timedWrites{Conn: raw}
	c := Client(tr, client, "localhost")
	err = c.Handshake()
	var se *Error
	require.ErrorAs(t, err, &se)
	require.Equal(t, "S2N_ERR_CERT_UNTRUSTED", se.Name)
	delay := c.Connection().Delay()
	require.Greater(t, delay, time.Duration(0), "s2n asks for blinding")
	require.LessOrEqual(t, delay, time.Second, "capped by SetMaxBlindingDelay")
	before := Stats().Handles
	closed := time.Now()
	require.NoError(t, c.Close())
	require.EqualValues(t, 1, Stats().Blinding)
	require.Less(t, Stats().Handles, before, "the s2n connection is freed at once; only the transport is held")
	// The server sees the end only once the delay has passed: s2n's alert
	// (a close_notify record here: s2n queued no other) is written then.
	require.Error(t, <-served)
	require.Eventually(t, func() bool { return Stats().Blinding == 0 }, 10*time.Second, 10*time.Millisecond)
	last := tr.last()
	require.Equal(t, byte(21), last.b[0], "an alert record")
	require.GreaterOrEqual(t, last.at.Sub(closed), delay/2, "not before the delay (less the time s2n counted before Close)")
}

// timedWrites records the writes made through it, with their time.
type timedWrites struct {
	net.Conn
	mu     sync.Mutex
	writes []timedWrite
}

type timedWrite struct {
	b  []byte
	at time.Time
}

func (w *timedWrites) Write(b []byte) (int, error) {
	w.mu.Lock()
	w.writes = append(w.writes, timedWrite{append([]byte(nil), b...), time.Now()})
	w.mu.Unlock()
	return w.Conn.Write(b)
}

func (w *timedWrites) last() timedWrite {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writes[len(w.writes)-1]
}

// TestVerifyHostCallback: a server requiring client certificates checks the
// client's names with its own callback instead of s2n's default (which wants
// them to match the SNI name).
func TestVerifyHostCallback(t *testing.T) {
	ec, _, ec2 := testKeys(t)
	clientKey := makeTestKeyFor(t, "client", "client.example", ec2.signer)
	for _, accept := range []bool{true, false} {
		t.Run(map[bool]string{true: "accepts", false: "rejects"}[accept], func(t *testing.T) {
			var seen []string
			var mu sync.Mutex
			server := newTestConfig(t, configOpts{policy: "default_tls13", chain: ec, trust: clientKey, clientAuth: ClientAuthRequired})
			require.NoError(t, server.SetVerifyHostCallback(func(name string) bool {
				mu.Lock()
				defer mu.Unlock()
				seen = append(seen, name)
				return accept && name == "client.example"
			}))
			client := newTestConfig(t, configOpts{policy: "default_tls13", chain: clientKey, trust: ec, clientAuth: ClientAuthRequired})
			p := newPair(t, server, client)
			s, _ := p.drive(t, 10*time.Second)
			mu.Lock()
			require.Contains(t, seen, "client.example")
			mu.Unlock()
			if accept {
				require.NoError(t, s.err)
				require.True(t, s.done)
			} else {
				require.Error(t, s.err)
			}
		})
	}
}

// TestConnPeerCertificatesAfterClose: the peer's certificates are read from
// s2n on the first ConnectionState call; asked before Close, they stay.
func TestConnPeerCertificatesAfterClose(t *testing.T) {
	ec, _, _ := testKeys(t)
	for _, askFirst := range []bool{true, false} {
		addr, served := serveOnce(t, signerConfig(t, "default_tls13", ec, &testSigner{key: ec.signer}), func(c *Conn) error {
			return c.Handshake()
		})
		c, err := Dial("tcp", addr, clientConfig(t, "default_tls13", ec))
		require.NoError(t, err)
		if askFirst {
			require.Len(t, c.ConnectionState().PeerCertificates, 1)
		}
		require.NoError(t, c.Close())
		st := c.ConnectionState()
		require.True(t, st.HandshakeComplete)
		if askFirst {
			require.Len(t, st.PeerCertificates, 1)
			require.Equal(t, ec.cert.Raw, st.PeerCertificates[0].Raw)
		} else {
			require.Empty(t, st.PeerCertificates, "s2n's copy went with Close")
		}
		require.NoError(t, <-served)
	}
}
