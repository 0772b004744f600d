package s2n

// Hostile-input review of the low-level API (issue 5): every public entry
// point, called with nil receivers and arguments, empty and huge buffers,
// NUL bytes, invalid enums, names too long, and on closed objects, returns
// an error (a usage error where the caller is at fault) and never panics.
// Limits the binding enforces are asserted at their boundaries.

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// hostileWant is what a hostile call must produce.
type hostileWant int

const (
	wantUsage      hostileWant = iota // an *Error with errors.Is(err, ErrUsage)
	wantError                         // any *Error (s2n's own classification)
	wantNil                           // success: the input is valid
	wantNilOrUsage                    // Close/Free-like: nothing, or a usage error
	wantAny                           // success or any *Error: s2n decides
)

type hostileCase struct {
	name string
	call func() error
	want hostileWant
	// errName, when set, is the *Error's Name the call must return.
	errName string
}

// callNoPanic runs f and reports a panic instead of propagating it, so one
// panicking entry point fails its own subtest, not the whole run.
func callNoPanic(f func() error) (err error, panicked string) {
	defer func() {
		if r := recover(); r != nil {
			stack := strings.Split(string(debug.Stack()), "\n")
			// The value, then the frames just below the runtime's panic
			// machinery: where the nil was dereferenced.
			panicked = strings.Join(append([]string{fmt.Sprint(r)}, stack[min(len(stack), 7):min(len(stack), 13)]...), "\n")
		}
	}()
	return f(), ""
}

func runHostile(t *testing.T, cases []hostileCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err, panicked := callNoPanic(tc.call)
			require.Empty(t, panicked, "%s panicked", tc.name)
			var s2nErr *Error
			if err != nil {
				require.ErrorAs(t, err, &s2nErr, "untyped error: %v", err)
			}
			switch tc.want {
			case wantUsage:
				require.ErrorIs(t, err, ErrUsage)
			case wantError:
				require.Error(t, err)
			case wantNil:
				require.NoError(t, err)
			case wantNilOrUsage:
				if err != nil {
					require.ErrorIs(t, err, ErrUsage)
				}
			}
			if tc.errName != "" {
				requireS2nError(t, err, tc.errName)
			}
		})
	}
}

// noErr adapts a call without an error result.
func noErr(f func()) func() error {
	return func() error { f(); return nil }
}

// configCases calls every Config method on c.
func configCases(c *Config, chain *CertChainAndKey, ec *testKey, want hostileWant, errName string) []hostileCase {
	return []hostileCase{
		{"SetCipherPreferences", func() error { return c.SetCipherPreferences("default_tls13") }, want, errName},
		{"AddCertChainAndKey", func() error { return c.AddCertChainAndKey(chain) }, want, ""},
		{"AddPEMToTrustStore", func() error { return c.AddPEMToTrustStore(ec.certPEM) }, want, errName},
		{"WipeTrustStore", c.WipeTrustStore, want, errName},
		{"DisableX509Verification", c.DisableX509Verification, want, errName},
		{"SetClientAuthType", func() error { return c.SetClientAuthType(ClientAuthOptional) }, want, errName},
		{"SetAsyncPkeyCallback", func() error {
			return c.SetAsyncPkeyCallback(func(*Connection, *AsyncPkeyOp) error { return nil })
		}, want, errName},
		{"SetAsyncPkeyValidationMode", func() error { return c.SetAsyncPkeyValidationMode(ValidationStrict) }, want, errName},
		{"SetProtocolPreferences", func() error { return c.SetProtocolPreferences([]string{"h2"}) }, want, errName},
		{"SetSessionTickets", func() error { return c.SetSessionTickets(true) }, want, errName},
		{"AddTicketKey", func() error { return c.AddTicketKey([]byte("k"), make([]byte, 32), time.Time{}) }, want, errName},
		{"AddCertChainWithSigner", func() error { return c.AddCertChainWithSigner(ec.certPEM, ec.signer) }, want, ""},
		{"SetMaxInflightKeyOps", func() error { return c.SetMaxInflightKeyOps(4) }, want, errName},
		{"SetVerifyHostCallback", func() error { return c.SetVerifyHostCallback(func(string) bool { return true }) }, want, errName},
		{"SetMaxBlindingDelay", func() error { return c.SetMaxBlindingDelay(time.Second) }, want, errName},
	}
}

