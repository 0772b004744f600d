package s2n

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// requireKeyUpdates checks a Conn's key update counts.
func requireKeyUpdates(t *testing.T, c *Conn, send, recv int, what string) {
	t.Helper()
	s, r, err := c.KeyUpdateCounts()
	require.NoError(t, err)
	require.Equal(t, [2]int{send, recv}, [2]int{s, r}, "%s: key updates (send, recv)", what)
}

// TestKeyUpdateAgainstGoTLS: a binding client rotates its sending key three
// times against a crypto/tls server, which must take each KeyUpdate to read
// what follows it; the server's answers still arrive.
func TestKeyUpdateAgainstGoTLS(t *testing.T) {
	ec, _, _ := testKeys(t)
	const rounds = 4
	addr, results := serveGoTLS(t, &tls.Config{Certificates: []tls.Certificate{goCert(ec)}}, 1, func(c *tls.Conn) error {
		r := bufio.NewReader(c)
		for range rounds {
			line, err := r.ReadString('\n')
			if err != nil {
				return err
			}
			if _, err := io.WriteString(c, "echo "+line); err != nil {
				return err
			}
		}
		return nil
	})
	c := dialClient(t, addr, clientConfig(t, "default_tls13", ec))
	requireS2nError(t, c.RequestKeyUpdate(), nameInvalidArg, ErrUsage)
	require.NoError(t, c.Handshake())
	requireKeyUpdates(t, c, 0, 0, "after the handshake")
	r := bufio.NewReader(c)
	for i := range rounds {
		if i > 0 {
			require.NoError(t, c.RequestKeyUpdate())
			requireKeyUpdates(t, c, i-1, 0, "requested, not yet sent")
		}
		msg := fmt.Sprintf("message %d\n", i)
		_, err := io.WriteString(c, msg)
		require.NoError(t, err)
		requireKeyUpdates(t, c, i, 0, "sent")
		got, err := r.ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, "echo "+msg, got)
	}
	require.NoError(t, await(t, results, "crypto/tls server"))
	requireKeyUpdates(t, c, rounds-1, 0, "at the end")
}

// TestKeyUpdateBetweenConns: two binding Conns update their keys in turn;
// each side counts its sending updates and the peer's.
func TestKeyUpdateBetweenConns(t *testing.T) {
	ec, _, _ := testKeys(t)
	addr, accept := acceptConns(t, newTestConfig(t, configOpts{policy: "default_tls13", chain: ec}))
	client := dialClient(t, addr, clientConfig(t, "default_tls13", ec))
	hs := make(chan error, 1)
	go func() { hs <- client.Handshake() }()
	server := accept()
	require.NoError(t, server.Handshake())
	require.NoError(t, await(t, hs, "client handshake"))

	send := func(from, to *Conn, msg string) {
		t.Helper()
		got := make(chan error, 1)
		go func() {
			buf := make([]byte, len(msg))
			_, err := io.ReadFull(to, buf)
			if err == nil && string(buf) != msg {
				err = fmt.Errorf("read %q, want %q", buf, msg)
			}
			got <- err
		}()
		_, err := io.WriteString(from, msg)
		require.NoError(t, err)
		require.NoError(t, await(t, got, "read"))
	}
	require.NoError(t, client.RequestKeyUpdate())
	send(client, server, "client's first key update")
	requireKeyUpdates(t, client, 1, 0, "client")
	requireKeyUpdates(t, server, 0, 1, "server")

	require.NoError(t, server.RequestKeyUpdate())
	require.NoError(t, server.RequestKeyUpdate()) // one pending update, not two
	send(server, client, "server's key update")
	requireKeyUpdates(t, client, 1, 1, "client")
	requireKeyUpdates(t, server, 1, 1, "server")

	send(client, server, "no update this time")
	requireKeyUpdates(t, client, 1, 1, "client")
	requireKeyUpdates(t, server, 1, 1, "server")
}

