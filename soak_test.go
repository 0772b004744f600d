package s2n

import (
	"context"
	"crypto"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The soak: many handshakes over loopback through the net.Conn layer, with
// async keys completing in random order, random peer aborts and random key
// faults, in rounds. Between rounds every connection is closed, and the
// binding's counters (handles, pending ops, C allocations and bytes) and
// the process's RSS must come back to where they were after the warm-up
// round. S2N_SOAK=N runs N handshakes; by default a short version runs.

// soakServerDeadline ends handshakes whose key answers late.
const soakServerDeadline = time.Second

// soakLate is how late a "late" key answers: after its handshake's
// deadline, so the answer lands on a closed connection.
const soakLate = soakServerDeadline + 300*time.Millisecond

var (
	errSoakKMS      = errors.New("soak: kms unavailable")
	errSoakCallback = errors.New("soak: callback refused")
)

// soakFault is a fault and how often it is injected (per mille).
type soakFault struct {
	name     string
	perMille int
}

// Key faults of the signer path (crypto.Signer behind
// AddCertChainWithSigner).
var soakSignerFaults = []soakFault{
	{"error", 20}, {"panic", 10}, {"truncated", 15}, {"wrong key", 15}, {"late", 4},
}

// Key faults of the AsyncPkeyFunc path.
var soakCallbackFaults = []soakFault{
	{"callback error", 15}, {"free without apply", 15}, {"wrong key", 15}, {"answer twice", 20}, {"late", 4},
}

// Client behaviours: aborts at random moments.
var soakClientFaults = []soakFault{
	{"close before hello", 15}, {"abort (fin)", 40}, {"abort (rst)", 40}, {"abort after handshake", 20},
}

func soakPick(faults []soakFault) string {
	n := mrand.IntN(1000)
	for _, f := range faults {
		if n < f.perMille {
			return f.name
		}
		n -= f.perMille
	}
	return "none"
}

// soakTally counts outcomes by name, safely from many goroutines.
type soakTally struct {
	mu sync.Mutex
	m  map[string]int
}

func (t *soakTally) add(name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string]int{}
	}
	t.m[name]++
}

func (t *soakTally) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	keys := make([]string, 0, len(t.m))
	for k := range t.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%d ", k, t.m[k])
	}
	return strings.TrimSpace(b.String())
}

// soakSignerPlan is the chaos of the signer path, for a faultySigner's
// plan: a random delay (random completion order across connections), and
// now and then a fault, tallied in faults.
func soakSignerPlan(wrong crypto.Signer, faults *soakTally) func() signerFault {
	return func() signerFault {
		f := signerFault{delay: time.Duration(mrand.IntN(1500)) * time.Microsecond}
		fault := soakPick(soakSignerFaults)
		faults.add("signer " + fault)
		switch fault {
		case "error":
			f.err = errSoakKMS
		case "panic":
			f.panics = true
		case "wrong key":
			f.wrong = wrong
		case "late":
			f.delay += soakLate
		case "truncated":
			f.mangle = func(sig []byte) []byte { return sig[:len(sig)-1-mrand.IntN(len(sig)-1)] }
		}
		return f
	}
}

// soakResult is one side's outcome of one connection.
type soakResult struct {
	fault string // injected on this side ("none" if nothing)
	err   error
}