// connectionCases calls every Connection method on c; the getters without
// an error result only have to return.
func connectionCases(c *Connection, cfg *Config, want hostileWant, errName string) []hostileCase {
	buf := make([]byte, 16)
	second := func(f func() (int, Blocked, error)) func() error {
		return func() error { _, _, err := f(); return err }
	}
	return []hostileCase{
		{"SetConfig", func() error { return c.SetConfig(cfg) }, want, errName},
		{"SetFd", func() error { return c.SetFd(0) }, want, errName},
		{"SetServerName", func() error { return c.SetServerName("localhost") }, want, errName},
		{"SetBlinding", func() error { return c.SetBlinding(SelfServiceBlinding) }, want, errName},
		{"Negotiate", func() error { _, err := c.Negotiate(); return err }, want, errName},
		{"Send", second(func() (int, Blocked, error) { return c.Send([]byte("x")) }), want, errName},
		{"Recv", second(func() (int, Blocked, error) { return c.Recv(buf) }), want, errName},
		{"Shutdown", func() error { _, err := c.Shutdown(); return err }, want, errName},
		{"ShutdownSend", func() error { _, err := c.ShutdownSend(); return err }, want, errName},
		{"SelectedCert", func() error { _, err := c.SelectedCert(); return err }, want, errName},
		{"SelectedSignatureAlgorithm", func() error { _, err := c.SelectedSignatureAlgorithm(); return err }, want, errName},
		{"SelectedDigestAlgorithm", func() error { _, err := c.SelectedDigestAlgorithm(); return err }, want, errName},
		{"SelectedClientCertSignatureAlgorithm", func() error {
			_, err := c.SelectedClientCertSignatureAlgorithm()
			return err
		}, want, errName},
		{"SelectedClientCertDigestAlgorithm", func() error { _, err := c.SelectedClientCertDigestAlgorithm(); return err }, want, errName},
		{"Wipe", c.Wipe, want, errName},
		{"PeerCertChain", func() error { _, err := c.PeerCertChain(); return err }, want, errName},
		{"SetSession", func() error { return c.SetSession([]byte{1, 2, 3}) }, want, errName},
		{"Session", func() error { _, err := c.Session(); return err }, want, errName},
		{"ProtocolVersion", noErr(func() { c.ProtocolVersion() }), wantNil, ""},
		{"CipherSuite", noErr(func() { c.CipherSuite() }), wantNil, ""},
		{"Delay", noErr(func() { c.Delay() }), wantNil, ""},
		{"KeyExchangeGroup", noErr(func() { c.KeyExchangeGroup() }), wantNil, ""},
		{"ApplicationProtocol", noErr(func() { c.ApplicationProtocol() }), wantNil, ""},
		{"ServerName", noErr(func() { c.ServerName() }), wantNil, ""},
		{"IsSessionResumed", noErr(func() { c.IsSessionResumed() }), wantNil, ""},
		{"Close", c.Close, wantNilOrUsage, ""},
	}
}

// opCases calls every AsyncPkeyOp method on op.
func opCases(op *AsyncPkeyOp, conn *Connection, key *PrivateKey, want hostileWant, errName string) []hostileCase {
	return []hostileCase{
		{"Type", func() error { _, err := op.Type(); return err }, want, errName},
		{"Input", func() error { _, err := op.Input(); return err }, want, errName},
		{"SetOutput", func() error { return op.SetOutput([]byte{1}) }, want, errName},
		{"Perform", func() error { return op.Perform(key) }, want, errName},
		{"Apply", func() error { return op.Apply(conn) }, want, errName},
		{"Free", op.Free, wantNilOrUsage, ""},
	}
}

func prefixed(prefix string, cases []hostileCase) []hostileCase {
	for i := range cases {
		cases[i].name = prefix + cases[i].name
	}
	return cases
}

// TestHostileNilReceivers calls every method on nil pointers and on zero
// values that no constructor made. AsyncPkeyOp already guards a nil
// receiver; the other types must too.
func TestHostileNilReceivers(t *testing.T) {
	p, op := blockedPair(t)
	defer op.Free()
	key := selectedKey(t, p.server)
	cfg := newTestConfig(t, configOpts{})
	ec, _, _ := testKeys(t)
	chain, err := NewCertChainAndKey(ec.certPEM, ec.keyPEM)
	require.NoError(t, err)
	t.Cleanup(func() { chain.Close() })

	var cases []hostileCase
	for i, c := range []*Config{nil, {}} {
		name := [...]string{"nil", "zero"}[i]
		cases = append(cases, prefixed(name+" Config/", configCases(c, chain, ec, wantUsage, ""))...)
		cases = append(cases, hostileCase{name + " Config/Close", c.Close, wantNilOrUsage, ""})
	}
	for i, c := range []*Connection{nil, {}} {
		name := [...]string{"nil", "zero"}[i]
		cases = append(cases, prefixed(name+" Connection/", connectionCases(c, cfg, wantUsage, ""))...)
	}
	for i, ck := range []*CertChainAndKey{nil, {}} {
		name := [...]string{"nil", "zero"}[i]
		cases = append(cases,
			hostileCase{name + " CertChainAndKey/PrivateKey", func() error { _, err := ck.PrivateKey(); return err }, wantUsage, ""},
			hostileCase{name + " CertChainAndKey/AddCertChainAndKey", func() error { return cfg.AddCertChainAndKey(ck) }, wantUsage, ""},
			hostileCase{name + " CertChainAndKey/Close", ck.Close, wantNilOrUsage, ""},
		)
	}
	for i, o := range []*AsyncPkeyOp{nil, {}} {
		name := [...]string{"nil", "zero"}[i]
		cases = append(cases, prefixed(name+" AsyncPkeyOp/", opCases(o, p.server, key, wantUsage, ""))...)
	}
	cases = append(cases, hostileCase{"zero PrivateKey/Perform", func() error { return op.Perform(&PrivateKey{}) }, wantUsage, ""})
	runHostile(t, cases)
}

