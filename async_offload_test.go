package s2n

import (
	"crypto/tls"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// offloadConfig adds to cfg an offload callback for signature verification
// that hands every op to ops.
func offloadConfig(t *testing.T, cfg *Config) <-chan *AsyncOffloadOp {
	t.Helper()
	ops := make(chan *AsyncOffloadOp, 4)
	require.NoError(t, cfg.SetAsyncOffloadCallback(AsyncOffloadPkeyVerify, func(_ *Connection, op *AsyncOffloadOp) error {
		ops <- op
		return nil
	}))
	return ops
}

// TestAsyncOffloadVerifyOnAnotherGoroutine: with TLS 1.3 client
// authentication, each side's verification of the peer's CertificateVerify
// is handed to the callback; the handshake waits, BlockedOnApplicationInput,
// until another goroutine performs it, then completes.
func TestAsyncOffloadVerifyOnAnotherGoroutine(t *testing.T) {
	ec, _, ec2 := testKeys(t)
	clientKey := makeTestKeyFor(t, "client", "client.example", ec2.signer)
	server := newTestConfig(t, configOpts{policy: "default_tls13", chain: ec, trust: clientKey, clientAuth: ClientAuthRequired})
	require.NoError(t, server.SetVerifyHostCallback(func(string) bool { return true }))
	client := newTestConfig(t, configOpts{policy: "default_tls13", chain: clientKey, trust: ec, clientAuth: ClientAuthRequired})
	clientOps, serverOps := offloadConfig(t, client), offloadConfig(t, server)
	p := newPair(t, server, client)

	for _, side := range []struct {
		name string
		conn *Connection
		ops  <-chan *AsyncOffloadOp
	}{{"client", p.client, clientOps}, {"server", p.server, serverOps}} {
		op := blockOnOp(t, p, side.ops)
		for range 3 {
			blocked, err := side.conn.Negotiate()
			require.ErrorIs(t, err, ErrBlocked, side.name)
			require.Equal(t, BlockedOnApplicationInput, blocked, "%s waits for the op", side.name)
		}
		done := make(chan error)
		go func() { done <- op.Perform() }()
		require.NoError(t, await(t, done, side.name+" Perform"))
		requireS2nError(t, op.Perform(), nameAlreadyApplied, ErrUsage)
	}
	p.handshake(t)
	p.exchange(t)
	require.Empty(t, clientOps, "one op per side")
	require.Empty(t, serverOps, "one op per side")
}

// TestAsyncOffloadPerformInCallback: performed inside the callback, the
// operation completes synchronously, in TLS 1.3 and in TLS 1.2 (the
// client's verification of the ServerKeyExchange), against crypto/tls.
func TestAsyncOffloadPerformInCallback(t *testing.T) {
	ec, rs, _ := testKeys(t)
	for _, tc := range []struct {
		policy string
		key    *testKey
	}{{"default_tls13", ec}, {policyTLS12, ec}, {policyTLS12, rs}} {
		cfg := newTestConfig(t, configOpts{policy: tc.policy, trust: tc.key})
		var calls atomic.Int32
		var conns []*Connection
		require.NoError(t, cfg.SetAsyncOffloadCallback(AsyncOffloadAllowAll, func(conn *Connection, op *AsyncOffloadOp) error {
			calls.Add(1)
			conns = append(conns, conn)
			return op.Perform()
		}))
		r := goPeerHandshake(t, ModeClient, cfg, goPeerConfig(t, tc.key))
		require.NoError(t, r.err, "%s/%s", tc.policy, tc.key.name)
		require.NoError(t, r.goErr)
		require.EqualValues(t, 1, calls.Load(), "%s/%s: one verification offloaded", tc.policy, tc.key.name)
		require.Equal(t, []*Connection{r.conn}, conns, "the callback gets the application's own Connection")
	}
}

// TestAsyncOffloadBadSignature: a server whose signatures come from the
// wrong key: the offloaded verification fails, Perform says why, and so
// does the client's next Negotiate.
func TestAsyncOffloadBadSignature(t *testing.T) {
	ec, _, _ := testKeys(t)
	// The server's key operations are answered, without validation, by
	// the wrong key.
	bad := wrongKey(t, ec)
	server := newTestConfig(t, configOpts{policy: "default_tls13", public: ec,
		fn: func(conn *Connection, op *AsyncPkeyOp) error {
			defer op.Free()
			return signAndApply(conn, op, bad)
		}})
	client := clientConfig(t, "default_tls13", ec)
	ops := offloadConfig(t, client)
	p := newPair(t, server, client)
	op := blockOnOp(t, p, ops)
	done := make(chan error)
	go func() { done <- op.Perform() }()
	requireS2nError(t, await(t, done, "Perform"), "S2N_ERR_VERIFY_SIGNATURE")
	_, err := p.client.Negotiate()
	requireS2nError(t, err, "S2N_ERR_VERIFY_SIGNATURE")
}

// TestAsyncOffloadCallbackFails: an error or a panic of the callback fails
// the handshake with it as the cause, and its op can no longer be
// performed.
func TestAsyncOffloadCallbackFails(t *testing.T) {
	ec, _, _ := testKeys(t)
	errMine := errors.New("no verification today")
	for _, panics := range []bool{false, true} {
		client := clientConfig(t, "default_tls13", ec)
		var got *AsyncOffloadOp
		require.NoError(t, client.SetAsyncOffloadCallback(AsyncOffloadPkeyVerify, func(_ *Connection, op *AsyncOffloadOp) error {
			got = op
			if panics {
				panic(errMine)
			}
			return errMine
		}))
		p := newPair(t, newTestConfig(t, configOpts{policy: "default_tls13", chain: ec}), client)
		_, c := p.drive(t, 10e9)
		require.Error(t, c.err)
		if panics {
			var pe *PanicError
			require.ErrorAs(t, c.err, &pe)
			require.Equal(t, errMine, pe.Value)
		} else {
			require.ErrorIs(t, c.err, errMine)
		}
		requireS2nError(t, c.err, "S2N_ERR_CANCELLED")
		require.NotNil(t, got)
		requireS2nError(t, got.Perform(), nameAlreadyApplied, ErrUsage)
	}
}

// TestAsyncOffloadOpLifetime: an op of a wiped or closed connection cannot
// be performed; bad arguments are refused.
func TestAsyncOffloadOpLifetime(t *testing.T) {
	ec, _, _ := testKeys(t)
	server := newTestConfig(t, configOpts{policy: "default_tls13", chain: ec})
	client := clientConfig(t, "default_tls13", ec)
	ops := offloadConfig(t, client)

	p := newPair(t, server, client)
	op := blockOnOp(t, p, ops)
	require.NoError(t, p.client.Wipe())
	requireS2nError(t, op.Perform(), nameClosed, ErrUsage)

	p = newPair(t, server, client)
	op = blockOnOp(t, p, ops)
	require.NoError(t, p.client.Close())
	requireS2nError(t, op.Perform(), nameClosed, ErrUsage)

	var nilOp *AsyncOffloadOp
	requireS2nError(t, nilOp.Perform(), nameInvalidArg, ErrUsage)
	requireS2nError(t, (&AsyncOffloadOp{}).Perform(), nameInvalidArg, ErrUsage)
	cfg := newTestConfig(t, configOpts{})
	requireS2nError(t, cfg.SetAsyncOffloadCallback(AsyncOffloadPkeyVerify, nil), nameInvalidArg, ErrUsage)
	requireS2nError(t, cfg.SetAsyncOffloadCallback(0, func(*Connection, *AsyncOffloadOp) error { return nil }), "S2N_ERR_INVALID_ARGUMENT")
	require.Empty(t, settingNames(cfg), "refused calls are not recorded")
}

// TestAsyncOffloadConn: a Conn client whose verification is performed on
// another goroutine completes its handshake with a crypto/tls server (its
// handshake waits for Perform) and exchanges data.
func TestAsyncOffloadConn(t *testing.T) {
	ec, _, _ := testKeys(t)
	cfg := clientConfig(t, "default_tls13", ec)
	// Perform wakes the handshake before it returns: its result is sent
	// on a channel rather than counted, which the handshake could outrun.
	performed := make(chan error, 2)
	require.NoError(t, cfg.SetAsyncOffloadCallback(AsyncOffloadPkeyVerify, func(_ *Connection, op *AsyncOffloadOp) error {
		go func() { performed <- op.Perform() }()
		return nil
	}))
	addr, results := serveGoTLS(t, &tls.Config{Certificates: []tls.Certificate{goCert(ec)}}, 1, func(c *tls.Conn) error {
		buf := make([]byte, 5)
		if _, err := c.Read(buf); err != nil {
			return err
		}
		_, err := c.Write(buf)
		return err
	})
	c := dialClient(t, addr, cfg)
	require.NoError(t, c.Handshake())
	require.NoError(t, await(t, performed, "Perform"))
	require.Empty(t, performed, "one verification offloaded")
	_, err := c.Write([]byte("hello"))
	require.NoError(t, err)
	buf := make([]byte, 5)
	_, err = c.Read(buf)
	require.NoError(t, err)
	require.Equal(t, "hello", string(buf))
	require.NoError(t, await(t, results, "crypto/tls server"))
}
