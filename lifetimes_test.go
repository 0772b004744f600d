package s2n

// Regression tests of the hardening issue: lifetimes of C memory across
// callbacks, Wipe and Close, idle buffers, blinding.

import (
	"bytes"
	"errors"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// countingConn counts the reads made through it.
type countingConn struct {
	net.Conn
	reads atomic.Int64
}

func (c *countingConn) Read(b []byte) (int, error) {
	c.reads.Add(1)
	return c.Conn.Read(b)
}

// chunkedConn writes in pieces of chunk bytes with a pause between them, so
// that a reader sees each TLS record arrive in parts.
type chunkedConn struct {
	net.Conn
	chunk int
}

func (c *chunkedConn) Write(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := c.Conn.Write(b[n:min(len(b), n+c.chunk)])
		n += m
		if err != nil {
			return n, err
		}
		time.Sleep(100 * time.Microsecond)
	}
	return n, nil
}

// TestConnReleaseIdleWithPartialRecords: with SetReleaseBuffersWhenIdle, a
// record that arrives in parts is read in as many reads as it has parts,
// plus the one small read that wakes an idle connection. (Releasing the
// input buffer while s2n held half a record turned every later part into
// 64-byte reads: hundreds per 16 KiB record.)
func TestConnReleaseIdleWithPartialRecords(t *testing.T) {
	const records, recordSize, chunk = 8, 16384, 1024
	ec, _, _ := testKeys(t)
	readsPerRecord := map[bool]float64{}
	for _, release := range []bool{false, true} {
		cfg := signerConfig(t, "default_tls13", ec, &faultySigner{key: ec.signer})
		require.NoError(t, cfg.SetReleaseBuffersWhenIdle(release))
		ccfg := clientConfig(t, "default_tls13", ec)
		require.NoError(t, ccfg.SetMaxFragmentLength(recordSize))

		sp, cp := net.Pipe()
		counted := &countingConn{Conn: sp}
		server := Server(counted, cfg)
		client := Client(&chunkedConn{Conn: cp, chunk: chunk}, ccfg, "localhost")
		msg := bytes.Repeat([]byte("x"), records*recordSize)
		sent := make(chan error, 1)
		go func() {
			_, err := client.Write(msg)
			sent <- err
		}()
		require.NoError(t, server.Handshake())
		before := counted.reads.Load()
		got := make([]byte, len(msg))
		_, err := io.ReadFull(server, got)
		require.NoError(t, err)
		require.NoError(t, <-sent)
		require.Equal(t, msg, got)
		perRecord := float64(counted.reads.Load()-before) / records
		readsPerRecord[release] = perRecord
		t.Logf("release when idle %v: %.1f reads per %d-byte record arriving in %d-byte parts", release, perRecord, recordSize, chunk)
		// Each part is at least one read (a pipe hands over one write at a
		// time); a record boundary may add the idle read and one more.
		require.LessOrEqual(t, perRecord, float64(recordSize/chunk+3))
		cp.Close() // nobody reads the close_notify either side would send
		client.Close()
		server.Close()
	}
	require.LessOrEqual(t, readsPerRecord[true]-readsPerRecord[false], 2.0, "releasing costs at most a read or two per record")
}

// TestConnCloseInsideCallback: a Conn closed from inside its own
// connection's callback keeps its I/O buffers until s2n's call, which goes
// on writing into them, has returned (they were freed at once: a
// use-after-free that scripts/asan reports).
func TestConnCloseInsideCallback(t *testing.T) {
	ec, _, _ := testKeys(t)
	var server *Conn
	cfg := newTestConfig(t, configOpts{policy: "default_tls13", chain: ec, fn: func(conn *Connection, op *AsyncPkeyOp) error {
		defer op.Free()
		require.NoError(t, server.Close()) // the Conn decides to drop the connection
		// s2n goes on with the handshake: the signature is applied and the
		// server's flight written into the Conn's output buffer.
		return performAndApply(conn, op)
	}})
	sp, cp := net.Pipe()
	server = Server(sp, cfg)
	client := Client(cp, clientConfig(t, "default_tls13", ec), "localhost")
	go client.Handshake()
	err := server.Handshake()
	require.ErrorIs(t, err, net.ErrClosed)
	client.Close()
	require.Zero(t, Stats().PendingOps)
}

// TestConnectionSetConfigKeepsReplacedConfig: SetConfig in the middle of a
// handshake, and the replaced Config's last reference dropped: the chain
// the handshake selected stays valid until Wipe or Close (it was freed at
// once, and the pending op's Perform read freed memory).
func TestConnectionSetConfigKeepsReplacedConfig(t *testing.T) {
	ec, _, _ := testKeys(t)
	ops := make(chan *AsyncPkeyOp, 1)
	cfg := newTestConfig(t, configOpts{policy: "default_tls13", chain: ec, strict: true, fn: func(_ *Connection, op *AsyncPkeyOp) error {
		ops <- op
		return nil
	}})
	p := newPair(t, cfg, newTestConfig(t, configOpts{policy: "default_tls13", trust: ec}))
	op := blockOnOp(t, p, ops)
	defer op.Free()
	before := Stats().Handles
	require.NoError(t, p.server.SetConfig(newTestConfig(t, configOpts{policy: "default_tls13"})))
	require.NoError(t, cfg.Close())
	require.Equal(t, before+1, Stats().Handles, "the replaced Config (and its chain) are still alive")
	key := selectedKey(t, p.server)
	require.NoError(t, op.Perform(key))
	require.NoError(t, op.Apply(p.server)) // strict validation reads the chain
	p.handshake(t)
	require.NoError(t, p.server.Wipe())
	require.Equal(t, before+1-2, Stats().Handles, "Wipe let the replaced Config and its chain go")
}

