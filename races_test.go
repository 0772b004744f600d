package s2n

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Close racing with everything else, many times over, with random small
// delays: run these with -race. Every call must return (a watchdog fails
// the test rather than let it hang), with an error of the expected kind,
// and nothing may leak.

// raceIterations is how many times each race is run; S2N_RACE_N=N runs
// N, for longer hunts.
var raceIterations = 200

func init() {
	if n, err := strconv.Atoi(os.Getenv("S2N_RACE_N")); err == nil && n > 0 {
		raceIterations = n
	}
}

// raceWatchdog is how long one iteration may take before it is a wedge.
const raceWatchdog = 30 * time.Second

// raceJitter sleeps a random short while (sometimes not at all), to
// shuffle the interleavings.
func raceJitter() {
	switch n := mrand.IntN(10); {
	case n < 3:
	case n < 5:
		runtime.Gosched()
	default:
		time.Sleep(time.Duration(mrand.IntN(400)) * time.Microsecond)
	}
}

// raceGroup runs functions concurrently and waits for all of them under
// the watchdog.
type raceGroup struct {
	wg       sync.WaitGroup
	mu       sync.Mutex
	names    map[string]bool // still running
	failures []string        // reported by Wait, on the test's goroutine
}

// Errorf records a failure seen on one of the group's goroutines.
func (g *raceGroup) Errorf(format string, args ...any) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.failures = append(g.failures, fmt.Sprintf(format, args...))
}

func (g *raceGroup) Go(name string, f func()) {
	g.mu.Lock()
	if g.names == nil {
		g.names = map[string]bool{}
	}
	g.names[name] = true
	g.mu.Unlock()
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		defer func() {
			g.mu.Lock()
			delete(g.names, name)
			g.mu.Unlock()
		}()
		f()
	}()
}

// Wait fails the test, with every goroutine's stack, if anything is still
// running after raceWatchdog.
func (g *raceGroup) Wait(t testing.TB, what string) {
	t.Helper()
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	select {
	case <-done:
		for _, f := range g.failures {
			t.Errorf("%s: %s", what, f)
		}
	case <-time.After(raceWatchdog):
		g.mu.Lock()
		stuck := fmt.Sprint(g.names)
		g.mu.Unlock()
		t.Fatalf("%s: wedged, still running: %s\n%s", what, stuck, goroutineStacks())
	}
}

// TestRaceCloseVsApplyLowLevel: on the low-level API, Apply from one
// goroutine, Negotiate from another and Close from two more, all at once.
// Apply and Negotiate either work or get the binding's closed error; the op
// is freed exactly once.
func TestRaceCloseVsApplyLowLevel(t *testing.T) {
	ec, _, _ := testKeys(t)
	ops := make(chan *AsyncPkeyOp, 1)
	serverCfg := newTestConfig(t, configOpts{policy: "default_tls13", public: ec, fn: func(_ *Connection, op *AsyncPkeyOp) error {
		ops <- op
		return nil
	}})
	clientCfg := newTestConfig(t, configOpts{policy: "default_tls13", trust: ec})
	base := settledStats(t)
	outcomes := map[string]int{}
	for i := range raceIterations {
		func() {
			p := newPair(t, serverCfg, clientCfg)
			op := blockOnOp(t, p, ops)
			sig := opSignature(t, p.server, op, ec.signer)
			var applyErr, negErr error
			var g raceGroup
			serverDone := make(chan struct{})
			g.Go("apply", func() {
				raceJitter()
				applyErr = answerOp(p.server, op, sig)
			})
			g.Go("negotiate", func() {
				defer close(serverDone)
				for {
					raceJitter()
					_, err := p.server.Negotiate()
					if err == nil || !errors.Is(err, ErrBlocked) {
						negErr = err
						return
					}
				}
			})
			g.Go("client", func() {
				for {
					if _, err := p.client.Negotiate(); err == nil || !errors.Is(err, ErrBlocked) {
						return
					}
					select {
					case <-serverDone:
						return
					default:
						runtime.Gosched()
					}
				}
			})
			for _, name := range []string{"close 1", "close 2"} {
				g.Go(name, func() {
					raceJitter()
					if err := p.server.Close(); err != nil {
						g.Errorf("Close: %v", err)
					}
				})
			}
			g.Wait(t, fmt.Sprintf("iteration %d", i))
			require.NoError(t, op.Free())
			if applyErr != nil {
				requireS2nError(t, applyErr, nameClosed, ErrUsage)
				outcomes["apply lost"]++
			} else {
				outcomes["apply won"]++
			}
			if negErr != nil {
				requireS2nError(t, negErr, nameClosed, ErrUsage)
			} else {
				outcomes["handshake completed"]++
			}
			p.client.Close()
			require.Equal(t, base.PendingOps, Stats().PendingOps)
		}()
	}
	t.Logf("outcomes over %d iterations: %v", raceIterations, outcomes)
	requireSettled(t, base, "low-level Close vs Apply")
}

