package s2n

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestAsyncPkeySynchronous(t *testing.T) {
	for _, v := range variants(t) {
		t.Run(v.name, func(t *testing.T) {
			var calls atomic.Int32
			var gotType AsyncPkeyOpType
			cfg := newTestConfig(t, configOpts{policy: v.policy, chain: v.key, fn: func(conn *Connection, op *AsyncPkeyOp) error {
				calls.Add(1)
				defer op.Free()
				var err error
				if gotType, err = op.Type(); err != nil {
					return err
				}
				return performAndApply(conn, op)
			}})
			p := newPair(t, cfg, clientConfig(t, v.policy, v.key))

			// Drive by hand: a synchronous callback never lets the server
			// report BlockedOnApplicationInput.
			done := [2]bool{}
			for i := 0; !(done[0] && done[1]); i++ {
				require.Less(t, i, 10000, "handshake did not finish")
				for j, c := range []*Connection{p.server, p.client} {
					if done[j] {
						continue
					}
					blocked, err := c.Negotiate()
					if err == nil {
						done[j] = true
						continue
					}
					require.ErrorIs(t, err, ErrBlocked)
					require.NotEqual(t, BlockedOnApplicationInput, blocked)
				}
			}
			require.EqualValues(t, 1, calls.Load(), "one callback per private-key operation")
			require.Equal(t, v.opType, gotType)
			require.Equal(t, v.version, p.server.ProtocolVersion())
			p.exchange(t)
		})
	}
}

func TestAsyncPkeyAsynchronous(t *testing.T) {
	for _, v := range variants(t) {
		t.Run(v.name, func(t *testing.T) {
			ops := make(chan *AsyncPkeyOp, 1)
			cfg := newTestConfig(t, configOpts{policy: v.policy, chain: v.key, fn: func(conn *Connection, op *AsyncPkeyOp) error {
				ops <- op // complete it later, elsewhere
				return nil
			}})
			p := newPair(t, cfg, clientConfig(t, v.policy, v.key))

			// Advance until the server stops for its key operation.
			var op *AsyncPkeyOp
			for i := 0; op == nil; i++ {
				require.Less(t, i, 10000, "the callback never ran")
				_, err := p.client.Negotiate()
				require.ErrorIs(t, err, ErrBlocked)
				blocked, err := p.server.Negotiate()
				require.ErrorIs(t, err, ErrBlocked)
				select {
				case op = <-ops:
					require.Equal(t, BlockedOnApplicationInput, blocked)
				default:
				}
			}
			defer op.Free()

			// Until the op is applied, Negotiate keeps reporting the same
			// thing and writes nothing.
			written := pendingBytes(t, p.fds[1])
			for range 10 {
				blocked, err := p.server.Negotiate()
				require.ErrorIs(t, err, ErrBlocked)
				require.Equal(t, BlockedOnApplicationInput, blocked)
				var s2nErr *Error
				require.ErrorAs(t, err, &s2nErr)
				require.Equal(t, ErrorTypeBlocked, s2nErr.Type)
			}
			require.Equal(t, written, pendingBytes(t, p.fds[1]), "no bytes written while blocked")

			applied := make(chan error)
			go func() { applied <- performAndApply(p.server, op) }()
			require.NoError(t, <-applied)

			p.handshake(t)
			require.Equal(t, v.version, p.server.ProtocolVersion())
			p.exchange(t)
		})
	}
}

func TestAsyncPkeyOffloaded(t *testing.T) {
	for _, v := range variants(t) {
		t.Run(v.name, func(t *testing.T) {
			var gotType atomic.Int32
			var offloadErr atomic.Pointer[error]
			var wg sync.WaitGroup
			// Public chain only: there is no private key in s2n at all.
			cfg := newTestConfig(t, configOpts{policy: v.policy, public: v.key, fn: func(conn *Connection, op *AsyncPkeyOp) error {
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer op.Free()
					typ, _ := op.Type()
					gotType.Store(int32(typ))
					if err := offload(t, conn, op, v.key, false); err != nil {
						offloadErr.Store(&err)
					}
				}()
				return nil
			}})
			p := newPair(t, cfg, clientConfig(t, v.policy, v.key))
			p.handshake(t)
			wg.Wait()
			require.Nil(t, offloadErr.Load())
			require.Equal(t, v.opType, AsyncPkeyOpType(gotType.Load()))
			require.Equal(t, v.version, p.client.ProtocolVersion())
			if v.opType == AsyncDecrypt {
				require.NotContains(t, p.server.CipherSuite(), "DHE", "RSA key exchange was negotiated")
			}
			p.exchange(t)
		})
	}
}

