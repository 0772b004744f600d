package s2n

// Regression tests of the hardening issue: lifetimes of C memory across
// callbacks, Wipe and Close, idle buffers, blinding.

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
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
	clientDone := make(chan error, 1)
	go func() { clientDone <- client.Handshake() }()
	err := server.Handshake()
	require.ErrorIs(t, err, net.ErrClosed)
	client.Close()
	// The client's handshake ends before the test does: it reads
	// testHookHandshakeReturned, which a later test sets.
	await(t, clientDone, "client handshake")
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
	cert, err := p.server.SelectedCert()
	require.NoError(t, err)
	key, err := cert.PrivateKey()
	require.NoError(t, err)
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
	first := make(chan struct{})
	release := make(chan struct{})
	answered := make(chan struct{})
	var calls atomic.Int32
	signer := &faultySigner{key: ec.signer, wait: func() {
		if calls.Add(1) == 1 {
			close(first)
			<-release
			defer close(answered)
		}
	}}
	srvCfg := signerConfig(t, "default_tls13", ec, signer)
	cliCfg := clientConfig(t, "default_tls13", ec)
	p := newPair(t, srvCfg, cliCfg)
	for done := false; !done; {
		p.client.Negotiate()
		p.server.Negotiate()
		select {
		case <-first:
			done = true
		default:
		}
	}
	late := Stats().LateOps
	require.NoError(t, p.server.Wipe())
	require.NoError(t, p.client.Wipe())
	close(release)
	<-answered
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
	require.EqualValues(t, 2, calls.Load())
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

// TestConnHandshakeContextEndsAtSuccess: a context that ends between the
// handshake's success and its cleanup has closed the transport; the
// handshake reports the context's error, as crypto/tls does, not nil.
func TestConnHandshakeContextEndsAtSuccess(t *testing.T) {
	ec, _, _ := testKeys(t)
	addr, served := serveResults(t, signerConfig(t, "default_tls13", ec, &faultySigner{key: ec.signer}), 1, func(c *Conn) error {
		return c.Handshake()
	})
	raw, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	c := Client(raw, clientConfig(t, "default_tls13", ec), "localhost")
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	testHookHandshakeReturned = cancel
	defer func() { testHookHandshakeReturned = nil }()
	err = c.HandshakeContext(ctx)
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, c.Handshake(), context.Canceled, "a failed handshake is final")
	require.NoError(t, <-served)
}

// TestDialIPLiteral: dialing an IP address sends no SNI (RFC 6066 allows
// only host names there); the server's certificate is checked against the
// address instead, so a certificate for another address is refused.
func TestDialIPLiteral(t *testing.T) {
	ec, _, _ := testKeys(t)
	for _, certIP := range []string{"127.0.0.1", "127.0.0.3"} {
		t.Run("cert for "+certIP, func(t *testing.T) {
			key := makeTestKeyFor(t, "ip", certIP, ec.signer)
			l, err := Listen("tcp", "127.0.0.1:0", signerConfig(t, "default_tls13", key, &faultySigner{key: ec.signer}))
			require.NoError(t, err)
			defer l.Close()
			sni := make(chan string, 1)
			// The refusing client holds its socket for the blinding delay:
			// the server's handshake is ended when the client's has.
			ctx, clientDone := context.WithCancel(context.Background())
			go func() {
				c, err := l.Accept()
				if err != nil {
					sni <- "accept: " + err.Error()
					return
				}
				defer c.Close()
				conn := c.(*Conn)
				_ = conn.HandshakeContext(ctx)
				sni <- conn.Connection().ServerName()
			}()
			c, err := Dial("tcp", l.Addr().String(), clientConfig(t, "default_tls13", key))
			clientDone()
			if certIP == "127.0.0.1" {
				require.NoError(t, err)
				require.Equal(t, "", c.ConnectionState().ServerName)
				require.NoError(t, c.Close())
			} else {
				require.Error(t, err, "a certificate for another address")
			}
			require.Equal(t, "", <-sni, "no SNI sent for an IP address")
		})
	}
}

