package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/s2n-go/s2n"
	"github.com/s2n-go/s2n/internal/cli"
	"github.com/s2n-go/s2n/internal/clitest"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ocsp"
)

func TestMain(m *testing.M) { clitest.Main(m) }

// runS2nc runs s2nc with -v (its own summary on stderr) and returns its
// stdout without s2n-tls's s2nc's status lines: what the server sent.
func runS2nc(stdin string, args ...string) (code int, stdout, stderr string) {
	code, stdout, stderr = runS2ncRaw(stdin, append([]string{"-v"}, args...)...)
	return code, serverData(stdout), stderr
}

func runS2ncRaw(stdin string, args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// serverData is s2nc's stdout without s2n-tls's s2nc's status lines (each
// connection's parameters up to "s2n is ready", and "Connected to").
func serverData(stdout string) string {
	return statusLines.ReplaceAllString(stdout, "")
}

var statusLines = regexp.MustCompile(`(?s)CONNECTED:\n.*?\n` + cli.Ready + `\nConnected to [^\n]*\n`)

// goServer serves TLS with crypto/tls on a free localhost port, running
// handle for each connection; it stops with the test, closing connections
// still open (a client whose handshake failed keeps its socket open for
// s2n's blinding delay).
func goServer(t *testing.T, cfg *tls.Config, handle func(*tls.Conn)) (host, port string) {
	t.Helper()
	l, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	require.NoError(t, err)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				handle(c.(*tls.Conn))
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return "localhost", fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}

// echo sends back what the client sends until it closes.
func echo(c *tls.Conn) { io.Copy(c, c) }

// echoUntil sends back n bytes: a TLS 1.2 client cannot half-close, so the
// server cannot wait for its end.
func echoUntil(n int) func(*tls.Conn) {
	return func(c *tls.Conn) {
		buf := make([]byte, n)
		if _, err := io.ReadFull(c, buf); err == nil {
			c.Write(buf)
		}
	}
}

func serverConfig(c *clitest.Cert) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{c.TLS()}}
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "s2nc: missing host (see s2nc -h)\n"},
		{[]string{"--bogus", "h"}, "s2nc: flag provided but not defined: -bogus (see s2nc -h)\n"},
		{[]string{"h", "-a"}, "s2nc: flag needs an argument: -a (see s2nc -h)\n"},
		{[]string{"h", "port"}, `s2nc: invalid port "port" (see s2nc -h)` + "\n"},
		{[]string{"h", "1", "2"}, `s2nc: too many arguments: ["2"] (see s2nc -h)` + "\n"},
		{[]string{"h", "-e", "--send", "x"}, "s2nc: --echo, --send, --send-file and --get are exclusive (see s2nc -h)\n"},
		{[]string{"h", "--get", "/", "--send-file", "f"}, "s2nc: --echo, --send, --send-file and --get are exclusive (see s2nc -h)\n"},
		{[]string{"h", "-i", "-f", "ca.pem"}, "s2nc: --insecure and --ca-file are exclusive (see s2nc -h)\n"},
		{[]string{"h", "--get", "index.html"}, `s2nc: --get "index.html": the path must start with / (see s2nc -h)` + "\n"},
		{[]string{"h", "--get", "/", "-a", "h2"}, "s2nc: --get speaks HTTP/1.1 only: --alpn must be http/1.1 or absent (see s2nc -h)\n"},
		{[]string{"h", "-k", "key.pem"}, "s2nc: --key needs --cert (see s2nc -h)\n"},
		{[]string{"h", "-l", "a.pem", "-k", "a.key", "-l", "b.pem", "-k", "b.key"}, "s2nc: --cert and --key may be given once (see s2nc -h)\n"},
		{[]string{"h", "--timeout", "-1s"}, "s2nc: --timeout must be positive (see s2nc -h)\n"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr := runS2nc("", tc.args...)
			require.Equal(t, cli.ExitUsage, code)
			require.Equal(t, tc.want, stderr)
			require.Empty(t, stdout)
		})
	}
}

