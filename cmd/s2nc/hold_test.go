package main

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestHoldConn: after holdUntilData, holdConn's next Write waits until an
// application data record has arrived after the last handshake record;
// the bytes it read meanwhile come back, in order, from its Reads. With
// application data already there it does not wait.
func TestHoldConn(t *testing.T) {
	record := func(typ byte, body string) []byte {
		return append([]byte{typ, 3, 3, 0, byte(len(body))}, body...)
	}
	hello := record(recordHandshake, "HR")
	data := record(recordApplicationData, "data")

	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	require.NoError(t, b.SetDeadline(time.Now().Add(10*time.Second)))
	require.NoError(t, a.SetDeadline(time.Now().Add(10*time.Second)))
	h := &holdConn{Conn: a}

	// The request, in two pieces (a header split across reads).
	go b.Write(hello)
	got := make([]byte, 3)
	_, err := io.ReadFull(h, got)
	require.NoError(t, err)
	rest := make([]byte, len(hello)-3)
	_, err = io.ReadFull(h, rest)
	require.NoError(t, err)
	require.Equal(t, hello, append(got, rest...))

	h.holdUntilData()
	written := make(chan error, 1)
	go func() {
		_, err := h.Write([]byte("client hello"))
		written <- err
	}()
	// net.Pipe is unbuffered: this Write completes only if the held
	// Write reads it (a Write that did not wait would block on b instead).
	_, err = b.Write(data)
	require.NoError(t, err)
	buf := make([]byte, len("client hello"))
	_, err = io.ReadFull(b, buf)
	require.NoError(t, err)
	require.Equal(t, "client hello", string(buf))
	require.NoError(t, <-written)
	// What the held Write read comes back first.
	again := make([]byte, len(data))
	_, err = io.ReadFull(h, again)
	require.NoError(t, err)
	require.Equal(t, data, again)

	// Application data after the last handshake record already: no wait.
	h.holdUntilData()
	go func() {
		_, err := h.Write([]byte("x"))
		written <- err
	}()
	_, err = io.ReadFull(b, buf[:1])
	require.NoError(t, err)
	require.NoError(t, <-written)
}
