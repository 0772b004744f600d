package s2n

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// earlyPSK is an external PSK allowing maxEarly bytes of early data with
// TLS_AES_128_GCM_SHA256 (none with maxEarly 0).
func earlyPSK(t *testing.T, maxEarly uint32) *PSK {
	t.Helper()
	k, err := NewExternalPSK([]byte("early-conn"), testPSKSecret, PSKHMACSHA256)
	require.NoError(t, err)
	t.Cleanup(func() { k.Close() })
	if maxEarly > 0 {
		require.NoError(t, k.ConfigureEarlyData(maxEarly, 0x1301))
	}
	return k
}

// earlyServerResult is what a server Conn saw of a client's early data.
type earlyServerResult struct {
	first         string // what the first Read returned
	firstComplete bool   // the handshake was complete when it returned
	rest          string // the client's data after the first Read, to its close_notify
	accepted      bool
	err           error
}

// earlyServe appends k to the server Conn, then reads (or, with
// handshakeFirst, runs Handshake and then reads) all the client sends,
// answering "ok" after the first Read.
func earlyServe(c *Conn, k *PSK, handshakeFirst bool) (r earlyServerResult) {
	if r.err = c.Connection().AppendPSK(k); r.err != nil {
		return r
	}
	if handshakeFirst {
		if r.err = c.Handshake(); r.err != nil {
			return r
		}
	}
	buf := make([]byte, 256)
	n, err := c.Read(buf)
	if r.err = err; err != nil {
		return r
	}
	r.first = string(buf[:n])
	r.firstComplete = c.HandshakeComplete()
	if r.accepted, r.err = c.EarlyDataAccepted(); r.err != nil {
		return r
	}
	if _, r.err = c.Write([]byte("ok")); r.err != nil {
		return r
	}
	rest, err := io.ReadAll(c)
	r.rest, r.err = string(rest), err
	return r
}

// TestConnEarlyDataPSK: Conn to Conn with an external PSK that allows
// early data. The client's WriteEarlyData goes out with the ClientHello;
// the server's first Read returns it before the handshake completes (or,
// after an explicit Handshake, returns what the handshake kept), and both
// sides report it accepted. An EarlyDataFunc that rejects: the client
// learns it after the handshake and sends the data again with Write.
// A PSK without early data: WriteEarlyData sends nothing.
func TestConnEarlyDataPSK(t *testing.T) {
	const msg = "GET /idempotent"
	for _, tc := range []struct {
		name           string
		maxEarly       uint32
		reject         bool
		handshakeFirst bool
	}{
		{name: "accepted, read before the handshake", maxEarly: 1024},
		{name: "accepted, kept by Handshake", maxEarly: 1024, handshakeFirst: true},
		{name: "rejected by the callback", maxEarly: 1024, reject: true},
		{name: "not allowed by the PSK", maxEarly: 0},
		{name: "more than allowed", maxEarly: 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			server := pskConfig(t, testPSKSecret)
			offered := 0
			if tc.reject {
				require.NoError(t, server.SetEarlyDataCallback(func(_ *Connection, d *OfferedEarlyData) error {
					offered++
					return d.Reject()
				}))
			}
			k := earlyPSK(t, tc.maxEarly)
			addr, results := serveResults(t, server, 1, func(c *Conn) earlyServerResult { return earlyServe(c, k, tc.handshakeFirst) })
			c := dialClient(t, addr, pskConfig(t, testPSKSecret))
			require.NoError(t, c.Connection().AppendPSK(k))

			n, err := c.WriteEarlyData([]byte(msg))
			require.NoError(t, err)
			wantSent := min(len(msg), int(tc.maxEarly))
			if tc.reject && n == 0 {
				// Over a socket s2n writes the ClientHello while
				// WriteEarlyData runs (the socket path): when the
				// server's rejection is in before s2n gets to the early
				// data (this thread was descheduled), it sends none.
				t.Logf("the server rejected early data before the client wrote any (%s transport)", c.transportPath())
				wantSent = 0
			}
			require.Equal(t, wantSent, n)
			if n < len(msg) {
				// Only after the handshake may the rest go, with Write.
				accepted, err := c.EarlyDataAccepted()
				require.NoError(t, err)
				require.Equal(t, n > 0, accepted)
				_, err = c.Write([]byte(msg[n:]))
				require.NoError(t, err)
			}
			accepted, err := c.EarlyDataAccepted()
			require.NoError(t, err)
			st, err := c.EarlyDataStatus()
			require.NoError(t, err)
			t.Logf("client: %d bytes as early data, status %v", n, st)
			switch {
			case tc.reject:
				require.False(t, accepted)
				require.Equal(t, EarlyDataRejected, st)
				// Rejected early data is not resent: the application does
				// (above when none went out).
				if n > 0 {
					_, err = c.Write([]byte(msg))
					require.NoError(t, err)
				}
			case tc.maxEarly == 0:
				require.False(t, accepted)
				require.Equal(t, EarlyDataNotRequested, st)
			default:
				require.True(t, accepted)
				require.Equal(t, EarlyDataEnd, st)
			}
			got := make([]byte, 2)
			_, err = io.ReadFull(c, got)
			require.NoError(t, err)
			require.Equal(t, "ok", string(got))
			require.NoError(t, c.CloseWrite())

			r := await(t, results, "server result")
			require.NoError(t, r.err)
			require.Equal(t, msg, r.first+r.rest)
			if tc.reject {
				require.Equal(t, 1, offered)
			}
			early := accepted
			require.Equal(t, early, r.accepted)
			require.Equal(t, !early || tc.handshakeFirst, r.firstComplete,
				"the first Read returned early data before the handshake completed")
		})
	}
}

