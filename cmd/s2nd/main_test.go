package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/s2n-go/s2n"
	"github.com/s2n-go/s2n/internal/cli"
	"github.com/s2n-go/s2n/internal/clitest"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ocsp"
)

func TestMain(m *testing.M) { clitest.Main(m) }

var listening = regexp.MustCompile(`^s2nd: listening on 127\.0\.0\.1:(\d+) `)

// daemon is s2nd running in-process on a free localhost port.
type daemon struct {
	addr     string // localhost:port, the name its certificate has
	certFile string // its certificate, from --write-cert
	stdout   *clitest.Output
	stderr   *clitest.Output
	cancel   context.CancelFunc
	exited   chan struct{}
	code     int
}

// startS2nd runs s2nd with args on localhost, port 0, and waits until it
// listens. The test's cleanup stops it.
func startS2nd(t *testing.T, args ...string) *daemon {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &daemon{
		certFile: filepath.Join(t.TempDir(), "s2nd.pem"),
		stdout:   clitest.NewOutput(),
		stderr:   clitest.NewOutput(),
		cancel:   cancel,
		exited:   make(chan struct{}),
	}
	args = append([]string{"-v", "--write-cert", d.certFile}, append(args, "localhost", "0")...)
	go func() {
		defer close(d.exited)
		d.code = run(ctx, args, nil, d.stdout, d.stderr)
	}()
	t.Cleanup(func() { d.stop(t) })
	m := d.stderr.WaitFor(t, listening, d.exited)
	d.addr = "localhost:" + m[1]
	return d
}

// wait waits for s2nd to exit by itself and returns its status.
func (d *daemon) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-d.exited:
		return d.code
	case <-time.After(15 * time.Second):
		t.Fatalf("s2nd did not exit; stderr:\n%s", d.stderr)
		return -1
	}
}

// stop interrupts s2nd (as SIGINT does) and returns its status.
func (d *daemon) stop(t *testing.T) int {
	d.cancel()
	return d.wait(t)
}

// summary waits for connection #id's summary line.
func (d *daemon) summary(t *testing.T, id int) string {
	t.Helper()
	return d.stderr.WaitFor(t, regexp.MustCompile(fmt.Sprintf(`^s2nd: #%d .*`, id)), d.exited)[0]
}

// trust returns a pool with s2nd's certificate.
func (d *daemon) trust(t *testing.T) *x509.CertPool {
	pem, err := os.ReadFile(d.certFile)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pem))
	return pool
}

// s2nClient is a binding client Config trusting s2nd's certificate.
func (d *daemon) s2nClient(t *testing.T, policy string) *s2n.Config {
	t.Helper()
	pem, err := os.ReadFile(d.certFile)
	require.NoError(t, err)
	cfg, err := s2n.NewConfig()
	require.NoError(t, err)
	t.Cleanup(func() { cfg.Close() })
	require.NoError(t, cfg.SetCipherPreferences(policy))
	require.NoError(t, cfg.WipeTrustStore())
	require.NoError(t, cfg.AddPEMToTrustStore(pem))
	require.NoError(t, cfg.SetSessionTickets(true))
	return cfg
}

// exchange sends msg, half-closes (TLS 1.3) and reads until the server
// closes.
func exchange(t *testing.T, c *s2n.Conn, msg string) string {
	t.Helper()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	_, err := io.WriteString(c, msg)
	require.NoError(t, err)
	require.NoError(t, c.CloseWrite())
	got, err := io.ReadAll(c)
	require.NoError(t, err)
	return string(got)
}

// clientData is s2nd's stdout without s2n-tls's s2nd's status lines
// ("Listening on", and each connection's parameters up to "s2n is ready"):
// what the clients sent.
func clientData(stdout string) string {
	return statusLines.ReplaceAllString(stdout, "")
}

var statusLines = regexp.MustCompile(`(?s)Listening on [^\n]*\n|CONNECTED:\n.*?\n` + cli.Ready + `\n`)

func runS2nd(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, nil, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestDefaults(t *testing.T) {
	o, err := parseArgs(nil, io.Discard)
	require.NoError(t, err)
	require.Equal(t, "localhost", o.host)
	require.Equal(t, "8443", o.port)
	require.Equal(t, "default_tls13", o.tls.Ciphers)
	require.False(t, o.key.Configured(), "no key flags: the throwaway key")
	require.Equal(t, "print", o.mode())
	key, err := o.loadKey()
	require.NoError(t, err)
	defer key.Close()
	require.True(t, key.Offloaded(), "the default key is offloaded")

	o, err = parseArgs([]string{"-e", "127.0.0.1", "9000", "-c", "default_pq"}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, []string{"127.0.0.1", "9000", "default_pq", "echo"}, []string{o.host, o.port, o.tls.Ciphers, o.mode()})
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--bogus"}, "s2nd: flag provided but not defined: -bogus (see s2nd -h)\n"},
		{[]string{"-c"}, "s2nd: flag needs an argument: -c (see s2nd -h)\n"},
		{[]string{"--key-latency", "soon"}, `s2nd: invalid value "soon" for flag -key-latency: parse error (see s2nd -h)` + "\n"},
		{[]string{"localhost", "99999"}, `s2nd: invalid port "99999" (see s2nd -h)` + "\n"},
		{[]string{"a", "1", "b"}, `s2nd: too many arguments: ["b"] (see s2nd -h)` + "\n"},
		{[]string{"-e", "-w"}, "s2nd: --echo and --https are exclusive (see s2nd -h)\n"},
		{[]string{"-X=-1"}, "s2nd: --max-conns must not be negative (see s2nd -h)\n"},
		{[]string{"--cert", "c.pem"}, "s2nd: --cert needs --key (or --pkcs11-key-label) (see s2nd -h)\n"},
		{[]string{"-n", "-e"}, "s2nd: --negotiate, --echo and --https are exclusive (see s2nd -h)\n"},
		{[]string{"-Xfive"}, `s2nd: invalid boolean value "five" for -X: not an integer (see s2nd -h)` + "\n"},
		{[]string{"-w", "-A", "h2"}, "s2nd: --https speaks HTTP/1.1 only: --alpn must be http/1.1 or absent (see s2nd -h)\n"},
		{[]string{"-b", "10"}, "s2nd: --https-bench needs --https (see s2nd -h)\n"},
		{[]string{"-w", "-b", "-1"}, "s2nd: --https-bench must not be negative (see s2nd -h)\n"},
		{[]string{"--timeout", "0s"}, "s2nd: --timeout must be positive (see s2nd -h)\n"},
		{[]string{"--cert", "a.pem", "--key", "a.key", "--cert", "b.pem"}, "s2nd: mismatched --cert (2) and --key (1) count: give them in pairs (see s2nd -h)\n"},
		{[]string{"--cert", "a.pem", "--key", "a.key", "--cert", "b.pem", "--key", "b.key", "--pkcs11-key-label", "k"}, "s2nd: several --cert/--key pairs and --pkcs11-key-label are exclusive (see s2nd -h)\n"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr := runS2nd(tc.args...)
			require.Equal(t, cli.ExitUsage, code)
			require.Equal(t, tc.want, stderr)
			require.Empty(t, stdout)
		})
	}
}

