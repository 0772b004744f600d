package main

import (
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/s2n-go/s2n/internal/cli"
	"github.com/s2n-go/s2n/internal/clitest"
	"github.com/stretchr/testify/require"
)

// TestRenegotiationOpenSSL: `openssl s_server -tls1_2` asks s2nc -e to
// renegotiate (its "r" command, "R" also requesting a client
// certificate), as s2n-tls's integration suite does. accept and wait:
// s2nc prints "RENEGOTIATE", runs the new handshake, then the new
// parameters and "s2n is ready, again", and data flows both ways after.
// With wait the new handshake starts only after the server's next line,
// which s2nc prints between the two markers. reject: s_server ends the
// connection on the no_renegotiation alert and s2nc reports its alert as
// s2n-tls's s2nc does. Without --renegotiation the request is ignored.
func TestRenegotiationOpenSSL(t *testing.T) {
	dir := t.TempDir()
	srv := clitest.NewECDSACert(t, dir, "localhost")
	cl := clitest.NewECDSACert(t, dir, "client")
	for _, tc := range []struct {
		mode, command string
		clientCert    bool
	}{
		{"accept", "r", false},
		{"wait", "r", false},
		{"wait", "R", true},
		{"reject", "r", false},
		{"", "r", false},
	} {
		t.Run(tc.mode+" "+tc.command, func(t *testing.T) {
			// -state prints s_server's handshake states: "write hello
			// request" once it asked (the suite's marker too).
			s := startPeer(t, "openssl", "s_server", "-accept", "127.0.0.1:0", "-naccept", "1", "-tls1_2", "-state",
				"-cert", srv.CertFile, "-key", srv.KeyFile)
			port := s.waitFor(t, `ACCEPT 127\.0\.0\.1:(\d+)`)[1]
			args := []string{"-e", "-f", srv.CertFile}
			if tc.mode != "" {
				args = append(args, "--renegotiation", tc.mode)
			}
			if tc.clientCert {
				args = append(args, "--cert", cl.CertFile, "--key", cl.KeyFile)
			}
			c := startClient(t, append(args, "localhost", port)...)
			c.waitFor(t, "^"+cli.Ready+"$")
			c.send(t, "client one\n")
			s.waitFor(t, "^client one$")
			s.send(t, tc.command+"\n")
			s.waitFor(t, "write hello request")
			if tc.mode == "reject" {
				// s2nc's no_renegotiation alert may already have ended
				// s_server: its stdin may be closed.
				io.WriteString(s.stdin, "server one\n")
			} else {
				s.send(t, "server one\n")
			}
			switch tc.mode {
			case "reject":
				// s_server answers the no_renegotiation alert with a fatal
				// handshake_failure alert, which ends s2nc.
				s.waitFor(t, "alert read:warning:no renegotiation")
				require.Equal(t, cli.ExitFailure, c.exit(t), "stderr:\n%s", c.errOut)
				require.Contains(t, c.errOut.String(), "Received alert: 40\n")
				require.NotContains(t, c.out.String(), "RENEGOTIATE")
				return
			case "":
				c.waitFor(t, "^server one$")
			default:
				c.waitFor(t, "^"+cli.Ready+", again$")
			}
			c.send(t, "client two\n")
			s.waitFor(t, "^client two$")
			s.send(t, "server two\n")
			c.waitFor(t, "^server two$")
			require.Equal(t, cli.ExitOK, c.wait(t), "stderr:\n%s", c.errOut)
			out := c.out.String()
			if tc.mode == "" {
				require.NotContains(t, out, "RENEGOTIATE")
				require.NotContains(t, s.out.String(), "no renegotiation")
				return
			}
			require.Equal(t, 1, strings.Count(out, "RENEGOTIATE\n"), out)
			require.Equal(t, 2, strings.Count(out, "CONNECTED:\n"), out)
			start, again := strings.Index(out, "RENEGOTIATE\n"), strings.Index(out, cli.Ready+", again\n")
			require.Less(t, start, again)
			if tc.mode == "wait" {
				// The line sent after the request arrived during the new handshake.
				require.Regexp(t, regexp.MustCompile(`(?s)RENEGOTIATE\n.*server one\n.*CONNECTED:\n.*`+cli.Ready+", again\n"), out)
			} else {
				require.Contains(t, out, "server one\n")
			}
			handshakes := regexp.MustCompile(`Handshake: (\S+)\n`).FindAllStringSubmatch(out, -1)
			require.Len(t, handshakes, 2)
			require.NotContains(t, handshakes[0][1], "CLIENT_AUTH")
			if tc.clientCert {
				require.Contains(t, handshakes[1][1], "CLIENT_AUTH")
				require.NotContains(t, handshakes[1][1], "NO_CLIENT_CERT")
				require.Contains(t, out, "Client signature negotiated: ECDSA+")
			}
		})
	}
}

// TestServerClosesWithoutCloseNotify: `openssl s_server` ends the
// connection without close_notify when its stdin ends; s2nc -e prints what
// came and exits 0, as s2n-tls's s2nc of the suite's version does (its
// s2n_recv returns such an end as the end of the stream); -v notes it.
func TestServerClosesWithoutCloseNotify(t *testing.T) {
	srv := clitest.NewECDSACert(t, t.TempDir(), "localhost")
	s := startPeer(t, "openssl", "s_server", "-accept", "127.0.0.1:0", "-naccept", "1", "-tls1_2",
		"-cert", srv.CertFile, "-key", srv.KeyFile)
	port := s.waitFor(t, `ACCEPT 127\.0\.0\.1:(\d+)`)[1]
	c := startClient(t, "-v", "-e", "-f", srv.CertFile, "localhost", port)
	c.waitFor(t, "^"+cli.Ready+"$")
	s.send(t, "last words\n")
	c.waitFor(t, "^last words$")
	require.NoError(t, s.stdin.Close())
	require.Equal(t, cli.ExitOK, c.exit(t), "stderr:\n%s", c.errOut)
	require.Contains(t, c.errOut.String(), "s2nc: the server closed the connection without close_notify\n")
}
