package s2n

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
	"github.com/miekg/dns"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// goHello is the ClientHelloInfo a crypto/tls server builds for a client
// with config goCfg: what the client sent, in crypto/tls's terms.
func goHello(t *testing.T, goCfg *tls.Config) *tls.ClientHelloInfo {
	t.Helper()
	ec, _, _ := testKeys(t)
	infos := make(chan *tls.ClientHelloInfo, 1)
	srv := &tls.Config{GetCertificate: func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
		infos <- h
		cert := goCert(ec)
		return &cert, nil
	}}
	addr, served := serveGoTLS(t, srv, 1, func(c *tls.Conn) error { return c.Handshake() })
	c, err := tls.Dial("tcp", addr, goCfg)
	require.NoError(t, err)
	c.Close()
	require.NoError(t, await(t, served, "crypto/tls server"))
	return await(t, infos, "crypto/tls's ClientHelloInfo")
}

// ctxKey marks the context a handshake ran with.
type ctxKey struct{}

// TestGetCertificateClientHelloInfo: the ClientHelloInfo an s2n server
// hands to GetCertificate has the fields crypto/tls fills for the same
// client, its Conn is the server's transport and its Context the
// handshake's; the client verifies the returned chain.
func TestGetCertificateClientHelloInfo(t *testing.T) {
	ec, _, _ := testKeys(t)
	for _, tc := range []struct {
		name   string
		maxVer uint16
		protos []string
	}{
		{"tls13-alpn", tls.VersionTLS13, []string{"h2", "http/1.1"}},
		{"tls12-no-alpn", tls.VersionTLS12, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			goCfg := goTLSClientConfig(ec)
			goCfg.MaxVersion = tc.maxVer
			goCfg.NextProtos = tc.protos
			want := goHello(t, goCfg)

			infos := make(chan *tls.ClientHelloInfo, 1)
			cfg := newTestConfig(t, configOpts{policy: "default_tls13"})
			require.NoError(t, cfg.SetGetCertificate(func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
				infos <- h
				cert := goCert(ec)
				return &cert, nil
			}))
			raw, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			defer raw.Close()
			served := make(chan error, 1)
			serverConn := make(chan net.Conn, 1)
			ctx := context.WithValue(context.Background(), ctxKey{}, tc.name)
			go func() {
				nc, err := raw.Accept()
				if err != nil {
					served <- err
					return
				}
				serverConn <- nc
				c := Server(nc, cfg)
				defer c.Close()
				served <- c.HandshakeContext(ctx)
			}()
			c, err := tls.Dial("tcp", raw.Addr().String(), goCfg)
			require.NoError(t, err, "the client verified the chain GetCertificate returned")
			st := c.ConnectionState()
			c.Close()
			require.NoError(t, await(t, served, "s2n server"))
			require.Equal(t, ec.cert.Raw, st.PeerCertificates[0].Raw)
			require.Equal(t, tc.maxVer, st.Version)

			got := await(t, infos, "GetCertificate's ClientHelloInfo")
			require.Equal(t, want.ServerName, got.ServerName)
			require.Equal(t, want.CipherSuites, got.CipherSuites)
			require.Equal(t, want.SupportedCurves, got.SupportedCurves)
			require.Equal(t, want.SupportedPoints, got.SupportedPoints)
			require.Equal(t, want.SignatureSchemes, got.SignatureSchemes)
			require.Equal(t, want.SupportedProtos, got.SupportedProtos)
			require.Equal(t, want.SupportedVersions, got.SupportedVersions)
			require.Equal(t, want.Extensions, got.Extensions)
			require.Same(t, await(t, serverConn, "accepted"), got.Conn)
			require.NotNil(t, got.Context(), "crypto/tls's ClientHelloInfo.ctx field is set")
			require.Equal(t, tc.name, got.Context().Value(ctxKey{}), "the handshake's context")
			require.NoError(t, got.SupportsCertificate(&tls.Certificate{Certificate: [][]byte{ec.cert.Raw}, PrivateKey: ec.signer, Leaf: ec.cert}))
		})
	}
}

