package s2n

// Fuzz targets for the low-level API (issue 5). Each runs its seeds in a
// plain `go test` and explores with `go test -fuzz=FuzzName`. Seeds come
// from testdata/fuzz/<FuzzName>/ (fixed inputs recorded once) and from f.Add
// (inputs recorded at run time from real handshakes with this run's keys).
//
// Every input must end in success or an *Error, never a panic or a crash,
// and leave the binding's counters (cgo handles, pending ops, s2n's live
// allocations) where they were.

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fuzzLeakGate checks, when the input's test ends (after every cleanup it
// registers later), that the input left nothing alive.
func fuzzLeakGate(t *testing.T) {
	require.NoError(t, Init()) // s2n_init's own allocations stay for good
	before := Stats()
	t.Cleanup(func() {
		after := Stats()
		require.Equal(t, before.Handles, after.Handles, "live cgo handles")
		require.Equal(t, before.PendingOps, after.PendingOps, "pending async ops")
		require.Equal(t, before.CAllocations, after.CAllocations, "s2n allocations")
		require.Equal(t, before.CBytes, after.CBytes, "s2n allocated bytes")
	})
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// pemKeyTypes are the PEM labels a fuzzed DER key can be wrapped in.
var pemKeyTypes = [...]string{"PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY"}

// fuzzPEM turns fuzzer bytes into loader input: as they are, or (so the
// fuzzer reaches the DER parsers directly) wrapped in a PEM block.
func fuzzPEM(wrap uint8, b []byte, typ string) []byte {
	if wrap == 0 {
		return b
	}
	return pemBlock(typ, b)
}

// FuzzCertChainAndKey feeds PEM, or DER wrapped in PEM, to
// NewCertChainAndKey and NewPublicCertChain, and uses what loads.
// enc bit 0 wraps chain as a CERTIFICATE block; bits 1-2 choose the key's
// wrapping (0: as is, else a pemKeyTypes block).
func FuzzCertChainAndKey(f *testing.F) {
	ec, rs, ec2 := testKeys(f)
	for _, k := range []*testKey{ec, rs, ec2} {
		f.Add(uint8(0), k.certPEM, k.keyPEM)
		f.Add(uint8(1|1<<1), k.cert.Raw, pemDER(f, k.keyPEM))
	}
	f.Add(uint8(0), ec.certPEM, rs.keyPEM) // mismatched pair
	f.Add(uint8(0), append(append([]byte{}, ec.certPEM...), rs.certPEM...), ec.keyPEM)
	f.Fuzz(func(t *testing.T, enc uint8, chain, key []byte) {
		fuzzLeakGate(t)
		chainPEM := fuzzPEM(enc&1, chain, "CERTIFICATE")
		keyType := (enc >> 1) & 3
		keyPEM := key
		if keyType != 0 {
			keyPEM = pemBlock(pemKeyTypes[keyType-1], key)
		}
		ck, err := NewCertChainAndKey(chainPEM, keyPEM)
		requireTyped(t, err)
		if err == nil {
			useChain(t, ck, true)
		}
		pub, err := NewPublicCertChain(chainPEM)
		requireTyped(t, err)
		if err == nil {
			useChain(t, pub, false)
		}
	})
}

func pemDER(t testing.TB, b []byte) []byte {
	blk, _ := pem.Decode(b)
	require.NotNil(t, blk)
	return blk.Bytes
}

// useChain exercises a loaded chain the way an application would, then
// closes it.
func useChain(t *testing.T, ck *CertChainAndKey, withKey bool) {
	key, err := ck.PrivateKey()
	requireTyped(t, err)
	if withKey {
		require.NoError(t, err, "a chain loaded with its key has a private key")
		require.NotNil(t, key)
	}
	cfg, err := NewConfig()
	require.NoError(t, err)
	requireTyped(t, cfg.AddCertChainAndKey(ck))
	require.NoError(t, ck.Close())
	require.NoError(t, ck.Close(), "Close is idempotent")
	require.NoError(t, cfg.Close())
	_, err = ck.PrivateKey()
	require.ErrorIs(t, err, ErrUsage, "a closed chain refuses use")
}

// FuzzTrustStore feeds PEM, or DER wrapped in a CERTIFICATE block, to
// Config.AddPEMToTrustStore.
func FuzzTrustStore(f *testing.F) {
	ec, rs, _ := testKeys(f)
	f.Add(uint8(0), ec.certPEM)
	f.Add(uint8(0), append(append([]byte{}, ec.certPEM...), rs.certPEM...))
	f.Add(uint8(1), rs.cert.Raw)
	cfg := newTestConfig(f, configOpts{})
	f.Fuzz(func(t *testing.T, wrap uint8, in []byte) {
		fuzzLeakGate(t)
		// One Config for all inputs (s2n_config_new loads the system trust
		// store): wiping it first keeps every input independent.
		require.NoError(t, cfg.WipeTrustStore())
		err := cfg.AddPEMToTrustStore(fuzzPEM(wrap&1, in, "CERTIFICATE"))
		requireTyped(t, err)
	})
}

// FuzzSetters feeds names to SetCipherPreferences, ALPN lists (comma
// separated) to SetProtocolPreferences, and SNI names to SetServerName.
func FuzzSetters(f *testing.F) {
	f.Add("default_tls13", "h2,http/1.1", "localhost")
	f.Add("test_all", "", "example.com")
	f.Add(policyTLS12, strings.Repeat("x", 255), strings.Repeat("a", 255))
	// One Config for all inputs: s2n_config_new loads the system trust
	// store (about 10 ms), and every input sets both values afresh.
	cfg := newTestConfig(f, configOpts{})
	f.Fuzz(func(t *testing.T, cipher, alpn, sni string) {
		// The shared Config's ALPN list is s2n memory: empty it on both
		// sides of the leak gate.
		reset := func() { require.NoError(t, cfg.SetProtocolPreferences(nil)) }
		reset()
		fuzzLeakGate(t)
		t.Cleanup(reset)
		err := cfg.SetCipherPreferences(cipher)
		requireTyped(t, err)
		if strings.IndexByte(cipher, 0) >= 0 || cipher == "" {
			require.ErrorIs(t, err, ErrUsage)
		}
		var list []string
		if alpn != "" {
			list = strings.Split(alpn, ",")
		}
		requireTyped(t, cfg.SetProtocolPreferences(list))

		conn, err := NewConnection(ModeClient)
		require.NoError(t, err)
		defer conn.Close()
		err = conn.SetServerName(sni)
		requireTyped(t, err)
		if err == nil {
			require.Equal(t, sni, conn.ServerName(), "SNI round trip")
		} else {
			require.Empty(t, conn.ServerName())
		}
	})
}

// FuzzSetSession feeds serialized session state to Connection.SetSession
// on a client, then starts a handshake with it to a peer that never answers.
func FuzzSetSession(f *testing.F) {
	for _, tls13 := range []bool{false, true} {
		f.Add(recordSession(f, tls13))
	}
	client := newTestConfig(f, configOpts{policy: "default_tls13"})
	require.NoError(f, client.SetSessionTickets(true))
	f.Fuzz(func(t *testing.T, session []byte) {
		fuzzLeakGate(t)
		fds := socketpair(t)
		conn := newTestConn(t, ModeClient, client, fds[0])
		err := conn.SetSession(session)
		requireTyped(t, err)
		blocked, err := conn.Negotiate()
		requireTyped(t, err)
		if err != nil && errors.Is(err, ErrBlocked) {
			require.Equal(t, BlockedOnRead, blocked)
			require.Positive(t, pendingBytes(t, fds[1]), "a ClientHello was written")
		}
		require.NoError(t, conn.Close())
	})
}

// recordSession runs a handshake with session tickets and returns the
// client's serialized session.
func recordSession(t testing.TB, tls13 bool) []byte {
	ec, _, _ := testKeys(t)
	policy := policyTLS12
	if tls13 {
		policy = "default_tls13"
	}
	server := newTestConfig(t, configOpts{policy: policy, chain: ec})
	require.NoError(t, server.SetSessionTickets(true))
	require.NoError(t, server.AddTicketKey([]byte("fuzz-key"), make([]byte, 32), time.Time{}))
	client := newTestConfig(t, configOpts{policy: policy, trust: ec})
	require.NoError(t, client.SetSessionTickets(true))
	p := newPair(t, server, client)
	p.handshake(t)
	// TLS 1.3 tickets arrive after the handshake: let the client read them.
	p.exchange(t)
	session, err := p.client.Session()
	require.NoError(t, err)
	require.NotEmpty(t, session)
	return session
}

// ---- hostile peers ----

// goClientHello records the first flight of Go's crypto/tls client.
func goClientHello(t testing.TB, maxVersion uint16) []byte {
	c, s := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		tc := tls.Client(c, &tls.Config{ServerName: "localhost", MaxVersion: maxVersion, InsecureSkipVerify: true})
		tc.Handshake()
	}()
	buf := make([]byte, 1<<16)
	n, err := s.Read(buf)
	require.NoError(t, err)
	s.Close()
	c.Close()
	<-done
	return buf[:n]
}