func TestHelpListsEveryFlag(t *testing.T) {
	code, stdout, stderr := runS2nd("-h")
	require.Equal(t, cli.ExitOK, code)
	require.Empty(t, stderr)
	require.Equal(t, usage, stdout)
	fs := cli.NewFlagSet(name, usage, io.Discard)
	new(options).register(fs)
	fs.VisitAll(func(f *flag.Flag) {
		dashes := "--"
		if len(f.Name) == 1 {
			dashes = "-"
		}
		require.Regexp(t, `[ ,]`+regexp.QuoteMeta(dashes+f.Name)+`[ ,\n\[]`, usage, "usage does not mention %s%s", dashes, f.Name)
	})
}

func TestRuntimeErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "x.pem")
	c := clitest.NewECDSACert(t, dir, "localhost")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	empty, big := filepath.Join(dir, "empty.der"), filepath.Join(dir, "big.der")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	require.NoError(t, os.WriteFile(big, make([]byte, s2n.MaxOCSPResponseSize+1), 0o600))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--cert", missing, "--key", c.KeyFile}, "s2nd: --cert: open " + missing + ": no such file or directory\n"},
		{[]string{"--cert", c.CertFile, "--key", missing}, "s2nd: --key: open " + missing + ": no such file or directory\n"},
		{[]string{"--cert", c.KeyFile, "--key", c.KeyFile}, "s2nd: --cert " + c.KeyFile + ": no PEM CERTIFICATE block found\n"},
		{[]string{"-c", "no_such_policy"}, `s2nd: --ciphers "no_such_policy": s2n: `},
		{[]string{"-m", "-t", missing}, "s2nd: --ca-file: open " + missing + ": no such file or directory\n"},
		{[]string{"--write-cert", filepath.Join(c.CertFile, "c.pem")}, "s2nd: --write-cert: open " + filepath.Join(c.CertFile, "c.pem") + ": not a directory\n"},
		{[]string{"127.0.0.1", portOf(busy.Addr())}, "s2nd: listen tcp 127.0.0.1:" + portOf(busy.Addr()) + ": bind: address already in use\n"},
		{[]string{"--ocsp", missing}, "s2nd: --ocsp: open " + missing + ": no such file or directory\n"},
		{[]string{"--ocsp", empty}, "s2nd: OCSP response: s2n: OCSP response of 0 bytes: it must hold 1 to 32768 bytes"},
		{[]string{"--async", "--ocsp", big}, "s2nd: OCSP response: s2n: OCSP response of 32769 bytes: it must hold 1 to 32768 bytes"},
		{[]string{"--cert", c.CertFile, "--key", c.KeyFile, "--cert", missing, "--key", c.KeyFile}, "s2nd: --cert: open " + missing + ": no such file or directory\n"},
		{[]string{"--stk-file", missing}, "s2nd: --stk-file: open " + missing + ": no such file or directory\n"},
		{[]string{"--stk-file", empty}, "s2nd: session resumption: --stk-file: s2n: "},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, stderr := runS2nd(tc.args...)
			require.Equal(t, cli.ExitFailure, code)
			require.True(t, strings.HasPrefix(stderr, tc.want), "stderr %q, want prefix %q", stderr, tc.want)
			require.Equal(t, 1, strings.Count(stderr, "\n"), "one line: %q", stderr)
		})
	}
}

func rsaKey(t *testing.T) *rsa.PrivateKey {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	return key
}

func portOf(a net.Addr) string { return fmt.Sprint(a.(*net.TCPAddr).Port) }

// The README's case: no key flags, a throwaway certificate, the key
// offloaded with a simulated delay; a binding client verifies the
// certificate s2nd wrote.
func TestEchoThrowawayKeyOffloaded(t *testing.T) {
	d := startS2nd(t, "--key-latency", "20ms", "-e", "-X1")
	require.Contains(t, d.stderr.String(), "echo mode); certificate CN=localhost,O=s2nd throwaway (ECDSA P-256, self-signed, expires ")
	require.Contains(t, d.stderr.String(), "key: throwaway ECDSA P-256 key made at start, offloaded asynchronously (+20ms simulated latency)\n")

	start := time.Now()
	c, err := s2n.Dial("tcp", d.addr, d.s2nClient(t, "default_tls13"))
	require.NoError(t, err)
	defer c.Close()
	require.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond, "the handshake waited for the key")
	st := c.ConnectionState()
	require.Equal(t, s2n.TLS13, c.HandshakeInfo().Version)
	require.Equal(t, "localhost", st.PeerCertificates[0].Subject.CommonName)
	require.Equal(t, "ping\n", exchange(t, c, "ping\n"))

	require.Equal(t, cli.ExitOK, d.wait(t))
	require.Regexp(t, `^s2nd: #1 127\.0\.0\.1:\d+ protocol=TLS1\.3 cipher=TLS_AES_\S+ group=\S+ alpn=- sni=localhost resumed=no `+
		`peer-cert=- offloaded-ops=1 handshake=\S+ in=5 out=5$`, d.summary(t, 1))
	require.Equal(t, "s2nd: done: 1 connection, 0 failed handshakes; server key: 1 key operation offloaded, ",
		d.stderr.Lines()[2][:len("s2nd: done: 1 connection, 0 failed handshakes; server key: 1 key operation offloaded, ")])
	require.Empty(t, clientData(d.stdout.String()), "echo mode prints only the status lines on stdout")
}

