package s2n

import (
	"bytes"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// idleCBytes runs an echo server whose Config releases buffers when idle
// (or not), exchanges messages of several sizes, then reports the C bytes
// s2n holds once the server waits in Read again.
func idleCBytes(t *testing.T, release bool, settle func(held int64) bool) int64 {
	t.Helper()
	ec, _, _ := testKeys(t)
	cfg := signerConfig(t, "default_tls13", ec, &faultySigner{key: ec.signer})
	require.NoError(t, cfg.SetReleaseBuffersWhenIdle(release))
	addr, served := serveResults(t, cfg, 1, func(c *Conn) error {
		buf := make([]byte, 64<<10)
		for {
			n, err := c.Read(buf)
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if _, err := c.Write(buf[:n]); err != nil {
				return err
			}
		}
	})
	c, err := Dial("tcp", addr, clientConfig(t, "default_tls13", ec))
	require.NoError(t, err)
	defer c.Close()

	// Every size crosses a buffer boundary somewhere: a byte, part of a
	// record, several records, more than the 64-byte idle read.
	for round, size := range []int{1, 63, 64, 65, 5000, 16384, 40000, 300000, 2} {
		msg := bytes.Repeat([]byte{byte('a' + round)}, size)
		go c.Write(msg)
		got := make([]byte, size)
		_, err := io.ReadFull(c, got)
		require.NoError(t, err, "size %d", size)
		require.Equal(t, msg, got, "size %d", size)
	}

	var held int64
	deadline := time.Now().Add(5 * time.Second)
	for {
		held = Stats().CBytes
		if settle(held) || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	require.NoError(t, c.CloseWrite())
	require.NoError(t, <-served)
	return held
}

// TestConnReleaseBuffersWhenIdle checks that an idle server connection with
// SetReleaseBuffersWhenIdle gives s2n's I/O buffers back while it waits in
// Read, and that data of every size still flows intact across releases.
func TestConnReleaseBuffersWhenIdle(t *testing.T) {
	base := quietCBytes()
	kept := idleCBytes(t, false, func(int64) bool { return true })
	// Both ends' buffers are held here, the client's included: at least
	// one record's worth (16 KiB) on each side.
	require.Greater(t, kept-base, int64(32<<10), "buffers held without release")
	released := idleCBytes(t, true, func(held int64) bool { return kept-held >= 16<<10 })
	require.GreaterOrEqual(t, kept-released, int64(16<<10),
		"idle server released its buffers: held %d bytes, %d without release", released-base, kept-base)
}

// TestConnectionReleaseMemory: the low-level calls that free an idle
// connection's buffers and its handshake state give memory back, and the
// connection goes on working.
func TestConnectionReleaseMemory(t *testing.T) {
	ec, _, _ := testKeys(t)
	for name, release := range map[string]func(*Connection) error{
		"ReleaseBuffers": (*Connection).ReleaseBuffers,
		"FreeHandshake":  (*Connection).FreeHandshake,
	} {
		t.Run(name, func(t *testing.T) {
			cfg := signerConfig(t, "default_tls13", ec, &faultySigner{key: ec.signer})
			addr, served := serveResults(t, cfg, 1, echoOnce)
			c, err := Dial("tcp", addr, clientConfig(t, "default_tls13", ec))
			require.NoError(t, err)
			defer c.Close()
			require.NoError(t, c.Handshake())
			before := Stats().CBytes
			require.NoError(t, release(c.Connection()))
			require.Less(t, Stats().CBytes, before, "freed something")
			_, err = c.Write([]byte("ping"))
			require.NoError(t, err)
			buf := make([]byte, 4)
			_, err = io.ReadFull(c, buf)
			require.NoError(t, err)
			require.Equal(t, "ping", string(buf))
			require.NoError(t, <-served)
		})
	}
}

// TestConnReleaseBuffersWhenIdleBulk: with buffers released whenever a
// Read waits, a Write running at the same time on the same Conn (both ends)
// still moves megabytes intact: the release and the writer share the
// connection's lock and the flusher's buffers safely (run with -race).
func TestConnReleaseBuffersWhenIdleBulk(t *testing.T) {
	ec, _, _ := testKeys(t)
	payload := make([]byte, 2<<20+321)
	for i := range payload {
		payload[i] = byte(i * 13)
	}
	server := signerConfig(t, "default_tls13", ec, &faultySigner{key: ec.signer})
	require.NoError(t, server.SetReleaseBuffersWhenIdle(true))
	addr, served := serveResults(t, server, 1, func(c *Conn) error {
		_, err := io.Copy(c, c) // echo until the client's close_notify
		if err != nil {
			return err
		}
		return c.CloseWrite()
	})
	client := clientConfig(t, "default_tls13", ec)
	require.NoError(t, client.SetReleaseBuffersWhenIdle(true))
	c, err := Dial("tcp", addr, client)
	require.NoError(t, err)
	defer c.Close()
	wrote := make(chan error, 1)
	go func() {
		for off := 0; off < len(payload); off += 7000 { // writes of odd sizes
			if _, err := c.Write(payload[off:min(off+7000, len(payload))]); err != nil {
				wrote <- err
				return
			}
		}
		wrote <- c.CloseWrite()
	}()
	got, err := io.ReadAll(c)
	require.NoError(t, err)
	require.NoError(t, <-wrote)
	require.True(t, bytes.Equal(payload, got), "echo intact (%d of %d bytes)", len(got), len(payload))
	require.NoError(t, <-served)
}

// quietCBytes returns s2n's C memory once it is steady: Configs and chains
// that earlier tests dropped are freed by cleanups after a collection, and
// would otherwise be subtracted from what a test measures.
func quietCBytes() int64 {
	runtime.GC()
	runtime.GC()
	prev := Stats().CBytes
	for range 100 {
		time.Sleep(10 * time.Millisecond)
		cur := Stats().CBytes
		if cur == prev {
			return cur
		}
		prev = cur
	}
	return prev
}
