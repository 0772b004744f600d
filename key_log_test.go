package s2n

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// keyLogLines splits an NSS key log into its lines, checking each is
// "LABEL <64 hex client random> <hex secret>" and ends in a newline.
func keyLogLines(t *testing.T, log string) []string {
	t.Helper()
	require.True(t, strings.HasSuffix(log, "\n"), "key log ends in a newline: %q", log)
	lines := strings.Split(strings.TrimSuffix(log, "\n"), "\n")
	for _, l := range lines {
		f := strings.Fields(l)
		require.Len(t, f, 3, "key log line %q", l)
		_, err := hex.DecodeString(f[1])
		require.NoError(t, err, "client random of %q", l)
		require.Len(t, f[1], 64, "client random of %q", l)
		_, err = hex.DecodeString(f[2])
		require.NoError(t, err, "secret of %q", l)
	}
	return lines
}

// keyLogSecret returns the secret of the line labelled label.
func keyLogSecret(t *testing.T, lines []string, label string) []byte {
	t.Helper()
	for _, l := range lines {
		if f := strings.Fields(l); f[0] == label {
			b, err := hex.DecodeString(f[2])
			require.NoError(t, err)
			return b
		}
	}
	t.Fatalf("no %s line in %q", label, lines)
	return nil
}

// hkdfExpandLabel is TLS 1.3's HKDF-Expand-Label (RFC 8446, section 7.1).
func hkdfExpandLabel(t *testing.T, h func() hash.Hash, secret []byte, label string, context []byte, n int) []byte {
	t.Helper()
	full := "tls13 " + label
	info := []byte{byte(n >> 8), byte(n), byte(len(full))}
	info = append(info, full...)
	info = append(append(info, byte(len(context))), context...)
	out, err := hkdf.Expand(h, secret, string(info), n)
	require.NoError(t, err)
	return out
}

// exporterFromKeyLog computes the TLS 1.3 exporter (RFC 8446, section 7.5)
// from a key log's EXPORTER_SECRET.
func exporterFromKeyLog(t *testing.T, h func() hash.Hash, secret []byte, label string, context []byte, n int) []byte {
	empty := h().Sum(nil)
	derived := hkdfExpandLabel(t, h, secret, label, empty, len(empty))
	hc := h()
	hc.Write(context)
	return hkdfExpandLabel(t, h, derived, "exporter", hc.Sum(nil), n)
}

// TestKeyLogTLS13MatchesGo: a TLS 1.3 handshake between a binding server
// and a crypto/tls client, both logging keys. The binding logs the same
// lines as crypto/tls, plus EXPORTER_SECRET (crypto/tls does not log it),
// from which the exporter crypto/tls computes is derived again.
func TestKeyLogTLS13MatchesGo(t *testing.T) {
	ec, _, _ := testKeys(t)
	var s2nLog, goLog bytes.Buffer
	cfg := newTestConfig(t, configOpts{policy: "default_tls13", chain: ec})
	require.NoError(t, cfg.SetKeyLogWriter(&s2nLog))
	goCfg := goTLSClientConfig(ec)
	goCfg.KeyLogWriter = &goLog
	r := goPeerHandshake(t, ModeServer, cfg, goCfg)
	require.NoError(t, r.err)
	require.NoError(t, r.goErr)
	require.Equal(t, uint16(tls.VersionTLS13), r.goState.Version)

	ours := keyLogLines(t, s2nLog.String())
	theirs := keyLogLines(t, goLog.String())
	require.Len(t, theirs, 4, "crypto/tls's TLS 1.3 lines")
	withoutExporter := slices.DeleteFunc(slices.Clone(ours), func(l string) bool { return strings.HasPrefix(l, "EXPORTER_SECRET ") })
	require.Len(t, withoutExporter, len(ours)-1, "one EXPORTER_SECRET line in %q", ours)
	require.ElementsMatch(t, theirs, withoutExporter)

	h := sha256.New
	if r.goState.CipherSuite == tls.TLS_AES_256_GCM_SHA384 {
		h = sha512.New384
	}
	want, err := r.goState.ExportKeyingMaterial("EXPERIMENTAL key log", []byte("ctx"), 32)
	require.NoError(t, err)
	got := exporterFromKeyLog(t, h, keyLogSecret(t, ours, "EXPORTER_SECRET"), "EXPERIMENTAL key log", []byte("ctx"), 32)
	require.Equal(t, want, got, "the exporter derived from the logged EXPORTER_SECRET")

	_, err = r.conn.MasterSecret()
	requireS2nError(t, err, "S2N_ERR_INVALID_STATE", ErrUsage)
}