// raceEcho runs the handshake and echoes until an error, which it returns.
func raceEcho(c *Conn) error {
	ctx, cancel := context.WithTimeout(context.Background(), raceWatchdog)
	defer cancel()
	if err := c.HandshakeContext(ctx); err != nil {
		return err
	}
	c.SetDeadline(time.Now().Add(raceWatchdog))
	_, err := io.Copy(struct{ io.Writer }{c}, struct{ io.Reader }{c})
	return err
}

// TestRaceCloseVsApplyConn: a Conn whose AsyncPkeyFunc hands the op to a
// goroutine that answers after a random delay, while Close comes from two
// other goroutines at a random moment. The handshake ends with success or
// net.ErrClosed; the late Apply with nil or the closed error.
func TestRaceCloseVsApplyConn(t *testing.T) {
	ec, _, _ := testKeys(t)
	type pending struct {
		conn *Connection
		op   *AsyncPkeyOp
	}
	ops := make(chan pending, 1)
	serverCfg := asyncConfig(t, "default_tls13", ec, func(conn *Connection, op *AsyncPkeyOp) error {
		ops <- pending{conn, op}
		return nil
	})
	clientCfg := clientConfig(t, "default_tls13", ec)
	addr, accept := acceptConns(t, serverCfg)
	base := settledStats(t)
	outcomes := map[string]int{}
	for i := range raceIterations {
		cli := dialClient(t, addr, clientCfg)
		var g raceGroup
		var clientErr error
		g.Go("client handshake", func() {
			ctx, cancel := context.WithTimeout(context.Background(), raceWatchdog)
			defer cancel()
			clientErr = cli.HandshakeContext(ctx)
		})
		srv := accept()
		var serverErr, applyErr error
		g.Go("server handshake", func() {
			ctx, cancel := context.WithTimeout(context.Background(), raceWatchdog)
			defer cancel()
			serverErr = srv.HandshakeContext(ctx)
		})
		q := await(t, ops, "key op")
		g.Go("apply", func() {
			defer q.op.Free()
			raceJitter()
			applyErr = signAndApply(q.conn, q.op, ec.signer)
		})
		var closeErrs [2]error
		for j := range closeErrs {
			g.Go(fmt.Sprintf("close %d", j), func() {
				raceJitter()
				closeErrs[j] = srv.Close()
			})
		}
		g.Wait(t, fmt.Sprintf("iteration %d", i))
		for _, err := range closeErrs {
			if err != nil {
				// close_notify could not be sent: the peer is gone.
				require.True(t, isAbortErr(err), "Close: %v (server %v, client %v)", err, serverErr, clientErr)
				outcomes["close_notify failed"]++
			}
		}
		if applyErr != nil {
			requireS2nError(t, applyErr, nameClosed, ErrUsage)
			outcomes["apply lost"]++
		}
		switch {
		case serverErr == nil:
			outcomes["handshake completed"]++
		case errors.Is(serverErr, errOpAbandoned):
			// Close's own freeing of the op reported as the cause
			// (see TestFaultCloseBeforeKeyWaitReportsClosed).
			outcomes["misreported as abandoned op"]++
		default:
			require.ErrorIs(t, serverErr, net.ErrClosed, "iteration %d", i)
			outcomes["closed under the handshake"]++
		}
		if clientErr != nil {
			require.True(t, isAbortErr(clientErr), "client: %v", clientErr)
		}
		if err := cli.Close(); err != nil {
			require.True(t, isAbortErr(err), "client Close: %v", err)
		}
		require.Equal(t, base.PendingOps, Stats().PendingOps)
	}
	t.Logf("outcomes over %d iterations: %v", raceIterations, outcomes)
	requireSettled(t, base, "Conn Close vs Apply")
	require.Zero(t, outcomes["misreported as abandoned op"], "handshakes closed under them must report net.ErrClosed")
}

