package s2n

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The socket path of Conn (conn_fd.go): which transports take it, and
// what it must keep doing as the in-memory path does.

// wrappedConn hides the socket behind a net.Conn of another type: a Conn
// over it keeps the in-memory transport.
type wrappedConn struct{ net.Conn }

// rawConnPair is a connected pair of transports of the given kind: "tcp"
// (loopback), "unix" (a socketpair made into *net.UnixConn by
// net.FileConn), "pipe" (net.Pipe) or "wrapped" (loopback TCP behind
// wrappedConn). Both ends are closed when the test ends.
func rawConnPair(t testing.TB, kind string) (server, client net.Conn) {
	t.Helper()
	switch kind {
	case "tcp", "wrapped":
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer l.Close()
		client, err = net.Dial("tcp", l.Addr().String())
		require.NoError(t, err)
		server, err = l.Accept()
		require.NoError(t, err)
		if kind == "wrapped" {
			server, client = wrappedConn{server}, wrappedConn{client}
		}
	case "unix":
		fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
		require.NoError(t, err)
		var conns [2]net.Conn
		for i, fd := range fds {
			f := os.NewFile(uintptr(fd), "socketpair")
			conns[i], err = net.FileConn(f) // a dup of fd
			f.Close()
			require.NoError(t, err)
		}
		server, client = conns[0], conns[1]
	case "pipe":
		server, client = net.Pipe()
	default:
		t.Fatalf("unknown transport kind %q", kind)
	}
	t.Cleanup(func() {
		server.Close()
		client.Close()
	})
	return server, client
}

// fdConnPair is a server and a client Conn over a transport of the given
// kind (see rawConnPair), their handshake done: TLS 1.3, the server's key
// behind a Signer (an async key operation). Closed when the test ends.
func fdConnPair(t testing.TB, kind string) (server, client *Conn) {
	t.Helper()
	ec, _, _ := testKeys(t)
	sc, cc := rawConnPair(t, kind)
	server = Server(sc, signerConfig(t, "default_tls13", ec, &faultySigner{key: ec.signer}))
	client = Client(cc, clientConfig(t, "default_tls13", ec), "localhost")
	t.Cleanup(func() { // at once: over net.Pipe, close_notify waits for a reader
		done := make(chan struct{})
		go func() {
			server.Close()
			close(done)
		}()
		client.Close()
		<-done
	})
	hs := make(chan error, 1)
	go func() { hs <- client.Handshake() }()
	require.NoError(t, server.Handshake())
	require.NoError(t, await(t, hs, "client handshake"))
	return server, client
}

var fdKinds = map[string]string{"tcp": "fd", "unix": "fd", "pipe": "memory", "wrapped": "memory"}