// fuzzPeerInput delivers the fuzzer's bytes to conn through the other end
// of its socket pair, chunk bytes at a time (0: all at once), driving
// Negotiate and draining conn's output in between, then half-closes. It
// checks that every error is typed and that the connection never reports
// a finished handshake to bytes that cannot have been a peer's.
func fuzzPeerInput(t *testing.T, conn *Connection, peer int, chunk int, data []byte) {
	if chunk <= 0 {
		chunk = len(data) + 1
	}
	rest := data
	for i := 0; i < 1000; i++ {
		if len(rest) > 0 {
			rest = rest[writeSome(peer, rest[:min(chunk, len(rest))]):]
		}
		blocked, err := conn.Negotiate()
		drainFd(peer)
		if err == nil {
			return // a handshake finished (only possible with a seed's help)
		}
		requireTyped(t, err)
		if !errors.Is(err, ErrBlocked) {
			return
		}
		if blocked == BlockedOnApplicationInput || (len(rest) == 0 && blocked == BlockedOnRead) {
			break
		}
	}
	// The peer hangs up: s2n must see the end of the stream as an error.
	require.NoError(t, syscall.Shutdown(peer, syscall.SHUT_WR))
	_, err := conn.Negotiate()
	requireTyped(t, err)
}

// fuzzServerEnv holds the servers FuzzServerHandshake attacks; they are
// built once: s2n_config_new is slow, and Configs are shared by design.
type fuzzServerEnv struct {
	configs []*Config
	ops     chan *AsyncPkeyOp
}

