package s2n

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// tcpPair is a server and a client Connection over a loopback TCP
// connection (kTLS needs TCP: a Unix socket has no upper-layer protocols),
// reading and writing the sockets' non-blocking descriptors themselves.
func tcpPair(t *testing.T, server, client *Config) *pair {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	dialed, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	defer dialed.Close()
	accepted, err := l.Accept()
	require.NoError(t, err)
	defer accepted.Close()
	var fds [2]int
	for i, c := range []net.Conn{accepted, dialed} {
		f, err := c.(*net.TCPConn).File() // a duplicate, kept open until cleanup
		require.NoError(t, err)
		t.Cleanup(func() { f.Close() })
		fds[i] = int(f.Fd())
		require.NoError(t, syscall.SetNonblock(fds[i], true))
	}
	p := &pair{fds: fds}
	p.server = newTestConn(t, ModeServer, server, fds[0])
	p.client = newTestConn(t, ModeClient, client, fds[1])
	require.NoError(t, p.client.SetServerName("localhost"))
	t.Cleanup(func() {
		p.server.Close()
		p.client.Close()
	})
	return p
}

// TestKTLS enables kTLS on a TLS 1.2 connection between two Connections
// over TCP: the server's sending key and the client's receiving key go to
// the kernel. Where the kernel has the TLS upper-layer protocol, data then
// flows through it, and Sendfile sends a file; where it does not, both
// enable calls fail with S2N_ERR_KTLS_ENABLE and the connection goes on in
// userspace. The test says which it saw.
func TestKTLS(t *testing.T) {
	ec, _, _ := testKeys(t)
	p := tcpPair(t,
		newTestConfig(t, configOpts{policy: policyTLS12, chain: ec}),
		clientConfig(t, policyTLS12, ec))

	// Before the handshake: nothing to hand to the kernel.
	requireS2nError(t, p.server.EnableKTLSSend(), "S2N_ERR_HANDSHAKE_NOT_COMPLETE")
	p.handshake(t)
	require.Equal(t, TLS12, p.server.ProtocolVersion())

	file := filepath.Join(t.TempDir(), "payload")
	payload := make([]byte, 100_000)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	require.NoError(t, os.WriteFile(file, payload, 0o600))
	f, err := os.Open(file)
	require.NoError(t, err)
	defer f.Close()

	// Sendfile needs kTLS on the sending side.
	_, _, err = p.server.Sendfile(f, 0, len(payload))
	requireS2nError(t, err, "S2N_ERR_KTLS_UNSUPPORTED_CONN")

	sendErr := p.server.EnableKTLSSend()
	recvErr := p.client.EnableKTLSRecv()
	if !KernelTLSAvailable() && sendErr != nil {
		t.Log("kernel lacks the TLS upper-layer protocol: kTLS enable failed, userspace path")
		requireS2nError(t, sendErr, "S2N_ERR_KTLS_ENABLE")
		requireS2nError(t, recvErr, "S2N_ERR_KTLS_ENABLE")
		p.exchange(t)
		_, _, err = p.server.Sendfile(f, 0, len(payload))
		requireS2nError(t, err, "S2N_ERR_KTLS_UNSUPPORTED_CONN")
		return
	}
	t.Log("kernel has the TLS upper-layer protocol: kTLS send (server) and receive (client) enabled")
	require.NoError(t, sendErr)
	require.NoError(t, recvErr)
	p.exchange(t)
	// The socket holds less than the file: read while sending.
	sent := 0
	var got []byte
	buf := make([]byte, 16384)
	for deadline := time.Now().Add(10 * time.Second); len(got) < len(payload) && time.Now().Before(deadline); {
		if sent < len(payload) {
			n, _, err := p.server.Sendfile(f, int64(sent), len(payload)-sent)
			sent += n
			if err != nil {
				require.True(t, errors.Is(err, ErrBlocked), "Sendfile: %v", err)
			}
		}
		n, _, err := p.client.Recv(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			require.ErrorIs(t, err, ErrBlocked)
			time.Sleep(100 * time.Microsecond)
		}
	}
	require.Equal(t, payload, got)
}

// TestKTLSTLS13NeedsUnsafe: s2n refuses kTLS in TLS 1.3 unless the Config
// allows it with EnableKTLSUnsafeTLS13, which then gets as far as the
// kernel.
func TestKTLSTLS13NeedsUnsafe(t *testing.T) {
	ec, _, _ := testKeys(t)
	unsafe := newTestConfig(t, configOpts{policy: "default_tls13", chain: ec})
	require.NoError(t, unsafe.EnableKTLSUnsafeTLS13())
	p := tcpPair(t, unsafe, clientConfig(t, "default_tls13", ec))
	p.handshake(t)
	require.Equal(t, TLS13, p.client.ProtocolVersion())
	// The client's Config does not allow TLS 1.3 kTLS.
	requireS2nError(t, p.client.EnableKTLSSend(), "S2N_ERR_KTLS_UNSUPPORTED_CONN")
	err := p.server.EnableKTLSSend()
	if err != nil {
		t.Logf("server with EnableKTLSUnsafeTLS13: %v (kernel TLS ULP listed: %v)", err, KernelTLSAvailable())
		requireS2nError(t, err, "S2N_ERR_KTLS_ENABLE")
		require.False(t, KernelTLSAvailable(), "the kernel lists tls but enabling failed: %v", err)
		p.exchange(t)
		return
	}
	t.Log("kernel has the TLS upper-layer protocol: TLS 1.3 kTLS send enabled on the server")
	p.exchange(t)
}