// TestConnWriteEarlyDataMisuse: WriteEarlyData is for clients, before the
// handshake.
func TestConnWriteEarlyDataMisuse(t *testing.T) {
	ec, _, _ := testKeys(t)
	addr, _ := serveResults(t, newTestConfig(t, configOpts{chain: ec}), 1, echoOnce)
	c := dialClient(t, addr, clientConfig(t, "", ec))
	require.NoError(t, c.Handshake())
	_, err := c.WriteEarlyData([]byte("late"))
	requireS2nError(t, err, nameInvalidArg, ErrUsage)

	a, b := net.Pipe()
	defer b.Close()
	s := Server(a, newTestConfig(t, configOpts{chain: ec}))
	defer s.Close()
	_, err = s.WriteEarlyData([]byte("x"))
	requireS2nError(t, err, nameInvalidArg, ErrUsage)
}

// TestConnEarlyDataOpenSSLServer: `openssl s_server -early_data` issues a
// ticket allowing early data on the first connection; the binding's
// client, resuming with it from its session cache, sends a line with
// WriteEarlyData, which s_server reports as early data, then goes on with
// Write and Read.
func TestConnEarlyDataOpenSSLServer(t *testing.T) {
	env := newInteropEnv(t)
	ec, _, _ := testKeys(t)
	p := startInteropPeer(t, env.openssl, []string{"s_server", "-accept", "127.0.0.1:0", "-naccept", "2",
		"-cert", env.files[ec].cert, "-key", env.files[ec].key, "-tls1_3", "-early_data"}, true, "")
	port := p.waitFor(t, interopSServerAccept)[1]
	addr := net.JoinHostPort("localhost", port)
	cfg := clientConfig(t, "default_tls13", ec)
	require.NoError(t, cfg.SetClientSessionCache(NewLRUClientSessionCache(4)))
	pong := make([]byte, len("pong from openssl\n"))

	for i, early := range []string{"", "early data from s2n-go\n"} {
		c := dialClient(t, addr, cfg)
		require.NoError(t, c.SetDeadline(time.Now().Add(interopTimeout)))
		n, err := c.WriteEarlyData([]byte(early))
		require.NoError(t, err)
		require.Equal(t, len(early), n, "connection %d: early data sent", i)
		accepted, err := c.EarlyDataAccepted()
		require.NoError(t, err)
		require.Equal(t, i == 1, accepted, "connection %d", i)
		require.Equal(t, i == 1, c.ConnectionState().DidResume)
		_, err = c.Write([]byte("ping from s2n-go\n"))
		require.NoError(t, err)
		p.waitCount(t, "CIPHER is ", i+1)
		p.waitCount(t, "ping from s2n-go\n", i+1)
		p.send(t, "pong from openssl\n")
		// The ticket, sent after the handshake, is read before the line.
		_, err = io.ReadFull(c, pong)
		require.NoError(t, err)
		require.Equal(t, "pong from openssl\n", string(pong))
		require.NoError(t, c.Close())
	}
	out := p.wait(t)
	// s_server writes the early data itself unbuffered, its notes about it
	// buffered: their order in the output varies.
	requireInteropOutput(t, out, "No early data received\n", "Early data received:\n", "End of early data\n")
	require.Equal(t, 1, strings.Count(out, "early data from s2n-go\n"), "s_server received the early data:\n%s", out)
	require.Regexp(t, `\n\s+1 session cache hits\n`, out)
}

