package s2n

// #include "cgo_helpers.h"
import "C"

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"runtime"
	"runtime/cgo"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Config holds settings shared by connections (s2n_config).
//
// Configure a Config fully before the first [Connection.SetConfig]: from then
// on it is in use and its setters return a usage error, so that no connection
// sees its settings change underneath it. Close releases the caller's
// reference; the C object is freed when no connection uses it any longer.
// A Config may be used by any number of connections at once.
type Config struct {
	s       *configState
	closed  atomic.Bool
	cleanup runtime.Cleanup
}

type configState struct {
	mu      sync.Mutex
	ptr     *C.struct_s2n_config
	h       cgo.Handle
	refs    int  // the owner's reference plus one per connection using it
	inUse   bool // attached to a connection once: settings are frozen
	asyncFn AsyncPkeyFunc
	// offloadFn is SetAsyncOffloadCallback's function.
	offloadFn AsyncOffloadFunc
	certs     []*certState

	// Keys offloaded through AddCertChainWithSigner, by chain, and the
	// optional bound on their concurrent operations.
	signers       map[*certState]*signerEntry
	sem           chan struct{}
	validationSet bool // SetAsyncPkeyValidationMode was called

	verifyHost    func(name string) bool
	clientHelloFn ClientHelloFunc // SetClientHelloCallback
	certRequestFn CertRequestFunc // SetCertRequestCallback
	// SetHandshakeEventCallback's and SetTimingCheckpointCallback's functions.
	handshakeEvent   func(*Connection, HandshakeEvent)
	timingCheckpoint func(*Connection, TimingCheckpoint)
	// tiebreak is SetCertTiebreakCallback's function.
	tiebreak   func(a, b *CertChainAndKey, name string) *CertChainAndKey
	validation certValidation // certvalidation.go, crl.go

	ticketFn     SessionTicketFunc  // SetSessionTicketCallback
	clientCache  ClientSessionCache // SetClientSessionCache
	sessionCache SessionCache       // SetSessionCache

	keyLog      io.Writer        // SetKeyLogWriter
	psks        []pskSpec        // AddPSK
	pskSelect   PSKSelectionFunc // SetPSKSelectionCallback
	earlyDataFn EarlyDataFunc    // SetEarlyDataCallback
	maxEarly    uint32           // SetServerMaxEarlyDataSize

	renegotiateFn RenegotiateRequestFunc // SetRenegotiateRequestCallback
	minimal       bool                   // NewMinimalConfig
	releaseIdle   bool                   // SetReleaseBuffersWhenIdle
	connKTLSSend  bool                   // EnableConnKTLS
	connKTLSRecv  bool                   // EnableConnKTLS
	policy        string                 // SetCipherPreferences
	noVerify      bool                   // DisableX509Verification
	// SetWallClock's and SetMonotonicClock's Clocks, kept alive while s2n
	// reads them.
	wallClock, monoClock *Clock

	// settings are the successful calls of the public setters, in order:
	// Clone makes them again on a new Config.
	settings []setting
	// certConfigs are the Configs SetGetCertificate derived, closed with
	// this one.
	certConfigs *certConfigCache

	e C.go_s2n_error // error record of calls made under mu
}

// NewConfig creates a Config with s2n's defaults (s2n_config_new). Its
// context slot holds the Config's cgo handle (s2n_config_set_ctx), and its
// monotonic clock is the binding's (s2n_config_set_monotonic_clock), which
// lets a [Conn] keep the blinding delay with a timer of its own.
func NewConfig() (*Config, error) { return newConfig(false) }

// NewMinimalConfig creates a Config with only what s2n needs to negotiate
// (s2n_config_new_minimal): no system trust store is loaded, which makes it
// cheaper to create; add trust with AddPEMToTrustStore or LoadSystemCerts.
// Its clones are minimal too.
func NewMinimalConfig() (*Config, error) { return newConfig(true) }

func newConfig(minimal bool) (*Config, error) {
	if err := Init(); err != nil {
		return nil, err
	}
	st := &configState{refs: 1, minimal: minimal}
	st.h = newHandle(st)
	var e C.go_s2n_error
	st.ptr = C.go_s2n_config_new(C.uintptr_t(st.h), cBool(minimal), &e)
	if st.ptr == nil {
		deleteHandle(st.h)
		return nil, newError(&e, nil)
	}
	c := &Config{s: st}
	c.cleanup = runtime.AddCleanup(c, (*configState).release, st)
	return c, nil
}