// TestConnTransportPath: a Conn over *net.TCPConn or *net.UnixConn (a
// stream socket) has s2n read and write the socket; over net.Pipe, a
// net.Conn wrapping a socket, or a Unix socket that is not a stream, the
// in-memory transport. Data flows both ways on each.
func TestConnTransportPath(t *testing.T) {
	for kind, want := range fdKinds {
		t.Run(kind, func(t *testing.T) {
			server, client := fdConnPair(t, kind)
			require.Equal(t, want, server.transportPath())
			require.Equal(t, want, client.transportPath())
			msg := bytes.Repeat([]byte("0123456789abcdef"), 20000) // 320 KB: many records
			for _, dir := range [][2]*Conn{{client, server}, {server, client}} {
				wrote := make(chan error, 1)
				go func() {
					_, err := dir[0].Write(msg)
					wrote <- err
				}()
				got := make([]byte, len(msg))
				_, err := io.ReadFull(dir[1], got)
				require.NoError(t, err)
				require.NoError(t, await(t, wrote, "Write"))
				require.True(t, bytes.Equal(msg, got))
			}
		})
	}
	t.Run("unixpacket", func(t *testing.T) {
		fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_SEQPACKET, 0)
		require.NoError(t, err)
		defer syscall.Close(fds[1])
		// Closed through its *os.File: closed with syscall.Close, the
		// descriptor's number would be closed again by the File's cleanup
		// after the garbage collector ran, by then another socket's.
		f := os.NewFile(uintptr(fds[0]), "seqpacket")
		c, err := net.FileConn(f) // a dup
		f.Close()
		require.NoError(t, err)
		require.IsType(t, &net.UnixConn{}, c)
		ec, _, _ := testKeys(t)
		conn := Server(c, signerConfig(t, "default_tls13", ec, &faultySigner{key: ec.signer}))
		defer conn.Close()
		require.Equal(t, "memory", conn.transportPath(), "a message socket is not a byte stream")
	})
	// A server accepting early data keeps the in-memory transport (see
	// fdPath); TestConnEarlyDataRejectedByHRR fails over the socket.
	t.Run("early data server", func(t *testing.T) {
		ec, _, _ := testKeys(t)
		for _, max := range []uint32{0, 500} {
			cfg := signerConfig(t, "default_tls13", ec, &faultySigner{key: ec.signer})
			require.NoError(t, cfg.SetServerMaxEarlyDataSize(max))
			a, b := rawConnPair(t, "tcp")
			srv, cl := Server(a, cfg), Client(b, clientConfig(t, "default_tls13", ec), "localhost")
			require.Equal(t, "memory", srv.transportPath(), "a server's handshake, max early data %d", max)
			require.Equal(t, "fd", cl.transportPath(), "a client")
			hs := make(chan error, 1)
			go func() { hs <- cl.Handshake() }()
			require.NoError(t, srv.Handshake())
			require.NoError(t, await(t, hs, "client handshake"))
			want := map[uint32]string{0: "fd", 500: "memory"}[max]
			require.Equal(t, want, srv.transportPath(), "server after its handshake, max early data %d", max)
			require.NoError(t, srv.Close())
			require.NoError(t, cl.Close())
		}
	})
}

// TestConnDeadlines: on both paths, a Read past its deadline fails with a
// timeout (os.ErrDeadlineExceeded) and leaves the Conn usable; a Write
// that the peer does not drain fails with a timeout at its deadline.
func TestConnDeadlines(t *testing.T) {
	for _, kind := range []string{"tcp", "unix", "wrapped"} {
		t.Run(kind, func(t *testing.T) {
			server, client := fdConnPair(t, kind)
			require.NoError(t, client.SetReadDeadline(time.Now().Add(50*time.Millisecond)))
			_, err := client.Read(make([]byte, 10))
			require.ErrorIs(t, err, os.ErrDeadlineExceeded)
			var ne net.Error
			require.ErrorAs(t, err, &ne)
			require.True(t, ne.Timeout())

			require.NoError(t, client.SetReadDeadline(time.Time{}))
			go server.Write([]byte("after"))
			got := make([]byte, 5)
			_, err = io.ReadFull(client, got)
			require.NoError(t, err, "usable after a read timeout")
			require.Equal(t, "after", string(got))

			// Nobody reads the server's side: the socket buffers fill up.
			require.NoError(t, client.SetWriteDeadline(time.Now().Add(200*time.Millisecond)))
			chunk := make([]byte, 1<<20)
			for i := 0; ; i++ {
				require.Less(t, i, 1000, "1 GB written to a peer that reads nothing")
				if _, err = client.Write(chunk); err != nil {
					break
				}
			}
			require.ErrorIs(t, err, os.ErrDeadlineExceeded)
			require.True(t, isTimeout(err))
		})
	}
}