// earlyLines reads from a server Conn until want has arrived, noting what
// came as early data (before the handshake completed), then answers.
func earlyLines(c *Conn, want, reply string) (early, all string, accepted bool, err error) {
	buf := make([]byte, 256)
	for !strings.Contains(all, want) {
		n, err := c.Read(buf)
		if err != nil {
			return early, all, false, err
		}
		if !c.HandshakeComplete() {
			early += string(buf[:n])
		}
		all += string(buf[:n])
	}
	if accepted, err = c.EarlyDataAccepted(); err != nil {
		return early, all, false, err
	}
	_, err = c.Write([]byte(reply))
	return early, all, accepted, err
}

// TestConnEarlyDataOpenSSLClient: the binding's server issues a ticket
// allowing early data; `openssl s_client -sess_in -early_data FILE` sends
// the file as early data on the second connection, which the server's
// Read returns before the handshake completes; then the line from stdin
// after it.
func TestConnEarlyDataOpenSSLClient(t *testing.T) {
	env := newInteropEnv(t)
	ec, _, _ := testKeys(t)
	cfg := ticketServerConfig(t, "default_tls13", ec)
	require.NoError(t, cfg.SetServerMaxEarlyDataSize(4096))
	type result struct {
		early, all string
		accepted   bool
		err        error
	}
	addr, results := serveResults(t, cfg, 2, func(c *Conn) (r result) {
		r.early, r.all, r.accepted, r.err = earlyLines(c, "ping from openssl\n", "pong from s2n-go\n")
		return r
	})
	dir := t.TempDir()
	sess := filepath.Join(dir, "session.pem")
	earlyFile := filepath.Join(dir, "early.txt")
	require.NoError(t, os.WriteFile(earlyFile, []byte("early data from openssl\n"), 0o600))
	for i := range 2 {
		args := []string{"s_client", "-connect", addr, "-servername", "localhost",
			"-verify_return_error", "-CAfile", env.files[ec].cert, "-tls1_3", "-ign_eof"}
		if i == 0 {
			args = append(args, "-sess_out", sess)
		} else {
			args = append(args, "-sess_in", sess, "-early_data", earlyFile)
		}
		out := startInteropPeer(t, env.openssl, args, false, "ping from openssl\n").wait(t)
		r := await(t, results, "server result")
		require.NoError(t, r.err)
		requireInteropOutput(t, out, "pong from s2n-go\n")
		if i == 0 {
			require.Empty(t, r.early)
			require.False(t, r.accepted)
			continue
		}
		requireInteropOutput(t, out, "Reused, TLSv1.3", "Early data was accepted")
		require.True(t, r.accepted)
		require.Equal(t, "early data from openssl\n", r.early, "read before the handshake completed")
		require.Equal(t, "early data from openssl\nping from openssl\n", r.all)
	}
}

// readEarlyResult is what a server saw with ReadEarlyData.
type readEarlyResult struct {
	early        string // ReadEarlyData's bytes up to io.EOF
	completeAtEO bool   // HandshakeComplete when ReadEarlyData returned io.EOF
	after        string // the first Read after the handshake
	eofAgain     error  // ReadEarlyData after the handshake
	err          error
}