// Close releases the caller's reference to the Config. It is idempotent and
// safe from any goroutine; connections already using the Config keep working.
// The C object is freed when no connection uses it any longer
// (s2n_config_free).
func (c *Config) Close() error {
	if c == nil || c.s == nil || c.closed.Swap(true) {
		return nil
	}
	c.cleanup.Stop()
	c.s.release()
	return nil
}

func (st *configState) release() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.refs--
	if st.refs > 0 || st.ptr == nil {
		return
	}
	var e C.go_s2n_error
	C.go_s2n_config_free(st.ptr, &e)
	st.ptr = nil
	deleteHandle(st.h)
	for _, cert := range st.certs {
		cert.release()
	}
	st.certs = nil
	st.settings = nil
	if st.certConfigs != nil {
		st.certConfigs.close()
	}
}

// acquire takes a reference for a connection and freezes the settings.
func (st *configState) acquire() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.ptr == nil {
		return false
	}
	st.refs++
	if !st.inUse {
		st.inUse = true
		for _, cert := range st.certs {
			cert.mu.Lock()
			cert.frozen = true
			cert.mu.Unlock()
		}
	}
	return true
}

// modify runs f on the C config under the lock, refusing once the Config is
// closed or in use.
func (c *Config) modify(f func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int) error {
	if c == nil || c.s == nil {
		return usageError(nameInvalidArg, "nil or zero *Config: use NewConfig")
	}
	if c.closed.Load() {
		return closedError("config")
	}
	st := c.s
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.ptr == nil {
		return closedError("config")
	}
	if st.inUse {
		return usageError(nameInUse, "config is in use by a connection: finish configuring it before Connection.SetConfig")
	}
	if f(st.ptr, &st.e) < 0 {
		return newError(&st.e, nil)
	}
	return nil
}

// settingKind sorts the recorded settings for the Configs that
// SetGetCertificate derives, which have a certificate of their own and no
// ClientHello callback.
type settingKind uint8

const (
	settingPlain settingKind = iota
	settingCert              // adds or chooses certificate chains
	settingHello             // sets the ClientHello callback
)

// setting is one successful call of a public setter: replay makes the same
// call on another Config.
type setting struct {
	name   string // the setter's name
	kind   settingKind
	replay func(*Config) error
}

// set is modify for a public setter: when f succeeds, the call is recorded
// for Clone. Every exported Set*, Add*, Append*, Allow*, Disable*, Wipe* and Enable* method
// goes through it, or is listed in config_test.go's notCloned with why.
func (c *Config) set(rec setting, f func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int) error {
	return c.modify(func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		if f(p, e) < 0 {
			return -1
		}
		c.s.settings = append(c.s.settings, rec)
		return 0
	})
}

// Clone returns a new Config with the same settings as c, like crypto/tls's
// Config.Clone: every successful call made on c through its setters (the
// Set*, Add*, Append*, Allow*, Disable*, Enable*, Wipe*, Load*, Require*,
// Send* and Accept* methods) is made again on the new Config,
// in the same order and with the same arguments. Certificate chains added
// with AddCertChainAndKey or SetDefaultCertChains are shared (s2n counts
// their references), a chain added with AddCertChainWithSigner is loaded
// again with the same crypto.Signer, callbacks are the same functions, and
// the bound of SetMaxInflightKeyOps is a new one of the same size. The
// Config keeps what it needs for this (copies of trust store PEM, ALPN
// names and session ticket keys) for its lifetime.
//
// The clone is not in use: it may be changed before it is used, and Close
// of one does not affect the other. c may be in use, and may be cloned from
// any goroutine.
func (c *Config) Clone() (*Config, error) {
	if c == nil || c.s == nil {
		return nil, usageError(nameInvalidArg, "nil or zero *Config: use NewConfig")
	}
	if c.closed.Load() {
		return nil, closedError("config")
	}
	return c.s.clone(nil)
}

// clone makes a new Config with st's recorded settings, but those of the
// kinds skip reports.
func (st *configState) clone(skip func(settingKind) bool) (*Config, error) {
	st.mu.Lock()
	if st.ptr == nil {
		st.mu.Unlock()
		return nil, closedError("config")
	}
	settings := slices.Clone(st.settings)
	st.mu.Unlock()
	d, err := newConfig(st.minimal)
	if err != nil {
		return nil, err
	}
	for _, rec := range settings {
		if skip != nil && skip(rec.kind) {
			continue
		}
		if err := rec.replay(d); err != nil {
			d.Close()
			return nil, fmt.Errorf("s2n: Config.Clone: %s: %w", rec.name, err)
		}
	}
	return d, nil
}