// TestConnConcurrentReadWrite: one Read and one Write run at the same time
// on each end, both ways at once, megabytes each: neither waits for the
// other (with Read and Write serialized, both ends would block writing into
// full socket buffers). On both transports: on the in-memory one (net.Pipe,
// a wrapper) a Read does not wait to flush what s2n answered behind a Write
// blocked on the peer (flushFromRead).
func TestConnConcurrentReadWrite(t *testing.T) {
	for _, kind := range []string{"tcp", "unix", "pipe", "wrapped"} {
		t.Run(kind, func(t *testing.T) {
			server, client := fdConnPair(t, kind)
			const size = 4<<20 + 17
			payload := func(seed byte) []byte {
				b := make([]byte, size)
				for i := range b {
					b[i] = byte(i)*7 + seed
				}
				return b
			}
			var wg sync.WaitGroup
			errs := make(chan error, 4)
			for i, c := range []*Conn{server, client} {
				out := payload(byte(i))
				want := payload(byte(1 - i))
				wg.Add(2)
				go func() {
					defer wg.Done()
					for off := 0; off < len(out); off += 100000 {
						if _, err := c.Write(out[off:min(off+100000, len(out))]); err != nil {
							errs <- err
							return
						}
					}
				}()
				go func() {
					defer wg.Done()
					got := make([]byte, len(want))
					if _, err := io.ReadFull(c, got); err != nil {
						errs <- err
						return
					}
					if !bytes.Equal(want, got) {
						errs <- errors.New("data corrupted")
					}
				}()
			}
			withinTimeout(t, "full-duplex transfer", wg.Wait)
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}
		})
	}
}

// TestConnCloseDuringBlockedIO: Close while a Read waits for a silent
// peer, and while a Write waits for a peer that does not read: both return
// net.ErrClosed, Close returns nil, and again nil the second time.
func TestConnCloseDuringBlockedIO(t *testing.T) {
	for kind := range fdKinds {
		t.Run(kind, func(t *testing.T) {
			_, client := fdConnPair(t, kind)
			readErr := make(chan error, 1)
			go func() {
				_, err := client.Read(make([]byte, 10))
				readErr <- err
			}()
			writeErr := make(chan error, 1)
			go func() {
				chunk := make([]byte, 1<<20)
				for {
					if _, err := client.Write(chunk); err != nil {
						writeErr <- err
						return
					}
				}
			}()
			time.Sleep(100 * time.Millisecond) // both parked (a hang guard would not catch an early return)
			require.Empty(t, readErr, "Read returned with nothing sent")
			withinTimeout(t, "Close", func() { require.NoError(t, client.Close()) })
			for what, ch := range map[string]chan error{"Read": readErr, "Write": writeErr} {
				err := await(t, ch, what)
				// net.Pipe's own Read and Write say io.ErrClosedPipe.
				closed := errors.Is(err, net.ErrClosed) || (kind == "pipe" && errors.Is(err, io.ErrClosedPipe))
				require.True(t, closed, "%s: %v", what, err)
			}
			require.NoError(t, client.Close(), "Close is idempotent")
		})
	}
}