// TestHostileNilArguments passes nil where the API takes a pointer, slice
// or interface.
func TestHostileNilArguments(t *testing.T) {
	ec, _, _ := testKeys(t)
	cfg := newTestConfig(t, configOpts{})
	conn, err := NewConnection(ModeClient)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	_, op := blockedPair(t)
	defer op.Free()
	newChain := func(chain, key []byte) func() error {
		return func() error {
			ck, err := NewCertChainAndKey(chain, key)
			if ck != nil {
				ck.Close()
			}
			return err
		}
	}
	runHostile(t, []hostileCase{
		{"NewCertChainAndKey(nil, nil)", newChain(nil, nil), wantUsage, nameInvalidArg},
		{"NewCertChainAndKey(nil, key)", newChain(nil, ec.keyPEM), wantUsage, nameInvalidArg},
		{"NewCertChainAndKey(chain, nil)", newChain(ec.certPEM, nil), wantUsage, nameInvalidArg},
		{"NewPublicCertChain(nil)", func() error { _, err := NewPublicCertChain(nil); return err }, wantUsage, nameInvalidArg},
		{"AddCertChainAndKey(nil)", func() error { return cfg.AddCertChainAndKey(nil) }, wantUsage, nameInvalidArg},
		{"AddPEMToTrustStore(nil)", func() error { return cfg.AddPEMToTrustStore(nil) }, wantUsage, nameInvalidArg},
		{"AddTicketKey(nil, nil)", func() error { return cfg.AddTicketKey(nil, nil, time.Time{}) }, wantUsage, nameInvalidArg},
		{"AddCertChainWithSigner(nil, nil)", func() error { return cfg.AddCertChainWithSigner(nil, nil) }, wantUsage, nameInvalidArg},
		{"AddCertChainWithSigner(chain, nil)", func() error { return cfg.AddCertChainWithSigner(ec.certPEM, nil) }, wantUsage, nameInvalidArg},
		{"AddCertChainWithSigner(nil, key)", func() error { return cfg.AddCertChainWithSigner(nil, ec.signer) }, wantUsage, nameInvalidArg},
		// nil is a valid "none" for these two.
		{"SetProtocolPreferences(nil)", func() error { return cfg.SetProtocolPreferences(nil) }, wantNil, ""},
		{"SetAsyncPkeyCallback(nil)", func() error { return cfg.SetAsyncPkeyCallback(nil) }, wantNil, ""},
		{"SetConfig(nil)", func() error { return conn.SetConfig(nil) }, wantUsage, nameInvalidArg},
		{"SetSession(nil)", func() error { return conn.SetSession(nil) }, wantUsage, nameInvalidArg},
		{"Perform(nil)", func() error { return op.Perform(nil) }, wantUsage, nameInvalidArg},
		{"Apply(nil)", func() error { return op.Apply(nil) }, wantUsage, nameInvalidArg},
		// s2n itself rejects a NULL output (S2N_ERR_NULL, typed internal).
		{"SetOutput(nil)", func() error { return op.SetOutput(nil) }, wantError, "S2N_ERR_NULL"},
	})
}