func TestAsyncPkeyPublicChainCannotPerform(t *testing.T) {
	ec, _, _ := testKeys(t)
	var performErr error
	cfg := newTestConfig(t, configOpts{policy: "default_tls13", public: ec, fn: func(conn *Connection, op *AsyncPkeyOp) error {
		defer op.Free()
		performErr = performAndApply(conn, op)
		return performErr
	}})
	p := newPair(t, cfg, newTestConfig(t, configOpts{policy: "default_tls13", trust: ec}))
	s, _ := p.drive(t, 10*time.Second)
	require.Error(t, s.err)
	require.Error(t, performErr, "a chain without a private key cannot perform")
	require.ErrorIs(t, s.err, performErr)
}

func TestAsyncPkeyClientAuth(t *testing.T) {
	ec, rs, _ := testKeys(t)
	for _, v := range variants(t) {
		if v.opType == AsyncDecrypt {
			continue // the client never decrypts
		}
		t.Run(v.name, func(t *testing.T) {
			clientKey := rs
			if v.key == rs {
				clientKey = ec
			}
			var clientOps atomic.Int32
			server := newTestConfig(t, configOpts{policy: v.policy, chain: v.key, trust: clientKey, clientAuth: ClientAuthRequired})
			client := newTestConfig(t, configOpts{policy: v.policy, public: clientKey, trust: v.key, clientAuth: ClientAuthRequired,
				fn: func(conn *Connection, op *AsyncPkeyOp) error {
					clientOps.Add(1)
					go func() {
						defer op.Free()
						if err := offload(t, conn, op, clientKey, true); err != nil {
							panic(err)
						}
					}()
					return nil
				}})
			p := newPair(t, server, client)
			p.handshake(t)
			require.EqualValues(t, 1, clientOps.Load(), "the client's CertificateVerify went through its callback")
			sig, err := p.server.SelectedClientCertSignatureAlgorithm()
			require.NoError(t, err)
			require.NotEqual(t, SignatureAnonymous, sig)
			p.exchange(t)
		})
	}
}

func TestAsyncPkeyStrictValidation(t *testing.T) {
	ec, _, ec2 := testKeys(t)
	for _, strict := range []bool{true, false} {
		t.Run(fmt.Sprintf("strict=%v", strict), func(t *testing.T) {
			p, op := blockedPairWith(t, configOpts{policy: "default_tls13", public: ec, strict: strict})
			defer op.Free()
			// A faulty HSM: a valid signature, by the wrong key.
			err := offload(t, p.server, op, ec2, false)
			if strict {
				requireS2nError(t, err, "S2N_ERR_VERIFY_SIGNATURE")
				blocked, err := p.server.Negotiate()
				require.ErrorIs(t, err, ErrBlocked, "nothing reached the peer")
				require.Equal(t, BlockedOnApplicationInput, blocked)
			} else {
				// Fast validation lets the bad signature out: the peer
				// catches it instead.
				require.NoError(t, err)
				_, c := p.drive(t, 10*time.Second)
				require.Error(t, c.err)
			}
		})
	}
}