// Default mode: what a crypto/tls client sends shows on stdout.
func TestPrintModeWithGoClient(t *testing.T) {
	d := startS2nd(t, "-X2", "-A", "h2,http/1.1")
	for i, msg := range []string{"hello\n", "world\n"} {
		c, err := tls.Dial("tcp", d.addr, &tls.Config{RootCAs: d.trust(t), NextProtos: []string{"http/1.1"}})
		require.NoError(t, err)
		require.Equal(t, "http/1.1", c.ConnectionState().NegotiatedProtocol)
		_, err = io.WriteString(c, msg)
		require.NoError(t, err)
		require.NoError(t, c.CloseWrite())
		_, err = io.ReadAll(c) // until s2nd's close_notify
		require.NoError(t, err)
		c.Close()
		require.Contains(t, d.summary(t, i+1), " alpn=http/1.1 sni=localhost ")
	}
	require.Equal(t, cli.ExitOK, d.wait(t))
	require.Equal(t, "hello\nworld\n", clientData(d.stdout.String()))
	require.Equal(t, 2, strings.Count(d.stdout.String(), "\nActual protocol version: 34\n"), "s2n-tls's s2nd's status lines")
}

func TestHTTPS(t *testing.T) {
	d := startS2nd(t, "-w", "-X2", "--key-latency", "5ms")
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: d.trust(t), NextProtos: []string{"http/1.1"}},
		DisableKeepAlives: true,
	}}
	resp, err := client.Get("https://" + d.addr + "/")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	page := string(body)
	for _, want := range []string{
		"<h2>Your connection (#1, from 127.0.0.1:",
		"<tr><td>protocol</td><td>TLS1.3</td></tr>",
		"<tr><td>ALPN</td><td>http/1.1</td></tr>",
		"<tr><td>server name</td><td>localhost</td></tr>",
		"<tr><td>server key ops offloaded</td><td>1</td></tr>",
		"<tr><td>key offload</td><td>1 key operation offloaded, ",
		"<tr><td>s2n-tls</td><td>" + s2n.Version() + "</td></tr>",
	} {
		require.Contains(t, page, want)
	}

	resp, err = client.Get("https://" + d.addr + "/missing")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.Equal(t, cli.ExitOK, d.wait(t))
	require.Regexp(t, ` alpn=http/1\.1 sni=localhost resumed=no peer-cert=- offloaded-ops=1 handshake=\S+ in=\d+ out=\d+$`, d.summary(t, 2))
}

// --https-bench answers each connection with N zero bytes after an HTTP
// header, without reading a request, as s2n-tls's s2nd's -b does.
func TestHTTPSBench(t *testing.T) {
	d := startS2nd(t, "-w", "-b", "100000", "-X2")
	for range 2 {
		c, err := tls.Dial("tcp", d.addr, &tls.Config{RootCAs: d.trust(t)})
		require.NoError(t, err)
		require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
		got, err := io.ReadAll(c)
		c.Close()
		require.NoError(t, err)
		header := "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"
		require.True(t, strings.HasPrefix(string(got), header), "response starts %q", got[:min(len(got), 60)])
		require.Equal(t, make([]byte, 100000), got[len(header):])
	}
	require.Equal(t, cli.ExitOK, d.wait(t))
	require.Equal(t, 2, strings.Count(d.stdout.String(), "Sending 100000 bytes...\nDone. Closing connection.\n\n"), "stdout:\n%s", d.stdout)
	require.Regexp(t, ` in=0 out=100043$`, d.summary(t, 2))
}

// Mutual authentication and TLS 1.2 RSA key exchange: the server's RSA key
// decrypts the premaster secret through the offloaded Decrypter, and the
// client's offloaded ECDSA key signs.
func TestMutualAuthRSAKeyExchange(t *testing.T) {
	dir := t.TempDir()
	server := clitest.NewCert(t, dir, "server", rsaKey(t))
	client := clitest.NewECDSACert(t, dir, "alice")
	d := startS2nd(t, "--cert", server.CertFile, "--key", server.KeyFile, "--async", "-m", "-t", client.CertFile,
		"-c", "test_all_rsa_kex", "-e", "-X2")
	require.Contains(t, d.stderr.String(), "key: file "+server.KeyFile+", offloaded asynchronously\n")

	cfg := d.s2nClient(t, "test_all_rsa_kex")
	require.NoError(t, cfg.AddCertChainWithSigner(client.PEM(), client.Key))
	c, err := s2n.Dial("tcp", d.addr, cfg)
	require.NoError(t, err)
	defer c.Close()
	st := c.ConnectionState()
	info := c.HandshakeInfo()
	require.Equal(t, s2n.TLS12, info.Version)
	require.Equal(t, uint16(tls.VersionTLS12), st.Version)
	require.Empty(t, info.KeyExchangeGroup, "RSA key exchange")
	require.Equal(t, 1, info.OffloadedOps, "the client's signature")
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(c, "abc")
	require.NoError(t, err)
	buf := make([]byte, 3)
	_, err = io.ReadFull(c, buf)
	require.NoError(t, err)
	require.Equal(t, "abc", string(buf))
	require.NoError(t, c.Close())
	require.Regexp(t, `^s2nd: #1 \S+ protocol=TLS1\.2 cipher=\S+ group=- alpn=- sni=localhost resumed=no peer-cert=CN=alice offloaded-ops=1 `,
		d.summary(t, 1))

	// Without a client certificate the handshake fails, s2nd says so in
	// s2n-tls's s2nd's words and, as that one, exits.
	_, err = s2n.Dial("tcp", d.addr, d.s2nClient(t, "test_all_rsa_kex"))
	require.Error(t, err)
	require.Regexp(t, `^s2nd: #2 127\.0\.0\.1:\d+ handshake failed: s2n: `, d.summary(t, 2))
	require.Equal(t, cli.ExitFailure, d.wait(t))
	require.Contains(t, d.stderr.String(), "\nFailed to negotiate: '")
	require.Contains(t, d.stderr.String(), "] Error: Mutual Auth was required, but not negotiated: '")
	// Two calls of the server's key: the premaster decryption, and before
	// it the once-per-key probe of whether the key honours SessionKeyLen.
	require.Contains(t, d.stderr.String(), "s2nd: done: 1 connection, 1 failed handshake; server key: 2 key operations offloaded, ")
}