func TestSoak(t *testing.T) {
	total := envInt(t, "S2N_SOAK", 300)
	rounds := 10
	if total < 1000 {
		rounds = 3
	}
	perRound := max(1, total/rounds)
	workers := 16
	ec, _, ec2 := testKeys(t)

	faults := &soakTally{}
	clientOutcomes := &soakTally{}
	serverOutcomes := &soakTally{}

	// Server A: the key is a crypto.Signer.
	signer := &faultySigner{key: ec.signer, plan: soakSignerPlan(ec2.signer, faults)}
	cfgA := signerConfig(t, "default_tls13", ec, signer)

	// Server B: an AsyncPkeyFunc whose ops are completed by a pool of
	// appliers, in shuffled batches.
	type pending struct {
		conn  *Connection
		op    *AsyncPkeyOp
		fault string
	}
	var planned sync.Map // *Connection -> fault injected on its op
	queue := make(chan pending, 1024)
	cfgB := asyncConfig(t, "default_tls13", ec, func(conn *Connection, op *AsyncPkeyOp) error {
		fault := soakPick(soakCallbackFaults)
		faults.add("callback " + fault)
		planned.Store(conn, fault)
		if fault == "callback error" {
			return errSoakCallback // the binding frees the op
		}
		queue <- pending{conn, op, fault}
		return nil
	})
	var lateAnswers sync.WaitGroup
	var applierProblems soakTally
	apply := func(q pending) {
		defer q.op.Free()
		switch q.fault {
		case "free without apply":
		case "wrong key":
			if err := signAndApply(q.conn, q.op, ec2.signer); err == nil {
				applierProblems.add("strict validation let a wrong-key signature through")
			}
		case "answer twice":
			in, err := q.op.Input()
			if err != nil {
				return // the connection is gone already
			}
			opts, err := signerOpts(q.conn)
			if err != nil {
				return
			}
			sig, err := ec.signer.Sign(rand.Reader, in, opts)
			if err != nil {
				applierProblems.add(err.Error())
				return
			}
			if answerOp(q.conn, q.op, sig) == nil {
				var se *Error
				if err := answerOp(q.conn, q.op, sig); !errors.As(err, &se) || se.Name != nameAlreadyApplied {
					applierProblems.add(fmt.Sprintf("second answer: %v", err))
				}
			}
		default:
			signAndApply(q.conn, q.op, ec.signer)
		}
	}
	waitAppliers := applyShuffled(4, 6, queue, func(q pending) {
		if q.fault == "late" {
			lateAnswers.Add(1)
			time.AfterFunc(soakLate, func() { defer lateAnswers.Done(); apply(q) })
			return
		}
		apply(q)
	})
	defer func() {
		close(queue)
		waitAppliers()
		lateAnswers.Wait()
	}()

	// Servers: handshake under a deadline, then echo until the client
	// goes. Results are keyed by the client's address.
	// Results are keyed by the client's address: each connection of a
	// round dials from its own loopback address (127.1.0.0/16 and up), so
	// the key is unique even when ports are reused.
	var serverResults sync.Map // "round/addr" -> soakResult
	var dialed, served atomic.Int64
	var active atomic.Int32 // server handlers running
	var round atomic.Int32
	serve := func(cfg *Config, kind string) string {
		addr, _ := serveResults(t, cfg, 0, func(srv *Conn) error {
			active.Add(1)
			defer active.Add(-1)
			defer srv.Close() // before the handler counts as done
			ctx, cancel := context.WithTimeout(context.Background(), soakServerDeadline)
			err := srv.HandshakeContext(ctx)
			cancel()
			fault := "none"
			if f, ok := planned.LoadAndDelete(srv.Connection()); ok {
				fault = f.(string)
			}
			key := fmt.Sprintf("%d/%s", round.Load(), srv.RemoteAddr())
			serverResults.Store(key, soakResult{fault: kind + fault, err: err})
			served.Add(1)
			if err != nil {
				return err
			}
			srv.SetDeadline(time.Now().Add(testHandshakeTimeout))
			_, err = io.Copy(struct{ io.Writer }{srv}, struct{ io.Reader }{srv})
			return err
		})
		return addr
	}
	addrs := []string{serve(cfgA, "signer "), serve(cfgB, "callback ")}
	clientCfg := clientConfig(t, "default_tls13", ec)

	// One client connection, with a random abort now and then.
	type clientRecord struct {
		key    string
		result soakResult
	}
	msg := make([]byte, 1024)
	rand.Read(msg)
	connect := func(r, i int) (rec clientRecord, dialErr error) {
		src := &net.TCPAddr{IP: net.IPv4(127, byte(1+i>>16), byte(i>>8), byte(i))}
		d := net.Dialer{LocalAddr: src}
		raw, err := d.Dial("tcp", addrs[mrand.IntN(2)])
		if err != nil {
			return rec, err
		}
		dialed.Add(1)
		plan := soakPick(soakClientFaults)
		rec.key = fmt.Sprintf("%d/%s", r, raw.LocalAddr())
		rec.result.fault = plan
		if plan == "close before hello" {
			raw.Close()
			return rec, nil
		}
		c := Client(raw, clientCfg, "localhost")
		defer c.Close()
		if plan == "abort (fin)" || plan == "abort (rst)" {
			t := time.AfterFunc(time.Duration(mrand.IntN(4000))*time.Microsecond, func() {
				if plan == "abort (rst)" {
					raw.(*net.TCPConn).SetLinger(0)
				}
				c.Close()
			})
			defer t.Stop()
		}
		ctx, cancel := context.WithTimeout(context.Background(), testHandshakeTimeout)
		defer cancel()
		if err := c.HandshakeContext(ctx); err != nil {
			rec.result.err = err
			return rec, nil
		}
		if plan == "abort after handshake" {
			raw.(*net.TCPConn).SetLinger(0)
			return rec, nil
		}
		c.SetDeadline(time.Now().Add(testHandshakeTimeout))
		got := make([]byte, len(msg))
		if _, err := c.Write(msg); err != nil {
			rec.result.err = err
			return rec, nil
		}
		if _, err := io.ReadFull(c, got); err != nil {
			rec.result.err = err
			return rec, nil
		}
		if string(got) != string(msg) {
			rec.result.err = errors.New("echo differs")
		}
		return rec, nil
	}

	// Checks one connection's two sides against each other.
	var problems []string
	check := func(cli soakResult, srv soakResult, haveServer bool) {
		clientAborted := cli.fault != "none"
		if cli.err != nil {
			clientOutcomes.add("error: " + soakKind(cli.err))
		} else {
			clientOutcomes.add("ok")
		}
		if haveServer {
			if srv.err != nil {
				serverOutcomes.add("error: " + soakKind(srv.err))
			} else {
				serverOutcomes.add("ok")
			}
		}
		fail := func(format string, args ...any) {
			if len(problems) < 30 {
				problems = append(problems, fmt.Sprintf(format, args...)+fmt.Sprintf(" [client %s: %v; server %s: %v]", cli.fault, cli.err, srv.fault, srv.err))
			}
		}
		if cli.err != nil && !isAbortErr(cli.err) {
			fail("client error of an unexpected kind")
		}
		if cli.err != nil && isTimeout(cli.err) {
			fail("client hung until its deadline")
		}
		if !haveServer {
			return
		}
		if srv.err != nil && !soakServerErrOK(srv) {
			fail("server error of an unexpected kind")
		}
		if clientAborted {
			return // either side may fail, in any of the kinds above
		}
		if srv.err == nil && cli.err != nil {
			fail("the client failed though the server completed")
		}
		if srv.err != nil && !soakKeyErr(srv.err) {
			fail("the server failed, with no client abort, and not because of its key")
		}
		// The callback path knows the fault of each connection.
		want, planned := map[string]func(error) bool{
			"callback none":               func(err error) bool { return err == nil },
			"callback answer twice":       func(err error) bool { return err == nil },
			"callback callback error":     func(err error) bool { return errors.Is(err, errSoakCallback) },
			"callback free without apply": func(err error) bool { return errors.Is(err, errOpAbandoned) },
			"callback wrong key":          func(err error) bool { return errors.Is(err, errOpAbandoned) },
			"callback late":               func(err error) bool { return errors.Is(err, context.DeadlineExceeded) },
		}[srv.fault]
		if planned && !want(srv.err) {
			fail("the server's error does not match the fault injected")
		}
		if planned && srv.err == nil && cli.err != nil {
			fail("no fault injected, yet the client failed")
		}
	}

	runRound := func(r int) time.Duration {
		round.Store(int32(r))
		start := time.Now()
		jobs := make(chan int)
		records := make(chan clientRecord, perRound)
		var wg sync.WaitGroup
		var dialErrs atomic.Int32
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range jobs {
					rec, err := connect(r, i)
					if err != nil {
						dialErrs.Add(1)
						continue
					}
					records <- rec
				}
			}()
		}
		for i := range perRound {
			jobs <- i
		}
		close(jobs)
		wg.Wait()
		close(records)
		require.Zero(t, dialErrs.Load(), "dial errors")
		// Every server reports, late keys answer, then the round is
		// checked.
		require.Eventually(t, func() bool {
			return served.Load() == dialed.Load() && signer.inside.Load() == 0
		}, testHandshakeTimeout, time.Millisecond, "servers of round %d: %d of %d reported", r, served.Load(), dialed.Load())
		var all []clientRecord
		seen := map[string]int{}
		for rec := range records {
			all = append(all, rec)
			seen[rec.key]++
		}
		for _, rec := range all {
			v, ok := serverResults.LoadAndDelete(rec.key)
			var srv soakResult
			if ok {
				srv = v.(soakResult)
			}
			if seen[rec.key] != 1 || !ok {
				if len(problems) < 30 {
					problems = append(problems, fmt.Sprintf("connection %s: %d client records, server result %v", rec.key, seen[rec.key], ok))
				}
				ok = false
			}
			check(rec.result, srv, ok)
		}
		serverResults.Range(func(k, _ any) bool {
			serverResults.Delete(k)
			return true
		})
		return time.Since(start)
	}

	type snapshot struct {
		stats      RuntimeStats
		rssKB      int64
		goroutines int
	}
	take := func() snapshot {
		// Every server handler returns, every late answer lands.
		require.Eventually(t, func() bool { return active.Load() == 0 }, testHandshakeTimeout, time.Millisecond)
		lateAnswers.Wait()
		require.Eventually(t, func() bool { return Stats().PendingOps == 0 }, testHandshakeTimeout, time.Millisecond)
		runtime.GC()
		debug.FreeOSMemory()
		return snapshot{Stats(), procStatusKB(t, "VmRSS"), runtime.NumGoroutine()}
	}

	start := time.Now()
	hwmReset := resetPeakRSS()
	var snaps []snapshot
	for r := range rounds {
		d := runRound(r)
		s := take()
		snaps = append(snaps, s)
		t.Logf("round %d: %d handshakes in %v; handles %d, pending ops %d, C allocations %d, C bytes %d, RSS %d KiB, goroutines %d",
			r, perRound, d.Round(time.Millisecond), s.stats.Handles, s.stats.PendingOps, s.stats.CAllocations, s.stats.CBytes, s.rssKB, s.goroutines)
	}
	elapsed := time.Since(start)
	peak := procStatusKB(t, "VmHWM")
	t.Logf("soak: %d handshakes in %v (%d rounds, %d workers); peak RSS %d MiB (VmHWM reset: %v)",
		rounds*perRound, elapsed.Round(time.Millisecond), rounds, workers, peak>>10, hwmReset)
	t.Logf("faults injected: %v", faults)
	t.Logf("client outcomes: %v", clientOutcomes)
	t.Logf("server outcomes: %v", serverOutcomes)

	for _, p := range problems {
		t.Error(p)
	}
	require.Empty(t, applierProblems.String(), "appliers")
	// Flat: every round ends where the warm-up round ended.
	warm := snaps[0]
	for r, s := range snaps[1:] {
		require.Equal(t, warm.stats.Handles, s.stats.Handles, "round %d: handles", r+1)
		require.Zero(t, s.stats.PendingOps, "round %d: pending ops", r+1)
		require.Equal(t, warm.stats.CAllocations, s.stats.CAllocations, "round %d: C allocations", r+1)
		require.Equal(t, warm.stats.CBytes, s.stats.CBytes, "round %d: C bytes", r+1)
		require.LessOrEqual(t, s.goroutines, warm.goroutines+4, "round %d: goroutines", r+1)
	}
	last := snaps[len(snaps)-1]
	require.Less(t, last.rssKB-warm.rssKB, int64(64<<10), "RSS growth after warm-up (KiB)")
}