func TestAsyncPkeyMisuse(t *testing.T) {
	t.Run("apply before perform", func(t *testing.T) {
		p, op := blockedPair(t)
		defer op.Free()
		requireS2nError(t, op.Apply(p.server), "S2N_ERR_ASYNC_NOT_PERFORMED", ErrUsage)
	})
	t.Run("perform twice", func(t *testing.T) {
		p, op := blockedPair(t)
		defer op.Free()
		key := selectedKey(t, p.server)
		require.NoError(t, op.Perform(key))
		requireS2nError(t, op.Perform(key), "S2N_ERR_ASYNC_ALREADY_PERFORMED", ErrUsage)
	})
	t.Run("apply twice", func(t *testing.T) {
		p, op := blockedPair(t)
		defer op.Free()
		require.NoError(t, performAndApply(p.server, op))
		requireS2nError(t, op.Apply(p.server), "S2N_ERR_ASYNC_ALREADY_APPLIED", ErrUsage)
		p.handshake(t)
	})
	t.Run("apply on another connection", func(t *testing.T) {
		p, op := blockedPair(t)
		other, _ := blockedPair(t)
		defer op.Free()
		key := selectedKey(t, p.server)
		require.NoError(t, op.Perform(key))
		requireS2nError(t, op.Apply(other.server), nameWrongConnection, ErrUsage)
		require.NoError(t, op.Apply(p.server))
		p.handshake(t)
	})
	t.Run("free twice, then use", func(t *testing.T) {
		p, op := blockedPair(t)
		require.NoError(t, op.Free())
		require.NoError(t, op.Free())
		_, err := op.Type()
		requireS2nError(t, err, nameClosed, ErrUsage)
		_, err = op.Input()
		requireS2nError(t, err, nameClosed, ErrUsage)
		requireS2nError(t, op.SetOutput([]byte{1}), nameClosed, ErrUsage)
		requireS2nError(t, op.Apply(p.server), nameClosed, ErrUsage)
		require.Zero(t, Stats().PendingOps)
	})
	t.Run("closed connection", func(t *testing.T) {
		p, op := blockedPair(t)
		key := selectedKey(t, p.server)
		require.NoError(t, p.server.Close())
		require.NoError(t, p.server.Close(), "Close is idempotent")
		// The op went with its connection: nothing touches freed memory.
		requireS2nError(t, op.Perform(key), nameClosed, ErrUsage)
		requireS2nError(t, op.Apply(p.server), nameClosed, ErrUsage)
		require.NoError(t, op.Free())
		_, err := p.server.Negotiate()
		requireS2nError(t, err, nameClosed, ErrUsage)
		_, _, err = p.server.Send([]byte("x"))
		requireS2nError(t, err, nameClosed, ErrUsage)
		_, _, err = p.server.Recv(make([]byte, 1))
		requireS2nError(t, err, nameClosed, ErrUsage)
		_, err = p.server.Shutdown()
		requireS2nError(t, err, nameClosed, ErrUsage)
		requireS2nError(t, p.server.SetServerName("x"), nameClosed, ErrUsage)
		requireS2nError(t, p.server.Wipe(), nameClosed, ErrUsage)
		_, err = p.server.SelectedCert()
		requireS2nError(t, err, nameClosed, ErrUsage)
		require.Equal(t, ProtocolVersion(0), p.server.ProtocolVersion())
	})
	t.Run("nil arguments", func(t *testing.T) {
		p, op := blockedPair(t)
		defer op.Free()
		requireS2nError(t, op.Perform(nil), nameInvalidArg, ErrUsage)
		requireS2nError(t, op.Apply(nil), nameInvalidArg, ErrUsage)
		var nilOp *AsyncPkeyOp
		requireS2nError(t, nilOp.Apply(p.server), nameInvalidArg, ErrUsage)
		require.NoError(t, nilOp.Free())
	})
}

func TestAsyncPkeyCallbackError(t *testing.T) {
	ec, _, _ := testKeys(t)
	errHSM := errors.New("hsm unavailable")
	for name, fn := range map[string]AsyncPkeyFunc{
		"error": func(*Connection, *AsyncPkeyOp) error { return errHSM },
		"panic": func(*Connection, *AsyncPkeyOp) error { panic(errHSM) },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := newTestConfig(t, configOpts{policy: "default_tls13", chain: ec, fn: fn})
			p := newPair(t, cfg, newTestConfig(t, configOpts{policy: "default_tls13", trust: ec}))
			s, _ := p.drive(t, 10*time.Second)
			require.Error(t, s.err)
			var s2nErr *Error
			require.ErrorAs(t, s.err, &s2nErr, "still an s2n error")
			require.NotEqual(t, ErrorTypeBlocked, s2nErr.Type)
			if name == "error" {
				require.ErrorIs(t, s.err, errHSM, "the callback's own error is kept")
			} else {
				var pe *PanicError
				require.ErrorAs(t, s.err, &pe)
				require.Equal(t, errHSM, pe.Value)
			}
			require.Contains(t, s.err.Error(), "hsm unavailable")
			require.Zero(t, Stats().PendingOps, "the failed op was freed")
		})
	}
}

func TestAsyncPkeyCallbackSeesItsConnection(t *testing.T) {
	ec, _, _ := testKeys(t)
	type state struct{ calls int }
	perConn := map[*Connection]*state{}
	var mu sync.Mutex
	cfg := newTestConfig(t, configOpts{policy: "default_tls13", chain: ec, fn: func(conn *Connection, op *AsyncPkeyOp) error {
		defer op.Free()
		mu.Lock()
		st, ok := perConn[conn]
		mu.Unlock()
		if !ok {
			return errors.New("callback got a connection the application never created")
		}
		st.calls++
		return performAndApply(conn, op)
	}})
	client := newTestConfig(t, configOpts{policy: "default_tls13", trust: ec})
	pairs := []*pair{newPair(t, cfg, client), newPair(t, cfg, client)}
	for _, p := range pairs {
		perConn[p.server] = &state{}
	}
	for _, p := range pairs {
		p.handshake(t)
		require.Equal(t, 1, perConn[p.server].calls)
	}
}

func TestAsyncPkeyOpFreedWithConnection(t *testing.T) {
	p, op := blockedPair(t)
	require.EqualValues(t, 1, Stats().PendingOps)
	// Another goroutine keeps using the op while the connection closes.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				if _, err := op.Input(); err != nil {
					requireS2nError(t, err, nameClosed, ErrUsage)
				}
			}
		}
	}()
	time.Sleep(5 * time.Millisecond)
	require.NoError(t, p.server.Close())
	close(stop)
	wg.Wait()
	require.Zero(t, Stats().PendingOps)
	_, err := op.Type()
	requireS2nError(t, err, nameClosed, ErrUsage)
}

