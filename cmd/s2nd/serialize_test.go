package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/s2n-go/s2n/internal/cli"
	"github.com/s2n-go/s2n/internal/clitest"
	"github.com/stretchr/testify/require"
)

// TestSerializeHandOver: s2nd -n --serialize-out and a client with
// --serialize-out (this s2nc, or s2n-tls's) both write their connection
// out right after the handshake; then s2nd --deserialize-in and this s2nc
// --deserialize-in go on with it over a new TCP connection, without a
// handshake (neither prints parameters): s2nd echoes what s2nc sends.
// Tickets are off: a TLS 1.3 ticket the client never read would leave the
// two sides' record sequence numbers apart. TLS 1.2 with an AES-GCM policy:
// s2n-tls's s2nc fails handshakes with s2nd on test_all_tls12's composite
// AES-SHA suites ("error decrypting data"), serialized or not.
func TestSerializeHandOver(t *testing.T) {
	bin := clitest.Build(t, "github.com/s2n-go/s2n/cmd/s2nc")
	goS2nc := filepath.Join(bin, "s2nc")
	for _, policy := range []string{"default_tls13", "ELBSecurityPolicy-TLS-1-2-2017-01"} {
		for _, first := range []string{"this s2nc", "s2n-tls's s2nc"} {
			t.Run(policy+"/"+first, func(t *testing.T) {
				dir := t.TempDir()
				ss, cs := filepath.Join(dir, "server"), filepath.Join(dir, "client")
				d := startS2nd(t, "-c", policy, "-T", "-n", "-X1", "--serialize-out", ss)
				port := strings.TrimPrefix(d.addr, "localhost:")
				args := []string{"-f", d.certFile, "-c", policy, "-T", "--serialize-out", cs, "localhost", port}
				var out string
				if first == "this s2nc" {
					b, err := exec.Command(goS2nc, args...).CombinedOutput()
					require.NoError(t, err, "%s", b)
					out = string(b)
				} else {
					out = cS2nc(t, args...)
				}
				require.Contains(t, out, cli.Ready+"\n")
				require.Equal(t, cli.ExitOK, d.wait(t))
				for _, f := range []string{ss, cs} {
					fi, err := os.Stat(f)
					require.NoError(t, err)
					require.NotZero(t, fi.Size())
				}

				d = startS2nd(t, "-e", "-X1", "--deserialize-in", ss)
				port = strings.TrimPrefix(d.addr, "localhost:")
				// TLS 1.2 has no half-close: s2nc reads the echo until s2nd is quiet for
				// --linger (long here: a slow machine).
				b, err := exec.Command(goS2nc, "-f", d.certFile, "--linger", "3s", "--deserialize-in", cs, "--send", "over the old keys\n", "localhost", port).CombinedOutput()
				require.NoError(t, err, "%s", b)
				require.Equal(t, "Connected to localhost:"+port+"\nover the old keys\n", string(b))
				require.Equal(t, cli.ExitOK, d.wait(t))
				require.NotContains(t, d.stdout.String(), "CONNECTED:")
				require.Regexp(t, `^s2nd: #1 .* in=18 out=18`, d.summary(t, 1))
			})
		}
	}

	// A file that is no serialized connection: s2nd reports it as
	// s2n-tls's s2nd does, on the first connection.
	bad := filepath.Join(t.TempDir(), "bad")
	require.NoError(t, os.WriteFile(bad, []byte("not a connection"), 0o600))
	d := startS2nd(t, "--deserialize-in", bad)
	b, _ := exec.Command(goS2nc, "-i", "--deserialize-in", bad, "--send", "x", "localhost", strings.TrimPrefix(d.addr, "localhost:")).CombinedOutput()
	require.Contains(t, string(b), "] Failed to deserialize file: '")
	require.Equal(t, cli.ExitFailure, d.wait(t))
	require.Contains(t, d.stderr.String(), "] Failed to deserialize file: '")
}
