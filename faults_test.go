package s2n

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Fault injection on the async key path and the net.Conn layer: keys that
// fail in every way, answers that come twice, late or never, and peers that
// vanish at every step of the handshake. Each fault must end in a clear
// error, with nothing leaked.

// relHandshakes runs the client's handshake on a goroutine and the server's
// on this one, each bounded by testHandshakeTimeout; the client's error
// arrives on the channel.
func relHandshakes(t testing.TB, addr string, accept func() *Conn, clientCfg *Config) (srv, cli *Conn, serverErr error, clientErr <-chan error) {
	t.Helper()
	cli = dialClient(t, addr, clientCfg)
	ch := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), testHandshakeTimeout)
		defer cancel()
		ch <- cli.HandshakeContext(ctx)
	}()
	srv = accept()
	ctx, cancel := context.WithTimeout(context.Background(), testHandshakeTimeout)
	defer cancel()
	return srv, cli, srv.HandshakeContext(ctx), ch
}

// relHandshakesAsync runs both handshakes on goroutines, each bounded by
// testHandshakeTimeout.
func relHandshakesAsync(t testing.TB, addr string, accept func() *Conn, clientCfg *Config) (srv, cli *Conn, serverErr, clientErr <-chan error) {
	t.Helper()
	cli = dialClient(t, addr, clientCfg)
	cerr, serr := make(chan error, 1), make(chan error, 1)
	run := func(c *Conn, ch chan error) {
		ctx, cancel := context.WithTimeout(context.Background(), testHandshakeTimeout)
		defer cancel()
		ch <- c.HandshakeContext(ctx)
	}
	go run(cli, cerr)
	srv = accept()
	go run(srv, serr)
	return srv, cli, serr, cerr
}

// relWaitParked waits until some goroutine is parked in Conn.waitForKey:
// a handshake waiting for its key, past the point where Close could
// overtake it (see TestFaultCloseBeforeKeyWaitReportsClosed for that case).
func relWaitParked(t testing.TB) {
	t.Helper()
	buf := make([]byte, 1<<20)
	require.Eventually(t, func() bool {
		stacks := string(buf[:runtime.Stack(buf, true)])
		return strings.Contains(stacks, "[select]:\n") && strings.Contains(stacks, ").waitForKey(")
	}, testHandshakeTimeout, time.Millisecond, "no handshake parked on its key")
}

// TestFaultSignerFaults runs each misbehaving key against each signature
// variant: the server's handshake fails with the key's own error, or with
// the s2n error that Strict validation raises on its bad output, before
// anything wrong reaches the peer; the client sees the connection end.
func TestFaultSignerFaults(t *testing.T) {
	errKMS := errors.New("kms: throttled")
	type fault struct {
		name  string
		setup func(t *testing.T, s *faultySigner, v variant)
		check func(t *testing.T, err error)
	}
	verifyFails := func(t *testing.T, err error) {
		requireS2nError(t, err, "S2N_ERR_VERIFY_SIGNATURE")
		require.Contains(t, err.Error(), "S2N_ERR_VERIFY_SIGNATURE", "the message names the failure")
	}
	faults := []fault{
		{"error", func(_ *testing.T, s *faultySigner, _ variant) { s.fault.err = errKMS }, func(t *testing.T, err error) {
			require.ErrorIs(t, err, errKMS)
			require.Contains(t, err.Error(), "kms: throttled")
		}},
		{"panic", func(_ *testing.T, s *faultySigner, _ variant) { s.fault.panics = true }, func(t *testing.T, err error) {
			var pe *PanicError
			require.ErrorAs(t, err, &pe)
			require.Equal(t, "signer exploded", pe.Value)
			require.Contains(t, err.Error(), "panicked")
		}},
		{"wrong key", func(t *testing.T, s *faultySigner, v variant) { s.fault.wrong = wrongKey(t, v.key) }, verifyFails},
		{"truncated by one byte", func(_ *testing.T, s *faultySigner, _ variant) {
			s.fault.mangle = func(sig []byte) []byte { return sig[:len(sig)-1] }
		}, verifyFails},
		{"truncated to half", func(_ *testing.T, s *faultySigner, _ variant) {
			s.fault.mangle = func(sig []byte) []byte { return sig[:len(sig)/2] }
		}, verifyFails},
		{"one bit flipped", func(_ *testing.T, s *faultySigner, _ variant) {
			s.fault.mangle = func(sig []byte) []byte { sig[len(sig)/2] ^= 0x10; return sig }
		}, verifyFails},
		{"extended by a byte", func(_ *testing.T, s *faultySigner, _ variant) {
			s.fault.mangle = func(sig []byte) []byte { return append(sig, 0) }
		}, verifyFails},
		{"random bytes", func(_ *testing.T, s *faultySigner, _ variant) {
			s.fault.mangle = func(sig []byte) []byte { rand.Read(sig); return sig }
		}, verifyFails},
		{"empty, not nil", func(_ *testing.T, s *faultySigner, _ variant) {
			s.fault.mangle = func([]byte) []byte { return []byte{} }
		}, verifyFails},
		{"nil", func(_ *testing.T, s *faultySigner, _ variant) {
			s.fault.mangle = func([]byte) []byte { return nil }
		}, func(t *testing.T, err error) { requireS2nError(t, err, "S2N_ERR_NULL") }},
		{"oversized", func(_ *testing.T, s *faultySigner, _ variant) {
			s.fault.mangle = func([]byte) []byte { return make([]byte, 70000) }
		}, func(t *testing.T, err error) {
			requireS2nError(t, err, nameInvalidArg)
			require.Contains(t, err.Error(), "too large")
		}},
	}
	for _, v := range variants(t) {
		if v.opType != AsyncSign {
			continue
		}
		for _, f := range faults {
			t.Run(v.name+"/"+f.name, func(t *testing.T) {
				signer := &faultySigner{key: v.key.signer}
				f.setup(t, signer, v)
				serverCfg := signerConfig(t, v.policy, v.key, signer)
				clientCfg := clientConfig(t, v.policy, v.key)
				addr, accept := acceptConns(t, serverCfg)
				base := settledStats(t)

				srv, cli, serverErr, clientErrs := relHandshakes(t, addr, accept, clientCfg)
				require.Error(t, serverErr)
				require.False(t, isTimeout(serverErr), "the fault, not a timeout, ended it: %v", serverErr)
				f.check(t, serverErr)
				require.Zero(t, Stats().PendingOps, "the failed op is freed when the handshake returns")
				require.Equal(t, serverErr, srv.Handshake(), "a failed handshake is final")
				_, err := srv.Write([]byte("x"))
				require.Equal(t, serverErr, err, "Write reports the handshake's failure")
				require.NoError(t, srv.Close())

				clientErr := await(t, clientErrs, "client handshake")
				require.Error(t, clientErr)
				require.True(t, isAbortErr(clientErr), "the client sees the server go away: %v", clientErr)
				require.NoError(t, cli.Close())
				require.EqualValues(t, 1, signer.calls.Load())
				requireSettled(t, base, f.name)
			})
		}
	}
}

