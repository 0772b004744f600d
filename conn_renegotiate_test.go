package s2n

import (
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestConnRenegotiateOpenSSL: `openssl s_server -tls1_2` asks a client
// Conn to renegotiate (its "R" command, which also requests a client
// certificate). With a callback that accepts, the Read that reads the
// request runs the new handshake by itself and goes on reading; data flows
// both ways afterwards. With a callback that rejects, s2n answers with a
// no_renegotiation alert, s_server insists and ends the connection, and
// Read reports the alert.
func TestConnRenegotiateOpenSSL(t *testing.T) {
	env := newInteropEnv(t)
	ec, _, _ := testKeys(t)
	// -msg traces each handshake message, so the test knows when the
	// renegotiation is over on s_server's side.
	p := startInteropPeer(t, env.openssl, []string{"s_server", "-accept", "127.0.0.1:0", "-naccept", "2",
		"-cert", env.files[ec].cert, "-key", env.files[ec].key, "-tls1_2", "-msg"}, true, "")
	port := p.waitFor(t, opensslRenegAccept)[1]
	addr := net.JoinHostPort("localhost", port)

	for i, answer := range []RenegotiateResponse{RenegotiateAccept, RenegotiateReject} {
		cfg := clientConfig(t, policyTLS12, ec)
		var requests atomic.Int32
		require.NoError(t, cfg.SetRenegotiateRequestCallback(func(*Connection) RenegotiateResponse {
			requests.Add(1)
			return answer
		}))
		c := dialClient(t, addr, cfg)
		require.NoError(t, c.SetDeadline(time.Now().Add(interopTimeout)))
		require.NoError(t, c.Handshake())
		require.NotContains(t, c.Connection().HandshakeTypeName(), "CLIENT_AUTH")
		p.waitCount(t, "CIPHER is ", i+1)
		finished := strings.Count(p.out.String(), ", Finished")

		p.send(t, "R\n")
		if answer == RenegotiateReject {
			// The Read that reads the request sends the no_renegotiation
			// alert; s_server insists on the new handshake and ends the
			// connection with a fatal alert.
			_, err := c.Read(make([]byte, 16))
			require.EqualValues(t, 1, requests.Load())
			p.waitCount(t, "no renegotiation", 1)
			requireS2nError(t, err, "S2N_ERR_ALERT")
			continue
		}
		got := make(chan error, 1)
		pong := make([]byte, len("pong from openssl\n"))
		go func() {
			_, err := io.ReadFull(c, pong)
			got <- err
		}()
		// Both Finished messages of the new handshake, sent and received.
		p.waitCount(t, ", Finished", finished+2)
		p.send(t, "pong from openssl\n")
		require.NoError(t, await(t, got, "Read"))
		require.Equal(t, "pong from openssl\n", string(pong))
		require.EqualValues(t, 1, requests.Load())
		// The new handshake is the one "R" asked for: with a certificate
		// request, answered without a certificate.
		require.Contains(t, c.Connection().HandshakeTypeName(), "CLIENT_AUTH")
		t.Logf("renegotiated: %s", c.Connection().HandshakeTypeName())

		_, err := c.Write([]byte("ping after renegotiation\n"))
		require.NoError(t, err)
		p.waitCount(t, "ping after renegotiation\n", 1)
		require.NoError(t, c.Close())
	}
	out := p.wait(t)
	// Two connections and the renegotiation of the first completed.
	require.Regexp(t, `\n\s+3 server accepts that finished\n`, out)
}
