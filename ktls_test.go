package s2n

import (
	"bytes"
	"errors"
	"fmt"
	"io"
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

// ktlsConnPair is fdConnPair's shape over loopback TCP with the given
// server and client Configs.
func ktlsConnPair(t *testing.T, kind string, server, client *Config) (*Conn, *Conn) {
	t.Helper()
	sc, cc := rawConnPair(t, kind)
	s := Server(sc, server)
	c := Client(cc, client, "localhost")
	t.Cleanup(func() {
		go s.Close()
		c.Close()
	})
	hs := make(chan error, 1)
	go func() { hs <- c.Handshake() }()
	require.NoError(t, s.Handshake())
	require.NoError(t, await(t, hs, "client handshake"))
	return s, c
}

// ktlsFile is a file of size bytes, and its contents.
func ktlsFile(t *testing.T, size int) (*os.File, []byte) {
	t.Helper()
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	name := filepath.Join(t.TempDir(), "payload")
	require.NoError(t, os.WriteFile(name, payload, 0o600))
	f, err := os.Open(name)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return f, payload
}

// TestConnKTLS: both Conns of a TLS 1.2 connection over TCP ask for kTLS
// (Config.EnableConnKTLS). Where the kernel has the TLS upper-layer
// protocol, both directions go to it; where it lacks it, s2n's enable
// calls fail with S2N_ERR_KTLS_ENABLE, KTLS reports that, and the Conns go
// on in userspace. Either way data flows both ways, and io.Copy from a file
// into the Conn (ReadFrom: s2n_sendfile with kTLS, Write without) sends it
// intact from the file's offset and moves the offset to its end. The test
// says which it saw.
func TestConnKTLS(t *testing.T) {
	ec, _, _ := testKeys(t)
	server := newTestConfig(t, configOpts{policy: policyTLS12, chain: ec})
	client := clientConfig(t, policyTLS12, ec)
	for _, cfg := range []*Config{server, client} {
		require.NoError(t, cfg.EnableConnKTLS(true, true))
	}
	s, c := ktlsConnPair(t, "tcp", server, client)
	require.Equal(t, TLS12, c.Connection().ProtocolVersion())
	for side, conn := range map[string]*Conn{"server": s, "client": c} {
		st := conn.KTLS()
		if KernelTLSAvailable() && st.Send && st.Recv {
			t.Logf("%s: kernel has the TLS upper-layer protocol: kTLS send and receive on", side)
			require.NoError(t, st.SendErr)
			require.NoError(t, st.RecvErr)
			continue
		}
		t.Logf("%s: kTLS refused, userspace path (kernel lists tls: %v): send %v, receive %v", side, KernelTLSAvailable(), st.SendErr, st.RecvErr)
		require.False(t, KernelTLSAvailable(), "the kernel lists tls but kTLS was refused: %+v", st)
		require.False(t, st.Send)
		require.False(t, st.Recv)
		requireS2nError(t, st.SendErr, "S2N_ERR_KTLS_ENABLE")
		requireS2nError(t, st.RecvErr, "S2N_ERR_KTLS_ENABLE")
	}

	msg := bytes.Repeat([]byte("kTLS or not "), 10000)
	for _, dir := range [][2]*Conn{{c, s}, {s, c}} {
		go dir[0].Write(msg)
		got := make([]byte, len(msg))
		_, err := io.ReadFull(dir[1], got)
		require.NoError(t, err)
		require.True(t, bytes.Equal(msg, got))
	}

	f, payload := ktlsFile(t, 300_000)
	_, err := f.Seek(1000, io.SeekStart) // io.Copy sends from the offset
	require.NoError(t, err)
	copied := make(chan error, 1)
	go func() {
		n, err := io.Copy(c, f)
		if err == nil && n != int64(len(payload)-1000) {
			err = fmt.Errorf("io.Copy: %d bytes", n)
		}
		copied <- err
	}()
	got := make([]byte, len(payload)-1000)
	_, err = io.ReadFull(s, got)
	require.NoError(t, err)
	require.NoError(t, await(t, copied, "io.Copy"))
	require.True(t, bytes.Equal(payload[1000:], got))
	off, err := f.Seek(0, io.SeekCurrent)
	require.NoError(t, err)
	require.EqualValues(t, len(payload), off, "the file's offset is at its end")
	t.Logf("io.Copy from a file: %s", map[bool]string{true: "s2n_sendfile through kTLS", false: "Write (no kTLS send)"}[c.KTLS().Send])

	// Not a file: ReadFrom copies as io.Copy would.
	go func() {
		_, err := io.Copy(c, bytes.NewReader(msg))
		copied <- err
	}()
	got = make([]byte, len(msg))
	_, err = io.ReadFull(s, got)
	require.NoError(t, err)
	require.NoError(t, await(t, copied, "io.Copy"))
	require.True(t, bytes.Equal(msg, got))
}

// TestConnKTLSRefused: kTLS asked for where it cannot be had. In TLS 1.3
// without EnableKTLSUnsafeTLS13, s2n refuses (S2N_ERR_KTLS_UNSUPPORTED_CONN)
// whatever the kernel; over a net.Pipe, which has no socket for s2n, the
// Conn says so. Not asked for: the zero status. The Conns work all the same.
func TestConnKTLSRefused(t *testing.T) {
	ec, _, _ := testKeys(t)
	for _, kind := range []string{"tcp", "pipe"} {
		t.Run(kind, func(t *testing.T) {
			server := newTestConfig(t, configOpts{policy: "default_tls13", chain: ec})
			client := clientConfig(t, "default_tls13", ec)
			require.NoError(t, server.EnableConnKTLS(true, true))
			s, c := ktlsConnPair(t, kind, server, client)
			require.Equal(t, KTLSStatus{}, c.KTLS(), "the client's Config did not ask")
			st := s.KTLS()
			require.False(t, st.Send)
			require.False(t, st.Recv)
			t.Logf("%s: send %v; receive %v", kind, st.SendErr, st.RecvErr)
			if kind == "pipe" {
				requireS2nError(t, st.SendErr, nameInvalidArg, ErrUsage)
				require.ErrorContains(t, st.SendErr, "*net.pipe")
				require.Equal(t, st.SendErr, st.RecvErr)
			} else {
				requireS2nError(t, st.SendErr, "S2N_ERR_KTLS_UNSUPPORTED_CONN")
				requireS2nError(t, st.RecvErr, "S2N_ERR_KTLS_UNSUPPORTED_CONN")
			}
			go c.Write([]byte("still works"))
			got := make([]byte, 11)
			_, err := io.ReadFull(s, got)
			require.NoError(t, err)
			require.Equal(t, "still works", string(got))
		})
	}
}