// TestGetCertificateLowLevel: on a Connection driven with Negotiate, the
// ClientHelloInfo has no Conn and a background Context.
func TestGetCertificateLowLevel(t *testing.T) {
	ec, _, _ := testKeys(t)
	infos := make(chan *tls.ClientHelloInfo, 1)
	cfg := newTestConfig(t, configOpts{policy: "default_tls13"})
	require.NoError(t, cfg.SetGetCertificate(func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
		infos <- h
		cert := goCert(ec)
		return &cert, nil
	}))
	p := newPair(t, cfg, clientConfig(t, "default_tls13", ec))
	p.handshake(t)
	got := await(t, infos, "ClientHelloInfo")
	require.Equal(t, "localhost", got.ServerName)
	require.Nil(t, got.Conn)
	require.Equal(t, context.Background(), got.Context())
}

// TestGetCertificateFailures: an error or a panic of GetCertificate, a nil
// certificate with no chain to fall back to, a key that cannot sign and a
// key that is not the leaf's each end the handshake with a clear cause; a
// nil certificate with a chain of the Config's own serves that chain.
func TestGetCertificateFailures(t *testing.T) {
	ec, _, ec2 := testKeys(t)
	issuerDown := errors.New("certificate store unavailable")
	type notSigner struct{}
	for _, tc := range []struct {
		name  string
		own   *testKey // a chain of the Config's own
		cert  func() (*tls.Certificate, error)
		check func(t *testing.T, serverErr error)
	}{
		{"error", nil, func() (*tls.Certificate, error) { return nil, issuerDown }, func(t *testing.T, err error) {
			require.ErrorIs(t, err, issuerDown)
			requireS2nError(t, err, nameAsyncFailed)
		}},
		{"panic", nil, func() (*tls.Certificate, error) { panic("issuer exploded") }, func(t *testing.T, err error) {
			var pe *PanicError
			require.ErrorAs(t, err, &pe)
			require.Equal(t, "issuer exploded", pe.Value)
		}},
		{"nil-certificate", nil, func() (*tls.Certificate, error) { return nil, nil }, func(t *testing.T, err error) {
			require.ErrorContains(t, err, "GetCertificate returned no certificate")
			requireS2nError(t, err, nameInvalidArg, ErrUsage)
		}},
		{"no-chain", nil, func() (*tls.Certificate, error) { return &tls.Certificate{PrivateKey: ec.signer}, nil }, func(t *testing.T, err error) {
			require.ErrorContains(t, err, "without a chain")
		}},
		{"not-a-signer", nil, func() (*tls.Certificate, error) {
			return &tls.Certificate{Certificate: [][]byte{ec.cert.Raw}, PrivateKey: notSigner{}}, nil
		}, func(t *testing.T, err error) {
			require.ErrorContains(t, err, "private key (s2n.notSigner) is not a crypto.Signer")
		}},
		{"wrong-key", nil, func() (*tls.Certificate, error) {
			return &tls.Certificate{Certificate: [][]byte{ec.cert.Raw}, PrivateKey: ec2.signer}, nil
		}, func(t *testing.T, err error) {
			require.ErrorContains(t, err, "private key does not match its leaf")
		}},
		{"nil-certificate-own-chain", ec, func() (*tls.Certificate, error) { return nil, nil }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := newTestConfig(t, configOpts{policy: "default_tls13", chain: tc.own})
			require.NoError(t, cfg.SetGetCertificate(func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return tc.cert() }))
			serverErr, clientErr, _ := serveHello(t, cfg, goTLSClientConfig(ec))
			if tc.check == nil {
				require.NoError(t, serverErr)
				require.NoError(t, clientErr)
				return
			}
			require.Error(t, clientErr)
			require.Error(t, serverErr)
			tc.check(t, serverErr)
		})
	}
}

// TestGetCertificateACMEALPN: a client that offers only acme-tls/1 (an
// ACME server validating TLS-ALPN-01) gets it negotiated with the
// certificate returned for it, though the Config lists other protocols.
func TestGetCertificateACMEALPN(t *testing.T) {
	ec, _, _ := testKeys(t)
	cfg := newTestConfig(t, configOpts{policy: "default_tls13"})
	require.NoError(t, cfg.SetProtocolPreferences([]string{"h2"}))
	require.NoError(t, cfg.SetGetCertificate(func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		cert := goCert(ec)
		return &cert, nil
	}))
	for _, tc := range []struct{ offer, want string }{{ACMEProtocol, ACMEProtocol}, {"h2", "h2"}} {
		addr, served := serveResults(t, cfg, 1, func(c *Conn) error { return c.Handshake() })
		goCfg := goTLSClientConfig(ec)
		goCfg.NextProtos = []string{tc.offer}
		c, err := tls.Dial("tcp", addr, goCfg)
		require.NoError(t, err)
		st := c.ConnectionState()
		c.Close()
		require.NoError(t, await(t, served, "server"))
		require.Equal(t, tc.want, st.NegotiatedProtocol)
	}
}