// TestHostileEnums passes values outside every enum.
func TestHostileEnums(t *testing.T) {
	cfg := newTestConfig(t, configOpts{})
	conn, err := NewConnection(ModeServer)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	newConn := func(m Mode) func() error {
		return func() error {
			c, err := NewConnection(m)
			if c != nil {
				c.Close()
			}
			return err
		}
	}
	runHostile(t, []hostileCase{
		{"Mode(7)", newConn(7), wantUsage, nameInvalidArg},
		{"Mode(-1)", newConn(-1), wantUsage, nameInvalidArg},
		{"Blinding(9)", func() error { return conn.SetBlinding(9) }, wantUsage, nameInvalidArg},
		{"Blinding(-1)", func() error { return conn.SetBlinding(-1) }, wantUsage, nameInvalidArg},
		// s2n stores any value here; the server then treats it like
		// ClientAuthRequired (see the report of issue 5).
		{"ClientAuthType(-1)", func() error { return cfg.SetClientAuthType(-1) }, wantUsage, ""},
		{"ClientAuthType(3)", func() error { return cfg.SetClientAuthType(3) }, wantUsage, ""},
		{"AsyncPkeyValidationMode(5)", func() error { return cfg.SetAsyncPkeyValidationMode(5) }, wantUsage, "S2N_ERR_INVALID_ARGUMENT"},
		{"AsyncPkeyValidationMode(-1)", func() error { return cfg.SetAsyncPkeyValidationMode(-1) }, wantUsage, "S2N_ERR_INVALID_ARGUMENT"},
		{"SetMaxInflightKeyOps(-1)", func() error { return cfg.SetMaxInflightKeyOps(-1) }, wantUsage, nameInvalidArg},
		{"SetMaxInflightKeyOps(MaxInt)", func() error { return cfg.SetMaxInflightKeyOps(math.MaxInt) }, wantNil, ""},
		{"SetFd(-1)", func() error { return conn.SetFd(-1) }, wantUsage, nameInvalidArg},
		{"SetMaxBlindingDelay(-1ns)", func() error { return cfg.SetMaxBlindingDelay(-1) }, wantUsage, nameInvalidArg},
		{"SetMaxBlindingDelay(24h+1ns)", func() error { return cfg.SetMaxBlindingDelay(24*time.Hour + 1) }, wantUsage, nameInvalidArg},
		{"SetMaxBlindingDelay(24h)", func() error { return cfg.SetMaxBlindingDelay(24 * time.Hour) }, wantNil, ""},
		{"SetVerifyHostCallback(nil)", func() error { return cfg.SetVerifyHostCallback(nil) }, wantNil, ""},
		{"String methods", noErr(func() {
			_ = ErrorType(99).String() + ErrorType(-1).String() + Blocked(-1).String() + Blocked(99).String() +
				ProtocolVersion(99).String() + SignatureAlgorithm(-5).String() + HashAlgorithm(99).String() +
				AsyncPkeyOpType(9).String()
			_ = HashAlgorithm(-1).CryptoHash()
			_ = (&Error{}).Error() + (&PanicError{}).Error()
		}), wantNil, ""},
	})
}

// TestHostileStrings sends NUL bytes, empty strings and names one byte over
// each limit (and exactly at it) to every string-taking entry point.
func TestHostileStrings(t *testing.T) {
	cfg := newTestConfig(t, configOpts{})
	client, err := NewConnection(ModeClient)
	require.NoError(t, err)
	t.Cleanup(func() { client.Close() })
	server, err := NewConnection(ModeServer)
	require.NoError(t, err)
	t.Cleanup(func() { server.Close() })
	alpn := func(names ...string) func() error { return func() error { return cfg.SetProtocolPreferences(names) } }
	many := func(n, size int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = strings.Repeat(string(rune('a'+i%26)), size)
		}
		return out
	}
	runHostile(t, []hostileCase{
		{"cipher prefs empty", func() error { return cfg.SetCipherPreferences("") }, wantUsage, nameInvalidArg},
		{"cipher prefs NUL", func() error { return cfg.SetCipherPreferences("default\x00_tls13") }, wantUsage, nameInvalidArg},
		{"cipher prefs unknown", func() error { return cfg.SetCipherPreferences("no-such-policy") }, wantUsage, "S2N_ERR_INVALID_SECURITY_POLICY"},
		{"cipher prefs 1 MiB", func() error { return cfg.SetCipherPreferences(strings.Repeat("a", 1<<20)) }, wantUsage, "S2N_ERR_INVALID_SECURITY_POLICY"},
		{"ALPN empty name", alpn(""), wantUsage, nameInvalidArg},
		{"ALPN NUL", alpn("h2\x00"), wantUsage, nameInvalidArg},
		{"ALPN 256-byte name", alpn(strings.Repeat("a", 256)), wantUsage, nameInvalidArg},
		{"ALPN 255-byte name", alpn(strings.Repeat("a", 255)), wantNil, ""},
		{"ALPN 65 names", alpn(many(65, 1)...), wantUsage, nameInvalidArg},
		{"ALPN 64 names of 255 bytes", alpn(many(64, 255)...), wantNil, ""},
		{"ALPN non-UTF-8", alpn("\xff\xfe"), wantNil, ""},
		{"server name empty", func() error { return client.SetServerName("") }, wantUsage, nameInvalidArg},
		{"server name NUL", func() error { return client.SetServerName("local\x00host") }, wantUsage, nameInvalidArg},
		{"server name 256 bytes", func() error { return client.SetServerName(strings.Repeat("a", 256)) }, wantUsage, nameInvalidArg},
		{"server name 255 bytes", func() error { return client.SetServerName(strings.Repeat("a", 255)) }, wantNil, ""},
		// Neither the binding nor s2n checks DNS syntax: what is sent is the
		// caller's business, as with crypto/tls's ServerName.
		{"server name control bytes", func() error { return client.SetServerName("a\nb c\xff") }, wantNil, ""},
		{"server name on a server", func() error { return server.SetServerName("localhost") }, wantUsage, "S2N_ERR_CLIENT_MODE"},
	})
}