func newFuzzServerEnv(t testing.TB) *fuzzServerEnv {
	ec, rs, _ := testKeys(t)
	env := &fuzzServerEnv{ops: make(chan *AsyncPkeyOp, 4)}
	both := func(policy string) *Config {
		cfg := newTestConfig(t, configOpts{policy: policy, chain: ec})
		ck, err := NewCertChainAndKey(rs.certPEM, rs.keyPEM)
		require.NoError(t, err)
		require.NoError(t, cfg.AddCertChainAndKey(ck))
		require.NoError(t, ck.Close())
		return cfg
	}
	env.configs = []*Config{
		both("default_tls13"),
		both("test_all"),
		// TLS 1.2 with client certificates: the client's Certificate
		// message is plaintext, so a fuzzer reaches s2n's X.509 parsing.
		newTestConfig(t, configOpts{policy: policyTLS12, chain: rs, trust: ec, clientAuth: ClientAuthRequired}),
		// The key operation stays pending: Close must free it.
		newTestConfig(t, configOpts{policy: "default_tls13", chain: ec, fn: func(_ *Connection, op *AsyncPkeyOp) error {
			select {
			case env.ops <- op:
			default:
				op.Free()
			}
			return nil
		}}),
	}
	return env
}

// FuzzServerHandshake plays a hostile client against a server connection.
// Seeds are recorded client streams (s2n's and Go's ClientHellos, and a
// whole TLS 1.2 client-auth flight) that the fuzzer mutates.
func FuzzServerHandshake(f *testing.F) {
	env := newFuzzServerEnv(f)
	ec, _, _ := testKeys(f)
	for v, policy := range []string{"default_tls13", "test_all"} {
		c2s, _ := recordHandshake(f, env.configs[v], newTestConfig(f, configOpts{policy: policy, trust: ec}))
		f.Add(uint8(v), uint16(0), c2s)
		f.Add(uint8(3), uint16(7), c2s)
	}
	client := newTestConfig(f, configOpts{policy: policyTLS12, chain: ec, clientAuth: ClientAuthRequired})
	require.NoError(f, client.DisableX509Verification())
	c2s, _ := recordHandshake(f, env.configs[2], client)
	f.Add(uint8(2), uint16(0), c2s)
	f.Add(uint8(1), uint16(0), goClientHello(f, tls.VersionTLS13))
	f.Add(uint8(1), uint16(100), goClientHello(f, tls.VersionTLS12))

	f.Fuzz(func(t *testing.T, variant uint8, chunk uint16, data []byte) {
		fuzzLeakGate(t)
		fds := socketpair(t)
		conn := newTestConn(t, ModeServer, env.configs[int(variant)%len(env.configs)], fds[0])
		fuzzPeerInput(t, conn, fds[1], int(chunk), data)
		require.NoError(t, conn.Close())
		for len(env.ops) > 0 {
			op := <-env.ops
			_, err := op.Type()
			require.ErrorIs(t, err, ErrUsage, "Close freed the pending op")
		}
	})
}