// TestGetCertificateCache: the derived Config is kept by chain and key, not
// by the *tls.Certificate pointer (autocert returns a new one each time); a
// new chain gets a new Config; at most maxCertConfigs are kept, the least
// recently used closed first.
func TestGetCertificateCache(t *testing.T) {
	ec, _, _ := testKeys(t)
	base := newTestConfig(t, configOpts{policy: "default_tls13"})
	certs := make(map[string]*tls.Certificate)
	require.NoError(t, base.SetGetCertificate(func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
		c := *certs[h.ServerName] // a fresh pointer per call, as autocert's
		return &c, nil
	}))
	cache := base.s.certConfigs
	require.NotNil(t, cache)
	for i := range maxCertConfigs + 1 {
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		name := fmt.Sprintf("n%d.example", i)
		k := makeTestKeyFor(t, name, name, priv)
		c := goCert(k)
		certs[name] = &c
	}
	ecCert := goCert(ec)
	certs["localhost"] = &ecCert
	hello := func(name string) *tls.ClientHelloInfo { return &tls.ClientHelloInfo{ServerName: name} }
	get := func(name string) *configState {
		cfg, err := cache.configFor(hello(name))
		require.NoError(t, err)
		require.NotNil(t, cfg)
		defer cfg.Close()
		return cfg.s
	}
	first := get("localhost")
	require.Same(t, first, get("localhost"), "same chain and key: the same Config")
	renewed := goCert(makeTestKeyFor(t, "renewed", "localhost", ec.signer))
	certs["localhost"] = &renewed
	second := get("localhost")
	require.NotSame(t, first, second, "a new chain: a new Config")
	freed := func(st *configState) bool {
		st.mu.Lock()
		defer st.mu.Unlock()
		return st.ptr == nil
	}
	for i := range maxCertConfigs - 2 {
		get(fmt.Sprintf("n%d.example", i))
	}
	require.Equal(t, maxCertConfigs, cache.lru.Len())
	require.False(t, freed(first))
	get(fmt.Sprintf("n%d.example", maxCertConfigs-2)) // one more: the least recently used goes
	require.Equal(t, maxCertConfigs, cache.lru.Len())
	require.True(t, freed(first), "the evicted Config, used by no connection, is freed")
	require.False(t, freed(second))
	require.NoError(t, base.Close())
	require.True(t, freed(second), "closing the base closes what it derived")
}

// ---- a local ACME CA: pebble, in this process ----

// acmeDomains are the names the tests have certificates issued for; the
// test's DNS server resolves them to the loopback address.
const (
	acmeDomainALPN = "alpn.s2n-go.test"
	acmeDomainHTTP = "http.s2n-go.test"
)

// acmeCertLifetime is how long pebble's certificates are valid: short, so
// that autocert renews within the test.
const acmeCertLifetime = 30 * time.Second

// lockedLog collects pebble's log for a failing test's output; it outlives
// the test, which t.Log must not.
type lockedLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(b)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// loopbackDNS answers A queries for every name with 127.0.0.1, over TCP
// (how pebble's VA asks a custom resolver), until the test ends.
func loopbackDNS(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &dns.Server{Listener: l, Net: "tcp", Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		for _, question := range q.Question {
			if question.Qtype == dns.TypeA {
				m.Answer = append(m.Answer, &dns.A{
					Hdr: dns.RR_Header{Name: question.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 1},
					A:   net.IPv4(127, 0, 0, 1),
				})
			}
		}
		w.WriteMsg(m)
	})}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go srv.ActivateAndServe()
	<-started
	t.Cleanup(func() { srv.Shutdown() })
	return l.Addr().String()
}