func TestHelpListsEveryFlag(t *testing.T) {
	code, stdout, stderr := runS2nc("", "-h")
	require.Equal(t, cli.ExitOK, code)
	require.Empty(t, stderr)
	require.Equal(t, usage, stdout)
	fs := cli.NewFlagSet(name, usage, io.Discard)
	new(options).register(fs.FlagSet)
	fs.VisitAll(func(f *flag.Flag) {
		dashes := "--"
		if len(f.Name) == 1 {
			dashes = "-"
		}
		require.Regexp(t, `[ ,]`+regexp.QuoteMeta(dashes+f.Name)+`[ ,\n]`, usage, "usage does not mention %s%s", dashes, f.Name)
	})
}

func TestDefaults(t *testing.T) {
	o, err := parseArgs([]string{"example.com"}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, []string{"example.com", "8443", "example.com", "default_tls13"}, []string{o.host, o.port, o.sni, o.tls.Ciphers})
	o, err = parseArgs([]string{"127.0.0.1", "443"}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1", o.sni, "s2n verifies the certificate against the SNI name")
	o, err = parseArgs([]string{"127.0.0.1", "443", "-n", "localhost"}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, "localhost", o.sni)
}

func TestRuntimeErrors(t *testing.T) {
	dir := t.TempDir()
	srv := clitest.NewECDSACert(t, dir, "server")
	other := clitest.NewECDSACert(t, dir, "other")
	host, port := goServer(t, serverConfig(srv), echo)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closedPort := fmt.Sprint(closed.Addr().(*net.TCPAddr).Port)
	closed.Close()
	missing := filepath.Join(dir, "nope.pem")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-f", missing, host, port}, "s2nc: --ca-file: open " + missing + ": no such file or directory\n"},
		{[]string{"-f", srv.KeyFile, host, port}, "s2nc: --ca-file " + srv.KeyFile + ": no PEM CERTIFICATE block found\n"},
		{[]string{"-l", missing, "-k", srv.KeyFile, host, port}, "s2nc: --cert: open " + missing + ": no such file or directory\n"},
		{[]string{"-l", srv.CertFile, "-k", other.KeyFile, host, port}, "s2nc: loading certificate and key: s2n: public and private key do not match (S2N_ERR_KEY_MISMATCH)\n"},
		{[]string{"-c", "bogus", host, port}, `s2nc: --ciphers "bogus": s2n: `},
		{[]string{"-f", srv.CertFile, "127.0.0.1", closedPort}, "s2nc: dial tcp 127.0.0.1:" + closedPort + ": connect: connection refused\n"},
		// Failed handshakes: a short blinding delay keeps the leak gate's
		// wait for their timers short.
		{[]string{"--max-blinding", "1s", "-f", other.CertFile, host, port}, "Failed to negotiate: 'Certificate is untrusted'. "},
		{[]string{"-f", srv.CertFile, "--send-file", missing, host, port}, "s2nc: --send-file: open " + missing + ": no such file or directory\n"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, stderr := runS2ncRaw("", tc.args...)
			require.Equal(t, cli.ExitFailure, code, stderr)
			require.True(t, strings.HasPrefix(stderr, tc.want), "stderr %q, want prefix %q", stderr, tc.want)
			lines := 1
			if strings.HasPrefix(tc.want, "Failed to negotiate") {
				lines = 2 // and "Alert: N", as s2n-tls's s2nc
				require.Contains(t, stderr, "\nAlert: ")
			}
			require.Equal(t, lines, strings.Count(stderr, "\n"), "%d lines: %q", lines, stderr)
		})
	}
}