// -m -i takes any client certificate, whatever its names, but still
// requires one.
func TestMutualAuthInsecure(t *testing.T) {
	d := startS2nd(t, "-m", "-i", "-e", "-X2")
	mallory := clitest.NewECDSACert(t, t.TempDir(), "mallory")
	c, err := tls.Dial("tcp", d.addr, &tls.Config{RootCAs: d.trust(t), Certificates: []tls.Certificate{mallory.TLS()}})
	require.NoError(t, err)
	defer c.Close()
	_, err = io.WriteString(c, "me")
	require.NoError(t, err)
	require.NoError(t, c.CloseWrite())
	got, err := io.ReadAll(c)
	require.NoError(t, err)
	require.Equal(t, "me", string(got))
	// s2n keeps no peer chain when it did not verify it.
	require.Contains(t, d.summary(t, 1), " peer-cert=- ")

	c, err = tls.Dial("tcp", d.addr, &tls.Config{RootCAs: d.trust(t)})
	if err == nil { // TLS 1.3: the client learns at its first read
		_, err = c.Read(make([]byte, 1))
		c.Close()
	}
	require.Error(t, err)
	require.Contains(t, d.summary(t, 2), "handshake failed: ")
	require.Equal(t, cli.ExitFailure, d.wait(t), "a failed handshake ends s2nd, as s2n-tls's s2nd")
}

// A key in s2n (no --async) is not offloaded.
func TestFileKeyHeldByS2n(t *testing.T) {
	c := clitest.NewECDSACert(t, t.TempDir(), "localhost")
	d := startS2nd(t, "--cert", c.CertFile, "--key", c.KeyFile, "-X1")
	require.Contains(t, d.stderr.String(), ", held by s2n\n")
	conn, err := tls.Dial("tcp", d.addr, &tls.Config{RootCAs: c.Pool})
	require.NoError(t, err)
	conn.Close()
	require.Equal(t, cli.ExitOK, d.wait(t))
	require.Contains(t, d.summary(t, 1), " offloaded-ops=0 ")
	require.True(t, strings.HasSuffix(d.stderr.String(), "s2nd: done: 1 connection, 0 failed handshakes\n"), d.stderr.String())
}

// TestOCSPStapling: --ocsp staples the file's bytes, with the key held by
// s2n or offloaded; crypto/tls's client asks for the status by default.
func TestOCSPStapling(t *testing.T) {
	dir := t.TempDir()
	c := clitest.NewECDSACert(t, dir, "localhost")
	resp := c.OCSPResponse(t, ocsp.Good)
	file := filepath.Join(dir, "ocsp.der")
	require.NoError(t, os.WriteFile(file, resp, 0o600))
	for _, extra := range [][]string{nil, {"--async"}} {
		t.Run(strings.Join(append([]string{"key"}, extra...), " "), func(t *testing.T) {
			d := startS2nd(t, append([]string{"--cert", c.CertFile, "--key", c.KeyFile, "--ocsp", file, "-X1"}, extra...)...)
			require.Contains(t, d.stderr.String(), fmt.Sprintf("; stapling an OCSP response of %d bytes\n", len(resp)))
			conn, err := tls.Dial("tcp", d.addr, &tls.Config{RootCAs: c.Pool})
			require.NoError(t, err)
			require.Equal(t, resp, conn.ConnectionState().OCSPResponse)
			conn.Close()
			require.Equal(t, cli.ExitOK, d.wait(t))
			require.Contains(t, d.summary(t, 1), fmt.Sprintf(" offloaded-ops=%d", len(extra)))
		})
	}

	// Without --ocsp nothing is stapled.
	d := startS2nd(t, "--cert", c.CertFile, "--key", c.KeyFile, "-X1")
	require.NotContains(t, d.stderr.String(), "stapling")
	conn, err := tls.Dial("tcp", d.addr, &tls.Config{RootCAs: c.Pool})
	require.NoError(t, err)
	require.Nil(t, conn.ConnectionState().OCSPResponse)
	conn.Close()
	require.Equal(t, cli.ExitOK, d.wait(t))
}

