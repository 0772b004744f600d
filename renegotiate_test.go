package s2n

import (
	"errors"
	"net"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// opensslRenegClient dials s_server at port with a low-level client
// Connection over the socket's non-blocking descriptor, and completes the
// handshake. closeFn closes the connection and its socket.
func opensslRenegClient(t *testing.T, cfg *Config, port string) (c *Connection, closeFn func()) {
	t.Helper()
	raw, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", port))
	require.NoError(t, err)
	f, err := raw.(*net.TCPConn).File()
	require.NoError(t, err)
	raw.Close()
	t.Cleanup(func() { f.Close() })
	fd := int(f.Fd())
	require.NoError(t, syscall.SetNonblock(fd, true))
	c = newTestConn(t, ModeClient, cfg, fd)
	closeFn = func() {
		c.Close()
		f.Close()
	}
	t.Cleanup(closeFn)
	require.NoError(t, c.SetServerName("localhost"))
	driveUntil(t, "handshake", func() (int, Blocked, error) { _, err := c.Negotiate(); return 0, NotBlocked, err })
	return c, closeFn
}

// driveUntil calls f until it returns nil, polling while it is blocked.
func driveUntil(t *testing.T, what string, f func() (int, Blocked, error)) {
	t.Helper()
	for deadline := time.Now().Add(interopTimeout); ; {
		require.True(t, time.Now().Before(deadline), "%s did not finish", what)
		_, _, err := f()
		if err == nil {
			return
		}
		require.ErrorIs(t, err, ErrBlocked, what)
		time.Sleep(200 * time.Microsecond)
	}
}

var opensslRenegAccept = regexp.MustCompile(`ACCEPT 127\.0\.0\.1:(\d+)`)

// TestRenegotiateOpenSSL: `openssl s_server -tls1_2` asks the binding's
// client to renegotiate (its "R" command, which also requests a client
// certificate); the callback accepts, the client renegotiates with
// RenegotiateWipe and Renegotiate, and data flows both ways on the new
// keys. A second client rejects the request: s_server, which insists,
// reads the no_renegotiation alert and ends the connection. A third
// client's callback panics: the Recv that read the request fails with the
// panic.
func TestRenegotiateOpenSSL(t *testing.T) {
	env := newInteropEnv(t)
	ec, _, _ := testKeys(t)
	p := startInteropPeer(t, env.openssl, []string{"s_server", "-accept", "127.0.0.1:0", "-naccept", "3",
		"-cert", env.files[ec].cert, "-key", env.files[ec].key, "-tls1_2"}, true, "")
	port := p.waitFor(t, opensslRenegAccept)[1]

	// renegPanic: the third client's callback panics.
	const renegPanic RenegotiateResponse = 99
	for i, answer := range []RenegotiateResponse{RenegotiateAccept, RenegotiateReject, renegPanic} {
		requests := 0
		cfg := clientConfig(t, policyTLS12, ec)
		require.NoError(t, cfg.SetRenegotiateRequestCallback(func(conn *Connection) RenegotiateResponse {
			requests++
			require.Equal(t, TLS12, conn.ProtocolVersion()) // a getter, inside the callback
			if answer == renegPanic {
				panic("renegotiation callback panics")
			}
			return answer
		}))
		c, closeConn := opensslRenegClient(t, cfg, port)
		p.waitCount(t, "CIPHER is ", i+1)
		before := c.WireBytesIn()

		p.send(t, "R\n")
		// The HelloRequest is read (and the callback runs) inside Recv.
		buf := make([]byte, 4096)
		for deadline := time.Now().Add(interopTimeout); requests == 0; {
			require.True(t, time.Now().Before(deadline), "no renegotiation request")
			_, _, err := c.Recv(buf)
			if answer == renegPanic && requests == 1 {
				// The panic fails the Recv that read the HelloRequest.
				var pe *PanicError
				require.ErrorAs(t, err, &pe)
				require.Equal(t, "renegotiation callback panics", pe.Value)
				break
			}
			require.ErrorIs(t, err, ErrBlocked)
			time.Sleep(200 * time.Microsecond)
		}
		require.Equal(t, 1, requests)
		if answer == renegPanic {
			closeConn() // s_server, waiting for a ClientHello, reads the end
			continue
		}

		if answer == RenegotiateAccept {
			require.NoError(t, c.RenegotiateWipe())
			require.NoError(t, c.SetServerName("localhost"))
			require.NoError(t, c.SetBlinding(SelfServiceBlinding))
			driveUntil(t, "renegotiation", func() (int, Blocked, error) {
				n, blocked, err := c.Renegotiate(buf)
				if errors.Is(err, ErrBlocked) && blocked == BlockedOnApplicationData {
					t.Fatalf("s_server sent data during the renegotiation: %q", buf[:n])
				}
				return n, blocked, err
			})
			require.True(t, c.HandshakeComplete())
			t.Logf("renegotiated: %s", c.HandshakeTypeName())
		}
		if answer == RenegotiateReject {
			// s2n sends the queued no_renegotiation alert with the next
			// write. s_server's "R" insists on the new handshake: the
			// alert ends the connection on its side.
			driveUntil(t, "send", func() (int, Blocked, error) { return c.Send([]byte("x")) })
			p.waitCount(t, "no renegotiation", 1)
			n, _, err := c.Recv(buf)
			for deadline := time.Now().Add(interopTimeout); errors.Is(err, ErrBlocked); n, _, err = c.Recv(buf) {
				require.True(t, time.Now().Before(deadline), "the connection did not end")
				time.Sleep(200 * time.Microsecond)
			}
			t.Logf("after the rejection the client reads n=%d, err=%v", n, err)
			require.Zero(t, n)
			requireS2nError(t, err, "S2N_ERR_ALERT")
			continue
		}
		msg := []byte("ping after renegotiation\n")
		sent := 0
		driveUntil(t, "send", func() (int, Blocked, error) {
			n, b, err := c.Send(msg[sent:])
			sent += n
			return n, b, err
		})
		p.waitCount(t, string(msg), 1)
		p.send(t, "pong from openssl\n")
		require.Equal(t, "pong from openssl\n", string(recvN(t, c, len("pong from openssl\n"))))
		require.Greater(t, c.WireBytesIn(), before)
		driveUntil(t, "shutdown", func() (int, Blocked, error) { b, err := c.Shutdown(); return 0, b, err })
	}
	out := p.wait(t)
	// Three connections, and the renegotiation of the first, completed.
	require.Regexp(t, `\n\s+4 server accepts that finished\n`, out)
}