// SetCipherPreferences selects a named s2n security policy, such as
// "default_tls13" or "20230317" (s2n_config_set_cipher_preferences).
func (c *Config) SetCipherPreferences(version string) error {
	if version == "" || strings.IndexByte(version, 0) >= 0 {
		return usageError(nameInvalidArg, "invalid cipher preferences name %q", version)
	}
	cs := C.CString(version)
	defer C.free(unsafe.Pointer(cs))
	rec := setting{name: "SetCipherPreferences", replay: func(d *Config) error { return d.SetCipherPreferences(version) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		if C.go_s2n_config_set_cipher_preferences(p, cs, e) < 0 {
			return -1
		}
		c.s.policy = version
		return 0
	})
}

// AddCertChainAndKey adds a chain to the config's store
// (s2n_config_add_cert_chain_and_key_to_store). The Config keeps the chain
// alive until the Config itself is freed.
func (c *Config) AddCertChainAndKey(chain *CertChainAndKey) error {
	if chain == nil || chain.s == nil || chain.closed.Load() {
		return usageError(nameInvalidArg, "certificate chain is nil or closed")
	}
	cert := chain.s
	if !cert.acquire() {
		return closedError("certificate chain")
	}
	rec := setting{name: "AddCertChainAndKey", kind: settingCert, replay: func(d *Config) error {
		// A view of the chain, which this Config holds: the caller may
		// have closed its own.
		return d.AddCertChainAndKey(&CertChainAndKey{s: cert, borrowed: true})
	}}
	err := c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		cert.mu.RLock()
		defer cert.mu.RUnlock()
		if C.go_s2n_config_add_cert_chain_and_key_to_store(p, cert.ptr, e) < 0 {
			return -1
		}
		c.s.certs = append(c.s.certs, cert)
		return 0
	})
	if err != nil {
		cert.release()
	}
	return err
}

// AddPEMToTrustStore adds PEM certificates to the trust store used to verify
// peers (s2n_config_add_pem_to_trust_store).
func (c *Config) AddPEMToTrustStore(pem []byte) error {
	if len(pem) == 0 || len(pem) > maxPEMSize || bytes.IndexByte(pem, 0) >= 0 {
		return usageError(nameInvalidArg, "trust store PEM is empty, too large or contains a NUL byte")
	}
	cs := C.CString(string(pem))
	defer C.free(unsafe.Pointer(cs))
	saved := bytes.Clone(pem)
	rec := setting{name: "AddPEMToTrustStore", replay: func(d *Config) error { return d.AddPEMToTrustStore(saved) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		return C.go_s2n_config_add_pem_to_trust_store(p, cs, e)
	})
}

// WipeTrustStore removes every certificate from the trust store, including
// the system defaults s2n loads (s2n_config_wipe_trust_store).
func (c *Config) WipeTrustStore() error {
	rec := setting{name: "WipeTrustStore", replay: (*Config).WipeTrustStore}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		return C.go_s2n_config_wipe_trust_store(p, e)
	})
}

// DisableX509Verification turns off peer certificate verification
// (s2n_config_disable_x509_verification). For tests only.
func (c *Config) DisableX509Verification() error {
	rec := setting{name: "DisableX509Verification", replay: (*Config).DisableX509Verification}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		if C.go_s2n_config_disable_x509_verification(p, e) < 0 {
			return -1
		}
		c.s.noVerify = true
		return 0
	})
}

// SetClientAuthType sets whether client certificates are requested (server)
// or sent (client) (s2n_config_set_client_auth_type).
func (c *Config) SetClientAuthType(t ClientAuthType) error {
	// s2n stores any value, and a server then behaves as if Required.
	if t != ClientAuthNone && t != ClientAuthRequired && t != ClientAuthOptional {
		return usageError(nameInvalidArg, "invalid client auth type %d", int(t))
	}
	rec := setting{name: "SetClientAuthType", replay: func(d *Config) error { return d.SetClientAuthType(t) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		return C.go_s2n_config_set_client_auth_type(p, C.s2n_cert_auth_type(t), e)
	})
}