// TestFaultWrongKeyFastValidation: with ValidationFast, a wrong-key
// signature goes out, and the peer is the one that rejects it. The
// rejecting client blinds (its delay capped at 1 s here): its Close returns
// at once, and the server learns of the failure from the client's alert
// once the delay has passed.
func TestFaultWrongKeyFastValidation(t *testing.T) {
	ec, _, _ := testKeys(t)
	signer := &faultySigner{key: ec.signer, fault: signerFault{wrong: wrongKey(t, ec)}}
	serverCfg := newTestConfig(t, configOpts{policy: "default_tls13"})
	require.NoError(t, serverCfg.SetAsyncPkeyValidationMode(ValidationFast))
	require.NoError(t, serverCfg.AddCertChainWithSigner(ec.certPEM, signer))
	clientCfg := clientConfig(t, "default_tls13", ec)
	require.NoError(t, clientCfg.SetMaxBlindingDelay(time.Second))
	addr, accept := acceptConns(t, serverCfg)
	base := settledStats(t)

	srv, cli, serverErr, clientErrs := relHandshakesAsync(t, addr, accept, clientCfg)
	clientErr := await(t, clientErrs, "client handshake")
	requireS2nError(t, clientErr, "S2N_ERR_VERIFY_SIGNATURE")
	require.ErrorIs(t, clientErr, ErrProto)
	require.Positive(t, cli.Connection().Delay(), "the client asks for blinding")
	require.NoError(t, cli.Close(), "Close returns at once; a timer ends the connection")
	err := await(t, serverErr, "server handshake")
	require.Error(t, err, "the server never completes a handshake the client rejected")
	require.False(t, isTimeout(err), "%v", err)
	require.True(t, errors.Is(err, ErrAlert) || isAbortErr(err), "the server hears the client's alert: %v", err)
	require.NoError(t, srv.Close())
	require.EqualValues(t, 1, signer.calls.Load())
	requireSettled(t, base, "fast validation")
}

// TestFaultDecrypterFaults: in TLS 1.2 RSA key exchange, a decrypter that
// fails or answers garbage must not be observable as such (a padding
// oracle): the handshake fails at the client's Finished with s2n's own
// error, never the decrypter's, and s2n asks for blinding.
func TestFaultDecrypterFaults(t *testing.T) {
	_, rs, _ := testKeys(t)
	errHSM := errors.New("hsm: decrypt failed")
	for name, setup := range map[string]func(s *faultySigner){
		"error":      func(s *faultySigner) { s.fault.err = errHSM },
		"short":      func(s *faultySigner) { s.fault.decrypt = func([]byte) ([]byte, error) { return make([]byte, 47), nil } },
		"wrong data": func(s *faultySigner) { s.fault.decrypt = func([]byte) ([]byte, error) { return make([]byte, 48), nil } },
	} {
		t.Run(name, func(t *testing.T) {
			// Not an *rsa.PrivateKey: the binding's generic Decrypter path.
			signer := &faultySigner{key: rs.signer}
			setup(signer)
			serverCfg := signerConfig(t, "test_all_rsa_kex", rs, signer)
			require.NoError(t, serverCfg.SetMaxBlindingDelay(time.Second))
			clientCfg := clientConfig(t, "test_all_rsa_kex", rs)
			addr, accept := acceptConns(t, serverCfg)
			base := settledStats(t)
			srv, cli, serverErr, clientErrs := relHandshakes(t, addr, accept, clientCfg)
			require.Error(t, serverErr)
			require.False(t, isTimeout(serverErr), "%v", serverErr)
			require.NotErrorIs(t, serverErr, errHSM, "the decrypter's failure is not revealed")
			var pe *PanicError
			require.NotErrorAs(t, serverErr, &pe, "nor its panic")
			var se *Error
			require.ErrorAs(t, serverErr, &se)
			require.NotEqual(t, ErrorTypeUsage, se.Type, "%v", serverErr)
			require.Positive(t, srv.Connection().Delay(), "s2n asks for blinding after a bad Finished")
			require.NoError(t, srv.Close(), "Close returns at once; a timer ends the connection")
			require.Equal(t, base.PendingOps, Stats().PendingOps)
			// The client hears of it once the delay (capped at 1 s) has passed.
			clientErr := await(t, clientErrs, "client handshake")
			require.True(t, errors.Is(clientErr, ErrAlert) || isAbortErr(clientErr), "client: %v", clientErr)
			require.False(t, isTimeout(clientErr))
			require.NoError(t, cli.Close())
			// Once with SessionKeyLen options, once more without if those
			// fail: the same for every ciphertext.
			require.GreaterOrEqual(t, signer.calls.Load(), int32(1))
			requireSettled(t, base, name)
		})
	}
}

