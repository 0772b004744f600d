package s2nmetrics_test

import (
	"crypto/rand"
	"crypto/tls"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	"github.com/s2n-go/s2n"
	"github.com/s2n-go/s2n/internal/clitest"
	"github.com/s2n-go/s2n/s2nmetrics"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { clitest.Main(m) }

// serverConfig is an s2n server Config with cert, session tickets on and
// the shortest blinding delay s2n allows.
func serverConfig(t *testing.T, cert *clitest.Cert) *s2n.Config {
	t.Helper()
	cfg, err := s2n.NewConfig()
	require.NoError(t, err)
	t.Cleanup(func() { cfg.Close() })
	require.NoError(t, cfg.SetCipherPreferences("default_tls13"))
	require.NoError(t, cfg.AddCertChainWithSigner(cert.PEM(), cert.Key))
	require.NoError(t, cfg.SetSessionTickets(true))
	key := make([]byte, 32)
	_, err = rand.Read(key)
	require.NoError(t, err)
	require.NoError(t, cfg.AddTicketKey([]byte("k"), key, time.Time{}))
	require.NoError(t, cfg.SetMaxBlindingDelay(time.Second))
	return cfg
}

// serveOnce runs one s2n server connection on loopback TCP (whose
// buffers let both sides write at once, as TLS 1.3's tickets need):
// handshake, then echo one message. It returns the client's end and the
// server's result; both ends give up after 10 s.
func serveOnce(t *testing.T, cfg *s2n.Config) (net.Conn, <-chan error) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	c, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	s, err := l.Accept()
	require.NoError(t, err)
	deadline := time.Now().Add(10 * time.Second)
	require.NoError(t, c.SetDeadline(deadline))
	require.NoError(t, s.SetDeadline(deadline))
	done := make(chan error, 1)
	go func() {
		conn := s2n.Server(s, cfg)
		defer conn.Close()
		err := conn.Handshake()
		if err == nil {
			buf := make([]byte, 5)
			if _, err = io.ReadFull(conn, buf); err == nil {
				_, err = conn.Write(buf)
			}
		}
		done <- err
	}()
	return c, done
}

// goClient handshakes with crypto/tls over c, and echoes one message so
// that it reads the server's TLS 1.3 session ticket.
func goClient(c net.Conn, cfg *tls.Config) error {
	conn := tls.Client(c, cfg)
	defer conn.Close()
	if err := conn.Handshake(); err != nil {
		return err
	}
	if _, err := conn.Write([]byte("hello")); err != nil {
		return err
	}
	_, err := io.ReadFull(conn, make([]byte, 5))
	return err
}

func handshakesWith(col *s2nmetrics.Collector, labels ...string) float64 {
	return testutil.ToFloat64(col.HandshakesCounter().WithLabelValues(labels...))
}

