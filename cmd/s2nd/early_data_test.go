package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/s2n-go/s2n/internal/cli"
	"github.com/s2n-go/s2n/internal/clitest"
	"github.com/stretchr/testify/require"
)

// earlyBlock matches s2nd's stdout for a connection whose early data was
// received: the data on its line, then that connection's parameters.
func earlyBlock(data string) *regexp.Regexp {
	return regexp.MustCompile(`(?s)Early Data received: ` + regexp.QuoteMeta(data) + `\nCONNECTED:\n[^\n]*WITH_EARLY_DATA.*?Early Data status: ACCEPTED\n` + cli.Ready + `\n`)
}

// TestEarlyDataFromCS2nc: s2n-tls's s2nc saves a ticket from s2nd
// --max-early-data, then resumes it sending a file as early data: s2nd
// prints it ("Early Data received: ") before the connection's parameters,
// which report it accepted, as s2n-tls's s2nd does; so does s2nc.
func TestEarlyDataFromCS2nc(t *testing.T) {
	dir := t.TempDir()
	ticket, early := filepath.Join(dir, "ticket"), filepath.Join(dir, "early")
	require.NoError(t, os.WriteFile(early, []byte("early bytes from s2nc"), 0o600))
	d := startS2nd(t, "--max-early-data", "64", "-e", "--max-conns=2")
	port := strings.TrimPrefix(d.addr, "localhost:")
	out := cS2nc(t, "-f", d.certFile, "-c", "default_tls13", "--ticket-out", ticket, "localhost", port)
	require.Contains(t, out, "Early Data status: NOT REQUESTED\n")
	out = cS2nc(t, "-f", d.certFile, "-c", "default_tls13", "--ticket-in", ticket, "--early-data", early, "localhost", port)
	require.Contains(t, out, "Resumed session\n")
	require.Contains(t, out, "Early Data status: ACCEPTED\n")
	require.Equal(t, cli.ExitOK, d.wait(t))
	require.Regexp(t, earlyBlock("early bytes from s2nc"), d.stdout.String())
	require.Equal(t, 1, strings.Count(d.stdout.String(), "Early Data received"))
}

// TestEarlyDataFromOpenSSL: openssl s_client saves the session of a first
// connection (its ticket allows 100 bytes of early data, --max-early-data)
// and resumes it with -early_data: s2nd prints the early data and accepts
// it; openssl says so. Without --max-early-data the ticket allows none and
// openssl sends none.
func TestEarlyDataFromOpenSSL(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		accepted bool
	}{
		{"--max-early-data 100", []string{"--max-early-data", "100"}, true},
		{"no early data", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			sess, early := filepath.Join(dir, "sess"), filepath.Join(dir, "early")
			require.NoError(t, os.WriteFile(early, []byte("early bytes from openssl"), 0o600))
			d := startS2nd(t, append(tc.args, "-e", "--max-conns=2")...)
			out := openSSLClient(t, "-connect", d.addr, "-CAfile", d.certFile, "-tls1_3", "-sess_out", sess)
			require.Contains(t, out, "New, TLSv1.3")
			out = openSSLClient(t, "-connect", d.addr, "-CAfile", d.certFile, "-tls1_3", "-sess_in", sess, "-early_data", early)
			require.Contains(t, out, "Reused, TLSv1.3")
			require.Equal(t, cli.ExitOK, d.wait(t))
			if tc.accepted {
				require.Contains(t, out, "Early data was accepted")
				require.Regexp(t, earlyBlock("early bytes from openssl"), d.stdout.String())
			} else {
				require.Contains(t, out, "Early data was not sent")
				require.NotContains(t, d.stdout.String(), "Early Data received")
				require.NotContains(t, d.stdout.String(), "Early Data status: ACCEPTED")
			}
		})
	}
}

// openSSLClient runs openssl s_client with args against s2nd -e: it sends
// a line, waits for it to come back (by then a TLS 1.3 session ticket has
// arrived: s2n sends its tickets before any data), then ends stdin, which
// closes the connection, and returns s_client's output.
func openSSLClient(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("openssl", append([]string{"s_client"}, args...)...)
	out := clitest.NewOutput()
	cmd.Stdout, cmd.Stderr = out, out
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	_, err = io.WriteString(stdin, "echo me\n")
	require.NoError(t, err)
	out.WaitFor(t, regexp.MustCompile(`^echo me$`), exited)
	require.NoError(t, stdin.Close())
	<-exited
	require.NoError(t, waitErr, "openssl s_client: %s", out)
	return out.String()
}