func TestSessionResumption(t *testing.T) {
	for _, tc := range []struct {
		name, policy string
		args         []string
		resumed      bool
	}{
		{"TLS1.3", "default_tls13", nil, true},
		{"TLS1.2", "test_all_tls12", nil, true},
		{"no tickets", "default_tls13", []string{"-T"}, false},
		{"TLS1.2 session ID", "test_all_tls12", []string{"-T"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := startS2nd(t, append(tc.args, "-c", tc.policy, "-e", "-X2")...)
			cfg := d.s2nClient(t, tc.policy)
			var session []byte
			for i := range 2 {
				raw, err := net.Dial("tcp", d.addr)
				require.NoError(t, err)
				c := s2n.Client(raw, cfg, "localhost")
				if session != nil {
					require.NoError(t, c.Connection().SetSession(session))
				}
				require.NoError(t, c.Handshake())
				// TLS 1.2 cannot half-close: echo, then close.
				_, err = io.WriteString(c, "x")
				require.NoError(t, err)
				_, err = io.ReadFull(c, make([]byte, 1))
				require.NoError(t, err)
				require.Equal(t, i == 1 && tc.resumed, c.ConnectionState().DidResume)
				session, _ = c.Connection().Session()
				require.NoError(t, c.Close())
			}
			want := "no"
			if tc.resumed {
				want = "yes"
			}
			require.Contains(t, d.summary(t, 2), " resumed="+want+" ")
			require.Equal(t, cli.ExitOK, d.wait(t))
		})
	}
}

// TestSeveralCertificates: with an ECDSA and an RSA pair for localhost and
// a pair for another name, s2n serves each client the chain of the key type
// it accepts and of the name it asks for; the first pair is the default
// for names no chain has. The keys held by s2n, then offloaded.
func TestSeveralCertificates(t *testing.T) {
	ec := clitest.NewECDSACert(t, t.TempDir(), "localhost")
	rs := clitest.NewCert(t, t.TempDir(), "localhost", rsaKey(t))
	otherKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	other := clitest.NewCertFor(t, t.TempDir(), "other.example", []string{"other.example"}, otherKey)
	pool := x509.NewCertPool()
	for _, c := range []*clitest.Cert{ec, rs, other} {
		pool.AddCert(c.Leaf)
	}
	for _, extra := range [][]string{nil, {"--async"}} {
		t.Run(strings.Join(append([]string{"keys"}, extra...), " "), func(t *testing.T) {
			args := append([]string{"--cert", ec.CertFile, "--key", ec.KeyFile, "--cert", rs.CertFile, "--key", rs.KeyFile,
				"--cert", other.CertFile, "--key", other.KeyFile, "-X4"}, extra...)
			d := startS2nd(t, args...)
			require.Contains(t, d.stderr.String(), "; also certificate CN=other.example")
			for _, tc := range []struct {
				sni    string
				suites []uint16
				want   *clitest.Cert
			}{
				{"localhost", []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}, ec},
				{"localhost", []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}, rs},
				{"other.example", []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}, other},
				{"unknown.example", []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}, ec},
			} {
				conn, err := tls.Dial("tcp", d.addr, &tls.Config{
					ServerName: tc.sni, RootCAs: pool, MaxVersion: tls.VersionTLS12, CipherSuites: tc.suites,
					InsecureSkipVerify: tc.sni == "unknown.example", // the default chain does not name it
				})
				require.NoError(t, err, "%s %v", tc.sni, tc.suites)
				require.Equal(t, tc.want.Leaf.Raw, conn.ConnectionState().PeerCertificates[0].Raw, "%s %v", tc.sni, tc.suites)
				conn.Close()
			}
			require.Equal(t, cli.ExitOK, d.wait(t))
			require.Contains(t, d.summary(t, 2), fmt.Sprintf(" offloaded-ops=%d ", len(extra)))
		})
	}
}

// TestSTKFile: sessions of one s2nd run resume on a later run that reads
// the same --stk-file, by TLS 1.3 ticket and TLS 1.2 ticket; a later run
// with its own random key makes a full handshake.
func TestSTKFile(t *testing.T) {
	dir := t.TempDir()
	c := clitest.NewECDSACert(t, dir, "localhost")
	stk := filepath.Join(dir, "stk")
	key := make([]byte, 32)
	_, err := rand.Read(key)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(stk, key, 0o600))
	for _, policy := range []string{"default_tls13", "test_all_tls12"} {
		for _, shared := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s shared=%v", policy, shared), func(t *testing.T) {
				var session []byte
				for i := range 2 {
					args := []string{"--cert", c.CertFile, "--key", c.KeyFile, "-c", policy, "-e", "-X1"}
					if i == 0 || shared {
						args = append(args, "--stk-file", stk)
					}
					d := startS2nd(t, args...)
					cfg := d.s2nClient(t, policy)
					raw, err := net.Dial("tcp", d.addr)
					require.NoError(t, err)
					conn := s2n.Client(raw, cfg, "localhost")
					if session != nil {
						require.NoError(t, conn.Connection().SetSession(session))
					}
					require.NoError(t, conn.Handshake())
					_, err = io.WriteString(conn, "x")
					require.NoError(t, err)
					_, err = io.ReadFull(conn, make([]byte, 1))
					require.NoError(t, err)
					require.Equal(t, i == 1 && shared, conn.ConnectionState().DidResume)
					session, err = conn.Connection().Session()
					require.NoError(t, err)
					require.NoError(t, conn.Close())
					require.Equal(t, cli.ExitOK, d.wait(t))
				}
			})
		}
	}
}

// cS2nc runs s2n-tls's own s2nc (scripts/build-s2n-utils builds it) with
// args and returns its output. It gets one line on stdin, which stays open
// while it runs: with --ticket-out s2nc echoes until a session ticket has
// arrived, and fails if its input ends first. Without --ticket-out or
// --echo it does not read stdin.
func cS2nc(t *testing.T, args ...string) string {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("..", "..", "third_party", "dist", "s2n-utils", "bin", "s2nc"))
	require.NoError(t, err)
	_, err = os.Stat(path)
	require.NoError(t, err, "s2n-tls's s2nc is a peer of these tests: run scripts/build-s2n-utils (scripts/test does)")
	cmd := exec.Command(path, args...)
	out := clitest.NewOutput()
	cmd.Stdout, cmd.Stderr = out, out
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	defer stdin.Close()
	require.NoError(t, cmd.Start())
	_, err = io.WriteString(stdin, "ticket\n")
	require.NoError(t, err)
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-exited
		t.Fatalf("s2nc did not exit; output:\n%s", out)
	}
	require.NoError(t, waitErr, "s2nc: %s", out)
	return out.String()
}