// TestSignerNotCalledAfterAbandon: a handshake that ends (here its context)
// while its key operation waits to start frees the operation; the signer is
// then never called.
func TestSignerNotCalledAfterAbandon(t *testing.T) {
	ec, _, _ := testKeys(t)
	signer := &faultySigner{key: ec.signer}
	entered, release := make(chan struct{}), make(chan struct{})
	ended := make(chan struct{})
	hook := func() func() {
		close(entered)
		<-release
		return func() { close(ended) }
	}
	testHookKeyOp.Store(&hook)
	defer testHookKeyOp.Store(nil)
	ctx, cancel := context.WithCancel(context.Background())
	addr, served := serveResults(t, signerConfig(t, "default_tls13", ec, signer), 1, func(c *Conn) error {
		return c.HandshakeContext(ctx)
	})
	go func() {
		if c, err := Dial("tcp", addr, clientConfig(t, "default_tls13", ec)); err == nil {
			c.Close()
		}
	}()
	<-entered
	cancel()
	require.ErrorIs(t, <-served, context.Canceled)
	close(release)
	withinTimeout(t, "the key operation's goroutine returns", func() { <-ended })
	require.Zero(t, signer.calls.Load(), "the signer is not asked for a gone handshake")
}

// TestAddCertChainWithSignerAtomic: when s2n refuses the chain (here an
// ECDSA P-256 chain under rfc9151, which allows P-384 only), the Config is
// left as it was: no signer, no async callback switched on, so a chain with
// its private key added next serves handshakes without one.
func TestAddCertChainWithSignerAtomic(t *testing.T) {
	ec, _, _ := testKeys(t)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	good := makeTestKeyFor(t, "ecdsa-p384", "localhost", p384)
	signer := &faultySigner{key: ec.signer}
	server := newTestConfig(t, configOpts{policy: "rfc9151"})
	err = server.AddCertChainWithSigner(ec.certPEM, signer)
	require.Error(t, err)
	var s2nErr *Error
	require.ErrorAs(t, err, &s2nErr)
	require.Empty(t, server.s.signers)
	ck, err := NewCertChainAndKey(good.certPEM, good.keyPEM)
	require.NoError(t, err)
	defer ck.Close()
	require.NoError(t, server.AddCertChainAndKey(ck))
	p := newPair(t, server, newTestConfig(t, configOpts{policy: "rfc9151", trust: good}))
	s, c := p.drive(t, 10*time.Second)
	require.NoError(t, s.err)
	require.NoError(t, c.err)
	require.Zero(t, signer.calls.Load())
}

// TestSelectedCertBeforeSelection: before the handshake has chosen a chain,
// SelectedCert says so with its own error name, not a stale s2n error.
func TestSelectedCertBeforeSelection(t *testing.T) {
	conn, err := NewConnection(ModeServer)
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.SelectedCert()
	requireS2nError(t, err, nameNoSelectedCert)
	require.ErrorIs(t, err, ErrUsage)
}

// refusingDecrypter is an RSA key whose Decrypt refuses SessionKeyLen
// options, as PKCS#11 tokens through crypto11 do.
type refusingDecrypter struct {
	*rsa.PrivateKey
	decrypts atomic.Int32
}

func (k *refusingDecrypter) Decrypt(r io.Reader, msg []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	k.decrypts.Add(1)
	if o, ok := opts.(*rsa.PKCS1v15DecryptOptions); ok && o.SessionKeyLen > 0 {
		return nil, errors.New("SessionKeyLen not supported")
	}
	return k.PrivateKey.Decrypt(r, msg, opts)
}

// TestDecryptProbeOncePerKey: with a key that refuses SessionKeyLen, each
// TLS 1.2 RSA key exchange costs the key one Decrypt, plus one probe per
// key in all (it was two per handshake: a refused try and a retry, a
// difference the peer's ciphertext could steer).
func TestDecryptProbeOncePerKey(t *testing.T) {
	_, rs, _ := testKeys(t)
	key := &refusingDecrypter{PrivateKey: rs.signer.(*rsa.PrivateKey)}
	server := signerConfig(t, "20190801", rs, key)
	const n = 3
	for i := 0; i < n; i++ {
		p := newPair(t, server, clientConfig(t, "test_all_rsa_kex", rs))
		s, c := p.drive(t, 10*time.Second)
		require.NoError(t, s.err)
		require.NoError(t, c.err)
	}
	require.EqualValues(t, n+1, key.decrypts.Load(), "one per handshake and one probe")
}

// TestConnKeyFailureShape: a key's failure comes back as an *Error on the
// Conn path too, wrapping the key's own error.
func TestConnKeyFailureShape(t *testing.T) {
	ec, _, _ := testKeys(t)
	keyErr := errors.New("the HSM is down")
	addr, served := serveResults(t, signerConfig(t, "default_tls13", ec, &faultySigner{key: ec.signer, fault: signerFault{err: keyErr}}), 1, func(c *Conn) error {
		return c.Handshake()
	})
	if c, err := Dial("tcp", addr, clientConfig(t, "default_tls13", ec)); err == nil {
		c.Close()
	}
	err := <-served
	var s2nErr *Error
	require.ErrorAs(t, err, &s2nErr)
	require.Equal(t, nameAsyncFailed, s2nErr.Name)
	require.ErrorIs(t, err, keyErr)
}