func TestSendAgainstGoServer(t *testing.T) {
	srv := clitest.NewECDSACert(t, t.TempDir(), "server")
	cfg := serverConfig(srv)
	cfg.NextProtos = []string{"h2"}
	var sni atomic.Value // the server's goroutine writes it; only TCP orders it before the read
	cfg.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		sni.Store(hello.ServerName)
		return nil, nil
	}
	host, port := goServer(t, cfg, echo)
	code, stdout, stderr := runS2nc("", "-f", srv.CertFile, "-a", "http/1.1,h2", host, port, "--send", "hello\n")
	require.Equal(t, cli.ExitOK, code, stderr)
	require.Equal(t, "hello\n", stdout)
	require.Equal(t, "localhost", sni.Load())
	require.Regexp(t, `^s2nc: connected to localhost:`+port+` \(127\.0\.0\.1:`+port+`\) in \S+
  protocol                  TLS1\.3
  cipher suite              TLS_\S+
  key exchange              \S+
  ALPN                      h2
  server name               localhost
  peer certificate          CN=server \(ECDSA P-256, self-signed, expires [^)]+\)
  resumed                   no
  client key ops offloaded  0
  verified                  yes, against `+regexp.QuoteMeta(srv.CertFile)+"\n$", stderr)

	code, stdout, stderr = runS2nc("", "-q", "-f", srv.CertFile, host, port)
	require.Equal(t, cli.ExitOK, code, stderr)
	require.Empty(t, stdout+stderr, "handshake only, quiet")

	// By address: verified against the certificate's IP address.
	code, stdout, stderr = runS2nc("", "-q", "-f", srv.CertFile, "127.0.0.1", port, "--send", "ip")
	require.Equal(t, cli.ExitOK, code, stderr)
	require.Equal(t, "ip", stdout)
}

// TestStatus: with -s (--status) s2nc asks for the OCSP status, s2n checks
// the stapled response, and s2nc prints s2n-tls's s2nc line for it.
func TestStatus(t *testing.T) {
	srv := clitest.NewECDSACert(t, t.TempDir(), "server")
	good := srv.OCSPResponse(t, ocsp.Good)
	staple := func(resp []byte) *tls.Config {
		cfg := serverConfig(srv)
		cfg.Certificates[0].OCSPStaple = resp
		return cfg
	}
	host, port := goServer(t, staple(good), echo)
	line := fmt.Sprintf("\nOCSP response received, length %d\n", len(good))
	for _, flag := range []string{"-s", "--status"} {
		code, stdout, stderr := runS2nc("", flag, "-f", srv.CertFile, host, port, "--send", "ocsp?")
		require.Equal(t, cli.ExitOK, code, stderr)
		require.Equal(t, "ocsp?", stdout)
		require.Contains(t, stderr, "  verified                  yes, against "+srv.CertFile+line)
	}

	// Not asked: crypto/tls staples nothing.
	code, _, stderr := runS2nc("", "-f", srv.CertFile, host, port, "--send", "x")
	require.Equal(t, cli.ExitOK, code, stderr)
	require.NotContains(t, stderr, "OCSP")

	// A response saying the certificate is revoked fails the handshake.
	host, port = goServer(t, staple(srv.OCSPResponse(t, ocsp.Revoked)), echo)
	code, _, stderr = runS2nc("", "-s", "--max-blinding", "1s", "-f", srv.CertFile, host, port, "--send", "x")
	require.Equal(t, cli.ExitFailure, code, stderr)
	require.Contains(t, stderr, "S2N_ERR_CERT_REVOKED")
}

func TestEchoStdin(t *testing.T) {
	srv := clitest.NewECDSACert(t, t.TempDir(), "server")
	host, port := goServer(t, serverConfig(srv), echo)
	got := make(chan string, 1)
	recvHost, recvPort := goServer(t, serverConfig(srv), func(c *tls.Conn) {
		b, _ := io.ReadAll(c) // until s2nc's close_notify
		got <- string(b)
	})
	// As s2n-tls's s2nc: the end of stdin closes the connection.
	code, _, stderr := runS2nc("line one\nline two\n", "-q", "-e", "-f", srv.CertFile, recvHost, recvPort)
	require.Equal(t, cli.ExitOK, code, stderr)
	require.Equal(t, "line one\nline two\n", <-got)

	code, stdout, stderr := runS2nc("from stdin", "-q", "--send-file", "-", "-f", srv.CertFile, host, port)
	require.Equal(t, cli.ExitOK, code, stderr)
	require.Equal(t, "from stdin", stdout)
}