// TestHostileBuffers sends empty, just-too-large and huge buffers to every
// byte-taking entry point other than Send and Recv.
func TestHostileBuffers(t *testing.T) {
	ec, rs, _ := testKeys(t)
	cfg := newTestConfig(t, configOpts{})
	conn, err := NewConnection(ModeClient)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	_, op := blockedPair(t)
	defer op.Free()

	huge := bytes.Repeat([]byte("A"), 32<<20)
	overLimit := huge[:maxPEMSize+1]
	atLimit := huge[:maxPEMSize]
	// A valid certificate padded to the limit with blank lines still loads.
	padded := append(append([]byte{}, ec.certPEM...), bytes.Repeat([]byte("\n"), maxPEMSize-len(ec.certPEM))...)
	load := func(chain, key []byte) func() error {
		return func() error {
			ck, err := NewCertChainAndKey(chain, key)
			if ck != nil {
				ck.Close()
			}
			return err
		}
	}
	loadPublic := func(chain []byte) func() error {
		return func() error {
			ck, err := NewPublicCertChain(chain)
			if ck != nil {
				ck.Close()
			}
			return err
		}
	}
	ticketKey := func(name, key []byte, at time.Time) func() error {
		return func() error { return cfg.AddTicketKey(name, key, at) }
	}
	key32 := make([]byte, 32)
	runHostile(t, []hostileCase{
		{"chain PEM 32 MiB", load(huge, ec.keyPEM), wantUsage, nameInvalidArg},
		{"key PEM 32 MiB", load(ec.certPEM, huge), wantUsage, nameInvalidArg},
		{"public chain PEM 32 MiB", loadPublic(huge), wantUsage, nameInvalidArg},
		{"public chain PEM limit+1", loadPublic(overLimit), wantUsage, nameInvalidArg},
		{"public chain PEM at limit, garbage", loadPublic(atLimit), wantUsage, "S2N_ERR_NO_CERTIFICATE_IN_PEM"},
		{"public chain PEM at limit, padded cert", loadPublic(padded), wantNil, ""},
		{"chain empty", load([]byte{}, ec.keyPEM), wantUsage, nameInvalidArg},
		{"key empty", load(ec.certPEM, []byte{}), wantUsage, nameInvalidArg},
		// s2n's PEM reader skips NUL bytes where newlines belong (the
		// length-taking loaders need no C string).
		{"chain with NUL bytes", load(bytes.ReplaceAll(ec.certPEM, []byte("\n"), []byte("\x00")), ec.keyPEM), wantAny, ""},
		{"chain garbage", load([]byte("garbage"), ec.keyPEM), wantUsage, "S2N_ERR_NO_CERTIFICATE_IN_PEM"},
		{"key for another certificate", load(ec.certPEM, rs.keyPEM), wantError, ""},
		{"trust store 32 MiB", func() error { return cfg.AddPEMToTrustStore(huge) }, wantUsage, nameInvalidArg},
		{"trust store empty", func() error { return cfg.AddPEMToTrustStore([]byte{}) }, wantUsage, nameInvalidArg},
		{"trust store NUL", func() error { return cfg.AddPEMToTrustStore(append([]byte{0}, ec.certPEM...)) }, wantUsage, nameInvalidArg},
		// s2n classifies a malformed trust PEM as an internal error.
		{"trust store garbage", func() error { return cfg.AddPEMToTrustStore([]byte("garbage")) }, wantError, "S2N_ERR_STUFFER_OUT_OF_DATA"},
		{"signer chain 32 MiB", func() error { return cfg.AddCertChainWithSigner(huge, ec.signer) }, wantUsage, nameInvalidArg},
		{"session empty", func() error { return conn.SetSession([]byte{}) }, wantUsage, nameInvalidArg},
		{"session limit+1", func() error { return conn.SetSession(huge[:maxSessionSize+1]) }, wantUsage, nameInvalidArg},
		{"session at limit, garbage", func() error { return conn.SetSession(huge[:maxSessionSize]) }, wantUsage, "S2N_ERR_INVALID_SERIALIZED_SESSION_STATE"},
		{"op output 64 KiB+1", func() error { return op.SetOutput(huge[:1<<16+1]) }, wantUsage, nameInvalidArg},
		{"ticket key name empty", ticketKey(nil, key32, time.Time{}), wantUsage, nameInvalidArg},
		{"ticket key name 17 bytes", ticketKey(make([]byte, 17), key32, time.Time{}), wantUsage, nameInvalidArg},
		{"ticket key 15 bytes", ticketKey([]byte("a"), make([]byte, 15), time.Time{}), wantUsage, nameInvalidArg},
		{"ticket key 65 bytes", ticketKey([]byte("b"), make([]byte, 65), time.Time{}), wantUsage, nameInvalidArg},
		{"ticket key at limits", ticketKey(make([]byte, 16), make([]byte, 64), time.Time{}), wantNil, ""},
		// s2n takes seconds since 1970 as a uint64 and multiplies them by
		// 10^9: a time before 1970 wraps (uint64 of a negative Unix time),
		// one after 2554 overflows. Either silently yields a key that is
		// never, or wrongly, used.
		{"ticket key introduced 1900", ticketKey([]byte("c"), key32, time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)), wantUsage, ""},
		{"ticket key introduced 3000", ticketKey([]byte("d"), key32, time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)), wantUsage, ""},
	})
}