// fuzzClientConfigs are the clients FuzzClientHandshake attacks.
func fuzzClientConfigs(t testing.TB) []*Config {
	ec, _, _ := testKeys(t)
	insecure := func(policy string, alpn ...string) *Config {
		cfg := newTestConfig(t, configOpts{policy: policy})
		require.NoError(t, cfg.DisableX509Verification())
		if alpn != nil {
			require.NoError(t, cfg.SetProtocolPreferences(alpn))
		}
		require.NoError(t, cfg.SetSessionTickets(true))
		return cfg
	}
	return []*Config{
		insecure("default_tls13"),
		insecure(policyTLS12),
		newTestConfig(t, configOpts{policy: "test_all", trust: ec}),
		insecure("test_all", "h2", "http/1.1"),
	}
}

// tlsSessionIDOffset is where a ClientHello's or ServerHello's
// legacy_session_id length byte sits in its first record: record header (5),
// handshake header (4), version (2), random (32).
const tlsSessionIDOffset = 5 + 4 + 2 + 32

// echoSessionID copies the ClientHello's legacy_session_id into a TLS 1.3
// ServerHello at the start of data when their lengths agree, as a real
// server echoes it: s2n's TLS 1.3 client rejects any other value, which
// would stop every recorded TLS 1.3 seed at its first message. A TLS 1.2
// ServerHello is left alone (there, an echoed ID means resumption).
func echoSessionID(data, clientHello []byte) []byte {
	at := tlsSessionIDOffset
	if len(clientHello) <= at || len(data) <= at || data[0] != 0x16 || data[5] != 0x02 {
		return data
	}
	n := int(clientHello[at])
	if int(data[at]) != n || len(clientHello) < at+1+n || !serverHelloIsTLS13(data, at+1+n) {
		return data
	}
	out := append([]byte(nil), data...)
	copy(out[at+1:], clientHello[at+1:at+1+n])
	return out
}