// TestConnServerMovesToSocket: a server Conn handshakes on the in-memory
// buffers and moves onto its socket (moveToSocket). A crypto/tls client
// writes its request right behind its Finished, so the request is often in
// the buffers when the handshake ends; the move then waits for a Read or
// Write that finds them empty: after the server read the request and
// answered, every Conn is on the socket, and both directions go on there.
func TestConnServerMovesToSocket(t *testing.T) {
	ec, _, _ := testKeys(t)
	cfg := signerConfig(t, "default_tls13", ec, &faultySigner{key: ec.signer})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	atHandshake := 0
	for i := 0; i < 20; i++ {
		clientErr := make(chan error, 1)
		go func() {
			c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: certPool(ec), ServerName: "localhost"})
			if err != nil {
				clientErr <- err
				return
			}
			defer c.Close()
			if _, err := c.Write(bytes.Repeat([]byte{'q'}, 1024)); err != nil {
				clientErr <- err
				return
			}
			got := make([]byte, 2048)
			if _, err := io.ReadFull(c, got); err != nil {
				clientErr <- err
				return
			}
			if !bytes.Equal(got, bytes.Repeat([]byte{'a'}, 2048)) {
				clientErr <- errors.New("answer corrupted")
				return
			}
			_, err = c.Write([]byte("bye"))
			clientErr <- err
		}()
		a, err := ln.Accept()
		require.NoError(t, err)
		s := Server(a, cfg)
		require.Equal(t, "memory", s.transportPath(), "a server's handshake")
		require.NoError(t, s.Handshake())
		if s.transportPath() == "fd" {
			atHandshake++
		}
		req := make([]byte, 1024)
		_, err = io.ReadFull(s, req)
		require.NoError(t, err)
		require.Equal(t, bytes.Repeat([]byte{'q'}, 1024), req)
		_, err = s.Write(bytes.Repeat([]byte{'a'}, 2048))
		require.NoError(t, err)
		require.Equal(t, "fd", s.transportPath(), "after the request was read and answered")
		bye := make([]byte, 3)
		_, err = io.ReadFull(s, bye)
		require.NoError(t, err)
		require.Equal(t, "bye", string(bye))
		require.NoError(t, await(t, clientErr, "client"))
		require.NoError(t, s.Close())
	}
	t.Logf("on the socket right after the handshake: %d of 20; the others moved at the Read or Write after it", atHandshake)
}

// TestConnCloseInsideCallbackOverSocket is TestConnCloseInsideCallback on
// the socket path, where the handshake runs inside a RawConn callback and
// closing the socket there would wait for itself: Close from the key
// callback returns, and the handshake fails with net.ErrClosed. A client
// handshakes on its socket (a server on the in-memory buffers, see
// moveToSocket), so the callback is the client's, signing for client auth.
func TestConnCloseInsideCallbackOverSocket(t *testing.T) {
	ec, _, ec2 := testKeys(t)
	var client *Conn
	srvCfg := newTestConfig(t, configOpts{policy: "default_tls13", chain: ec, trust: ec2, clientAuth: ClientAuthRequired})
	clCfg := newTestConfig(t, configOpts{policy: "default_tls13", public: ec2, trust: ec, clientAuth: ClientAuthRequired,
		fn: func(conn *Connection, op *AsyncPkeyOp) error {
			defer op.Free()
			if err := client.Close(); err != nil {
				return err
			}
			return performAndApply(conn, op)
		}})
	sc, cc := rawConnPair(t, "tcp")
	client = Client(cc, clCfg, "localhost")
	require.Equal(t, "fd", client.transportPath())
	server := Server(sc, srvCfg)
	defer server.Close()
	serverDone := make(chan error, 1)
	go func() { serverDone <- server.Handshake() }()
	var err error
	withinTimeout(t, "client handshake", func() { err = client.Handshake() })
	require.ErrorIs(t, err, net.ErrClosed)
	server.Close()
	await(t, serverDone, "server handshake")
	require.Zero(t, Stats().PendingOps)
}

// TestConnReadSeveralRecords: on the socket path one Read returns every
// record s2n read ahead that fits (recvSome), and the close_notify behind
// them comes as io.EOF from the next Read.
func TestConnReadSeveralRecords(t *testing.T) {
	server, client := fdConnPair(t, "tcp")
	for i := range 10 {
		_, err := server.Write(bytes.Repeat([]byte{byte('a' + i)}, 100)) // a record each
		require.NoError(t, err)
	}
	require.NoError(t, server.CloseWrite())
	// Over loopback the bytes are in the client's socket once the writes
	// returned: s2n reads them all at once (recv buffering).
	buf := make([]byte, 64<<10)
	n, err := client.Read(buf)
	require.NoError(t, err)
	require.Equal(t, 1000, n, "all ten records in one Read")
	require.Equal(t, "jjj", string(buf[997:1000]))
	n, err = client.Read(buf)
	require.Zero(t, n)
	require.ErrorIs(t, err, io.EOF)
	_, err = client.Read(buf)
	require.ErrorIs(t, err, io.EOF, "and again")
}