// soakKind names an error for the tallies.
func soakKind(err error) string {
	var pe *PanicError
	var se *Error
	switch {
	case errors.Is(err, errSoakKMS):
		return "key error"
	case errors.Is(err, errSoakCallback):
		return "callback error"
	case errors.As(err, &pe):
		return "key panic"
	case errors.Is(err, errOpAbandoned):
		return "op abandoned"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline"
	case errors.As(err, &se) && se.Name == "S2N_ERR_VERIFY_SIGNATURE":
		return "bad signature caught"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected EOF"
	case errors.Is(err, net.ErrClosed):
		return "closed"
	case errors.Is(err, syscall.ECONNRESET):
		return "reset"
	case errors.Is(err, syscall.EPIPE):
		return "broken pipe"
	case err == io.EOF:
		return "EOF"
	}
	return fmt.Sprintf("other (%v)", err)
}

// soakKeyErr reports whether a server error comes from its key.
func soakKeyErr(err error) bool {
	var pe *PanicError
	var se *Error
	return errors.Is(err, errSoakKMS) || errors.Is(err, errSoakCallback) || errors.As(err, &pe) ||
		errors.Is(err, errOpAbandoned) || errors.Is(err, context.DeadlineExceeded) ||
		(errors.As(err, &se) && se.Name == "S2N_ERR_VERIFY_SIGNATURE")
}

// soakServerErrOK reports whether a server's error is one its injected
// fault, or a client abort, explains.
func soakServerErrOK(r soakResult) bool {
	return soakKeyErr(r.err) || isAbortErr(r.err)
}