// TestRaceCloseVsHandshake: Close from two goroutines while two others
// call HandshakeContext on the same Conn, on the client and on the server
// (whose key is a signer with a random delay). Calls end with success,
// net.ErrClosed, or, on the side that did not close, an I/O error.
func TestRaceCloseVsHandshake(t *testing.T) {
	ec, _, _ := testKeys(t)
	signer := &faultySigner{key: ec.signer, wait: raceJitter}
	serverCfg := signerConfig(t, "default_tls13", ec, signer)
	clientCfg := clientConfig(t, "default_tls13", ec)
	addr, accept := acceptConns(t, serverCfg)
	base := settledStats(t)
	outcomes := map[string]int{}
	for i := range raceIterations {
		cli := dialClient(t, addr, clientCfg)
		srv := accept()
		// Alternate which side is closed under its handshake.
		closing, other := cli, srv
		if i%2 == 1 {
			closing, other = srv, cli
		}
		var g raceGroup
		var errs [2]error
		var otherErr error
		for j := range errs {
			g.Go(fmt.Sprintf("handshake %d", j), func() {
				raceJitter()
				ctx, cancel := context.WithTimeout(context.Background(), raceWatchdog)
				defer cancel()
				errs[j] = closing.HandshakeContext(ctx)
			})
		}
		g.Go("peer handshake", func() {
			ctx, cancel := context.WithTimeout(context.Background(), raceWatchdog)
			defer cancel()
			otherErr = other.HandshakeContext(ctx)
			if otherErr == nil {
				// Wait for the closing side to go.
				_, otherErr = other.Read(make([]byte, 1))
				if otherErr == io.EOF {
					otherErr = nil
				}
			}
		})
		for _, name := range []string{"close 1", "close 2"} {
			g.Go(name, func() {
				raceJitter()
				if err := closing.Close(); err != nil && !isAbortErr(err) {
					g.Errorf("Close: %v", err)
				}
			})
		}
		g.Wait(t, fmt.Sprintf("iteration %d", i))
		require.Equal(t, errs[0], errs[1], "both callers see the one handshake's result")
		switch {
		case errs[0] == nil:
			outcomes["completed first"]++
		case errors.Is(errs[0], errOpAbandoned):
			// See TestFaultCloseBeforeKeyWaitReportsClosed.
			outcomes["misreported as abandoned op"]++
		default:
			require.ErrorIs(t, errs[0], net.ErrClosed, "iteration %d: %v", i, errs[0])
			outcomes["closed under it"]++
		}
		if otherErr != nil {
			require.True(t, isAbortErr(otherErr), "peer: %v", otherErr)
			require.False(t, isTimeout(otherErr), "peer: %v", otherErr)
		}
		if err := other.Close(); err != nil {
			require.True(t, isAbortErr(err), "peer Close: %v", err)
		}
		// The handshake's result is final.
		require.Equal(t, errs[0], closing.Handshake())
	}
	t.Logf("outcomes over %d iterations: %v", raceIterations, outcomes)
	requireSettled(t, base, "Close vs HandshakeContext")
	require.Zero(t, outcomes["misreported as abandoned op"], "handshakes closed under them must report net.ErrClosed")
}