// TLS 1.2 has no half-close: s2nc reads the answer for --linger, then
// closes.
func TestTLS12Linger(t *testing.T) {
	srv := clitest.NewECDSACert(t, t.TempDir(), "server")
	cfg := serverConfig(srv)
	cfg.MaxVersion = tls.VersionTLS12
	host, port := goServer(t, cfg, echoUntil(5))
	start := time.Now()
	code, stdout, stderr := runS2nc("", "-f", srv.CertFile, "--linger", "300ms", host, port, "--send", "12345")
	require.Equal(t, cli.ExitOK, code, stderr)
	require.Equal(t, "12345", stdout)
	require.Contains(t, stderr, "  protocol                  TLS1.2\n")
	require.Less(t, time.Since(start), 5*time.Second)

	code, _, stderr = runS2nc("abcde", "-q", "-e", "-f", srv.CertFile, "--linger", "300ms", host, port)
	require.Equal(t, cli.ExitOK, code, stderr)
}

func TestInsecure(t *testing.T) {
	srv := clitest.NewECDSACert(t, t.TempDir(), "server")
	host, port := goServer(t, serverConfig(srv), echo)
	code, stdout, stderr := runS2nc("", "-i", host, port, "--send", "x")
	require.Equal(t, cli.ExitOK, code, stderr)
	require.Equal(t, "x", stdout)
	require.Contains(t, stderr, "  verified                  no (--insecure)\n")
}

func TestReconnectResumes(t *testing.T) {
	srv := clitest.NewECDSACert(t, t.TempDir(), "server")
	for _, version := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		t.Run(tls.VersionName(version), func(t *testing.T) {
			cfg := serverConfig(srv)
			cfg.MaxVersion = version
			var mu sync.Mutex
			var resumed []bool
			host, port := goServer(t, cfg, func(c *tls.Conn) {
				if c.Handshake() == nil {
					mu.Lock()
					resumed = append(resumed, c.ConnectionState().DidResume)
					mu.Unlock()
				}
				if version == tls.VersionTLS13 {
					echo(c)
				} else {
					echoUntil(2)(c)
				}
			})
			code, stdout, stderr := runS2nc("", "-r", "-f", srv.CertFile, "--linger", "200ms", host, port, "--send", "ab")
			require.Equal(t, cli.ExitOK, code, stderr)
			require.Equal(t, strings.Repeat("ab", reconnects+1), stdout, "6 connections, as s2n-tls's s2nc -r")
			require.Regexp(t, `(?s)resumed +no\n.*resumed +yes\n`, stderr)
			require.Contains(t, stderr, "peer certificate          none (not sent again on resumption)")
			mu.Lock()
			defer mu.Unlock()
			require.Equal(t, []bool{false, true, true, true, true, true}, resumed)
		})
	}
}

// --ticket-out saves the session of one run to a file and --ticket-in
// resumes it in another run, by TLS 1.3 ticket and by TLS 1.2 ticket; with
// tickets off on TLS 1.3 there is nothing to save, and a missing or empty
// file fails before connecting.
func TestTicketOutIn(t *testing.T) {
	srv := clitest.NewECDSACert(t, t.TempDir(), "server")
	for _, version := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		t.Run(tls.VersionName(version), func(t *testing.T) {
			cfg := serverConfig(srv)
			cfg.MaxVersion = version
			var mu sync.Mutex
			var resumed []bool
			host, port := goServer(t, cfg, func(c *tls.Conn) {
				if c.Handshake() == nil {
					mu.Lock()
					resumed = append(resumed, c.ConnectionState().DidResume)
					mu.Unlock()
				}
				if version == tls.VersionTLS13 {
					echo(c)
				} else {
					echoUntil(1)(c)
				}
			})
			file := filepath.Join(t.TempDir(), "ticket")
			code, _, stderr := runS2nc("", "-f", srv.CertFile, "--linger", "200ms", "--ticket-out", file, host, port, "--send", "a")
			require.Equal(t, cli.ExitOK, code, stderr)
			require.Regexp(t, `resumed +no\n`, stderr)
			saved, err := os.ReadFile(file)
			require.NoError(t, err)
			require.NotEmpty(t, saved)

			code, stdout, stderr := runS2nc("", "-f", srv.CertFile, "--linger", "200ms", "--ticket-in", file, host, port, "--send", "b")
			require.Equal(t, cli.ExitOK, code, stderr)
			require.Equal(t, "b", stdout)
			require.Regexp(t, `resumed +yes\n`, stderr)
			mu.Lock()
			defer mu.Unlock()
			require.Equal(t, []bool{false, true}, resumed)
		})
	}
	t.Run("errors", func(t *testing.T) {
		cfg := serverConfig(srv)
		host, port := goServer(t, cfg, echo)
		dir := t.TempDir()
		out := filepath.Join(dir, "out")
		code, _, stderr := runS2nc("", "-f", srv.CertFile, "-T", "--ticket-out", out, host, port, "--send", "a")
		require.Equal(t, cli.ExitFailure, code, stderr)
		require.Contains(t, stderr, "s2nc: --ticket-out "+out+": the server gave no session to resume\n")
		require.NoFileExists(t, out)

		code, _, stderr = runS2nc("", "--ticket-in", filepath.Join(dir, "missing"), host, port)
		require.Equal(t, cli.ExitFailure, code, stderr)
		require.Contains(t, stderr, "s2nc: --ticket-in: open ")
		empty := filepath.Join(dir, "empty")
		require.NoError(t, os.WriteFile(empty, nil, 0o600))
		code, _, stderr = runS2nc("", "--ticket-in", empty, host, port)
		require.Equal(t, cli.ExitFailure, code, stderr)
		require.Contains(t, stderr, "s2nc: --ticket-in "+empty+": empty file\n")
	})
}

