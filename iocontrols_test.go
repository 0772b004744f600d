package s2n

import (
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// recvAll reads n bytes from c, waiting at most 5 s.
func recvAll(t *testing.T, c *Connection, n int) []byte {
	t.Helper()
	got := make([]byte, 0, n)
	buf := make([]byte, 4096)
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < n && time.Now().Before(deadline) {
		m, _, err := c.Recv(buf)
		if err != nil {
			require.ErrorIs(t, err, ErrBlocked)
			continue
		}
		got = append(got, buf[:m]...)
	}
	return got
}

// TestSendv: buffers are sent as one stream from an offset into their
// concatenation, empty ones included.
func TestSendv(t *testing.T) {
	ec, _, _ := testKeys(t)
	p := newPair(t, newTestConfig(t, configOpts{policy: "default_tls13", chain: ec}), clientConfig(t, "default_tls13", ec))
	p.handshake(t)
	bufs := [][]byte{[]byte("hello "), nil, []byte("vectored "), []byte("world")}
	for _, off := range []int{0, 6, 20} {
		want := "hello vectored world"[off:]
		n, _, err := p.client.Sendv(bufs, off)
		require.NoError(t, err)
		require.Equal(t, len(want), n)
		require.Equal(t, want, string(recvAll(t, p.server, len(want))))
	}
	// Nothing to send from offset 0 sends nothing.
	for _, empty := range [][][]byte{nil, {nil, {}}} {
		n, _, err := p.client.Sendv(empty, 0)
		require.NoError(t, err)
		require.Zero(t, n)
	}

	// A stream larger than the socket takes: the first call, from offset 0,
	// writes part of it, and the calls that resume from an offset the rest.
	big := make([][]byte, 4)
	var want []byte
	for i := range big {
		big[i] = make([]byte, 300<<10+i)
		for j := range big[i] {
			big[i][j] = byte(i*7 + j)
		}
		want = append(want, big[i]...)
	}
	var got []byte
	buf := make([]byte, 64<<10)
	calls := 0
	deadline := time.Now().Add(10 * time.Second)
	for off := 0; (off < len(want) || len(got) < len(want)) && time.Now().Before(deadline); {
		if off < len(want) {
			n, _, err := p.client.Sendv(big, off)
			if err != nil {
				require.ErrorIs(t, err, ErrBlocked)
			}
			if calls == 0 {
				require.Less(t, n, len(want), "the socket took the whole stream at once")
			}
			calls++
			off += n
		}
		m, _, err := p.server.Recv(buf)
		if err != nil {
			require.ErrorIs(t, err, ErrBlocked)
		}
		got = append(got, buf[:m]...)
	}
	require.Equal(t, want, got)
	t.Logf("%d bytes in %d Sendv calls", len(want), calls)

	_, _, err := p.client.Sendv(bufs, 21)
	requireS2nError(t, err, nameInvalidArg, ErrUsage)
	_, _, err = p.client.Sendv(bufs, -1)
	requireS2nError(t, err, nameInvalidArg, ErrUsage)
}

// TestClientCertChain: a server reads the chain its client sent; without
// client authentication there is none.
func TestClientCertChain(t *testing.T) {
	ec, _, ec2 := testKeys(t)
	clientKey := makeTestKeyFor(t, "client", "client.example", ec2.signer)
	server := newTestConfig(t, configOpts{policy: "default_tls13", chain: ec, trust: clientKey, clientAuth: ClientAuthRequired})
	require.NoError(t, server.SetVerifyHostCallback(func(string) bool { return true }))
	client := newTestConfig(t, configOpts{policy: "default_tls13", chain: clientKey, trust: ec, clientAuth: ClientAuthRequired})
	p := newPair(t, server, client)
	p.handshake(t)
	chain, err := p.server.ClientCertChain()
	require.NoError(t, err)
	require.Equal(t, [][]byte{clientKey.cert.Raw}, chain)

	plain := newPair(t, newTestConfig(t, configOpts{policy: "default_tls13", chain: ec}), clientConfig(t, "default_tls13", ec))
	plain.handshake(t)
	chain, _ = plain.server.ClientCertChain()
	require.Empty(t, chain)
}

// TestDynamicBuffers: with dynamic buffers, an idle connection pair holds
// less of s2n's memory after an exchange than without.
func TestDynamicBuffers(t *testing.T) {
	ec, _, _ := testKeys(t)
	held := map[bool]int64{}
	for _, dynamic := range []bool{false, true} {
		server := newTestConfig(t, configOpts{policy: "default_tls13", chain: ec})
		client := clientConfig(t, "default_tls13", ec)
		base := quietCBytes()
		p := newPair(t, server, client)
		for _, c := range []*Connection{p.server, p.client} {
			require.NoError(t, c.SetDynamicBuffers(dynamic))
		}
		p.handshake(t)
		p.exchange(t)
		held[dynamic] = quietCBytes() - base
		p.server.Close()
		p.client.Close()
	}
	t.Logf("s2n memory held by an idle pair after an exchange: %d bytes, %d with dynamic buffers", held[false], held[true])
	require.Less(t, held[true], held[false]-16<<10, "at least a record's buffer less")
}

// TestCorkedIO: s2n corks only a socket it writes itself; a Conn's
// transport is the binding's, so s2n refuses there. A TCP connection s2n
// writes itself (SetFd) handshakes and exchanges with it corked.
func TestCorkedIO(t *testing.T) {
	ec, _, _ := testKeys(t)
	addr, done := serveResults(t, signerConfig(t, "default_tls13", ec, &faultySigner{key: ec.signer}), 1, echoOnce)
	// A Conn over a TCP socket: s2n writes the socket itself and corks it.
	c, err := Dial("tcp", addr, clientConfig(t, "default_tls13", ec))
	require.NoError(t, err)
	require.NoError(t, c.Connection().UseCorkedIO())
	_, err = c.Write([]byte("corked"))
	require.NoError(t, err)
	got := make([]byte, 6)
	_, err = io.ReadFull(c, got)
	require.NoError(t, err)
	require.Equal(t, "corked", string(got))
	require.NoError(t, c.Close())
	require.NoError(t, <-done)
	// Over any other net.Conn the transport is the binding's: s2n refuses.
	addr, done = serveResults(t, signerConfig(t, "default_tls13", ec, &faultySigner{key: ec.signer}), 1, echoOnce)
	raw, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	wc := Client(struct{ net.Conn }{raw}, clientConfig(t, "default_tls13", ec), "localhost")
	require.NoError(t, wc.Handshake())
	requireS2nError(t, wc.Connection().UseCorkedIO(), "S2N_ERR_CORK_SET_ON_UNMANAGED")
	require.NoError(t, wc.Close())
	<-done

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	accepted := make(chan *net.TCPConn, 1)
	go func() {
		a, err := l.Accept()
		if err == nil {
			accepted <- a.(*net.TCPConn)
		}
	}()
	cc, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	defer cc.Close()
	sc := <-accepted
	defer sc.Close()
	fdOf := func(tc *net.TCPConn) int {
		f, err := tc.File() // a blocking dup; s2n is driven non-blocking below
		require.NoError(t, err)
		t.Cleanup(func() { f.Close() })
		fd := int(f.Fd())
		require.NoError(t, syscall.SetNonblock(fd, true))
		return fd
	}
	p := &pair{fds: [2]int{fdOf(sc), fdOf(cc.(*net.TCPConn))}}
	p.server = newTestConn(t, ModeServer, newTestConfig(t, configOpts{policy: "default_tls13", chain: ec}), p.fds[0])
	p.client = newTestConn(t, ModeClient, clientConfig(t, "default_tls13", ec), p.fds[1])
	require.NoError(t, p.client.SetServerName("localhost"))
	t.Cleanup(func() { p.server.Close(); p.client.Close() })
	require.NoError(t, p.server.UseCorkedIO())
	p.handshake(t)
	p.exchange(t)
}