// TestRaceCloseVsReadWrite: a connection busy in both directions (a
// reader, a writer, a peer that echoes) is closed from two goroutines at a
// random moment. Read and Write return net.ErrClosed; nothing wedges.
func TestRaceCloseVsReadWrite(t *testing.T) {
	ec, _, _ := testKeys(t)
	addr, _ := serveResults(t, signerConfig(t, "default_tls13", ec, &faultySigner{key: ec.signer}), 0, raceEcho)
	clientCfg := clientConfig(t, "default_tls13", ec)
	base := settledStats(t)
	outcomes := map[string]int{}
	var wrong []string
	chunk := make([]byte, 4096)
	for i := range raceIterations {
		c, err := Dial("tcp", addr, clientCfg)
		require.NoError(t, err)
		var g raceGroup
		var readErr, writeErr error
		g.Go("reader", func() {
			buf := make([]byte, 1024)
			for {
				if _, readErr = c.Read(buf); readErr != nil {
					return
				}
			}
		})
		g.Go("writer", func() {
			for {
				if _, writeErr = c.Write(chunk); writeErr != nil {
					return
				}
				if mrand.IntN(4) == 0 {
					raceJitter()
				}
			}
		})
		for _, name := range []string{"close 1", "close 2"} {
			g.Go(name, func() {
				time.Sleep(time.Duration(mrand.IntN(3000)) * time.Microsecond)
				if err := c.Close(); err != nil && !isAbortErr(err) {
					g.Errorf("Close: %v", err)
				}
			})
		}
		g.Wait(t, fmt.Sprintf("iteration %d", i))
		// Read may also see the peer's close_notify, answering ours,
		// before the local Close has finished: a clean io.EOF.
		if readErr != io.EOF && !errors.Is(readErr, net.ErrClosed) {
			wrong = append(wrong, fmt.Sprintf("iteration %d: Read: %v", i, readErr))
		}
		if !errors.Is(writeErr, net.ErrClosed) {
			wrong = append(wrong, fmt.Sprintf("iteration %d: Write: %v", i, writeErr))
		}
		outcomes[fmt.Sprintf("read: %v / write: %v", raceKind(readErr), raceKind(writeErr))]++
	}
	t.Logf("outcomes over %d iterations: %v", raceIterations, outcomes)
	requireSettled(t, base, "Close vs Read/Write")
	// Regression (fixed in f8722eb): a Write that ran after Close sent
	// close_notify, but before it freed the connection, got s2n's
	// S2N_ERR_CLOSED, which wrapErr mapped to io.ErrUnexpectedEOF (a
	// vanished peer) instead of net.ErrClosed: about 1 in 5 iterations.
	require.Empty(t, wrong, "calls on a Conn closed locally must return net.ErrClosed (%d wrong of %d)", len(wrong), raceIterations)
}

// TestRaceEverythingAtOnce: per iteration, one client Conn gets
// HandshakeContext, Read, Write, ConnectionState and two Closes from six
// goroutines, each after a random delay, against a server whose key answers
// after a random delay and that itself closes at a random moment.
func TestRaceEverythingAtOnce(t *testing.T) {
	ec, _, _ := testKeys(t)
	signer := &faultySigner{key: ec.signer, wait: raceJitter}
	addr, _ := serveResults(t, signerConfig(t, "default_tls13", ec, signer), 0, func(c *Conn) error {
		if mrand.IntN(3) == 0 {
			time.AfterFunc(time.Duration(mrand.IntN(3000))*time.Microsecond, func() { c.Close() })
		}
		return raceEcho(c)
	})
	clientCfg := clientConfig(t, "default_tls13", ec)
	base := settledStats(t)
	stateLost := 0
	for i := range raceIterations {
		cli := dialClient(t, addr, clientCfg)
		var g raceGroup
		var hsErr, readErr, writeErr error
		g.Go("handshake", func() {
			raceJitter()
			ctx, cancel := context.WithTimeout(context.Background(), raceWatchdog)
			defer cancel()
			hsErr = cli.HandshakeContext(ctx)
		})
		g.Go("read", func() {
			raceJitter()
			buf := make([]byte, 512)
			for readErr == nil {
				_, readErr = cli.Read(buf)
			}
		})
		g.Go("write", func() {
			raceJitter()
			for writeErr == nil {
				_, writeErr = cli.Write([]byte("ping"))
				raceJitter()
			}
		})
		var st tls.ConnectionState
		g.Go("state", func() {
			raceJitter()
			st = cli.ConnectionState()
		})
		for _, name := range []string{"close 1", "close 2"} {
			g.Go(name, func() {
				time.Sleep(time.Duration(mrand.IntN(4000)) * time.Microsecond)
				if err := cli.Close(); err != nil && !isAbortErr(err) {
					g.Errorf("Close: %v", err)
				}
			})
		}
		g.Wait(t, fmt.Sprintf("iteration %d", i))
		for name, err := range map[string]error{"handshake": hsErr, "read": readErr, "write": writeErr} {
			if err != nil {
				require.True(t, isAbortErr(err), "iteration %d: %s: %v", i, name, err)
				require.False(t, isTimeout(err), "iteration %d: %s: %v", i, name, err)
				require.NotErrorIs(t, err, errOpAbandoned)
			}
		}
		require.Error(t, readErr, "Read ends only with an error")
		if st.HandshakeComplete && st.Version != tls.VersionTLS13 {
			// See TestRaceConnectionStateAfterClose.
			stateLost++
		}
	}
	require.Zero(t, stateLost, "ConnectionState reported a complete handshake with no parameters")
	requireSettled(t, base, "everything at once")
}