// TestFaultDecrypterPanicIsNotAnOracle: a Decrypter that panics must be
// treated like one that fails (a random premaster, failure at Finished,
// blinding), or a Decrypter that panics on bad padding becomes a padding
// oracle: the peer sees an immediate close instead of a Finished failure
// after the blinding delay.
//
// Regression (fixed in f8722eb): decryptPremaster let the panic reach
// callKey's recover, which failed the handshake with the PanicError at
// once, with no blinding.
func TestFaultDecrypterPanicIsNotAnOracle(t *testing.T) {
	_, rs, _ := testKeys(t)
	signer := &faultySigner{key: rs.signer, fault: signerFault{panics: true}}
	serverCfg := signerConfig(t, "test_all_rsa_kex", rs, signer)
	require.NoError(t, serverCfg.SetMaxBlindingDelay(time.Second))
	clientCfg := clientConfig(t, "test_all_rsa_kex", rs)
	addr, accept := acceptConns(t, serverCfg)
	base := settledStats(t)
	srv, cli, serverErr, clientErrs := relHandshakes(t, addr, accept, clientCfg)
	delay := srv.Connection().Delay()
	require.NoError(t, srv.Close())
	clientErr := await(t, clientErrs, "client handshake")
	require.NoError(t, cli.Close())
	requireSettled(t, base, "decrypter panic")
	require.Error(t, serverErr)
	require.Error(t, clientErr)
	var pe *PanicError
	require.NotErrorAs(t, serverErr, &pe, "the decrypter's panic decided the handshake's fate, visibly: %v", serverErr)
	require.Positive(t, delay, "blinding applies as for any bad decryption")
}

// TestFaultAnswerTwiceLowLevel pins the rules for a second answer: s2n's
// own, which the low level mirrors (a second SetOutput replaces the first,
// Perform after SetOutput and a second Apply are refused, an output Strict
// validation rejected cannot be replaced: the op's digest is spent), and
// the binding's (SetOutput after Apply is refused).
func TestFaultAnswerTwiceLowLevel(t *testing.T) {
	ec, _, ec2 := testKeys(t)
	t.Run("set output twice, last wins", func(t *testing.T) {
		p, op := blockedPairWith(t, configOpts{policy: "default_tls13", public: ec, strict: true})
		defer op.Free()
		good := opSignature(t, p.server, op, ec.signer)
		bad := opSignature(t, p.server, op, ec2.signer)
		require.NoError(t, op.SetOutput(bad))
		require.NoError(t, op.SetOutput(good), "s2n accepts a second output")
		require.NoError(t, op.Apply(p.server), "the second output was applied")
		p.handshake(t)
		p.exchange(t)
	})
	t.Run("rejected output is final", func(t *testing.T) {
		p, op := blockedPairWith(t, configOpts{policy: "default_tls13", public: ec, strict: true})
		defer op.Free()
		good := opSignature(t, p.server, op, ec.signer)
		bad := opSignature(t, p.server, op, ec2.signer)
		require.NoError(t, op.SetOutput(good))
		require.NoError(t, op.SetOutput(bad), "last wins")
		requireS2nError(t, op.Apply(p.server), "S2N_ERR_VERIFY_SIGNATURE")
		require.NoError(t, op.SetOutput(good))
		err := op.Apply(p.server)
		if buildMode == "awslc-fips" {
			// FIPS mode signs with digest-and-sign: s2n keeps the hash
			// state, so the corrected answer verifies and is taken.
			require.NoError(t, err)
			p.handshake(t)
			return
		}
		requireS2nError(t, err, "S2N_ERR_VERIFY_SIGNATURE")
		blocked, err := p.server.Negotiate()
		require.ErrorIs(t, err, ErrBlocked, "nothing bad reached the peer")
		require.Equal(t, BlockedOnApplicationInput, blocked)
	})
	t.Run("perform after set output", func(t *testing.T) {
		p, op := blockedPairWith(t, configOpts{policy: "default_tls13", chain: ec})
		defer op.Free()
		require.NoError(t, op.SetOutput(opSignature(t, p.server, op, ec.signer)))
		key := selectedKey(t, p.server)
		requireS2nError(t, op.Perform(key), "S2N_ERR_ASYNC_ALREADY_PERFORMED", ErrUsage)
		require.NoError(t, op.Apply(p.server))
		p.handshake(t)
	})
	t.Run("apply twice, then set output", func(t *testing.T) {
		p, op := blockedPairWith(t, configOpts{policy: "default_tls13", public: ec})
		sig := opSignature(t, p.server, op, ec.signer)
		require.NoError(t, op.SetOutput(sig))
		require.NoError(t, op.Apply(p.server))
		requireS2nError(t, op.Apply(p.server), "S2N_ERR_ASYNC_ALREADY_APPLIED", ErrUsage)
		// s2n would take it and leak it (it frees outputs at Apply only).
		requireS2nError(t, op.SetOutput(sig), nameAlreadyApplied, ErrUsage)
		requireS2nError(t, op.Apply(p.server), "S2N_ERR_ASYNC_ALREADY_APPLIED", ErrUsage)
		_, err := op.Input()
		requireS2nError(t, err, "S2N_ERR_HASH_NOT_READY") // Apply released the digest
		p.handshake(t)
		p.exchange(t)
		require.NoError(t, op.Free())
		requireS2nError(t, op.Apply(p.server), nameClosed, ErrUsage)
		require.Zero(t, Stats().PendingOps)
	})
}