// TestConnectionWipeDropsLateKeyAnswer: a connection wiped while its signer
// works starts a new handshake; the signer's late answer for the old one is
// dropped and counted, and the new handshake succeeds (it failed with
// S2N_GO_ERR_CLOSED, the late answer's error).
func TestConnectionWipeDropsLateKeyAnswer(t *testing.T) {
	ec, _, _ := testKeys(t)
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	signer := &faultySigner{key: ec.signer, entered: entered, release: release}
	srvCfg := signerConfig(t, "default_tls13", ec, signer)
	cliCfg := clientConfig(t, "default_tls13", ec)
	p := newPair(t, srvCfg, cliCfg)
	for done := false; !done; {
		p.client.Negotiate()
		p.server.Negotiate()
		select {
		case <-entered:
			done = true
		default:
		}
	}
	late := Stats().LateOps
	require.NoError(t, p.server.Wipe())
	require.NoError(t, p.client.Wipe())
	close(release)
	require.Eventually(t, func() bool { return signer.done.Load() == 1 }, 5*time.Second, time.Millisecond,
		"the signer answered")
	require.Eventually(t, func() bool { return Stats().LateOps == late+1 }, 5*time.Second, time.Millisecond,
		"the late answer is counted")

	// A new handshake on the same connections, over a new socket pair.
	fresh := newPair(t, srvCfg, cliCfg)
	for _, c := range []struct {
		conn *Connection
		fd   int
	}{{p.server, fresh.fds[0]}, {p.client, fresh.fds[1]}} {
		require.NoError(t, c.conn.SetFd(c.fd))
		require.NoError(t, c.conn.SetBlinding(SelfServiceBlinding))
	}
	require.NoError(t, p.client.SetServerName("localhost"))
	p.handshake(t)
	p.exchange(t)
	require.EqualValues(t, 2, signer.calls.Load())
}

// TestConnectionCallbackGoexit: runtime.Goexit inside a callback (t.FailNow
// in a helper, for one) cannot be stopped; the connection is left for Close
// with a clear error, instead of holding its lock for ever.
func TestConnectionCallbackGoexit(t *testing.T) {
	ec, _, _ := testKeys(t)
	p := newPair(t, newTestConfig(t, configOpts{policy: "default_tls13", chain: ec, fn: func(*Connection, *AsyncPkeyOp) error {
		runtime.Goexit()
		return nil
	}}), newTestConfig(t, configOpts{policy: "default_tls13", trust: ec}))
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		for range 10000 {
			p.client.Negotiate()
			p.server.Negotiate()
		}
	}()
	<-exited
	withinTimeout(t, "Negotiate after the Goexit", func() {
		_, err := p.server.Negotiate()
		requireS2nError(t, err, nameAbandoned)
	})
	withinTimeout(t, "Close", func() { require.NoError(t, p.server.Close()) })
}

// TestVerifyHostCallbackIsAConnectionCallback: a verify-host function may
// use its own connection (it deadlocked on the connection's lock).
func TestVerifyHostCallbackIsAConnectionCallback(t *testing.T) {
	ec, _, _ := testKeys(t)
	for _, level := range []string{"config", "connection"} {
		t.Run(level, func(t *testing.T) {
			cliCfg := newTestConfig(t, configOpts{policy: "default_tls13", trust: ec})
			var p *pair
			var seen atomic.Value
			check := func(name string) bool {
				seen.Store(p.client.ServerName()) // a getter of the connection asking
				return name == "localhost"
			}
			if level == "config" {
				require.NoError(t, cliCfg.SetVerifyHostCallback(check))
			}
			p = newPair(t, newTestConfig(t, configOpts{policy: "default_tls13", chain: ec}), cliCfg)
			if level == "connection" {
				require.NoError(t, p.client.SetVerifyHostCallback(check))
			}
			withinTimeout(t, "handshake", func() { p.handshake(t) })
			require.Equal(t, "localhost", seen.Load())
		})
	}
}

// TestAsyncPkeyApplyCrosswise: two callbacks, each applying its op to the
// other's connection, both get a clear error at once (Apply locked the
// wrong connection first, so they deadlocked).
func TestAsyncPkeyApplyCrosswise(t *testing.T) {
	ec, _, _ := testKeys(t)
	var pairs [2]*pair
	inside := make(chan struct{}, 2)
	errs := make(chan error, 2)
	for i := range pairs {
		other := 1 - i
		cfg := newTestConfig(t, configOpts{policy: "default_tls13", chain: ec, fn: func(_ *Connection, op *AsyncPkeyOp) error {
			defer op.Free()
			inside <- struct{}{}
			for len(inside) < 2 { // both inside their callbacks
				time.Sleep(time.Millisecond)
			}
			errs <- op.Apply(pairs[other].server)
			return errors.New("done")
		}})
		pairs[i] = newPair(t, cfg, newTestConfig(t, configOpts{policy: "default_tls13", trust: ec}))
	}
	withinTimeout(t, "crosswise Apply", func() {
		var wg sync.WaitGroup
		for _, p := range pairs {
			wg.Go(func() { p.drive(t, 10*time.Second) })
		}
		wg.Wait()
	})
	for range 2 {
		requireS2nError(t, <-errs, nameWrongConnection)
	}
}