// serverHelloIsTLS13 reports whether the ServerHello whose cipher suite
// starts at off carries a supported_versions extension.
func serverHelloIsTLS13(data []byte, off int) bool {
	off += 2 + 1 // cipher suite, compression method
	if len(data) < off+2 {
		return false
	}
	end := off + 2 + (int(data[off])<<8 | int(data[off+1]))
	off += 2
	for off+4 <= min(end, len(data)) {
		typ := int(data[off])<<8 | int(data[off+1])
		if typ == 0x002b {
			return true
		}
		off += 4 + (int(data[off+2])<<8 | int(data[off+3]))
	}
	return false
}

// FuzzClientHandshake plays a hostile server against a client connection:
// the client writes its ClientHello, then reads the fuzzer's bytes. Seeds
// are recorded server flights for each client variant.
func FuzzClientHandshake(f *testing.F) {
	clients := fuzzClientConfigs(f)
	env := newFuzzServerEnv(f)
	for v, cfg := range clients {
		server := env.configs[0]
		if v == 1 {
			server = env.configs[2] // TLS 1.2, and a CertificateRequest
		}
		if v == 1 || v == 2 {
			continue // recorded below with matching policies
		}
		_, s2c := recordHandshake(f, server, cfg)
		f.Add(uint8(v), uint16(0), s2c)
	}
	ec, rs, _ := testKeys(f)
	tls12 := newTestConfig(f, configOpts{policy: policyTLS12, chain: rs})
	_, s2c := recordHandshake(f, tls12, clients[1])
	f.Add(uint8(1), uint16(0), s2c)
	f.Add(uint8(1), uint16(50), s2c)
	_, s2c = recordHandshake(f, newTestConfig(f, configOpts{policy: "test_all", chain: ec}), clients[2])
	f.Add(uint8(2), uint16(0), s2c)

	f.Fuzz(func(t *testing.T, variant uint8, chunk uint16, data []byte) {
		fuzzLeakGate(t)
		fds := socketpair(t)
		conn := newTestConn(t, ModeClient, clients[int(variant)%len(clients)], fds[0])
		require.NoError(t, conn.SetServerName("localhost"))
		blocked, err := conn.Negotiate()
		require.ErrorIs(t, err, ErrBlocked)
		require.Equal(t, BlockedOnRead, blocked)
		hello := drainFd(fds[1])
		require.NotEmpty(t, hello, "the client wrote its ClientHello")
		fuzzPeerInput(t, conn, fds[1], int(chunk), echoSessionID(data, hello))
		require.NoError(t, conn.Close())
	})
}

// ---- async op calls from several goroutines ----

// fuzzOpEnv holds the Configs FuzzAsyncPkeyOps stops handshakes with: a
// TLS 1.3 ECDSA signature and a TLS 1.2 RSA key-exchange decryption.
type fuzzOpEnv struct {
	servers, clients []*Config
	keys             []*testKey
	ops              chan *AsyncPkeyOp
}

func newFuzzOpEnv(t testing.TB) *fuzzOpEnv {
	ec, rs, _ := testKeys(t)
	env := &fuzzOpEnv{ops: make(chan *AsyncPkeyOp, 4), keys: []*testKey{ec, rs}}
	fn := func(_ *Connection, op *AsyncPkeyOp) error {
		select {
		case env.ops <- op:
		default:
			op.Free()
		}
		return nil
	}
	for i, policy := range []string{"default_tls13", "test_all_rsa_kex"} {
		env.servers = append(env.servers, newTestConfig(t, configOpts{policy: policy, chain: env.keys[i], fn: fn}))
		env.clients = append(env.clients, newTestConfig(t, configOpts{policy: policy, trust: env.keys[i]}))
	}
	return env
}