// TestFaultAnswerTwiceConn: an AsyncPkeyFunc answers its op on one
// goroutine and then again, or at the same time, on another. Exactly one
// answer is taken; the other is refused as already applied; the handshake
// completes and data flows.
func TestFaultAnswerTwiceConn(t *testing.T) {
	ec, _, _ := testKeys(t)
	for _, concurrent := range []bool{false, true} {
		t.Run(fmt.Sprintf("concurrent=%v", concurrent), func(t *testing.T) {
			results := make(chan error, 2)
			var answerers sync.WaitGroup
			fn := func(conn *Connection, op *AsyncPkeyOp) error {
				sig, err := signOp(conn, op, ec.signer)
				if err != nil {
					return err
				}
				answer := func() { results <- answerOp(conn, op, sig) }
				answerers.Add(2)
				if concurrent {
					start := make(chan struct{})
					for range 2 {
						go func() { defer answerers.Done(); <-start; answer() }()
					}
					close(start)
					return nil
				}
				go func() {
					defer answerers.Done()
					answer()
					go func() { defer answerers.Done(); answer() }()
				}()
				return nil
			}
			serverCfg := asyncConfig(t, "default_tls13", ec, fn)
			clientCfg := clientConfig(t, "default_tls13", ec)
			addr, accept := acceptConns(t, serverCfg)
			base := settledStats(t)
			for i := range 50 {
				srv, cli, serverErr, clientErrs := relHandshakes(t, addr, accept, clientCfg)
				require.NoError(t, serverErr)
				require.NoError(t, await(t, clientErrs, "client handshake"))
				answerers.Wait()
				errs := []error{<-results, <-results}
				ok := 0
				for _, err := range errs {
					if err == nil {
						ok++
						continue
					}
					// Refused at SetOutput (the binding) or at Apply (s2n).
					var se *Error
					require.ErrorAs(t, err, &se)
					require.Contains(t, []string{nameAlreadyApplied, "S2N_ERR_ASYNC_ALREADY_APPLIED"}, se.Name, "%v", err)
					require.ErrorIs(t, err, ErrUsage)
				}
				require.Equal(t, 1, ok, "round %d: exactly one answer applied: %v", i, errs)
				_, err := cli.Write([]byte("after a double answer"))
				require.NoError(t, err)
				buf := make([]byte, 64)
				n, err := srv.Read(buf)
				require.NoError(t, err)
				require.Equal(t, "after a double answer", string(buf[:n]))
				require.NoError(t, cli.Close())
				require.NoError(t, srv.Close())
			}
			requireSettled(t, base, "double answers")
		})
	}
}

// TestFaultAnswerAfterClose: the key answers after its connection was
// closed. Nothing crashes, the late answerer gets a closed error, and the
// op was already freed by Close.
func TestFaultAnswerAfterClose(t *testing.T) {
	ec, _, _ := testKeys(t)
	t.Run("AsyncPkeyFunc", func(t *testing.T) {
		type pending struct {
			conn *Connection
			op   *AsyncPkeyOp
		}
		ops := make(chan pending, 1)
		addr, accept := acceptConns(t, asyncConfig(t, "default_tls13", ec, func(conn *Connection, op *AsyncPkeyOp) error {
			ops <- pending{conn, op}
			return nil
		}))
		clientCfg := clientConfig(t, "default_tls13", ec)
		base := settledStats(t)
		cli := dialClient(t, addr, clientCfg)
		defer cli.Close()
		go cli.Handshake()
		srv := accept()
		serverErr := make(chan error, 1)
		go func() { serverErr <- srv.Handshake() }()
		late := await(t, ops, "key op")
		require.EqualValues(t, base.PendingOps+1, Stats().PendingOps)
		relWaitParked(t)

		require.NoError(t, srv.Close())
		require.ErrorIs(t, await(t, serverErr, "server handshake"), net.ErrClosed)
		require.Equal(t, base.PendingOps, Stats().PendingOps, "Close freed the pending op")

		// The late answer.
		in, err := late.op.Input()
		requireS2nError(t, err, nameClosed, ErrUsage)
		require.Nil(t, in)
		requireS2nError(t, late.op.SetOutput(make([]byte, 72)), nameClosed, ErrUsage)
		requireS2nError(t, late.op.Apply(late.conn), nameClosed, ErrUsage)
		require.NoError(t, late.op.Free())
		require.NoError(t, cli.Close())
		requireSettled(t, base, "late answer")
	})
	t.Run("signer", func(t *testing.T) {
		release := make(chan struct{})
		entered := make(chan struct{}, 1)
		signer := &faultySigner{key: ec.signer, release: release, entered: entered}
		addr, accept := acceptConns(t, signerConfig(t, "default_tls13", ec, signer))
		clientCfg := clientConfig(t, "default_tls13", ec)
		base := settledStats(t)
		cli := dialClient(t, addr, clientCfg)
		defer cli.Close()
		go cli.Handshake()
		srv := accept()
		serverErr := make(chan error, 1)
		go func() { serverErr <- srv.Handshake() }()
		await(t, entered, "signer")
		relWaitParked(t)

		require.NoError(t, srv.Close())
		require.ErrorIs(t, await(t, serverErr, "server handshake"), net.ErrClosed)
		require.Equal(t, base.PendingOps, Stats().PendingOps, "Close freed the pending op")
		close(release) // the key answers into the void
		require.Eventually(t, func() bool { return signer.done.Load() == 1 }, testHandshakeTimeout, time.Millisecond)
		require.NoError(t, cli.Close())
		requireSettled(t, base, "late signer")
	})
}