// TestHostileSendRecv sends and receives empty, nil and huge buffers, before
// and after the handshake.
func TestHostileSendRecv(t *testing.T) {
	ec, _, _ := testKeys(t)
	fresh, err := NewConnection(ModeClient)
	require.NoError(t, err)
	t.Cleanup(func() { fresh.Close() })
	_, _, err = fresh.Send([]byte("x"))
	requireTyped(t, err)
	require.Error(t, err, "Send before the handshake")
	_, _, err = fresh.Recv(make([]byte, 8))
	requireTyped(t, err)
	require.Error(t, err, "Recv before the handshake")

	p := newPair(t, newTestConfig(t, configOpts{policy: "default_tls13", chain: ec}),
		newTestConfig(t, configOpts{policy: "default_tls13", trust: ec}))
	p.handshake(t)

	for name, b := range map[string][]byte{"nil": nil, "empty": {}} {
		n, _, err := p.client.Send(b)
		require.NoError(t, err, "Send(%s)", name)
		require.Zero(t, n)
	}
	n, _, err := p.client.Send([]byte("kept"))
	require.NoError(t, err)
	require.Equal(t, 4, n)
	// With nothing to fill, Recv reads nothing and reports (0, nil), which
	// is also how a clean close reads: that means EOF only when len(b) > 0.
	for name, b := range map[string][]byte{"nil": nil, "empty": {}} {
		n, _, err := p.server.Recv(b)
		require.NoError(t, err, "Recv(%s)", name)
		require.Zero(t, n)
	}
	got := recvN(t, p.server, 4)
	require.Equal(t, "kept", string(got), "an empty Recv consumed nothing")

	// 32 MiB in one Send: s2n takes what the socket accepts and reports how
	// much, with BlockedOnWrite and no error; the rest goes with later calls.
	big := make([]byte, 32<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	done := make(chan []byte)
	go func() { done <- recvN(t, p.server, len(big)) }()
	sent := 0
	deadline := time.Now().Add(60 * time.Second)
	for sent < len(big) {
		require.True(t, time.Now().Before(deadline), "32 MiB not sent in time")
		n, blocked, err := p.client.Send(big[sent:])
		require.GreaterOrEqual(t, n, 0)
		require.LessOrEqual(t, n, len(big)-sent)
		sent += n
		if err != nil {
			require.ErrorIs(t, err, ErrBlocked)
		}
		if sent < len(big) {
			require.Equal(t, BlockedOnWrite, blocked, "a partial Send says why")
			time.Sleep(100 * time.Microsecond)
		}
	}
	require.True(t, bytes.Equal(big, <-done), "32 MiB arrived intact")
}

// recvN reads exactly n bytes from conn with a buffer larger than any
// record, polling while it is blocked.
func recvN(t *testing.T, conn *Connection, n int) []byte {
	out := make([]byte, 0, n)
	buf := make([]byte, 32<<20)
	deadline := time.Now().Add(60 * time.Second)
	for len(out) < n && time.Now().Before(deadline) {
		m, _, err := conn.Recv(buf[:min(len(buf), n-len(out))])
		out = append(out, buf[:m]...)
		if err != nil {
			if !errors.Is(err, ErrBlocked) {
				t.Errorf("recv: %v", err)
				return out
			}
			time.Sleep(50 * time.Microsecond)
		} else if m == 0 {
			t.Errorf("recv: unexpected EOF after %d bytes", len(out))
			return out
		}
	}
	return out
}

// TestHostileClosedObjects uses every object after Close: each call fails
// with a usage error, getters return zero values, Close stays idempotent.
func TestHostileClosedObjects(t *testing.T) {
	ec, _, _ := testKeys(t)
	liveCfg := newTestConfig(t, configOpts{})
	chain, err := NewCertChainAndKey(ec.certPEM, ec.keyPEM)
	require.NoError(t, err)
	t.Cleanup(func() { chain.Close() })

	closedCfg, err := NewConfig()
	require.NoError(t, err)
	require.NoError(t, closedCfg.Close())
	require.NoError(t, closedCfg.Close())
	cases := prefixed("closed Config/", configCases(closedCfg, chain, ec, wantUsage, nameClosed))

	inUse := newTestConfig(t, configOpts{})
	user, err := NewConnection(ModeServer)
	require.NoError(t, err)
	t.Cleanup(func() { user.Close() })
	require.NoError(t, user.SetConfig(inUse))
	cases = append(cases, prefixed("in-use Config/", configCases(inUse, chain, ec, wantUsage, nameInUse))...)

	closedChain, err := NewCertChainAndKey(ec.certPEM, ec.keyPEM)
	require.NoError(t, err)
	require.NoError(t, closedChain.Close())
	cases = append(cases,
		hostileCase{"closed chain/AddCertChainAndKey", func() error { return liveCfg.AddCertChainAndKey(closedChain) }, wantUsage, ""},
		hostileCase{"closed chain/PrivateKey", func() error { _, err := closedChain.PrivateKey(); return err }, wantUsage, nameClosed},
		hostileCase{"closed chain/Close", closedChain.Close, wantNil, ""},
		hostileCase{"closed Config/SetConfig", func() error { return user.SetConfig(closedCfg) }, wantUsage, nameInvalidArg},
	)

	closedConn, err := NewConnection(ModeClient)
	require.NoError(t, err)
	require.NoError(t, closedConn.Close())
	cases = append(cases, prefixed("closed Connection/", connectionCases(closedConn, liveCfg, wantUsage, nameClosed))...)

	// An op whose connection is closed, and a key whose chain is freed.
	p, op := blockedPair(t)
	orphan, err := NewCertChainAndKey(ec.certPEM, ec.keyPEM)
	require.NoError(t, err)
	orphanKey, err := orphan.PrivateKey()
	require.NoError(t, err)
	require.NoError(t, orphan.Close())
	cases = append(cases, hostileCase{"freed chain's key/Perform", func() error { return op.Perform(orphanKey) }, wantUsage, nameClosed})
	closedOpConn, closedOp := blockedPair(t)
	require.NoError(t, closedOpConn.server.Close())
	cases = append(cases, prefixed("op of closed Connection/", opCases(closedOp, closedOpConn.server, orphanKey, wantUsage, nameClosed))...)
	runHostile(t, cases)

	require.Zero(t, closedConn.ProtocolVersion())
	require.Empty(t, closedConn.CipherSuite())
	require.Zero(t, closedConn.Delay())
	require.Empty(t, closedConn.KeyExchangeGroup())
	require.Empty(t, closedConn.ApplicationProtocol())
	require.Empty(t, closedConn.ServerName())
	require.False(t, closedConn.IsSessionResumed())
	require.NoError(t, op.Free())
	_ = p
}

// TestHostileEmptyAsyncOutput: s2n accepts an empty output, and with fast
// validation applies it; strict validation must catch it before the peer
// sees an empty signature.
func TestHostileEmptyAsyncOutput(t *testing.T) {
	ec, _, _ := testKeys(t)
	p, op := blockedPairWith(t, configOpts{policy: "default_tls13", public: ec, strict: true})
	defer op.Free()
	require.NoError(t, op.SetOutput([]byte{}))
	requireS2nError(t, op.Apply(p.server), "S2N_ERR_VERIFY_SIGNATURE")
}

// TestHostileDroppedConnectionDuringNegotiate: a caller may drop its last
// reference to a Connection while Negotiate runs (a goroutine that only
// drives it). Negotiate must keep the Connection reachable until it returns,
// as every C accessor must (STYLE.md: runtime.KeepAlive(owner)); otherwise
// the GC clears the weak pointer the async callback reads, and the handshake
// fails with errNoCallback although the callback is set.
func TestHostileDroppedConnectionDuringNegotiate(t *testing.T) {
	ec, _, _ := testKeys(t)
	var calls atomic.Int32
	cfg := newTestConfig(t, configOpts{policy: "default_tls13", chain: ec, fn: func(_ *Connection, op *AsyncPkeyOp) error {
		calls.Add(1)
		return nil // left pending; the connection's close frees it
	}})
	hello, _ := recordHandshake(t, newTestConfig(t, configOpts{policy: "default_tls13", chain: ec}),
		newTestConfig(t, configOpts{policy: "default_tls13", trust: ec}))

	stop := make(chan struct{})
	gcDone := make(chan struct{})
	go func() {
		defer close(gcDone)
		for {
			select {
			case <-stop:
				return
			default:
				runtime.GC()
			}
		}
	}()
	const attempts = 500
	var lost int
	for range attempts {
		fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK, 0)
		require.NoError(t, err)
		writeSome(fds[1], hello)
		st, err := negotiateAndDrop(t, cfg, fds[0])
		if errors.Is(err, errNoCallback) {
			lost++
		}
		st.mu.Lock()
		st.closeLocked()
		st.mu.Unlock()
		syscall.Close(fds[0])
		syscall.Close(fds[1])
	}
	close(stop)
	<-gcDone
	require.Zero(t, lost, "%d of %d handshakes lost their callback (%d callbacks ran): the Connection was collected during Negotiate",
		lost, attempts, calls.Load())
}