// TestConnReadEarlyData: a server's ReadEarlyData returns the client's
// early data, then io.EOF before the handshake completes (without waiting
// for later data); Handshake then completes it, Read returns the data sent
// after it, and ReadEarlyData returns io.EOF. Without early data (a PSK
// that allows none) the first ReadEarlyData returns io.EOF. A client Conn
// cannot call it.
func TestConnReadEarlyData(t *testing.T) {
	const msg, later = "GET /idempotent", "after the handshake"
	for _, tc := range []struct {
		name     string
		maxEarly uint32
		want     string
	}{
		{name: "accepted", maxEarly: 1024, want: msg},
		{name: "none allowed", maxEarly: 0, want: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := earlyPSK(t, tc.maxEarly)
			addr, results := serveResults(t, pskConfig(t, testPSKSecret), 1, func(c *Conn) (r readEarlyResult) {
				if r.err = c.Connection().AppendPSK(k); r.err != nil {
					return r
				}
				var early []byte
				buf := make([]byte, 4) // smaller than msg: several calls
				for {
					n, err := c.ReadEarlyData(buf)
					early = append(early, buf[:n]...)
					if err == io.EOF {
						break
					}
					if r.err = err; err != nil {
						return r
					}
				}
				r.early, r.completeAtEO = string(early), c.HandshakeComplete()
				if r.err = c.Handshake(); r.err != nil {
					return r
				}
				_, r.eofAgain = c.ReadEarlyData(buf)
				got := make([]byte, len(later))
				if _, r.err = io.ReadFull(c, got); r.err != nil {
					return r
				}
				r.after = string(got)
				_, r.err = c.Write([]byte("ok"))
				return r
			})
			c := dialClient(t, addr, pskConfig(t, testPSKSecret))
			require.NoError(t, c.Connection().AppendPSK(k))
			n, err := c.WriteEarlyData([]byte(msg))
			require.NoError(t, err)
			require.Equal(t, len(tc.want), n)
			// The server's ReadEarlyData must return io.EOF before this
			// Write: the handshake completes only after it.
			require.NoError(t, c.Handshake())
			_, err = c.Write([]byte(later))
			require.NoError(t, err)
			got := make([]byte, 2)
			_, err = io.ReadFull(c, got)
			require.NoError(t, err)

			r := await(t, results, "server result")
			require.NoError(t, r.err)
			require.Equal(t, tc.want, r.early)
			require.False(t, r.completeAtEO, "ReadEarlyData returned io.EOF before the handshake completed")
			require.Equal(t, later, r.after)
			require.ErrorIs(t, r.eofAgain, io.EOF)
		})
	}

	a, b := net.Pipe()
	defer b.Close()
	ec, _, _ := testKeys(t)
	cl := Client(a, clientConfig(t, "", ec), "localhost")
	defer cl.Close()
	_, err := cl.ReadEarlyData(make([]byte, 1))
	requireS2nError(t, err, nameInvalidArg, ErrUsage)
}

// TestConnEarlyDataRejectedByHRR: `openssl s_client` resumes with a ticket
// allowing 500 bytes of early data and sends that much, but offers a key
// share for a group the server does not take (X448), so the server answers
// with a HelloRetryRequest, which rejects the early data. The server Conn
// skips the rejected early data records, whose ciphertext exceeds 500
// bytes, and completes the handshake (ReadEarlyData then Handshake, and
// Read alone), as s2n-tls's s2nd does; the early data is reported
// rejected, and the data sent after the handshake arrives.
func TestConnEarlyDataRejectedByHRR(t *testing.T) {
	env := newInteropEnv(t)
	ec, _, _ := testKeys(t)
	cfg := ticketServerConfig(t, "default_tls13", ec)
	require.NoError(t, cfg.SetServerMaxEarlyDataSize(500))
	dir := t.TempDir()
	earlyFile := filepath.Join(dir, "early.txt")
	require.NoError(t, os.WriteFile(earlyFile, []byte(strings.Repeat("e", 500)), 0o600))
	for _, readEarlyFirst := range []bool{true, false} {
		type result struct {
			early, line string
			status      EarlyDataStatus
			err         error
		}
		addr, results := serveResults(t, cfg, 2, func(c *Conn) (r result) {
			if readEarlyFirst {
				buf := make([]byte, 1024)
				for {
					n, err := c.ReadEarlyData(buf)
					r.early += string(buf[:n])
					if err == io.EOF {
						break
					}
					if r.err = err; err != nil {
						return r
					}
				}
			}
			if r.err = c.Handshake(); r.err != nil {
				return r
			}
			r.status, _ = c.EarlyDataStatus()
			got := make([]byte, len("ping from openssl\n"))
			if _, r.err = io.ReadFull(c, got); r.err != nil {
				return r
			}
			r.line = string(got)
			_, r.err = c.Write([]byte("pong from s2n-go\n"))
			return r
		})
		sess := filepath.Join(dir, fmt.Sprint("session-", readEarlyFirst, ".pem"))
		for i := range 2 {
			args := []string{"s_client", "-connect", addr, "-servername", "localhost", "-verify_return_error",
				"-CAfile", env.files[ec].cert, "-tls1_3", "-ign_eof", "-curves", "X448:P-256"}
			if i == 0 {
				args = append(args, "-sess_out", sess)
			} else {
				args = append(args, "-sess_in", sess, "-early_data", earlyFile)
			}
			out := startInteropPeer(t, env.openssl, args, false, "ping from openssl\n").wait(t)
			r := await(t, results, "server result")
			require.NoError(t, r.err, "read early data first: %v", readEarlyFirst)
			requireInteropOutput(t, out, "pong from s2n-go\n")
			require.Equal(t, "ping from openssl\n", r.line)
			require.Empty(t, r.early)
			if i == 1 {
				requireInteropOutput(t, out, "Reused, TLSv1.3", "Early data was rejected")
				require.Equal(t, EarlyDataRejected, r.status)
			}
		}
	}
}