// TestFaultNeverAnswers: a key that never answers is ended by the context
// or the deadline, on the server and on the client (client auth); the op
// is freed by the time the handshake returns, and the stuck key's
// goroutine goes once the key finally returns.
func TestFaultNeverAnswers(t *testing.T) {
	ec, rs, _ := testKeys(t)
	for _, side := range []string{"server", "client"} {
		for _, how := range []string{"context", "deadline"} {
			t.Run(side+"/"+how, func(t *testing.T) {
				release := make(chan struct{})
				entered := make(chan struct{}, 1)
				var serverCfg, clientCfg *Config
				var signer *faultySigner
				if side == "server" {
					signer = &faultySigner{key: ec.signer, release: release, entered: entered}
					serverCfg = signerConfig(t, "default_tls13", ec, signer)
					clientCfg = clientConfig(t, "default_tls13", ec)
				} else {
					signer = &faultySigner{key: rs.signer, release: release, entered: entered}
					serverCfg = newTestConfig(t, configOpts{policy: "default_tls13", chain: ec, trust: rs, clientAuth: ClientAuthRequired})
					clientCfg = newTestConfig(t, configOpts{policy: "default_tls13", trust: ec, clientAuth: ClientAuthRequired})
					require.NoError(t, clientCfg.AddCertChainWithSigner(rs.certPEM, signer))
				}
				addr, accept := acceptConns(t, serverCfg)
				base := settledStats(t)
				cli := dialClient(t, addr, clientCfg)
				var stuck, other *Conn
				otherErr := make(chan error, 1)
				if side == "server" {
					go func() { otherErr <- cli.Handshake() }()
					stuck, other = accept(), cli
				} else {
					srv := accept()
					go func() { otherErr <- srv.Handshake() }()
					stuck, other = cli, srv
				}
				start := time.Now()
				var err error
				if how == "context" {
					ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
					err = stuck.HandshakeContext(ctx)
					cancel()
					require.ErrorIs(t, err, context.DeadlineExceeded)
				} else {
					require.NoError(t, stuck.SetDeadline(time.Now().Add(100*time.Millisecond)))
					err = stuck.Handshake()
					var ne net.Error
					require.ErrorAs(t, err, &ne)
					require.True(t, ne.Timeout(), "%v", err)
				}
				require.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond)
				require.Len(t, entered, 1, "the key was asked")
				require.Equal(t, base.PendingOps, Stats().PendingOps, "the op is freed when the handshake returns")
				require.Equal(t, err, stuck.Handshake(), "final")
				require.NoError(t, stuck.Close())
				require.True(t, isAbortErr(await(t, otherErr, "peer handshake")))
				require.NoError(t, other.Close())
				require.EqualValues(t, 1, signer.inside.Load(), "the key is still stuck")
				close(release)
				require.Eventually(t, func() bool { return signer.done.Load() == 1 }, testHandshakeTimeout, time.Millisecond)
				requireSettled(t, base, side+"/"+how)
			})
		}
	}
}

// TestFaultQueuedOpsOfDeadConnections: with SetMaxInflightKeyOps(1) and a
// key that hangs, handshakes time out and are closed while their ops
// still queue for the key. Once the key recovers, it must not be asked to
// sign for connections that are long gone, and their goroutines must not
// wait for it.
//
// Regression (fixed in f8722eb): runKeyOp waited for the semaphore with no
// way out and then called the key without checking its op: each abandoned
// handshake left a goroutine parked for as long as the key hung, and then
// a wasted call to the key (a thundering herd on a recovering HSM).
func TestFaultQueuedOpsOfDeadConnections(t *testing.T) {
	ec, _, _ := testKeys(t)
	release := make(chan struct{})
	signer := &faultySigner{key: ec.signer, release: release}
	cfg := newTestConfig(t, configOpts{policy: "default_tls13"})
	require.NoError(t, cfg.SetMaxInflightKeyOps(1))
	require.NoError(t, cfg.AddCertChainWithSigner(ec.certPEM, signer))
	addr, accept := acceptConns(t, cfg)
	clientCfg := clientConfig(t, "default_tls13", ec)
	base := settledStats(t)
	before := runtime.NumGoroutine()

	const n = 8
	for i := range n {
		cli := dialClient(t, addr, clientCfg)
		go cli.Handshake()
		srv := accept()
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		err := srv.HandshakeContext(ctx)
		cancel()
		require.ErrorIs(t, err, context.DeadlineExceeded, "handshake %d", i)
		require.NoError(t, srv.Close())
		require.NoError(t, cli.Close())
	}
	require.Equal(t, base.PendingOps, Stats().PendingOps, "every op was freed")
	require.EqualValues(t, 1, signer.calls.Load(), "only the first op reached the hung key")
	// Give freed ops' goroutines a moment to leave (they cannot, today).
	parked := runtime.NumGoroutine() - before
	for end := time.Now().Add(time.Second); parked > 1 && time.Now().Before(end); {
		time.Sleep(5 * time.Millisecond)
		parked = runtime.NumGoroutine() - before
	}
	close(release)
	require.Eventually(t, func() bool { return signer.inside.Load() == 0 }, testHandshakeTimeout, time.Millisecond)
	waitGoroutines(t, before, "after the key recovered")
	requireSettled(t, base, "queued ops")
	require.EqualValues(t, 1, signer.calls.Load(),
		"the recovered key was asked %d times for %d dead connections; %d goroutines had been parked on the semaphore",
		signer.calls.Load(), n, parked)
	require.LessOrEqual(t, parked, 1, "goroutines parked for dead connections while the key hung")
}

// relTCP returns the *net.TCPConn under a Conn.
func relTCP(t testing.TB, c *Conn) *net.TCPConn {
	t.Helper()
	tc, ok := c.NetConn().(*net.TCPConn)
	require.True(t, ok)
	return tc
}