// raceKind names an error's kind for the outcome tally.
func raceKind(err error) string {
	switch {
	case err == nil:
		return "nil"
	case err == io.EOF:
		return "EOF"
	case errors.Is(err, net.ErrClosed):
		var se *Error
		if errors.As(err, &se) {
			return "ErrClosed(s2n " + se.Name + ")"
		}
		return "ErrClosed(transport)"
	}
	return fmt.Sprintf("%T", err)
}

// TestRaceConnectionStateAfterClose: ConnectionState after (or while) the
// Conn is closed must stay self-consistent: a complete handshake comes
// with its version and cipher suite, as crypto/tls keeps them.
//
// Regression (fixed in f8722eb): ConnectionState read HandshakeComplete
// from the Conn but every negotiated parameter from the s2n connection,
// which Close frees: after Close, a complete handshake with version 0, no
// cipher suite and no peer certificates.
func TestRaceConnectionStateAfterClose(t *testing.T) {
	ec, _, _ := testKeys(t)
	addr, _ := serveResults(t, signerConfig(t, "default_tls13", ec, &faultySigner{key: ec.signer}), 0, raceEcho)
	c, err := Dial("tcp", addr, clientConfig(t, "default_tls13", ec))
	require.NoError(t, err)
	before := c.ConnectionState()
	require.True(t, before.HandshakeComplete)
	require.Equal(t, uint16(tls.VersionTLS13), before.Version)
	require.NoError(t, c.Close())
	after := c.ConnectionState()
	require.Equal(t, before.HandshakeComplete, after.HandshakeComplete)
	require.Equal(t, before.Version, after.Version, "version after Close")
	require.Equal(t, before.CipherSuite, after.CipherSuite, "cipher suite after Close")
	require.Len(t, after.PeerCertificates, len(before.PeerCertificates), "peer certificates after Close")
}

// TestRaceConnectionStateDuringClose: ConnectionState spun on one goroutine
// while the handshake completes and Close follows at once on others: every
// answer must be self-consistent (a complete handshake has a version and a
// cipher suite), before, during and after Close.
func TestRaceConnectionStateDuringClose(t *testing.T) {
	ec, _, _ := testKeys(t)
	addr, _ := serveResults(t, signerConfig(t, "default_tls13", ec, &faultySigner{key: ec.signer}), 0, raceEcho)
	clientCfg := clientConfig(t, "default_tls13", ec)
	base := settledStats(t)
	inconsistent, seen := 0, 0
	for i := range raceIterations {
		cli := dialClient(t, addr, clientCfg)
		stop := make(chan struct{})
		var g raceGroup
		var bad, complete int
		g.Go("state", func() {
			for {
				st := cli.ConnectionState()
				if st.HandshakeComplete {
					complete++
					if st.Version != tls.VersionTLS13 || st.CipherSuite == 0 {
						bad++
					}
				}
				select {
				case <-stop:
					return
				default:
				}
			}
		})
		g.Go("handshake, then close", func() {
			defer close(stop)
			cli.Handshake()
			raceJitter()
			if err := cli.Close(); err != nil && !isAbortErr(err) {
				g.Errorf("Close: %v", err)
			}
		})
		g.Wait(t, fmt.Sprintf("iteration %d", i))
		inconsistent += bad
		seen += complete
	}
	requireSettled(t, base, "ConnectionState during Close")
	t.Logf("%d ConnectionState answers with a complete handshake, %d of them inconsistent", seen, inconsistent)
	require.Zero(t, inconsistent, "ConnectionState reported a complete handshake without its parameters")
}