// SetAsyncPkeyCallback routes every private-key operation of connections
// using this Config to fn (s2n_config_set_async_pkey_callback); nil restores
// s2n's synchronous use of the loaded key. See [AsyncPkeyFunc].
func (c *Config) SetAsyncPkeyCallback(fn AsyncPkeyFunc) error {
	rec := setting{name: "SetAsyncPkeyCallback", replay: func(d *Config) error { return d.SetAsyncPkeyCallback(fn) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		enabled := C.int(0)
		if fn != nil || len(c.s.signers) > 0 {
			enabled = 1
		}
		if C.go_s2n_config_set_async_pkey_callback(p, enabled, e) < 0 {
			return -1
		}
		c.s.asyncFn = fn
		return 0
	})
}

// SetAsyncPkeyValidationMode sets how strictly Apply validates results
// (s2n_config_set_async_pkey_validation_mode).
func (c *Config) SetAsyncPkeyValidationMode(mode AsyncPkeyValidationMode) error {
	rec := setting{name: "SetAsyncPkeyValidationMode", replay: func(d *Config) error { return d.SetAsyncPkeyValidationMode(mode) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		if C.go_s2n_config_set_async_pkey_validation_mode(p, C.s2n_async_pkey_validation_mode(mode), e) < 0 {
			return -1
		}
		c.s.validationSet = true
		return 0
	})
}

// maxALPNProtocols bounds the ALPN list; each name is 1 to 255 bytes (RFC 7301).
const maxALPNProtocols = 64

// checkALPN validates an ALPN list.
func checkALPN(protocols []string) error {
	if len(protocols) > maxALPNProtocols {
		return usageError(nameInvalidArg, "more than %d ALPN protocols", maxALPNProtocols)
	}
	for _, p := range protocols {
		if err := checkALPNProtocol(p); err != nil {
			return err
		}
	}
	return nil
}

// cStrings copies list into C memory, as an array of C strings with a NULL
// after the last (cgo forbids passing Go memory that holds pointers); free
// releases it all.
func cStrings(list []string) (arr **C.char, free func()) {
	ptrs := make([]*C.char, len(list)+1)
	for i, p := range list {
		ptrs[i] = C.CString(p)
	}
	arr = (**C.char)(C.malloc(C.size_t(len(ptrs)) * C.size_t(unsafe.Sizeof(ptrs[0]))))
	copy(unsafe.Slice(arr, len(ptrs)), ptrs)
	return arr, func() {
		for _, p := range ptrs[:len(list)] {
			C.free(unsafe.Pointer(p))
		}
		C.free(unsafe.Pointer(arr))
	}
}

// SetProtocolPreferences sets the ALPN protocols offered (client) or accepted
// (server), most preferred first (s2n_config_set_protocol_preferences).
func (c *Config) SetProtocolPreferences(protocols []string) error {
	if err := checkALPN(protocols); err != nil {
		return err
	}
	arr, free := cStrings(protocols)
	defer free()
	saved := slices.Clone(protocols)
	rec := setting{name: "SetProtocolPreferences", replay: func(d *Config) error { return d.SetProtocolPreferences(saved) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		return C.go_s2n_config_set_protocol_preferences(p, arr, C.int(len(protocols)), e)
	})
}

// checkALPNProtocol validates one ALPN protocol name: 1 to 255 bytes, no
// NUL (ApplicationProtocol reads the chosen name back as a C string).
func checkALPNProtocol(protocol string) error {
	if len(protocol) == 0 || len(protocol) > 255 || strings.IndexByte(protocol, 0) >= 0 {
		return usageError(nameInvalidArg, "invalid ALPN protocol name %q", protocol)
	}
	return nil
}

// AppendProtocolPreference adds protocol at the end of the ALPN protocols
// offered (client) or accepted (server), after those of earlier calls and
// of SetProtocolPreferences, which replaces the whole list
// (s2n_config_append_protocol_preference).
func (c *Config) AppendProtocolPreference(protocol string) error {
	if err := checkALPNProtocol(protocol); err != nil {
		return err
	}
	b := []byte(protocol)
	rec := setting{name: "AppendProtocolPreference", replay: func(d *Config) error { return d.AppendProtocolPreference(protocol) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		return C.go_s2n_config_append_protocol_preference(p, (*C.uint8_t)(unsafe.Pointer(&b[0])), C.uint8_t(len(b)), e)
	})
}