// TestFaultPeerAbortWhileKeyPending: the peer closes (FIN) or resets (RST)
// its TCP connection while this side's key op is parked: the server's
// after ClientHello, the client's (client auth) after the server's flight.
// The parked side finds out once its key answers, with an I/O error, and
// nothing leaks; the aborting side gets net.ErrClosed.
func TestFaultPeerAbortWhileKeyPending(t *testing.T) {
	ec, rs, _ := testKeys(t)
	for _, side := range []string{"server", "client"} {
		for _, rst := range []bool{false, true} {
			for _, policy := range []string{"default_tls13", policyTLS12} {
				name := fmt.Sprintf("%s key pending/rst=%v/%s", side, rst, policy)
				t.Run(name, func(t *testing.T) {
					release := make(chan struct{})
					entered := make(chan struct{}, 1)
					var serverCfg, clientCfg *Config
					var signer *faultySigner
					if side == "server" {
						signer = &faultySigner{key: ec.signer, release: release, entered: entered}
						serverCfg = signerConfig(t, policy, ec, signer)
						clientCfg = clientConfig(t, policy, ec)
					} else {
						signer = &faultySigner{key: rs.signer, release: release, entered: entered}
						serverCfg = newTestConfig(t, configOpts{policy: policy, chain: ec, trust: rs, clientAuth: ClientAuthRequired})
						clientCfg = newTestConfig(t, configOpts{policy: policy, trust: ec, clientAuth: ClientAuthRequired})
						require.NoError(t, clientCfg.AddCertChainWithSigner(rs.certPEM, signer))
					}
					addr, accept := acceptConns(t, serverCfg)
					base := settledStats(t)
					cli := dialClient(t, addr, clientCfg)
					clientErr := make(chan error, 1)
					go func() { clientErr <- cli.Handshake() }()
					srv := accept()
					serverErr := make(chan error, 1)
					go func() { serverErr <- srv.Handshake() }()

					await(t, entered, "key op")
					parked, parkedErr, aborter, aborterErr := srv, serverErr, cli, clientErr
					if side == "client" {
						parked, parkedErr, aborter, aborterErr = cli, clientErr, srv, serverErr
					}
					if rst {
						require.NoError(t, relTCP(t, aborter).SetLinger(0))
					}
					require.NoError(t, aborter.Close())
					err := await(t, aborterErr, "aborting side's handshake")
					require.ErrorIs(t, err, net.ErrClosed)
					// Give the abort time to arrive before the key answers.
					time.Sleep(20 * time.Millisecond)
					close(release)
					err = await(t, parkedErr, "parked side's handshake")
					if err == nil {
						// Only a TLS 1.3 client can finish alone: its
						// last flight needs no answer, and the first
						// write to a closed peer succeeds. Its next
						// read finds the peer gone.
						require.True(t, side == "client" && policy == "default_tls13" && !rst, "parked side completed a handshake with a vanished peer")
						_, err = parked.Read(make([]byte, 1))
					}
					require.Error(t, err)
					require.True(t, isAbortErr(err), "parked side: %v", err)
					require.False(t, isTimeout(err))
					if rst {
						require.NotErrorIs(t, err, io.ErrUnexpectedEOF, "a reset is reported as one: %v", err)
					}
					require.Equal(t, base.PendingOps, Stats().PendingOps)
					if err := parked.Close(); err != nil {
						// A completed handshake's close_notify meets the
						// dead peer.
						require.True(t, isAbortErr(err), "Close: %v", err)
					}
					require.Eventually(t, func() bool { return signer.done.Load() == 1 }, testHandshakeTimeout, time.Millisecond)
					requireSettled(t, base, name)
				})
			}
		}
	}
}

// TestFaultCloseWhileKeyPending: Close from another goroutine while the
// handshake is parked on a key op ends the handshake at once with
// net.ErrClosed (it does not wait for the key), frees the op, and the key's
// late answer is dropped.
func TestFaultCloseWhileKeyPending(t *testing.T) {
	ec, _, _ := testKeys(t)
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	signer := &faultySigner{key: ec.signer, release: release, entered: entered}
	addr, accept := acceptConns(t, signerConfig(t, "default_tls13", ec, signer))
	clientCfg := clientConfig(t, "default_tls13", ec)
	base := settledStats(t)
	cli := dialClient(t, addr, clientCfg)
	clientErr := make(chan error, 1)
	go func() { clientErr <- cli.Handshake() }()
	srv := accept()
	serverErr := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), testHandshakeTimeout)
		defer cancel()
		serverErr <- srv.HandshakeContext(ctx)
	}()
	await(t, entered, "key op")
	require.EqualValues(t, base.PendingOps+1, Stats().PendingOps)
	relWaitParked(t)
	require.NoError(t, srv.Close())
	require.Equal(t, base.PendingOps, Stats().PendingOps, "Close freed the op")
	err := await(t, serverErr, "server handshake")
	require.ErrorIs(t, err, net.ErrClosed)
	require.NoError(t, srv.Close(), "idempotent")
	require.True(t, isAbortErr(await(t, clientErr, "client handshake")))
	require.NoError(t, cli.Close())
	close(release)
	require.Eventually(t, func() bool { return signer.done.Load() == 1 }, testHandshakeTimeout, time.Millisecond)
	requireSettled(t, base, "close while pending")
}

// TestFaultCloseBeforeKeyWaitReportsClosed: Close lands after the key op
// was handed out but before the handshake goroutine starts waiting for it.
// The handshake must report net.ErrClosed, as it does when Close comes
// during the wait, not the op's abandonment that Close itself caused.
//
// Regression (fixed in f8722eb): waitForKey returned s.failure() before
// looking at c.closed, so the errOpAbandoned recorded when Close freed the
// op ("async pkey op freed without being applied") came out instead. The
// sequence is forced here: the key callback returns only once Close holds
// closedMu, so the handshake's flush waits for Close to finish freeing.
func TestFaultCloseBeforeKeyWaitReportsClosed(t *testing.T) {
	ec, _, _ := testKeys(t)
	var srv atomic.Pointer[Conn]
	closed := make(chan error, 1)
	fn := func(conn *Connection, op *AsyncPkeyOp) error {
		c := srv.Load()
		go func() { closed <- c.Close() }()
		// Wait until Close holds (or waits for) closedMu exclusively. On
		// the socket path, where nothing of the handshake takes closedMu,
		// until Close has marked the Conn closed: its close of the socket
		// then waits until this callback's s2n call has returned
		// (poll.FD.Close), and Close frees the op after that.
		for c.fd == nil && c.closedMu.TryRLock() {
			c.closedMu.RUnlock()
			time.Sleep(100 * time.Microsecond)
		}
		for c.fd != nil && !c.closed.Load() {
			time.Sleep(100 * time.Microsecond)
		}
		return nil
	}
	serverCfg := asyncConfig(t, "default_tls13", ec, fn)
	clientCfg := clientConfig(t, "default_tls13", ec)
	addr, accept := acceptConns(t, serverCfg)
	base := settledStats(t)
	cli := dialClient(t, addr, clientCfg)
	go cli.Handshake()
	s := accept()
	srv.Store(s)
	err := s.Handshake()
	require.NoError(t, await(t, closed, "Close"))
	require.NoError(t, cli.Close())
	requireSettled(t, base, "close before key wait")
	require.NotErrorIs(t, err, errOpAbandoned, "Close's own freeing of the op is reported as the cause")
	require.ErrorIs(t, err, net.ErrClosed)
}

