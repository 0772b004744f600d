package s2n

import (
	"errors"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// pipes returns two non-blocking pipes, each as [read end, write end],
// closed at the end of the test.
func pipes(t *testing.T) (a, b [2]int) {
	t.Helper()
	for _, p := range []*[2]int{&a, &b} {
		var fds [2]int
		require.NoError(t, syscall.Pipe2(fds[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC))
		*p = fds
		t.Cleanup(func() {
			syscall.Close(fds[0])
			syscall.Close(fds[1])
		})
	}
	return a, b
}

// TestReadWriteFds: a server and a client whose two directions are two
// pipes (SetReadFd, SetWriteFd) handshake and exchange data; ReadFd and
// WriteFd return the descriptors set.
func TestReadWriteFds(t *testing.T) {
	ec, _, _ := testKeys(t)
	c2s, s2c := pipes(t)
	newConn := func(mode Mode, cfg *Config, r, w int) *Connection {
		c, err := NewConnection(mode)
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		require.NoError(t, c.SetConfig(cfg))
		require.NoError(t, c.SetBlinding(SelfServiceBlinding))
		_, err = c.ReadFd()
		requireS2nError(t, err, "S2N_ERR_INVALID_STATE")
		_, err = c.WriteFd()
		requireS2nError(t, err, "S2N_ERR_INVALID_STATE")
		require.NoError(t, c.SetReadFd(r))
		require.NoError(t, c.SetWriteFd(w))
		got, err := c.ReadFd()
		require.NoError(t, err)
		require.Equal(t, r, got)
		got, err = c.WriteFd()
		require.NoError(t, err)
		require.Equal(t, w, got)
		return c
	}
	p := &pair{
		server: newConn(ModeServer, newTestConfig(t, configOpts{policy: "default_tls13", chain: ec}), c2s[0], s2c[1]),
		client: newConn(ModeClient, clientConfig(t, "default_tls13", ec), s2c[0], c2s[1]),
	}
	require.NoError(t, p.client.SetServerName("localhost"))
	p.handshake(t)
	p.exchange(t)

	// Each side wrote only its write pipe: nothing was left unread.
	require.Empty(t, drainFd(c2s[0]))
	require.Empty(t, drainFd(s2c[0]))

	// A write to a pipe whose reader is gone is an I/O error, not the end
	// of the process (s2n leaves SIGPIPE to the application).
	require.NoError(t, syscall.Close(s2c[0]))
	var err error
	for range 100 {
		if _, _, err = p.server.Send([]byte("to nobody")); !errors.Is(err, ErrBlocked) {
			break
		}
	}
	requireS2nError(t, err, "S2N_ERR_IO", ErrIO)
}

// TestSetFdBothDirections: SetFd sets one descriptor for both directions.
func TestSetFdBothDirections(t *testing.T) {
	fds := socketpair(t)
	c := newTestConn(t, ModeServer, newTestConfig(t, configOpts{}), fds[0])
	defer c.Close()
	r, err := c.ReadFd()
	require.NoError(t, err)
	w, err := c.WriteFd()
	require.NoError(t, err)
	require.Equal(t, [2]int{fds[0], fds[0]}, [2]int{r, w})

	for _, f := range []func(int) error{c.SetReadFd, c.SetWriteFd} {
		requireS2nError(t, f(-1), nameInvalidArg, ErrUsage)
	}
	require.NoError(t, c.Close())
	_, err = c.ReadFd()
	requireS2nError(t, err, nameClosed, ErrUsage)
	_, err = c.WriteFd()
	requireS2nError(t, err, nameClosed, ErrUsage)
	requireS2nError(t, c.SetReadFd(fds[1]), nameClosed, ErrUsage)
}