// negotiateAndDrop makes a server connection and calls Negotiate as its
// last use, returning only the inner state so the test can free it.
//
//go:noinline
func negotiateAndDrop(t *testing.T, cfg *Config, fd int) (*connState, error) {
	c, err := NewConnection(ModeServer)
	require.NoError(t, err)
	require.NoError(t, c.SetConfig(cfg))
	require.NoError(t, c.SetFd(fd))
	require.NoError(t, c.SetBlinding(SelfServiceBlinding))
	st := c.s
	_, err = c.Negotiate()
	return st, err
}

var errSignerDown = errors.New("hsm unavailable")

// TestHostileAsyncFailureEndsNegotiate: when an async key operation fails
// off the handshake's goroutine (a signer's error, a wrong-key signature
// that strict validation rejects at Apply, or an op freed unapplied), s2n
// itself can only go on reporting BlockedOnApplicationInput. The binding
// records the failure; the low-level Negotiate must return it, or a caller
// of the low-level API waits forever (issue 5: "no wedge").
func TestHostileAsyncFailureEndsNegotiate(t *testing.T) {
	ec, _, ec2 := testKeys(t)
	client := newTestConfig(t, configOpts{policy: "default_tls13", trust: ec})
	freeUnapplied := func(_ *Connection, op *AsyncPkeyOp) error {
		return op.Free() // and never Apply: the handshake can never finish
	}
	cases := []struct {
		name   string
		config func() *Config
		want   error
	}{
		{"signer error", func() *Config {
			cfg := newTestConfig(t, configOpts{policy: "default_tls13"})
			require.NoError(t, cfg.AddCertChainWithSigner(ec.certPEM, &faultySigner{key: ec.signer, fault: signerFault{err: errSignerDown}}))
			return cfg
		}, errSignerDown},
		{"signer with the wrong key", func() *Config {
			cfg := newTestConfig(t, configOpts{policy: "default_tls13"})
			require.NoError(t, cfg.AddCertChainWithSigner(ec.certPEM, ec2.signer))
			return cfg
		}, nil},
		{"op freed unapplied", func() *Config {
			return newTestConfig(t, configOpts{policy: "default_tls13", chain: ec, fn: freeUnapplied})
		}, errOpAbandoned},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newPair(t, tc.config(), client)
			var err error
			var blocked Blocked
			deadline := time.Now().Add(2 * time.Second)
			for time.Now().Before(deadline) {
				p.client.Negotiate()
				blocked, err = p.server.Negotiate()
				if err == nil || !errors.Is(err, ErrBlocked) {
					break
				}
				time.Sleep(time.Millisecond)
			}
			require.Error(t, err)
			require.False(t, errors.Is(err, ErrBlocked),
				"Negotiate still reports %v after 2 s; the failure it hides: %v", blocked, p.server.s.failure())
			if tc.want != nil {
				require.ErrorIs(t, err, tc.want)
			}
			_, clientErr := p.client.Negotiate()
			require.Error(t, clientErr, "the client never completes against a failed key")
		})
	}
}