// relProxy relays TLS records between one client and a server, and aborts
// both connections (FIN, or RST) when the record numbered cut.record of
// direction cut.dir arrives, before forwarding it (with partial, after
// forwarding its first 3 bytes).
type relProxy struct {
	l      net.Listener
	server string
	cut    relCut
	counts [2]atomic.Int32
	aborts chan struct{}
	once   sync.Once
	wg     sync.WaitGroup
	// opPending is read at the abort: was a server, a client key op
	// parked at that moment?
	opPending   func() [2]bool
	wasPending  [2]atomic.Bool
	mu          sync.Mutex
	conns       []*net.TCPConn
	recordTypes [2][]byte
	// corruptNext flips a bit in the next record of that direction.
	corruptNext [2]atomic.Bool
}

type relCut struct {
	dir     int // 0: client to server, 1: server to client
	record  int
	partial bool
	rst     bool
}

func (c relCut) String() string {
	dir := "c->s"
	if c.dir == 1 {
		dir = "s->c"
	}
	how := "fin"
	if c.rst {
		how = "rst"
	}
	part := ""
	if c.partial {
		part = "+3B"
	}
	return fmt.Sprintf("%s/rec%d%s/%s", dir, c.record, part, how)
}

func relStartProxy(t testing.TB, server string, cut relCut, opPending func() [2]bool) *relProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &relProxy{l: l, server: server, cut: cut, aborts: make(chan struct{}), opPending: opPending}
	p.wg.Add(1)
	go p.run()
	t.Cleanup(func() {
		l.Close()
		p.abortAll(false)
		p.wg.Wait()
	})
	return p
}

func (p *relProxy) addr() string {
	_, port, _ := net.SplitHostPort(p.l.Addr().String())
	return net.JoinHostPort("localhost", port)
}

func (p *relProxy) run() {
	defer p.wg.Done()
	c, err := p.l.Accept()
	if err != nil {
		return
	}
	p.l.Close()
	s, err := net.Dial("tcp", p.server)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns = []*net.TCPConn{c.(*net.TCPConn), s.(*net.TCPConn)}
	p.mu.Unlock()
	p.wg.Add(2)
	go p.relay(0, c.(*net.TCPConn), s.(*net.TCPConn))
	go p.relay(1, s.(*net.TCPConn), c.(*net.TCPConn))
}

// abortAll closes both connections once; rst resets them instead.
func (p *relProxy) abortAll(rst bool) {
	p.once.Do(func() {
		if p.opPending != nil {
			pending := p.opPending()
			p.wasPending[0].Store(pending[0])
			p.wasPending[1].Store(pending[1])
		}
		p.mu.Lock()
		for _, c := range p.conns {
			if rst {
				c.SetLinger(0)
			}
			c.Close()
		}
		p.conns = nil
		p.mu.Unlock()
		close(p.aborts)
	})
}

func (p *relProxy) relay(dir int, from, to *net.TCPConn) {
	defer p.wg.Done()
	hdr := make([]byte, 5)
	for i := 0; ; i++ {
		if _, err := io.ReadFull(from, hdr); err != nil {
			// A clean end of this direction is passed on as one.
			to.CloseWrite()
			return
		}
		body := make([]byte, binary.BigEndian.Uint16(hdr[3:]))
		if _, err := io.ReadFull(from, body); err != nil {
			to.CloseWrite()
			return
		}
		p.mu.Lock()
		p.recordTypes[dir] = append(p.recordTypes[dir], hdr[0])
		p.mu.Unlock()
		if dir == p.cut.dir && i == p.cut.record {
			if p.cut.partial {
				to.Write(hdr[:3])
			}
			p.abortAll(p.cut.rst)
			return
		}
		if p.corruptNext[dir].CompareAndSwap(true, false) {
			body[len(body)-1] ^= 1
		}
		// Counted before it is sent: once the receiver acts on it, the
		// count includes it.
		p.counts[dir].Add(1)
		if _, err := to.Write(append(hdr, body...)); err != nil {
			return
		}
	}
}