// TestUseAfterCloseErrors: using a binding object after its Close is a usage
// error that matches net.ErrClosed, not ErrClosed (which is s2n's "the TLS
// connection was closed").
func TestUseAfterCloseErrors(t *testing.T) {
	conn, err := NewConnection(ModeClient)
	require.NoError(t, err)
	require.NoError(t, conn.Close())
	require.NoError(t, conn.Close(), "Close is idempotent")
	cfg, err := NewConfig()
	require.NoError(t, err)
	require.NoError(t, cfg.Close())
	for what, err := range map[string]error{
		"Negotiate":            func() error { _, err := conn.Negotiate(); return err }(),
		"SetCipherPreferences": cfg.SetCipherPreferences("default"),
	} {
		requireS2nError(t, err, nameClosed)
		require.ErrorIs(t, err, ErrUsage, what)
		require.ErrorIs(t, err, net.ErrClosed, what)
		require.NotErrorIs(t, err, ErrClosed, what)
	}
}

// failHandshakes opens n connections to addr that each send an application
// data record before any handshake (s2n fails to decrypt it, a failure it
// blinds) and close, and waits until the server has held all n for
// blinding (or evicted them).
func failHandshakes(t *testing.T, addr string, n int, settled func() bool) {
	t.Helper()
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		_, err = c.Write([]byte("\x17\x03\x03\x00\x05hello"))
		require.NoError(t, err)
		require.NoError(t, c.Close())
	}
	require.Eventually(t, settled, 30*time.Second, 5*time.Millisecond)
}

// releaseBlinded ends every blinding hold now, as their timers would.
func releaseBlinded() {
	for {
		blindMu.Lock()
		e := blindHeld.Front()
		if e == nil {
			blindMu.Unlock()
			return
		}
		h := e.Value.(*blindHold)
		h.unlink()
		blindMu.Unlock()
		h.timer.Stop()
		h.send()
	}
}

// TestConnBlindingHoldsOnlySocket: failed handshakes held for their
// blinding delay keep no s2n memory (the C allocations are back to where
// they were while all are held) and little Go memory; beyond
// SetMaxBlindedConns the oldest are let go early.
func TestConnBlindingHoldsOnlySocket(t *testing.T) {
	const n, limit = 200, 150
	ec, _, _ := testKeys(t)
	cfg := signerConfig(t, "default_tls13", ec, &faultySigner{key: ec.signer})
	require.NoError(t, cfg.SetMaxBlindingDelay(3*time.Second))
	l, err := Listen("tcp", "127.0.0.1:0", cfg)
	require.NoError(t, err)
	defer l.Close()
	failed := make(chan error, n)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				// Closed before it is counted: Close puts it on hold
				// (evicting the oldest), which the settled check below
				// must see.
				err := c.(*Conn).Handshake()
				c.Close()
				failed <- err
			}()
		}
	}()
	releaseBlinded() // held by earlier tests
	SetMaxBlindedConns(limit)
	defer SetMaxBlindedConns(0)
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	base, evicted0 := Stats(), Stats().BlindingEvicted
	failHandshakes(t, l.Addr().String(), n, func() bool { return len(failed) == n && Stats().Blinding == limit })
	runtime.GC()
	runtime.ReadMemStats(&m1)
	st := Stats()
	for i := 0; i < n; i++ {
		var se *Error
		require.ErrorAs(t, <-failed, &se)
	}
	require.EqualValues(t, limit, st.Blinding)
	require.EqualValues(t, n-limit, st.BlindingEvicted-evicted0, "the oldest let go early")
	// s2n may free memory of its own meanwhile (the C total can only go
	// down); 150 connections held with their s2n memory would add
	// megabytes.
	require.LessOrEqual(t, st.CBytes, base.CBytes, "no s2n memory held for blinding")
	require.Equal(t, base.Handles, st.Handles, "no s2n connection held for blinding")
	t.Logf("%d held for blinding: %d C bytes more, Go heap %+d bytes each (transport, timer, alert)",
		st.Blinding, st.CBytes-base.CBytes, (int64(m1.HeapAlloc)-int64(m0.HeapAlloc))/int64(st.Blinding))
	require.Eventually(t, func() bool { return Stats().Blinding == 0 }, 10*time.Second, 10*time.Millisecond,
		"released when their delay has passed")
}