func TestAsyncPkeyCloseInsideCallback(t *testing.T) {
	ec, _, _ := testKeys(t)
	var closeErr error
	cfg := newTestConfig(t, configOpts{policy: "default_tls13", chain: ec, fn: func(conn *Connection, op *AsyncPkeyOp) error {
		closeErr = conn.Close() // deferred: s2n is still running
		_, negErr := conn.Negotiate()
		requireS2nError(t, negErr, nameInCallback, ErrUsage)
		// The connection is still usable until the callback returns.
		return performAndApply(conn, op)
	}})
	p := newPair(t, cfg, newTestConfig(t, configOpts{policy: "default_tls13", trust: ec}))
	for range 1000 {
		p.client.Negotiate()
		if _, err := p.server.Negotiate(); err != nil && !errors.Is(err, ErrBlocked) {
			break
		}
	}
	require.NoError(t, closeErr)
	_, err := p.server.Negotiate()
	requireS2nError(t, err, nameClosed, ErrUsage)
	require.Zero(t, Stats().PendingOps)
}

// TestAsyncPkeyConcurrentApply runs 200 handshakes at once whose ops are
// applied from random goroutines in random order; run it with -race.
func TestAsyncPkeyConcurrentApply(t *testing.T) {
	ec, rs, _ := testKeys(t)
	const n = 200
	type pending struct {
		conn *Connection
		op   *AsyncPkeyOp
	}
	queue := make(chan pending, n)
	fn := func(conn *Connection, op *AsyncPkeyOp) error {
		queue <- pending{conn, op}
		return nil
	}
	servers := []*Config{
		newTestConfig(t, configOpts{policy: "default_tls13", chain: ec, fn: fn}),
		newTestConfig(t, configOpts{policy: policyTLS12, public: rs, fn: fn}),
	}
	clients := []*Config{
		newTestConfig(t, configOpts{policy: "default_tls13", trust: ec}),
		newTestConfig(t, configOpts{policy: policyTLS12, trust: rs}),
	}

	// Appliers: collect ops in batches, shuffle, complete from whichever
	// goroutine picks them up.
	applyErrs := make(chan error, n)
	waitAppliers := applyShuffled(4, 8, queue, func(q pending) {
		var err error
		if strings.HasPrefix(q.conn.CipherSuite(), "TLS_") {
			err = performAndApply(q.conn, q.op)
		} else {
			err = offload(t, q.conn, q.op, rs, false)
		}
		q.op.Free()
		if err != nil {
			applyErrs <- err
		}
	})

	var drivers sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		p := newPair(t, servers[i%2], clients[i%2])
		drivers.Add(1)
		go func() {
			defer drivers.Done()
			s, c := p.drive(t, 60*time.Second)
			if s.err != nil || c.err != nil {
				errs <- fmt.Errorf("pair %d: server %v, client %v", i, s.err, c.err)
			}
		}()
	}
	drivers.Wait()
	close(queue)
	waitAppliers()
	close(errs)
	close(applyErrs)
	for err := range errs {
		t.Error(err)
	}
	for err := range applyErrs {
		t.Error(err)
	}
	require.Zero(t, Stats().PendingOps)
}

// TestAsyncPkeyPerformWithSigner: a callback completing every kind of op
// synchronously with a crypto.Signer (signatures ECDSA, RSA-PSS, RSA
// PKCS#1 v1.5; RSA key-exchange decryption).
func TestAsyncPkeyPerformWithSigner(t *testing.T) {
	for _, v := range variants(t) {
		t.Run(v.name, func(t *testing.T) {
			var calls atomic.Int32
			signer := &faultySigner{key: v.key.signer}
			cfg := newTestConfig(t, configOpts{policy: v.policy, public: v.key, fn: func(conn *Connection, op *AsyncPkeyOp) error {
				defer op.Free()
				calls.Add(1)
				if err := op.PerformWithSigner(conn, signer); err != nil {
					return err
				}
				return op.Apply(conn)
			}})
			p := newPair(t, cfg, clientConfig(t, v.policy, v.key))
			p.handshake(t)
			require.EqualValues(t, 1, calls.Load())
			require.EqualValues(t, v.signerCalls(), signer.calls.Load(), "the signer did the op")
			p.exchange(t)
		})
	}
	// Misuse is an error, not a panic.
	var op AsyncPkeyOp
	require.Error(t, op.PerformWithSigner(nil, nil))
}