// The client's key, for mutual authentication, is offloaded: a file key
// with simulated latency, and a key in a PKCS#11 token.
func TestClientKeyOffloaded(t *testing.T) {
	dir := t.TempDir()
	srv := clitest.NewECDSACert(t, dir, "server")
	tok := clitest.NewToken(t, "../..")
	fileKey := clitest.NewECDSACert(t, dir, "alice")
	tokenKey := tok.ECDSAKey(t, dir, "bob", true)
	cfg := serverConfig(srv)
	cfg.ClientAuth = tls.RequireAndVerifyClientCert
	cfg.ClientCAs = fileKey.Pool
	cfg.ClientCAs.AddCert(tokenKey.Leaf)
	var mu sync.Mutex
	var clients []string
	host, port := goServer(t, cfg, func(c *tls.Conn) {
		if c.Handshake() == nil {
			mu.Lock()
			clients = append(clients, c.ConnectionState().PeerCertificates[0].Subject.CommonName)
			mu.Unlock()
		}
		echo(c)
	})
	for _, tc := range []struct {
		name, source string
		args         []string
	}{
		{"alice", "", []string{"-l", fileKey.CertFile, "-k", fileKey.KeyFile, "--key-latency", "20ms"}},
		{"bob", "", []string{"--pkcs11-module", tok.Module, "--pkcs11-token", tok.Label, "--pkcs11-pin", tok.PIN,
			"--pkcs11-key-label", "bob"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-f", srv.CertFile, host, port, "--send", "hi"}, tc.args...)
			code, stdout, stderr := runS2nc("", args...)
			require.Equal(t, cli.ExitOK, code, stderr)
			require.Equal(t, "hi", stdout)
			require.Contains(t, stderr, "  client key ops offloaded  1\n")
			require.Contains(t, stderr, "s2nc: client key: 1 key operation offloaded, ")
		})
	}
	mu.Lock()
	require.Equal(t, []string{"alice", "bob"}, clients)
	mu.Unlock()

	// A key s2n holds is not offloaded.
	code, _, stderr := runS2nc("", "-f", srv.CertFile, host, port, "-l", fileKey.CertFile, "-k", fileKey.KeyFile)
	require.Equal(t, cli.ExitOK, code, stderr)
	require.Contains(t, stderr, "  client key ops offloaded  0\n")
	require.NotContains(t, stderr, "s2nc: client key:")
}

