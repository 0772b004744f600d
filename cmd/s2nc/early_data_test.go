package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/s2n-go/s2n/internal/cli"
	"github.com/s2n-go/s2n/internal/clitest"
	"github.com/stretchr/testify/require"
)

// cS2nd is the path of s2n-tls's own s2nd, a peer of these tests.
func cS2nd(t *testing.T) string {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("..", "..", "third_party", "dist", "s2n-utils", "bin", "s2nd"))
	require.NoError(t, err)
	_, err = os.Stat(path)
	require.NoError(t, err, "s2n-tls's s2nd is a peer of these tests: run scripts/build-s2n-utils (scripts/test does)")
	return path
}

// freePort returns a port free on 127.0.0.1 a moment ago, for a peer that
// cannot listen on port 0 and tell which port it got.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}

// TestEarlyData: s2nc saves a ticket (--ticket-out), then resumes it
// (--ticket-in) sending --early-data's file with the ClientHello, against
// this s2nd and s2n-tls's s2nd (--max-early-data: both print "Early Data
// received: " and the data) and `openssl s_server -early_data`; the
// parameters report it accepted. Resuming without --early-data requests
// none, and the file stops at its first NUL byte, as s2n-tls's s2nc reads
// it.
func TestEarlyData(t *testing.T) {
	bin := clitest.Build(t, "github.com/s2n-go/s2n/cmd/s2nd")
	dir := t.TempDir()
	srv := clitest.NewECDSACert(t, dir, "localhost")
	early := filepath.Join(dir, "early")
	require.NoError(t, os.WriteFile(early, []byte("early from s2nc\x00not sent"), 0o600))
	for _, tc := range []struct {
		name   string
		start  func(t *testing.T) (p *peer, port string)
		expect string // the peer's output for the early data
		// singleUse: the peer resumes a TLS 1.3 ticket once (OpenSSL's
		// anti-replay for early data).
		singleUse bool
	}{
		{"this s2nd", func(t *testing.T) (*peer, string) {
			p := startPeer(t, filepath.Join(bin, "s2nd"), "-v", "--cert", srv.CertFile, "--key", srv.KeyFile,
				"--max-early-data", "64", "-e", "--max-conns=3", "localhost", "0")
			return p, p.waitFor(t, `^s2nd: listening on 127\.0\.0\.1:(\d+) `)[1]
		}, "^Early Data received: early from s2nc$", false},
		{"s2n-tls's s2nd", func(t *testing.T) (*peer, string) {
			port := freePort(t)
			p := startPeer(t, cS2nd(t), "--cert", srv.CertFile, "--key", srv.KeyFile,
				"-c", "default_tls13", "--max-early-data", "64", "-X3", "127.0.0.1", port)
			p.waitFor(t, "^Listening on ")
			return p, port
		}, "^Early Data received: early from s2nc$", false},
		{"openssl s_server", func(t *testing.T) (*peer, string) {
			p := startPeer(t, "openssl", "s_server", "-accept", "127.0.0.1:0", "-naccept", "3", "-tls1_3", "-early_data",
				"-cert", srv.CertFile, "-key", srv.KeyFile)
			return p, p.waitFor(t, `ACCEPT 127\.0\.0\.1:(\d+)`)[1]
		}, "early from s2nc", true}, // s_server prints the data as is, no newline
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, port := tc.start(t)
			ticket := filepath.Join(t.TempDir(), "ticket")
			code, stdout, stderr := runS2ncRaw("", "-f", srv.CertFile, "--ticket-out", ticket, "localhost", port)
			require.Equal(t, cli.ExitOK, code, stderr)
			require.Contains(t, stdout, "Early Data status: NOT REQUESTED\n")

			code, stdout, stderr = runS2ncRaw("", "-f", srv.CertFile, "--ticket-in", ticket, "--early-data", early, "localhost", port)
			require.Equal(t, cli.ExitOK, code, stderr)
			require.Contains(t, stdout, "Resumed session\n")
			require.Contains(t, stdout, "Early Data status: ACCEPTED\n")
			p.waitFor(t, tc.expect)

			code, stdout, stderr = runS2ncRaw("", "-f", srv.CertFile, "--ticket-in", ticket, "localhost", port)
			require.Equal(t, cli.ExitOK, code, stderr)
			if !tc.singleUse {
				require.Contains(t, stdout, "Resumed session\n")
			}
			require.Contains(t, stdout, "Early Data status: NOT REQUESTED\n")
			<-p.exited
			require.Equal(t, 1, strings.Count(p.out.String(), "early from s2nc"), "%s", p.out)
			require.NotContains(t, p.out.String(), "not sent")
		})
	}

	code, _, stderr := runS2ncRaw("", "-T", "--early-data", early, "localhost", "1")
	require.Equal(t, cli.ExitUsage, code)
	require.Contains(t, stderr, "early data can only be used with session tickets")
}