// TestKeyLogTLS12MasterSecret: a TLS 1.2 binding client against a crypto/tls
// server, both logging: the same CLIENT_RANDOM line, whose secret is what
// MasterSecret returns.
func TestKeyLogTLS12MasterSecret(t *testing.T) {
	ec, _, _ := testKeys(t)
	var s2nLog, goLog bytes.Buffer
	cfg := clientConfig(t, policyTLS12, ec)
	require.NoError(t, cfg.SetKeyLogWriter(&s2nLog))
	goCfg := &tls.Config{Certificates: []tls.Certificate{goCert(ec)}, MaxVersion: tls.VersionTLS12, KeyLogWriter: &goLog}
	r := goPeerHandshake(t, ModeClient, cfg, goCfg)
	require.NoError(t, r.err)
	require.NoError(t, r.goErr)
	require.Equal(t, uint16(tls.VersionTLS12), r.goState.Version)

	ours := keyLogLines(t, s2nLog.String())
	require.Equal(t, keyLogLines(t, goLog.String()), ours)
	require.Len(t, ours, 1)
	require.True(t, strings.HasPrefix(ours[0], "CLIENT_RANDOM "), ours[0])
	ms, err := r.conn.MasterSecret()
	require.NoError(t, err)
	require.Equal(t, keyLogSecret(t, ours, "CLIENT_RANDOM"), ms)
}

// TestKeyLogOff: without a writer, or after SetKeyLogWriter(nil), nothing
// is logged; a Config in use refuses the setter.
func TestKeyLogOff(t *testing.T) {
	ec, _, _ := testKeys(t)
	var log bytes.Buffer
	server := newTestConfig(t, configOpts{policy: "default_tls13", chain: ec})
	require.NoError(t, server.SetKeyLogWriter(&log))
	require.NoError(t, server.SetKeyLogWriter(nil))
	client := clientConfig(t, "default_tls13", ec)
	newPair(t, server, client).handshake(t)
	require.Zero(t, log.Len())
	requireS2nError(t, server.SetKeyLogWriter(&log), nameInUse, ErrUsage)
}

// failingWriter fails or panics on every write.
type failingWriter struct{ panics bool }

var errKeyLogFull = errors.New("key log disk full")

func (w failingWriter) Write([]byte) (int, error) {
	if w.panics {
		panic("key log writer panicked")
	}
	return 0, errKeyLogFull
}

// shortWriter takes one byte less than it is given.
type shortWriter struct{}

func (shortWriter) Write(b []byte) (int, error) { return len(b) - 1, nil }

// TestKeyLogWriterFailure: a writer that fails, writes short or panics ends
// the handshake with its error (s2n itself ignores the callback's result),
// and the connection is left for Close only.
func TestKeyLogWriterFailure(t *testing.T) {
	ec, _, _ := testKeys(t)
	for _, tc := range []struct {
		name  string
		w     io.Writer
		check func(t *testing.T, err error)
	}{
		{"error", failingWriter{}, func(t *testing.T, err error) { require.ErrorIs(t, err, errKeyLogFull) }},
		{"short", shortWriter{}, func(t *testing.T, err error) { require.ErrorIs(t, err, io.ErrShortWrite) }},
		{"panic", failingWriter{panics: true}, func(t *testing.T, err error) {
			var pe *PanicError
			require.ErrorAs(t, err, &pe)
			require.Equal(t, "key log writer panicked", pe.Value)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			server := newTestConfig(t, configOpts{policy: "default_tls13", chain: ec})
			require.NoError(t, server.SetKeyLogWriter(tc.w))
			p := newPair(t, server, clientConfig(t, "default_tls13", ec))
			s, _ := p.drive(t, 10*time.Second)
			requireS2nError(t, s.err, nameCallbackFailed, ErrInternal)
			tc.check(t, s.err)
			_, err := p.server.Negotiate()
			require.Same(t, s.err, err, "the connection stays failed")
			require.NoError(t, p.server.Close())
		})
	}
}

// countingWriter fails the test if two writes overlap, and keeps the lines.
type countingWriter struct {
	inside  atomic.Int32
	overlap atomic.Bool
	buf     bytes.Buffer
}

func (w *countingWriter) Write(b []byte) (int, error) {
	if w.inside.Add(1) != 1 {
		w.overlap.Store(true)
	}
	defer w.inside.Add(-1)
	return w.buf.Write(b)
}

// TestKeyLogConcurrentConns: Conns of two Configs sharing one writer, many
// handshakes at once: the writes never overlap and every line is whole.
func TestKeyLogConcurrentConns(t *testing.T) {
	ec, _, _ := testKeys(t)
	w := &countingWriter{}
	server := newTestConfig(t, configOpts{policy: "default_tls13", chain: ec})
	require.NoError(t, server.SetKeyLogWriter(w))
	client := clientConfig(t, "default_tls13", ec)
	require.NoError(t, client.SetKeyLogWriter(w))
	const n = 8
	addr, results := serveResults(t, server, n, echoOnce)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := dialClient(t, addr, client)
			if _, err := c.Write([]byte("ping")); err != nil {
				errs <- err
				return
			}
			_, err := io.ReadFull(c, make([]byte, 4))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	for err := range results {
		require.NoError(t, err)
	}
	require.False(t, w.overlap.Load(), "two key log writes overlapped")
	lines := keyLogLines(t, w.buf.String())
	// Five TLS 1.3 lines per side per connection.
	require.Len(t, lines, 2*5*n)
	for _, label := range []string{"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
		"CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0", "EXPORTER_SECRET"} {
		count := 0
		for _, l := range lines {
			if strings.HasPrefix(l, label+" ") {
				count++
			}
		}
		require.Equal(t, 2*n, count, label)
	}
}