// Operation codes of a FuzzAsyncPkeyOps program.
const (
	fopType = iota
	fopInput
	fopSetOutputGarbage
	fopSetOutputValid
	fopPerform
	fopApply
	fopApplyWrongConn
	fopFree
	fopCloseServer
	fopNegotiateServer
	fopNegotiateClient
	fopGetters
	fopShutdownServer
	fopApplyNil
	fopCloseClient
	fopYield
	fopCount
)

// fuzzOpGoroutine is what one goroutine knows from its own calls: later
// calls in the same goroutine must see their effects.
type fuzzOpGoroutine struct {
	freed, serverClosed bool
}

// FuzzAsyncPkeyOps runs a program of op and connection calls, spread over
// several goroutines, against an op that stopped a real handshake.
// program[0] picks the handshake, program[1] the number of goroutines (2-4);
// each further byte is one call: low nibble the operation, high nibble the
// goroutine.
func FuzzAsyncPkeyOps(f *testing.F) {
	env := newFuzzOpEnv(f)
	f.Add([]byte{0, 0, fopType, fopInput, 0x10 | fopPerform, 0x10 | fopApply, fopFree, 0x10 | fopNegotiateServer})
	f.Add([]byte{1, 1, fopSetOutputValid, 0x10 | fopApply, 0x20 | fopCloseServer, fopApply, 0x10 | fopFree})
	f.Add([]byte{0, 2, fopFree, 0x10 | fopFree, 0x20 | fopApply, 0x30 | fopType, fopCloseServer, 0x10 | fopInput})
	f.Add([]byte{0, 0, fopSetOutputGarbage, 0x10 | fopApplyWrongConn, fopApply, 0x10 | fopNegotiateServer, fopNegotiateClient})
	f.Fuzz(func(t *testing.T, program []byte) {
		if len(program) < 2 {
			return
		}
		fuzzLeakGate(t)
		v := int(program[0]) % len(env.servers)
		workers := 2 + int(program[1])%3
		calls := program[2:]
		if len(calls) > 64 {
			calls = calls[:64]
		}
		p, op := fuzzBlockedPair(t, env, v)
		key := selectedKey(t, p.server)

		start := make(chan struct{})
		violations := make(chan error, len(calls))
		var wg sync.WaitGroup
		for g := range workers {
			wg.Go(func() {
				<-start
				var st fuzzOpGoroutine
				for _, b := range calls {
					if int(b>>4)%workers != g {
						continue
					}
					if err := fuzzOpCall(p, op, key, env.keys[v], b&0xf, &st); err != nil {
						violations <- err
					}
				}
			})
		}
		close(start)
		wg.Wait()
		close(violations)
		for err := range violations {
			t.Error(err)
		}
		require.NoError(t, p.server.Close())
		require.NoError(t, p.client.Close())
		_, err := op.Type()
		require.ErrorIs(t, err, ErrUsage, "the op went with its connection")
		require.NoError(t, op.Free())
	})
}

// fuzzBlockedPair drives a handshake of env's variant v until the server's
// callback hands over its op.
func fuzzBlockedPair(t *testing.T, env *fuzzOpEnv, v int) (*pair, *AsyncPkeyOp) {
	for len(env.ops) > 0 {
		(<-env.ops).Free()
	}
	p := newPair(t, env.servers[v], env.clients[v])
	return p, blockOnOp(t, p, env.ops)
}