// TestTicketFilesInterop: a session saved by s2n-tls's s2nc --ticket-out
// from one s2nd run resumes in this s2nc --ticket-in on a second run
// sharing the --stk-file, which saves it again for s2n-tls's s2nc to
// resume on a third run; on a run with its own key the same file leads to a
// full handshake.
func TestTicketFilesInterop(t *testing.T) {
	bin := clitest.Build(t, "github.com/s2n-go/s2n/cmd/s2nc")
	dir := t.TempDir()
	stk, t1, t2 := filepath.Join(dir, "stk"), filepath.Join(dir, "t1"), filepath.Join(dir, "t2")
	key := make([]byte, 32)
	_, err := rand.Read(key)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(stk, key, 0o600))
	portOfAddr := func(d *daemon) string { return strings.TrimPrefix(d.addr, "localhost:") }

	d := startS2nd(t, "--stk-file", stk, "-e", "-X1")
	cert := d.certFile
	out := cS2nc(t, "-f", cert, "-c", "default_tls13", "--ticket-out", t1, "localhost", portOfAddr(d))
	require.NotContains(t, out, "Resumed session")
	require.Equal(t, cli.ExitOK, d.wait(t))
	require.Contains(t, d.summary(t, 1), " resumed=no ")

	d = startS2nd(t, "--stk-file", stk, "-e", "-X1")
	ours := exec.Command(filepath.Join(bin, "s2nc"), "-v", "-f", cert, "--ticket-in", t1, "--ticket-out", t2, "localhost", portOfAddr(d), "--send", "x")
	stderr, err := ours.CombinedOutput()
	require.NoError(t, err, "%s", stderr)
	require.Regexp(t, `resumed +yes\n`, string(stderr))
	require.Equal(t, cli.ExitOK, d.wait(t))
	require.Contains(t, d.summary(t, 1), " resumed=yes ")

	d = startS2nd(t, "--stk-file", stk, "-e", "-X1")
	out = cS2nc(t, "-f", cert, "-c", "default_tls13", "--ticket-in", t2, "localhost", portOfAddr(d))
	require.Contains(t, out, "Resumed session\n")
	require.Equal(t, cli.ExitOK, d.wait(t))
	require.Contains(t, d.summary(t, 1), " resumed=yes ")

	d = startS2nd(t, "-e", "-X1")
	out = cS2nc(t, "-f", d.certFile, "-c", "default_tls13", "--ticket-in", t2, "localhost", portOfAddr(d))
	require.NotContains(t, out, "Resumed session")
	require.Equal(t, cli.ExitOK, d.wait(t))
	require.Contains(t, d.summary(t, 1), " resumed=no ")
}

// Interrupting s2nd ends its open connections and prints the totals.
func TestInterruptStops(t *testing.T) {
	d := startS2nd(t)
	c, err := tls.Dial("tcp", d.addr, &tls.Config{RootCAs: d.trust(t)})
	require.NoError(t, err)
	defer c.Close()
	_, err = io.WriteString(c, "partial")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return clientData(d.stdout.String()) == "partial" }, 10*time.Second, 10*time.Millisecond)
	require.Equal(t, cli.ExitOK, d.stop(t))
	require.Contains(t, d.summary(t, 1), " in=7 out=0")
	require.Equal(t, "s2nd: done: 1 connection, 0 failed handshakes; server key: 1 key operation offloaded, ",
		d.stderr.Lines()[2][:len("s2nd: done: 1 connection, 0 failed handshakes; server key: 1 key operation offloaded, ")])
	_, err = c.Read(make([]byte, 1))
	require.Error(t, err, "the connection was closed")
}