// SetVerifyHostCallback replaces s2n's check of the names in the peer's
// certificate (s2n_config_set_verify_host_callback). By default s2n requires
// a name matching the server name set on the connection, which a server
// doing client authentication rarely wants. fn is called with each DNS name,
// URI and IP address (in text form) of the peer's leaf certificate until
// one is accepted; only if it has none of those, with its common name, and
// with "" if it has no name at all. The chain is still verified
// against the trust store. It runs as a callback of the connection being
// verified, on its handshake's thread: it must not block for long (see
// [Connection.SetVerifyHostCallback] for a per-connection check). A nil fn
// restores the default.
func (c *Config) SetVerifyHostCallback(fn func(name string) bool) error {
	rec := setting{name: "SetVerifyHostCallback", replay: func(d *Config) error { return d.SetVerifyHostCallback(fn) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		if C.go_s2n_config_set_verify_host_callback(p, cBool(fn != nil), C.uintptr_t(c.s.h), e) < 0 {
			return -1
		}
		c.s.verifyHost = fn
		return 0
	})
}

// SetMaxFragmentLength sets the largest record payload this side sends, 1
// to 16384 bytes (s2n_config_set_max_fragment_length). s2n's default is
// about 8 KiB, a balance of latency and throughput; 16384 suits bulk
// transfers (fewer records, fewer system calls), as crypto/tls does once a
// connection has sent a little data.
func (c *Config) SetMaxFragmentLength(n int) error {
	if n < 1 || n > 16384 {
		return usageError(nameInvalidArg, "max fragment length %d not in 1..16384", n)
	}
	rec := setting{name: "SetMaxFragmentLength", replay: func(d *Config) error { return d.SetMaxFragmentLength(n) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		return C.go_s2n_config_set_max_fragment_length(p, C.uint16_t(n), e)
	})
}

// SetReleaseBuffersWhenIdle makes each [Conn] using this Config free its
// I/O buffers, s2n's (s2n_connection_release_buffers) and its own, whenever a
// Read finds nothing buffered and has to wait for the peer. An idle
// connection then holds a few hundred bytes of buffers instead of about
// 50 KiB; the price is allocating them again when data arrives (a malloc and
// one extra read from the network per wake-up), so turn it on for servers
// with many long-lived, mostly idle connections, not for bulk transfers.
// It affects Conn only; low-level users call [Connection.ReleaseBuffers].
func (c *Config) SetReleaseBuffersWhenIdle(on bool) error {
	rec := setting{name: "SetReleaseBuffersWhenIdle", replay: func(d *Config) error { return d.SetReleaseBuffersWhenIdle(on) }}
	return c.set(rec, func(*C.struct_s2n_config, *C.go_s2n_error) C.int {
		c.s.releaseIdle = on
		return 0
	})
}

// SetMaxBlindingDelay caps the delay s2n asks for after a failed handshake
// (s2n_config_set_max_blinding_delay; default 30 s, applied with
// [Connection.Delay] or, by [Conn], with a timer). Lowering it makes timing
// attacks cheaper: keep it above zero outside tests, and below your
// transport's timeouts.
func (c *Config) SetMaxBlindingDelay(d time.Duration) error {
	if d < 0 || d > 24*time.Hour {
		return usageError(nameInvalidArg, "blinding delay %v out of range", d)
	}
	rec := setting{name: "SetMaxBlindingDelay", replay: func(o *Config) error { return o.SetMaxBlindingDelay(d) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		// Whole seconds, rounded up: a fraction must not turn blinding off.
		return C.go_s2n_config_set_max_blinding_delay(p, C.uint32_t((d+time.Second-1)/time.Second), e)
	})
}

// policyName is the security policy in force: the one set, or s2n's default.
func (st *configState) policyName() string {
	switch {
	case st.policy != "":
		return st.policy
	case fipsBuild:
		return "default_fips"
	}
	return "default"
}

// ClientAuthType returns the client authentication the Config asks for
// (s2n_config_get_client_auth_type).
func (c *Config) ClientAuthType() (ClientAuthType, error) {
	var t C.s2n_cert_auth_type
	err := c.read(func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		return C.go_s2n_config_get_client_auth_type(p, &t, e)
	})
	return ClientAuthType(t), err
}