// fuzzOpCall makes one call and returns an error only when the result
// breaks the API's contract.
func fuzzOpCall(p *pair, op *AsyncPkeyOp, key *PrivateKey, goKey *testKey, code byte, st *fuzzOpGoroutine) error {
	// Once this goroutine freed the op or closed its connection, every op
	// call must fail with a usage error; once it closed the connection, so
	// must every call on the connection.
	opGone := st.freed || st.serverClosed
	check := func(what string, err error, mustFail bool) error {
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				return fmt.Errorf("%s: untyped error %T: %v", what, err, err)
			}
		}
		if mustFail && !errors.Is(err, ErrUsage) {
			return fmt.Errorf("%s after free/close: got %v, want a usage error", what, err)
		}
		return nil
	}
	switch code {
	case fopType:
		typ, err := op.Type()
		if err == nil && typ != AsyncSign && typ != AsyncDecrypt {
			return fmt.Errorf("type: %v", typ)
		}
		return check("type", err, opGone)
	case fopInput:
		in, err := op.Input()
		if err == nil && len(in) == 0 {
			// s2n frees the input at Apply: an empty input is only right
			// for an op that was applied (or since freed).
			var e *Error
			if !errors.As(op.Apply(p.server), &e) || (e.Name != "S2N_ERR_ASYNC_ALREADY_APPLIED" && e.Name != nameClosed) {
				return errors.New("input: empty before the op was applied")
			}
		}
		return check("input", err, opGone)
	case fopSetOutputGarbage:
		return check("set output", op.SetOutput([]byte{0x30, 0x03, 0x02, 0x01, 0x01}), opGone)
	case fopSetOutputValid:
		out, err := fuzzOpOutput(p.server, op, goKey)
		var e *Error
		if err != nil && !errors.As(err, &e) {
			return nil // Go's key refused the input (emptied by an Apply)
		}
		if err != nil {
			return check("output", err, opGone)
		}
		return check("set output", op.SetOutput(out), opGone)
	case fopPerform:
		return check("perform", op.Perform(key), opGone)
	case fopApply:
		return check("apply", op.Apply(p.server), opGone)
	case fopApplyWrongConn:
		err := op.Apply(p.client)
		if err == nil {
			return errors.New("apply on the wrong connection succeeded")
		}
		return check("apply to the wrong connection", err, false)
	case fopFree:
		if err := op.Free(); err != nil {
			return fmt.Errorf("free: %v", err)
		}
		st.freed = true
	case fopCloseServer:
		if err := p.server.Close(); err != nil {
			return fmt.Errorf("close: %v", err)
		}
		st.serverClosed = true
	case fopNegotiateServer:
		_, err := p.server.Negotiate()
		return check("negotiate server", err, st.serverClosed)
	case fopNegotiateClient:
		_, err := p.client.Negotiate()
		return check("negotiate client", err, false)
	case fopGetters:
		p.server.CipherSuite()
		p.server.ProtocolVersion()
		p.server.KeyExchangeGroup()
		_, err := p.server.SelectedCert()
		return check("selected cert", err, st.serverClosed)
	case fopShutdownServer:
		_, err := p.server.Shutdown()
		return check("shutdown", err, st.serverClosed)
	case fopApplyNil:
		if err := op.Apply(nil); !errors.Is(err, ErrUsage) {
			return fmt.Errorf("apply nil: %v", err)
		}
	case fopCloseClient:
		return check("close client", p.client.Close(), false)
	case fopYield:
		runtime.Gosched()
	}
	return nil
}

// fuzzOpOutput computes the right answer for op outside s2n, without
// failing the test when the connection or op is already gone.
func fuzzOpOutput(conn *Connection, op *AsyncPkeyOp, key *testKey) ([]byte, error) {
	typ, err := op.Type()
	if err != nil {
		return nil, err
	}
	in, err := op.Input()
	if err != nil {
		return nil, err
	}
	if typ == AsyncDecrypt {
		return rsa.DecryptPKCS1v15(rand.Reader, key.signer.(*rsa.PrivateKey), in)
	}
	sig, err := conn.SelectedSignatureAlgorithm()
	if err != nil {
		return nil, err
	}
	hash, err := conn.SelectedDigestAlgorithm()
	if err != nil {
		return nil, err
	}
	var opts crypto.SignerOpts = hash.CryptoHash()
	if sig == SignatureRSAPSSRSAE || sig == SignatureRSAPSSPSS {
		opts = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: hash.CryptoHash()}
	}
	return key.signer.Sign(rand.Reader, in, opts)
}