// TestCollector: a server's handshakes with crypto/tls clients are counted
// by what they negotiated (a full handshake, then a resumption by ticket),
// a failed one by its error and the alert the client sent, and every one
// in the duration histogram and the byte counters.
func TestCollector(t *testing.T) {
	cert := clitest.NewECDSACert(t, t.TempDir(), "server")
	col := s2nmetrics.New(s2nmetrics.Options{})
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(col))
	cfg := serverConfig(t, cert)
	require.NoError(t, col.Attach(cfg))

	goCfg := &tls.Config{RootCAs: cert.Pool, ServerName: "localhost", ClientSessionCache: tls.NewLRUClientSessionCache(1),
		CurvePreferences: []tls.CurveID{tls.X25519}}
	var cipher string
	for range 2 {
		c, done := serveOnce(t, cfg)
		require.NoError(t, goClient(c, goCfg))
		require.NoError(t, <-done)
	}
	// The cipher is s2n's name for what crypto/tls chose; read it from the
	// metric's own series and check it is a TLS 1.3 suite s2n names.
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == "s2n_handshakes_total" {
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "cipher" {
						cipher = l.GetValue()
					}
				}
			}
		}
	}
	require.Contains(t, []string{"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}, cipher)

	full := handshakesWith(col, "server", "TLS1.3", cipher, "x25519", "ecdsa_secp256r1_sha256",
		"NEGOTIATED|FULL_HANDSHAKE|MIDDLEBOX_COMPAT", "false")
	resumed := handshakesWith(col, "server", "TLS1.3", cipher, "x25519", "none",
		"NEGOTIATED|MIDDLEBOX_COMPAT", "true")
	if full != 1 || resumed != 1 {
		// Show every series to explain the mismatch.
		out, _ := testutil.CollectAndFormat(col, expfmt.TypeTextPlain, "s2n_handshakes_total")
		t.Fatalf("want one full handshake and one resumption, got %v and %v:\n%s", full, resumed, out)
	}

	// A client that does not trust the server's certificate sends
	// bad_certificate (42).
	c, done := serveOnce(t, cfg)
	require.Error(t, goClient(c, &tls.Config{ServerName: "localhost"}))
	serverErr := <-done
	var se *s2n.Error
	require.ErrorAs(t, serverErr, &se)
	require.Equal(t, 1.0, testutil.ToFloat64(col.FailuresCounter().WithLabelValues("server", "alert", se.Name, "42")),
		"server error %v", serverErr)

	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP s2n_handshake_failures_total Failed TLS handshakes, by side, s2n error type and name, and the alert received from the peer ("" when none).
# TYPE s2n_handshake_failures_total counter
s2n_handshake_failures_total{alert="42",error="`+se.Name+`",error_type="alert",side="server"} 1
`), "s2n_handshake_failures_total"))

	// Three handshakes in the histogram, with their results.
	mfs, err = reg.Gather()
	require.NoError(t, err)
	counts := map[string]uint64{}
	for _, mf := range mfs {
		if mf.GetName() != "s2n_handshake_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" {
					counts[l.GetValue()] = m.GetHistogram().GetSampleCount()
					require.Positive(t, m.GetHistogram().GetSampleSum(), "durations are measured")
				}
			}
		}
	}
	require.Equal(t, map[string]uint64{"ok": 2, "error": 1}, counts)
	require.Greater(t, testutil.ToFloat64(col.BytesReceivedCounter().WithLabelValues("server", "ok")), 200.0, "two ClientHellos at least")
	require.Greater(t, testutil.ToFloat64(col.BytesSentCounter().WithLabelValues("server", "ok")), 500.0, "a certificate at least")
}

// TestWrap: on an s2n client, Wrap keeps the application's own callback,
// which sees every event after the Collector counted it.
func TestWrap(t *testing.T) {
	cert := clitest.NewECDSACert(t, t.TempDir(), "server")
	col := s2nmetrics.New(s2nmetrics.Options{Namespace: "edge", ConstLabels: prometheus.Labels{"listener": "test"}})
	server := serverConfig(t, cert)

	client, err := s2n.NewConfig()
	require.NoError(t, err)
	t.Cleanup(func() { client.Close() })
	require.NoError(t, client.SetCipherPreferences("default_tls13"))
	require.NoError(t, client.WipeTrustStore())
	require.NoError(t, client.AddPEMToTrustStore(cert.PEM()))
	var seen atomic.Int32
	var countedBefore atomic.Bool
	require.NoError(t, client.SetHandshakeEventCallback(col.Wrap(func(conn *s2n.Connection, ev s2n.HandshakeEvent) {
		seen.Add(1)
		countedBefore.Store(testutil.CollectAndCount(col, "edge_handshakes_total") == 1)
	})))

	c, done := serveOnce(t, server)
	conn := s2n.Client(c, client, "localhost")
	require.NoError(t, conn.Handshake())
	_, err = conn.Write([]byte("hello"))
	require.NoError(t, err)
	_, err = io.ReadFull(conn, make([]byte, 5))
	require.NoError(t, err)
	cipher, group := conn.Connection().CipherSuite(), conn.Connection().KeyExchangeGroup()
	require.NoError(t, conn.Close())
	require.NoError(t, <-done)

	require.Equal(t, int32(1), seen.Load(), "the application's callback ran once")
	require.True(t, countedBefore.Load(), "the Collector counted first")
	require.Equal(t, 1, testutil.CollectAndCount(col, "edge_handshakes_total"))
	require.Equal(t, 1.0, testutil.ToFloat64(col.HandshakesCounter().WithLabelValues("client", "TLS1.3",
		cipher, group, "ecdsa_secp256r1_sha256",
		"NEGOTIATED|FULL_HANDSHAKE|MIDDLEBOX_COMPAT", "false")))
	require.Equal(t, 0, testutil.CollectAndCount(col, "edge_handshake_failures_total"))
}