// Connections are served concurrently, each handshake waiting for its own
// key operation; --max-inflight bounds them.
func TestConcurrentHandshakes(t *testing.T) {
	const n = 8
	d := startS2nd(t, "--key-latency", "200ms", "--max-inflight", "4", "-e", "--parallelize", "-X"+fmt.Sprint(n))
	cfg := d.s2nClient(t, "default_tls13")
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := time.Now()
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := s2n.Dial("tcp", d.addr, cfg)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			if got := exchange(t, c, "hi"); got != "hi" {
				errs <- errors.New("echo: " + got)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	elapsed := time.Since(start)
	require.Equal(t, cli.ExitOK, d.wait(t))
	// 8 operations of 200 ms, 4 at a time: two rounds (400 ms), not one
	// (no bound) nor eight (serialized, 1.6 s).
	require.GreaterOrEqual(t, elapsed, 400*time.Millisecond)
	require.Less(t, elapsed, 1200*time.Millisecond)
	require.Contains(t, d.stderr.String(), fmt.Sprintf("done: %d connections, 0 failed handshakes; server key: %d key operations offloaded", n, n))
}

func TestPKCS11Key(t *testing.T) {
	tok := clitest.NewToken(t, "../..")
	dir := t.TempDir()
	inToken := tok.ECDSAKey(t, dir, "s2nd-key", true)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"certificate from the token", nil},
		{"certificate from a file", []string{"--cert", inToken.CertFile}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--pkcs11-module", tok.Module, "--pkcs11-token", tok.Label, "--pkcs11-key-label", "s2nd-key",
				"-e", "-X1"}, tc.args...)
			t.Setenv("S2N_PKCS11_PIN", tok.PIN) // the PIN from the environment
			d := startS2nd(t, args...)
			require.Contains(t, d.stderr.String(), `key: PKCS#11 key "s2nd-key" in token "`+tok.Label+`", offloaded asynchronously`)
			c, err := tls.Dial("tcp", d.addr, &tls.Config{RootCAs: inToken.Pool})
			require.NoError(t, err)
			require.Equal(t, inToken.Leaf.Raw, c.ConnectionState().PeerCertificates[0].Raw)
			_, err = io.WriteString(c, "hsm")
			require.NoError(t, err)
			require.NoError(t, c.CloseWrite())
			got, err := io.ReadAll(c)
			require.NoError(t, err)
			require.Equal(t, "hsm", string(got))
			c.Close()
			require.Equal(t, cli.ExitOK, d.wait(t))
			require.Contains(t, d.summary(t, 1), " offloaded-ops=1 ")
		})
	}

	t.Run("errors", func(t *testing.T) {
		base := []string{"--pkcs11-module", tok.Module, "--pkcs11-token", tok.Label, "--pkcs11-pin", tok.PIN}
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"--pkcs11-key-label", "nope"}, `s2nd: --pkcs11-key-label: 0 key pairs labelled "nope" in token "` + tok.Label + `", want one` + "\n"},
			{[]string{"--pkcs11-key-label", "s2nd-key", "--cert", clitest.NewECDSACert(t, dir, "other").CertFile},
				`s2nd: the certificate's public key is not the one of PKCS#11 key "s2nd-key"` + "\n"},
		} {
			code, _, stderr := runS2nd(append(base, tc.args...)...)
			require.Equal(t, cli.ExitFailure, code)
			require.Equal(t, tc.want, stderr)
		}
		code, _, stderr := runS2nd("--pkcs11-module", tok.Module, "--pkcs11-token", tok.Label, "--pkcs11-pin", "0000",
			"--pkcs11-key-label", "s2nd-key")
		require.Equal(t, cli.ExitFailure, code)
		require.Contains(t, stderr, `s2nd: PKCS#11 token "`+tok.Label+`" in `+tok.Module+": ")
		require.Contains(t, stderr, "CKR_PIN_INCORRECT")
	})
}

// The built commands, as the demo runs them: s2nd in the background with a
// throwaway offloaded key, s2nc trusting the certificate s2nd wrote, exit
// statuses from main, and SIGTERM ending s2nd cleanly.
func TestBinaries(t *testing.T) {
	bin := clitest.Build(t, "github.com/s2n-go/s2n/cmd/s2nd", "github.com/s2n-go/s2n/cmd/s2nc")
	s2nd, s2nc := filepath.Join(bin, "s2nd"), filepath.Join(bin, "s2nc")
	cert := filepath.Join(t.TempDir(), "cert.pem")

	server := exec.Command(s2nd, "-v", "--write-cert", cert, "--key-latency", "20ms", "-e", "localhost", "0")
	stderr := clitest.NewOutput()
	server.Stderr = stderr
	require.NoError(t, server.Start())
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = server.Wait()
		close(exited)
	}()
	defer func() {
		server.Process.Kill()
		<-exited
	}()
	port := stderr.WaitFor(t, listening, exited)[1]

	client := exec.Command(s2nc, "-v", "-f", cert, "localhost", port, "--send", "hello\n")
	var clientErr bytes.Buffer
	client.Stderr = &clientErr
	out, err := client.Output()
	require.NoError(t, err, clientErr.String())
	require.True(t, strings.HasSuffix(string(out), "s2n is ready\nConnected to localhost:"+port+"\nhello\n"), "%s", out)
	require.Contains(t, clientErr.String(), "verified                  yes, against "+cert+"\n")
	require.Contains(t, stderr.WaitFor(t, regexp.MustCompile(`^s2nd: #1 .*`), exited)[0], " offloaded-ops=1 ")

	for _, tc := range []struct {
		cmd  *exec.Cmd
		code int
	}{
		{exec.Command(s2nc, "--bogus", "localhost"), cli.ExitUsage},
		{exec.Command(s2nc, "-f", filepath.Join(bin, "missing.pem"), "localhost", port), cli.ExitFailure},
		{exec.Command(s2nd, "-Xx"), cli.ExitUsage},
		{exec.Command(s2nc, "--version"), cli.ExitOK},
	} {
		err := tc.cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else {
			require.NoError(t, err)
		}
		require.Equal(t, tc.code, code, "%v", tc.cmd.Args)
	}

	require.NoError(t, server.Process.Signal(syscall.SIGTERM))
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatal("s2nd did not stop on SIGTERM")
	}
	require.NoError(t, waitErr, "exit status after SIGTERM")
	require.Contains(t, stderr.String(), "s2nd: done: 1 connection, 0 failed handshakes; server key: 1 key operation offloaded, ")
}

// -L appends the NSS key log: the lines crypto/tls logs for the same
// connection, plus s2n's EXPORTER_SECRET. --buffered-send below s2n's
// minimum is refused.
func TestKeyLogAndBufferedSend(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.log")
	d := startS2nd(t, "-e", "-X1", "-L", path, "--buffered-send", "4096")
	var goLog bytes.Buffer
	c, err := tls.Dial("tcp", d.addr, &tls.Config{RootCAs: d.trust(t), KeyLogWriter: &goLog})
	require.NoError(t, err)
	_, err = io.WriteString(c, "ping\n")
	require.NoError(t, err)
	buf := make([]byte, 5)
	_, err = io.ReadFull(c, buf)
	require.NoError(t, err)
	require.Equal(t, "ping\n", string(buf))
	c.Close()
	require.Equal(t, cli.ExitOK, d.wait(t))

	got, err := os.ReadFile(path)
	require.NoError(t, err)
	var lines []string
	for _, l := range strings.Split(strings.TrimSuffix(string(got), "\n"), "\n") {
		if !strings.HasPrefix(l, "EXPORTER_SECRET ") {
			lines = append(lines, l)
		}
	}
	require.ElementsMatch(t, strings.Split(strings.TrimSuffix(goLog.String(), "\n"), "\n"), lines, "s2nd's key log:\n%s", got)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	code, _, stderr := runS2nd("--buffered-send", "100", "localhost", "0")
	require.Equal(t, cli.ExitFailure, code)
	require.Contains(t, stderr, "Error setting send buffer size (--buffered-send 100): ")
	require.Contains(t, stderr, "S2N_ERR_INVALID_ARGUMENT")
}