// pebbleCA is a running pebble: its directory URL, an HTTP client that
// trusts its HTTPS server, and the root its certificates chain to.
type pebbleCA struct {
	dirURL string
	client *http.Client
	roots  *x509.CertPool
	// off makes every later request fail (404), not retried by the ACME
	// client, so that autocert's renewal timers, which outlive the test
	// and cannot be stopped, end their attempts at once.
	off atomic.Bool
}

// startPebble runs pebble's CA, VA and WFE in this process, as its
// cmd/pebble does, with real validation: the VA resolves names with dnsAddr
// and validates TLS-ALPN-01 on tlsPort and HTTP-01 on httpPort of the
// address found, without its random delays.
func startPebble(t *testing.T, dnsAddr string, tlsPort, httpPort int) *pebbleCA {
	t.Helper()
	t.Setenv("PEBBLE_VA_NOSLEEP", "1")
	t.Setenv("PEBBLE_VA_ALWAYS_VALID", "") // validate for real
	t.Setenv("PEBBLE_WFE_NONCEREJECT", "0")
	t.Setenv("PEBBLE_AUTHZREUSE", "0") // every order, renewals included, is validated
	logs := &lockedLog{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("pebble's log:\n%s", logs)
		}
	})
	logger := log.New(logs, "pebble ", log.Lmicroseconds)
	store := db.NewMemoryStore()
	authority := ca.New(logger, store, "", "ecdsa", 0, 1, map[string]ca.Profile{
		"default": {Description: "short-lived, for renewal tests", ValidityPeriod: uint64(acmeCertLifetime / time.Second)},
	})
	validator := va.New(logger, httpPort, tlsPort, false, dnsAddr, store)
	frontEnd := wfe.New(logger, store, validator, authority, []string{"pebble.letsencrypt.org"}, false, false, 0, 0)
	p := &pebbleCA{roots: x509.NewCertPool()}
	p.roots.AddCert(authority.GetRootCert(0).Cert)
	handler := frontEnd.Handler()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.off.Load() {
			http.NotFound(w, r)
			return
		}
		handler.ServeHTTP(w, r)
	}))
	srv.Config.ErrorLog = logger
	srv.StartTLS()
	t.Cleanup(func() {
		p.off.Store(true)
		srv.CloseClientConnections()
		srv.Close()
	})
	p.dirURL = srv.URL + wfe.DirectoryPath
	p.client = srv.Client()
	return p
}

// manager is an autocert Manager for domain that gets its certificates
// from p.
func (p *pebbleCA) manager(t *testing.T, domain string) *autocert.Manager {
	return &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		Cache:      autocert.DirCache(t.TempDir()),
		HostPolicy: autocert.HostWhitelist(domain),
		Client:     &acme.Client{DirectoryURL: p.dirURL, HTTPClient: p.client},
	}
}

// fetchServerCert connects a crypto/tls client to addr as domain, verifying
// the server's chain against roots, and returns the leaf.
func fetchServerCert(t *testing.T, addr, domain string, roots *x509.CertPool) *x509.Certificate {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // issuance included
	defer cancel()
	d := &tls.Dialer{Config: &tls.Config{ServerName: domain, RootCAs: roots, NextProtos: []string{"http/1.1"}}}
	c, err := d.DialContext(ctx, "tcp", addr)
	require.NoError(t, err, "connect to the s2n server as %s", domain)
	defer c.Close()
	st := c.(*tls.Conn).ConnectionState()
	require.Len(t, st.VerifiedChains, 1)
	require.Equal(t, domain, st.PeerCertificates[0].DNSNames[0])
	require.Equal(t, "http/1.1", st.NegotiatedProtocol)
	return st.PeerCertificates[0]
}

// serveS2n accepts connections on l and runs their handshakes until the
// test ends, when handshakes still waiting are cancelled.
func serveS2n(t *testing.T, l net.Listener) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				c.(*Conn).HandshakeContext(ctx)
			})
		}
	})
	t.Cleanup(func() {
		cancel()
		l.Close()
		wg.Wait()
	})
}