// TestKeyUpdateLowLevel: the Connection API refuses KeyUpdateRequested, as
// s2n does, and a TLS 1.2 Conn refuses RequestKeyUpdate.
func TestKeyUpdateLowLevel(t *testing.T) {
	ec, _, _ := testKeys(t)
	p := newPair(t, newTestConfig(t, configOpts{policy: "default_tls13", chain: ec}), clientConfig(t, "default_tls13", ec))
	p.handshake(t)
	requireS2nError(t, p.client.RequestKeyUpdate(KeyUpdateRequested), "S2N_ERR_INVALID_ARGUMENT", ErrUsage)
	require.NoError(t, p.client.RequestKeyUpdate(KeyUpdateNotRequested))
	p.exchange(t)
	s, r, err := p.client.KeyUpdateCounts()
	require.NoError(t, err)
	require.Equal(t, [2]int{1, 0}, [2]int{s, r})
	s, r, err = p.server.KeyUpdateCounts()
	require.NoError(t, err)
	require.Equal(t, [2]int{0, 1}, [2]int{s, r})

	addr, results := serveResults(t, newTestConfig(t, configOpts{policy: policyTLS12, chain: ec}), 1, echoOnce)
	c := dialClient(t, addr, clientConfig(t, policyTLS12, ec))
	require.NoError(t, c.Handshake())
	requireS2nError(t, c.RequestKeyUpdate(), nameInvalidArg, ErrUsage)
	require.NoError(t, pingEchoServer(c))
	require.NoError(t, await(t, results, "server"))
}

// pingEchoServer writes a line and reads it back from an echoOnce server.
func pingEchoServer(c *Conn) error {
	const msg = "ping\n"
	if _, err := io.WriteString(c, msg); err != nil {
		return err
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	if string(buf) != msg {
		return fmt.Errorf("echo %q", buf)
	}
	return nil
}

// TestKeyUpdateAgainstOpenSSL: openssl s_server sends a KeyUpdate ("k" on
// its stdin), then one that requests an update ("K"); the binding client
// takes both, answers the request with its next Write, and updates once
// more on its own. s_server prints each line it decrypts.
func TestKeyUpdateAgainstOpenSSL(t *testing.T) {
	env := newInteropEnv(t)
	ec, _, _ := testKeys(t)
	// s_server reports each KeyUpdate it sends ("SSL_do_handshake -> 1")
	// through stdio, which buffers a pipe: stdbuf makes it line-buffered.
	stdbuf, err := exec.LookPath("stdbuf")
	require.NoError(t, err, "stdbuf (coreutils) makes s_server's output line-buffered for this test")
	p := startInteropPeer(t, stdbuf, []string{"-oL", env.openssl, "s_server", "-accept", "127.0.0.1:0", "-naccept", "1",
		"-cert", env.files[ec].cert, "-key", env.files[ec].key, "-tls1_3"}, true, "")
	port := p.waitFor(t, interopSServerAccept)[1]
	raw, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", port))
	require.NoError(t, err)
	c := Client(raw, clientConfig(t, "default_tls13", ec), "localhost")
	defer c.Close()
	_, err = io.WriteString(c, "ping from s2n-go\n")
	require.NoError(t, err)
	p.waitCount(t, "ping from s2n-go\n", 1)

	p.send(t, "k\n")
	p.waitCount(t, "SSL_do_handshake -> 1", 1)
	p.send(t, "K\n")
	p.waitCount(t, "SSL_do_handshake -> 1", 2)
	p.send(t, "pong from openssl\n")
	r := bufio.NewReader(c)
	got, err := r.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "pong from openssl\n", got)
	requireKeyUpdates(t, c, 0, 2, "after s_server's two KeyUpdates")

	_, err = io.WriteString(c, "answer to K\n")
	require.NoError(t, err)
	requireKeyUpdates(t, c, 1, 2, "after answering the request")
	p.waitCount(t, "answer to K\n", 1)

	require.NoError(t, c.RequestKeyUpdate())
	_, err = io.WriteString(c, "after our own update\n")
	require.NoError(t, err)
	requireKeyUpdates(t, c, 2, 2, "after our own update")
	p.waitCount(t, "after our own update\n", 1)
	require.NoError(t, c.Close())
	out := p.wait(t)
	require.Contains(t, out, "\nDONE\n", "s_server read the binding's close_notify")
	require.False(t, strings.Contains(out, "\nERROR\n"), out)
}