// TestHostileFdNotASocket hands s2n file descriptors that are not sockets,
// or not open: Negotiate fails with an I/O error.
func TestHostileFdNotASocket(t *testing.T) {
	ec, _, _ := testKeys(t)
	cfg := newTestConfig(t, configOpts{policy: "default_tls13", trust: ec})
	var pipe [2]int
	require.NoError(t, syscall.Pipe2(pipe[:], syscall.O_NONBLOCK))
	t.Cleanup(func() {
		syscall.Close(pipe[0])
		syscall.Close(pipe[1])
	})
	for name, fd := range map[string]int{"unopened": 1 << 20, "pipe read end": pipe[0]} {
		t.Run(name, func(t *testing.T) {
			c := newTestConn(t, ModeClient, cfg, fd)
			t.Cleanup(func() { c.Close() })
			_, err := c.Negotiate()
			requireTyped(t, err)
			require.ErrorIs(t, err, ErrIO)
		})
	}
}

// TestHostileSetOutputAfterApply: a key that answers twice (a retried
// remote signer) calls SetOutput after the op was applied. s2n frees the
// output at Apply and, for an applied op, not again at free: a second
// output leaks, with the plaintext of a decryption (the premaster secret) in
// it. The binding knows the op was applied and must refuse. Found by
// FuzzAsyncPkeyOps (testdata/fuzz/FuzzAsyncPkeyOps/found-setoutput-after-apply-*).
func TestHostileSetOutputAfterApply(t *testing.T) {
	ec, rs, _ := testKeys(t)
	for _, tc := range []struct {
		name string
		opts configOpts
	}{
		{"sign", configOpts{policy: "default_tls13", chain: ec}},
		{"decrypt", configOpts{policy: "test_all_rsa_kex", chain: rs}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Everything s2n allocates in run is freed by run's cleanups.
			run := func(twice bool) (err error) {
				t.Run(fmt.Sprintf("twice=%v", twice), func(t *testing.T) {
					p, op := blockedPairWith(t, tc.opts)
					require.NoError(t, performAndApply(p.server, op))
					if twice {
						err = op.SetOutput(bytes.Repeat([]byte{0x5a}, 48))
					}
					require.NoError(t, op.Free())
				})
				return err
			}
			require.NoError(t, Init())
			before := Stats()
			require.NoError(t, run(false))
			require.Equal(t, before.CAllocations, Stats().CAllocations, "control: one answer leaves nothing")
			err := run(true)
			leaked := Stats().CBytes - before.CBytes
			require.Zero(t, leaked, "bytes of s2n memory leaked by an output set after Apply")
			require.ErrorIs(t, err, ErrUsage, "an output after Apply is refused")
		})
	}
}