// TestNPN: with --npn, s2nd answers openssl's NPN-only client with a
// protocol of --alpn, as s2n-tls's s2nd -N does.
func TestNPN(t *testing.T) {
	d := startS2nd(t, "-N", "-a", "http/1.1", "-c", "default")
	out, err := exec.Command("openssl", "s_client", "-connect", d.addr, "-tls1_2", "-nextprotoneg", "http/1.1").CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "Next protocol: (1) http/1.1")
	require.Contains(t, d.summary(t, 1), " alpn=http/1.1 ")
}

// Without --stk-file a session resumes on a later run, as with s2n-tls's
// s2nd (its test suite restarts s2nd between the two connections); with
// --random-stk it does not.
func TestBuiltinTicketKeyResumesAcrossRuns(t *testing.T) {
	session := func(d *daemon, ticket []byte) ([]byte, bool) {
		raw, err := net.Dial("tcp", d.addr)
		require.NoError(t, err)
		c := s2n.Client(raw, d.s2nClient(t, "default_tls13"), "localhost")
		defer c.Close()
		if ticket != nil {
			require.NoError(t, c.Connection().SetSession(ticket))
		}
		require.NoError(t, c.Handshake())
		exchange(t, c, "x") // the TLS 1.3 ticket arrives with the data
		resumed := c.ConnectionState().DidResume
		next, err := c.Connection().Session()
		require.NoError(t, err)
		return next, resumed
	}
	for _, tc := range []struct {
		extra  []string
		resume bool
	}{{nil, true}, {[]string{"--random-stk"}, false}} {
		t.Run(fmt.Sprint(tc.extra), func(t *testing.T) {
			d := startS2nd(t, append([]string{"-e", "-X1"}, tc.extra...)...)
			ticket, resumed := session(d, nil)
			require.False(t, resumed)
			require.NotEmpty(t, ticket)
			require.Equal(t, cli.ExitOK, d.wait(t))

			d2 := startS2nd(t, append([]string{"-e", "-X1"}, tc.extra...)...)
			_, resumed = session(d2, ticket)
			require.Equal(t, tc.resume, resumed)
			require.Equal(t, cli.ExitOK, d2.wait(t))
		})
	}
}

// TestClientClosesWithoutCloseNotify: a client that closes its socket
// without close_notify ends its connection as one that sent it, as with
// s2n-tls's s2nd of the suite's version: s2nd goes on (no error, exit 0).
func TestClientClosesWithoutCloseNotify(t *testing.T) {
	// -T: no session ticket after the handshake, which the client would
	// leave unread, making its close a reset rather than a plain close.
	d := startS2nd(t, "-T", "-X2")
	for range 2 {
		c, err := tls.Dial("tcp", d.addr, &tls.Config{RootCAs: d.trust(t)})
		require.NoError(t, err)
		_, err = io.WriteString(c, "no goodbye\n")
		require.NoError(t, err)
		require.NoError(t, c.NetConn().Close())
	}
	require.Equal(t, cli.ExitOK, d.wait(t), "stderr:\n%s", d.stderr)
	require.Equal(t, 2, strings.Count(clientData(d.stdout.String()), "no goodbye\n"))
	require.NotContains(t, d.stderr.String(), "Error reading from connection")
}

// TestKTLS: with --ktls, s2nd tries kTLS after each handshake and says per
// direction what happened; the connection works either way. A TLS 1.2
// AES-GCM connection (what kTLS takes without s2n's unsafe TLS 1.3 switch):
// where the kernel offers the TLS upper-layer protocol, "on"; where it
// does not (this project's CI machines), "off" with s2n's
// S2N_ERR_KTLS_ENABLE, and s2nd goes on in userspace. A TLS 1.3
// connection is refused by s2n whatever the kernel.
func TestKTLS(t *testing.T) {
	d := startS2nd(t, "-X2", "-e", "--ktls", "-c", "default")
	kernel := s2n.KernelTLSAvailable()
	t.Logf("the kernel offers the tls upper-layer protocol: %v", kernel)
	for i, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		c, err := tls.Dial("tcp", d.addr, &tls.Config{RootCAs: d.trust(t), MinVersion: v, MaxVersion: v,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}})
		require.NoError(t, err)
		_, err = io.WriteString(c, "through kTLS or not\n")
		require.NoError(t, err)
		got := make([]byte, len("through kTLS or not\n"))
		_, err = io.ReadFull(c, got)
		require.NoError(t, err, "the echo comes back either way")
		require.Equal(t, "through kTLS or not\n", string(got))
		c.Close()
		d.summary(t, i+1)
	}
	require.Equal(t, cli.ExitOK, d.wait(t))
	out := d.stdout.String()
	lines := regexp.MustCompile(`(?m)^kTLS (send|recv): (.*)$`).FindAllStringSubmatch(out, -1)
	require.Len(t, lines, 4, "two lines per connection:\n%s", out)
	for i, l := range lines {
		t.Logf("connection %d: kTLS %s: %s", i/2+1, l[1], l[2])
		switch {
		case i >= 2: // TLS 1.3 without EnableKTLSUnsafeTLS13
			require.Contains(t, l[2], "off (")
		case kernel:
			require.Equal(t, "on", l[2])
		default:
			require.Contains(t, l[2], "S2N_ERR_KTLS_ENABLE")
		}
	}
}
