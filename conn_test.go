package s2n

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestConnBindingToBindingWithSigner(t *testing.T) {
	for _, v := range variants(t) {
		t.Run(v.name, func(t *testing.T) {
			signer := &faultySigner{key: v.key.signer}
			addr, served := serveResults(t, signerConfig(t, v.policy, v.key, signer, "h2", "http/1.1"), 1, func(c *Conn) error {
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
			signer := &faultySigner{key: tc.key.signer}
			addr, served := serveResults(t, signerConfig(t, tc.policy, tc.key, signer), 1, echoOnce)
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
	for _, max := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		goCfg := &tls.Config{Certificates: []tls.Certificate{goCert(ec)}, MaxVersion: max, NextProtos: []string{"http/1.1"}}
		addr, _ := serveGoTLS(t, goCfg, 1, func(c *tls.Conn) error {
			_, err := io.Copy(c, c)
			return err
		})
		c, err := Dial("tcp", addr, clientConfig(t, "default_tls13", ec, "http/1.1"))
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
	addr, served := serveResults(t, signerConfig(t, "default_tls13", ec, &faultySigner{key: ec.signer}), 1, func(c *Conn) error {
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
	for name, signer := range map[string]*faultySigner{
		"error": {key: ec.signer, fault: signerFault{err: errKMS}},
		"panic": {key: ec.signer, fault: signerFault{panics: true}},
	} {
		t.Run(name, func(t *testing.T) {
			addr, served := serveResults(t, signerConfig(t, "default_tls13", ec, signer), 1, func(c *Conn) error { return c.Handshake() })
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
	signer := &faultySigner{key: ec.signer, release: release}
	defer close(release) // let the stuck signer goroutine finish
	cfg := signerConfig(t, "default_tls13", ec, signer)

	for _, how := range []string{"context", "deadline"} {
		t.Run(how, func(t *testing.T) {
			addr, served := serveResults(t, cfg, 1, func(c *Conn) error {
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
	signer := &faultySigner{key: ec.signer, fault: signerFault{delay: 5 * time.Millisecond}}
	cfg := newTestConfig(t, configOpts{policy: "default_tls13"})
	require.NoError(t, cfg.SetMaxInflightKeyOps(2))
	require.NoError(t, cfg.AddCertChainWithSigner(ec.certPEM, signer))
	const n = 12
	addr, served := serveResults(t, cfg, n, func(c *Conn) error { return c.Handshake() })
	client := clientConfig(t, "default_tls13", ec)
	var clients sync.WaitGroup
	for range n {
		clients.Add(1)
		go func() {
			defer clients.Done()
			c, err := Dial("tcp", addr, client)
			if err == nil {
				c.Close()
			}
		}()
	}
	clients.Wait()
	for range served { // every server handshake has ended
	}
	require.EqualValues(t, n, signer.calls.Load())
	require.LessOrEqual(t, signer.maxInside.Load(), int32(2))
}

func TestConnChainsChosenByKeyType(t *testing.T) {
	ec, rs, _ := testKeys(t)
	sEC, sRSA := &faultySigner{key: ec.signer}, &faultySigner{key: rs.signer}
	cfg := newTestConfig(t, configOpts{policy: "default_tls13"})
	require.NoError(t, cfg.AddCertChainWithSigner(ec.certPEM, sEC))
	require.NoError(t, cfg.AddCertChainWithSigner(rs.certPEM, sRSA))
	addr, _ := serveResults(t, cfg, 0, func(c *Conn) error { return c.Handshake() })
	// A TLS 1.2 client that only takes RSA certificates gets the RSA chain.
	for _, tc := range []struct {
		suite  uint16
		key    *testKey
		signer *faultySigner
	}{
		{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, rs, sRSA},
		{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, ec, sEC},
	} {
		before := tc.signer.calls.Load()
		cfg := goTLSClientConfig(tc.key)
		cfg.MaxVersion = tls.VersionTLS12
		cfg.CipherSuites = []uint16{tc.suite}
		c, err := tls.Dial("tcp", addr, cfg)
		require.NoError(t, err)
		require.Equal(t, tc.key.cert.Raw, c.ConnectionState().PeerCertificates[0].Raw)
		c.Close()
		require.Equal(t, before+1, tc.signer.calls.Load())
	}
}

func TestConnHTTPS(t *testing.T) {
	ec, _, _ := testKeys(t)
	signer := &faultySigner{key: ec.signer}
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
	addr, served := serveResults(t, signerConfig(t, "default_tls13", ec, &faultySigner{key: ec.signer}), 1, func(c *Conn) error {
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
	requireS2nError(t, c.Handshake(), "S2N_ERR_CERT_UNTRUSTED")
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
		addr, served := serveResults(t, signerConfig(t, "default_tls13", ec, &faultySigner{key: ec.signer}), 1, func(c *Conn) error {
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