// TestFaultPeerAbortEveryStep cuts the connection at every record of the
// handshake, in each direction, whole or mid-record, with FIN or RST,
// for TLS 1.3 and TLS 1.2 with mutual authentication and both keys
// offloaded (so a key op is parked on one side or the other at many of
// the cuts). Both sides must end promptly with an I/O error, never a
// timeout; the side whose peer's record was cut must fail; nothing leaks.
func TestFaultPeerAbortEveryStep(t *testing.T) {
	ec, rs, _ := testKeys(t)
	for _, policy := range []string{"default_tls13", policyTLS12} {
		t.Run(policy, func(t *testing.T) {
			var pendingAtCut [2]int // cuts with a server, client key op parked
			type setup struct {
				serverSigner, clientSigner *faultySigner
				addr                       string
				accept                     func() *Conn
				clientCfg                  *Config
			}
			newSetup := func(t *testing.T, aborts func() <-chan struct{}) *setup {
				// A key op waits for the cut (or 20 ms), so cuts that
				// come while it is parked find it parked.
				wait := func() {
					select {
					case <-aborts():
					case <-time.After(20 * time.Millisecond):
					}
				}
				s := &setup{
					serverSigner: &faultySigner{key: ec.signer, wait: wait},
					clientSigner: &faultySigner{key: rs.signer, wait: wait},
				}
				serverCfg := newTestConfig(t, configOpts{policy: policy, trust: rs, clientAuth: ClientAuthRequired})
				require.NoError(t, serverCfg.AddCertChainWithSigner(ec.certPEM, s.serverSigner))
				s.clientCfg = newTestConfig(t, configOpts{policy: policy, trust: ec, clientAuth: ClientAuthRequired})
				require.NoError(t, s.clientCfg.AddCertChainWithSigner(rs.certPEM, s.clientSigner))
				s.addr, s.accept = acceptConns(t, serverCfg)
				return s
			}
			// run does one handshake through a proxy with the given cut.
			run := func(t *testing.T, cut relCut) (p *relProxy, serverErr, clientErr error, hs [2]int32) {
				var proxy *relProxy
				s := newSetup(t, func() <-chan struct{} { return proxy.aborts })
				_, port, err := net.SplitHostPort(s.addr)
				require.NoError(t, err)
				proxy = relStartProxy(t, net.JoinHostPort("127.0.0.1", port), cut, func() [2]bool {
					return [2]bool{s.serverSigner.inside.Load() > 0, s.clientSigner.inside.Load() > 0}
				})
				base := settledStats(t)
				cli := dialClient(t, proxy.addr(), s.clientCfg)
				clientErrs := make(chan error, 1)
				go func() {
					ctx, cancel := context.WithTimeout(context.Background(), testHandshakeTimeout)
					defer cancel()
					clientErrs <- cli.HandshakeContext(ctx)
				}()
				srv := s.accept()
				ctx, cancel := context.WithTimeout(context.Background(), testHandshakeTimeout)
				serverErr = srv.HandshakeContext(ctx)
				cancel()
				clientErr = await(t, clientErrs, "client handshake")
				hs = [2]int32{proxy.counts[0].Load(), proxy.counts[1].Load()}
				for i := range pendingAtCut {
					if proxy.wasPending[i].Load() {
						pendingAtCut[i]++
					}
				}
				// After a completed handshake Close sends close_notify,
				// and reports that it could not if the peer is gone.
				for _, c := range []*Conn{cli, srv} {
					if err := c.Close(); err != nil {
						require.True(t, isAbortErr(err), "Close: %v", err)
					}
				}
				requireSettled(t, base, cut.String())
				// With both ends closed the relays end; wait, so the
				// abort (if any) is complete.
				relays := make(chan struct{})
				go func() { proxy.wg.Wait(); close(relays) }()
				await(t, relays, "proxy")
				return proxy, serverErr, clientErr, hs
			}

			// Calibrate: a clean run, counting each direction's handshake
			// records.
			_, serverErr, clientErr, hs := run(t, relCut{dir: 0, record: 1 << 20})
			require.NoError(t, serverErr)
			require.NoError(t, clientErr)
			require.Positive(t, hs[0])
			require.Positive(t, hs[1])
			cases := 0
			for dir := range 2 {
				for record := range int(hs[dir]) {
					for _, partial := range []bool{false, true} {
						for _, rst := range []bool{false, true} {
							cut := relCut{dir: dir, record: record, partial: partial, rst: rst}
							cases++
							t.Run(cut.String(), func(t *testing.T) {
								p, serverErr, clientErr, _ := run(t, cut)
								select {
								case <-p.aborts:
								default:
									t.Fatalf("the cut never happened: server %v, client %v, relayed %d+%d records, types %v",
										serverErr, clientErr, p.counts[0].Load(), p.counts[1].Load(), p.recordTypes)
								}
								for side, err := range map[string]error{"server": serverErr, "client": clientErr} {
									if err != nil {
										require.True(t, isAbortErr(err), "%s: %v", side, err)
										require.False(t, isTimeout(err), "%s noticed only at its deadline: %v", side, err)
									}
								}
								// The receiver of a cut handshake record can never finish.
								if dir == 0 {
									require.Error(t, serverErr, "server")
								} else {
									require.Error(t, clientErr, "client")
								}
							})
						}
					}
				}
			}
			t.Logf("%s: %d+%d handshake records, %d cuts; a server key op was parked at %d of them, a client key op at %d",
				policy, hs[0], hs[1], cases, pendingAtCut[0], pendingAtCut[1])
			require.Positive(t, pendingAtCut[0], "some cuts came while the server's key op was parked")
			require.Positive(t, pendingAtCut[1], "some cuts came while the client's key op was parked")
		})
	}
}

// TestFaultBlindingAfterReadFailure: a record that fails to decrypt after
// the handshake makes s2n ask for blinding (Connection.Delay; 1-3 s with
// the cap set here, 10-30 s by default), exactly as a failed handshake
// does. Conn promises to honour it with a timer; the peer must not see the
// transport close before the delay, and Close must not fail because s2n
// refuses close_notify while paused.
//
// Regression (fixed in f8722eb): only the handshake called Conn.failed, so
// after a post-handshake failure Close closed the transport at once (the
// peer learnt of the failure immediately, the timing signal blinding is
// there to hide) after trying close_notify, which s2n refuses: Close
// returned S2N_ERR_SHUTDOWN_PAUSED.
func TestFaultBlindingAfterReadFailure(t *testing.T) {
	ec, _, _ := testKeys(t)
	serverCfg := signerConfig(t, "default_tls13", ec, &faultySigner{key: ec.signer})
	require.NoError(t, serverCfg.SetMaxBlindingDelay(3*time.Second)) // s2n's minimum is a third
	clientCfg := clientConfig(t, "default_tls13", ec)
	addr, accept := acceptConns(t, serverCfg)
	_, port, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	proxy := relStartProxy(t, net.JoinHostPort("127.0.0.1", port), relCut{record: 1 << 20}, nil)
	base := settledStats(t)
	cli := dialClient(t, proxy.addr(), clientCfg)
	clientErr := make(chan error, 1)
	go func() { clientErr <- cli.Handshake() }()
	srv := accept()
	require.NoError(t, srv.Handshake())
	require.NoError(t, await(t, clientErr, "client handshake"))

	proxy.corruptNext[0].Store(true)
	_, err = cli.Write([]byte("tampered in flight"))
	require.NoError(t, err)
	_, err = srv.Read(make([]byte, 64))
	requireS2nError(t, err, "S2N_ERR_DECRYPT")
	delay := srv.Connection().Delay()
	require.GreaterOrEqual(t, delay, time.Second, "s2n asks for blinding")

	closeErr := srv.Close()
	peerErr := make(chan error, 1)
	go func() {
		_, err := cli.Read(make([]byte, 1))
		peerErr <- err
	}()
	var early error
	select {
	case early = <-peerErr:
	case <-time.After(delay / 2):
	}
	require.NoError(t, cli.Close())
	if early == nil {
		await(t, peerErr, "client read")
	}
	requireSettled(t, base, "blinding after a read failure")
	require.NoError(t, closeErr, "Close after a blinded failure")
	require.NoError(t, early, "the peer saw the transport close before the blinding delay (%v) had passed", delay)
}