func TestGet(t *testing.T) {
	srv := clitest.NewECDSACert(t, t.TempDir(), "server")
	var (
		mu     sync.Mutex // the handler's goroutines write protos; only TCP orders that before the reads
		protos []string
	)
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		protos = append(protos, r.Proto+" "+r.TLS.NegotiatedProtocol+" "+r.Host)
		mu.Unlock()
		if r.URL.Path != "/hello" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "hello over s2n\n")
	}))
	ts.TLS = serverConfig(srv)
	ts.TLS.NextProtos = []string{"h2", "http/1.1"} // s2nc must pick http/1.1
	ts.EnableHTTP2 = true
	ts.StartTLS()
	defer ts.Close()
	port := fmt.Sprint(ts.Listener.Addr().(*net.TCPAddr).Port)

	code, stdout, stderr := runS2nc("", "-f", srv.CertFile, "localhost", port, "--get", "/hello", "-r")
	require.Equal(t, cli.ExitOK, code, stderr)
	require.Equal(t, strings.Repeat("hello over s2n\n", reconnects+1), stdout)
	require.Contains(t, stderr, "  ALPN                      http/1.1\n")
	require.Contains(t, stderr, "s2nc: GET /hello: HTTP/1.1 200 OK (text/plain)\n")
	require.Regexp(t, `(?s)resumed +no\n.*resumed +yes\n`, stderr)
	mu.Lock()
	got := slices.Clone(protos)
	mu.Unlock()
	require.Len(t, got, reconnects+1)
	for _, p := range got {
		require.Equal(t, "HTTP/1.1 http/1.1 localhost:"+port, p)
	}

	code, stdout, stderr = runS2nc("", "-q", "-f", srv.CertFile, "localhost", port, "--get", "/nope")
	require.Equal(t, cli.ExitFailure, code)
	require.Equal(t, "404 page not found\n", stdout)
	require.Equal(t, "s2nc: GET /nope: HTTP/1.1 404 Not Found (text/plain; charset=utf-8)\ns2nc: GET /nope: 404 Not Found\n", stderr)
}

// Against the binding's own server, with its key offloaded: the pair the
// demo runs, in-process.
func TestAgainstBindingServer(t *testing.T) {
	srv := clitest.NewECDSACert(t, t.TempDir(), "server")
	cfg, err := s2n.NewConfig()
	require.NoError(t, err)
	defer cfg.Close()
	require.NoError(t, cfg.SetCipherPreferences("default_pq"))
	require.NoError(t, cfg.AddCertChainWithSigner(srv.PEM(), srv.Key))
	l, err := s2n.Listen("tcp", "127.0.0.1:0", cfg)
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		l.Close()
		if err != nil {
			served <- err
			return
		}
		defer c.Close()
		_, err = io.Copy(c, c)
		served <- err
	}()
	port := fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
	code, stdout, stderr := runS2nc("", "-c", "default_pq", "-f", srv.CertFile, "localhost", port, "--send", "pq?")
	require.Equal(t, cli.ExitOK, code, stderr)
	require.Equal(t, "pq?", stdout)
	require.NoError(t, <-served)
	require.Regexp(t, `key exchange +\S+\n`, stderr)
}

// -L appends the NSS key log: the lines the crypto/tls server logs, plus
// s2n's EXPORTER_SECRET. -D sets dynamic record sizing, within s2n's bound.
func TestKeyLogAndDynamic(t *testing.T) {
	srv := clitest.NewECDSACert(t, t.TempDir(), "server")
	cfg := serverConfig(srv)
	var goLog syncBuffer
	cfg.KeyLogWriter = &goLog
	host, port := goServer(t, cfg, echo)
	path := filepath.Join(t.TempDir(), "keys.log")
	payload := strings.Repeat("x", 20000)
	code, stdout, stderr := runS2nc("", "-q", "-f", srv.CertFile, "-L", path, "-D", "4096", host, port, "--send", payload)
	require.Equal(t, cli.ExitOK, code, stderr)
	require.Equal(t, payload, stdout)

	got, err := os.ReadFile(path)
	require.NoError(t, err)
	var lines []string
	for _, l := range strings.Split(strings.TrimSuffix(string(got), "\n"), "\n") {
		if !strings.HasPrefix(l, "EXPORTER_SECRET ") {
			lines = append(lines, l)
		}
	}
	require.ElementsMatch(t, strings.Split(strings.TrimSuffix(goLog.String(), "\n"), "\n"), lines, "s2nc's key log:\n%s", got)

	code, _, stderr = runS2nc("", "-q", "-f", srv.CertFile, "-D", "9000000", host, port)
	require.Equal(t, cli.ExitFailure, code)
	require.Contains(t, stderr, "--dynamic 9000000: ")
	require.Contains(t, stderr, "S2N_ERR_INVALID_DYNAMIC_THRESHOLD")
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