// SupportedGroups returns the IANA codes of the key exchange groups the
// Config's policy offers in the supported_groups extension, in its order
// (s2n_config_get_supported_groups).
func (c *Config) SupportedGroups() ([]tls.CurveID, error) {
	var groups [64]C.uint16_t
	var n C.uint16_t
	err := c.read(func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		return C.go_s2n_config_get_supported_groups(p, &groups[0], C.uint16_t(len(groups)), &n, e)
	})
	if err != nil {
		return nil, err
	}
	out := make([]tls.CurveID, n)
	for i := range out {
		out[i] = tls.CurveID(groups[i])
	}
	return out, nil
}

// AlertBehavior says what s2n does with a TLS 1.2 warning alert
// (s2n_alert_behavior).
type AlertBehavior int

const (
	// AlertFailOnWarnings ends the connection on any warning alert
	// (S2N_ALERT_FAIL_ON_WARNINGS, the default and s2n's recommendation).
	AlertFailOnWarnings AlertBehavior = C.S2N_ALERT_FAIL_ON_WARNINGS
	// AlertIgnoreWarnings ignores TLS 1.2 warning alerts but close_notify
	// (S2N_ALERT_IGNORE_WARNINGS); TLS 1.3 has no warnings.
	AlertIgnoreWarnings AlertBehavior = C.S2N_ALERT_IGNORE_WARNINGS
)

// SetAlertBehavior sets what s2n does with warning alerts
// (s2n_config_set_alert_behavior).
func (c *Config) SetAlertBehavior(b AlertBehavior) error {
	if b != AlertFailOnWarnings && b != AlertIgnoreWarnings {
		return usageError(nameInvalidArg, "unknown alert behavior %d", b)
	}
	rec := setting{name: "SetAlertBehavior", replay: func(d *Config) error { return d.SetAlertBehavior(b) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		return C.go_s2n_config_set_alert_behavior(p, C.s2n_alert_behavior(b), e)
	})
}

// AddDHParams sets the finite-field Diffie-Hellman group of TLS 1.2 DHE
// cipher suites, from a PEM "DH PARAMETERS" block (s2n_config_add_dhparams).
// s2n frees them with the Config.
func (c *Config) AddDHParams(pem []byte) error {
	if len(pem) == 0 || len(pem) > maxPEMSize || bytes.IndexByte(pem, 0) >= 0 {
		return usageError(nameInvalidArg, "DH parameters PEM is empty, too large or contains a NUL byte")
	}
	cs := C.CString(string(pem))
	defer C.free(unsafe.Pointer(cs))
	saved := bytes.Clone(pem)
	rec := setting{name: "AddDHParams", replay: func(d *Config) error { return d.AddDHParams(saved) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		return C.go_s2n_config_add_dhparams(p, cs, e)
	})
}

// read runs a getter f on the C config, in use or not.
func (c *Config) read(f func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int) error {
	if c == nil || c.s == nil {
		return usageError(nameInvalidArg, "nil or zero *Config: use NewConfig")
	}
	if c.closed.Load() {
		return closedError("config")
	}
	st := c.s
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.ptr == nil {
		return closedError("config")
	}
	if f(st.ptr, &st.e) < 0 {
		return newError(&st.e, nil)
	}
	return nil
}

// SetVerifyAfterSign makes s2n verify each signature made with a local
// private key before sending it (s2n_config_set_verify_after_sign): a
// hardware or libcrypto fault then fails the handshake instead of leaking
// the key through a bad signature, at a cost in latency. Keys offloaded
// through AddCertChainWithSigner are checked by ValidationStrict instead.
func (c *Config) SetVerifyAfterSign(enabled bool) error {
	mode := C.S2N_VERIFY_AFTER_SIGN_DISABLED
	if enabled {
		mode = C.S2N_VERIFY_AFTER_SIGN_ENABLED
	}
	rec := setting{name: "SetVerifyAfterSign", replay: func(d *Config) error { return d.SetVerifyAfterSign(enabled) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		return C.go_s2n_config_set_verify_after_sign(p, C.s2n_verify_after_sign(mode), e)
	})
}

// SetNPN turns on Next Protocol Negotiation, the pre-standard predecessor of
// ALPN that some OpenSSL peers still require (unstable s2n_config_set_npn):
// a client offers it and a server answers it, with the protocols of
// SetProtocolPreferences; a peer that also offers ALPN gets ALPN. The
// protocol chosen is read as ALPN's is. s2n advises against NPN otherwise.
func (c *Config) SetNPN(enabled bool) error {
	rec := setting{name: "SetNPN", replay: func(d *Config) error { return d.SetNPN(enabled) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		return C.go_s2n_config_set_npn(p, C.bool(enabled), e)
	})
}