// TestGetCertificateAutocert: autocert's Manager.GetCertificate, plugged
// into an s2n server unchanged, gets its certificates from a local ACME CA
// (pebble) that validates for real: over TLS-ALPN-01, answered by the s2n
// server through the hook, and over HTTP-01, answered by the Manager's
// HTTPHandler. A crypto/tls client verifies each chain against pebble's
// root, and a renewal replaces the certificate without restarting the
// server.
func TestGetCertificateAutocert(t *testing.T) {
	dnsAddr := loopbackDNS(t)
	tlsRaw, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	httpRaw, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	pebble := startPebble(t, dnsAddr, tlsRaw.Addr().(*net.TCPAddr).Port, httpRaw.Addr().(*net.TCPAddr).Port)

	// The server pebble validates TLS-ALPN-01 against: it serves
	// acmeDomainALPN through mALPN.
	mALPN := pebble.manager(t, acmeDomainALPN)
	mALPN.RenewBefore = acmeCertLifetime - 3*time.Second // renew a few seconds after issuance
	var validations atomic.Int32                         // acme-tls/1 handshakes for acmeDomainALPN
	cfg := newTestConfig(t, configOpts{policy: "default_tls13"})
	require.NoError(t, cfg.SetProtocolPreferences([]string{"http/1.1"}))
	require.NoError(t, cfg.SetGetCertificate(func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
		// Not those for acmeDomainHTTP, whose TLS-ALPN-01 attempts reach
		// this server too (below).
		if slices.Equal(h.SupportedProtos, []string{ACMEProtocol}) && h.ServerName == acmeDomainALPN {
			validations.Add(1)
		}
		return mALPN.GetCertificate(h)
	}))
	serveS2n(t, NewListener(tlsRaw, cfg))

	// TLS-ALPN-01: the first connection's certificate is issued while its
	// handshake waits.
	first := fetchServerCert(t, tlsRaw.Addr().String(), acmeDomainALPN, pebble.roots)
	require.Positive(t, validations.Load(), "pebble validated through the s2n server")
	// The renewal may start while the HTTP-01 part below runs (a few
	// seconds after issuance): count its validations from here.
	before := validations.Load()
	// autocert chose the key type from the ClientHelloInfo's signature
	// schemes, suites and curves, as it does with crypto/tls.
	require.Equal(t, x509.ECDSA, first.PublicKeyAlgorithm)

	// HTTP-01: a second Manager answers on a plain HTTP listener. Its
	// TLS-ALPN-01 attempt reaches the first server, which has no token for
	// it (mALPN's GetCertificate fails that handshake), so it falls back to
	// HTTP-01.
	mHTTP := pebble.manager(t, acmeDomainHTTP)
	challenges := mHTTP.HTTPHandler(nil)
	var httpChallenges atomic.Int32
	httpSrv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The Manager checks Host against its HostPolicy: drop the port,
		// which port 80 would not have.
		if host, _, err := net.SplitHostPort(r.Host); err == nil {
			r.Host = host
		}
		httpChallenges.Add(1)
		challenges.ServeHTTP(w, r)
	})}
	go httpSrv.Serve(httpRaw)
	t.Cleanup(func() { httpSrv.Close() })
	cfgHTTP := newTestConfig(t, configOpts{policy: "default_tls13"})
	require.NoError(t, cfgHTTP.SetProtocolPreferences([]string{"http/1.1"}))
	require.NoError(t, cfgHTTP.SetGetCertificate(mHTTP.GetCertificate))
	l, err := Listen("tcp", "127.0.0.1:0", cfgHTTP)
	require.NoError(t, err)
	serveS2n(t, l)
	viaHTTP := fetchServerCert(t, l.Addr().String(), acmeDomainHTTP, pebble.roots)
	require.NotEqual(t, first.SerialNumber, viaHTTP.SerialNumber)
	require.Positive(t, httpChallenges.Load(), "pebble validated over HTTP-01")

	// Renewal: autocert's timer renews acmeDomainALPN (validated again
	// through the s2n server); the running server then serves the new
	// certificate.
	renewed := first
	deadline := time.Now().Add(2 * time.Minute) // a hang guard, not a speed check
	for renewed.SerialNumber.Cmp(first.SerialNumber) == 0 {
		require.True(t, time.Now().Before(deadline), "no renewed certificate served")
		time.Sleep(200 * time.Millisecond)
		renewed = fetchServerCert(t, tlsRaw.Addr().String(), acmeDomainALPN, pebble.roots)
	}
	require.True(t, renewed.NotBefore.After(first.NotBefore) || renewed.NotBefore.Equal(first.NotBefore))
	require.Greater(t, validations.Load(), before, "the renewal was validated through the running server")
}
