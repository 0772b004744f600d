package s2n

// #include "cgo_helpers.h"
import "C"

import (
	"math"
	"runtime"
	"runtime/cgo"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
	"weak"
)

// maxPEMSize bounds PEM input to the loaders (s2n takes lengths as uint32;
// real chains are a few KiB).
const maxPEMSize = 1 << 24

// CertChainAndKey is a certificate chain with its private key, or with no
// private key at all when the key lives elsewhere and every operation is
// offloaded (see [NewPublicCertChain]). It wraps s2n_cert_chain_and_key,
// whose context slot holds the chain's cgo handle
// (s2n_cert_chain_and_key_set_ctx).
//
// A chain added to a [Config] stays valid for as long as that Config needs it:
// Close releases the caller's reference, and the C object is freed when no
// Config holds it any longer.
type CertChainAndKey struct {
	s        *certState
	closed   atomic.Bool
	borrowed bool // handed out by Connection.SelectedCert: holds no reference
	cleanup  runtime.Cleanup
}

type certState struct {
	mu   sync.RWMutex // read-held while ptr is used, write-held to change refs or free
	ptr  *C.struct_s2n_cert_chain_and_key
	h    cgo.Handle
	refs int // the owners' references plus one per Config holding the chain
	self weak.Pointer[CertChainAndKey]
	// frozen: a Config holding the chain has been in use by a connection,
	// whose handshakes read the stapled data (SetOCSPData, SetSCTList)
	// without the lock. Set under mu.
	frozen bool
}

// NewCertChainAndKey loads a PEM certificate chain (leaf first) and its PEM
// private key (s2n_cert_chain_and_key_new, s2n_cert_chain_and_key_load_pem_bytes).
func NewCertChainAndKey(chainPEM, keyPEM []byte) (*CertChainAndKey, error) {
	if len(keyPEM) == 0 {
		return nil, usageError(nameInvalidArg, "private key PEM is empty (use NewPublicCertChain for a chain whose key is offloaded)")
	}
	return newCertChain(chainPEM, keyPEM, false)
}

// NewCertChainAndKeyFromStrings is NewCertChainAndKey for PEM held in
// strings, loaded as C strings (s2n_cert_chain_and_key_new,
// s2n_cert_chain_and_key_load_pem); s2n.h prefers the []byte form. A NUL
// byte, where s2n would stop reading, is refused.
func NewCertChainAndKeyFromStrings(chainPEM, keyPEM string) (*CertChainAndKey, error) {
	if keyPEM == "" {
		return nil, usageError(nameInvalidArg, "private key PEM is empty (use NewPublicCertChain for a chain whose key is offloaded)")
	}
	if strings.IndexByte(chainPEM, 0) >= 0 || strings.IndexByte(keyPEM, 0) >= 0 {
		return nil, usageError(nameInvalidArg, "PEM input contains a NUL byte")
	}
	// NUL-terminated copies; the lengths checked are those of the PEM.
	chain := append([]byte(chainPEM), 0)
	key := append([]byte(keyPEM), 0)
	return newCertChain(chain[:len(chainPEM)], key[:len(keyPEM)], true)
}

// NewPublicCertChain loads a PEM certificate chain without a private key
// (s2n_cert_chain_and_key_new, s2n_cert_chain_and_key_load_public_pem_bytes).
// Every private-key operation for it must then be offloaded through
// [Config.SetAsyncPkeyCallback] with [AsyncPkeyOp.SetOutput]: the key never
// has to be in this process.
func NewPublicCertChain(chainPEM []byte) (*CertChainAndKey, error) {
	return newCertChain(chainPEM, nil, false)
}

// newCertChain loads chainPEM and keyPEM (nil: public-only); with cstrings,
// each is followed in its backing array by a NUL byte, and s2n reads them
// as C strings.
func newCertChain(chainPEM, keyPEM []byte, cstrings bool) (*CertChainAndKey, error) {
	if err := Init(); err != nil {
		return nil, err
	}
	if len(chainPEM) == 0 {
		return nil, usageError(nameInvalidArg, "certificate chain PEM is empty")
	}
	if len(chainPEM) > maxPEMSize || len(keyPEM) > maxPEMSize {
		return nil, usageError(nameInvalidArg, "PEM input larger than %d bytes", maxPEMSize)
	}
	st := &certState{refs: 1}
	st.h = newHandle(st)
	var keyPtr *C.uint8_t
	if keyPEM != nil {
		keyPtr = (*C.uint8_t)(unsafe.Pointer(&keyPEM[0]))
	}
	var e C.go_s2n_error
	st.ptr = C.go_s2n_cert_chain_and_key_new((*C.uint8_t)(unsafe.Pointer(&chainPEM[0])), C.uint32_t(len(chainPEM)),
		keyPtr, C.uint32_t(len(keyPEM)), cBool(cstrings), C.uintptr_t(st.h), &e)
	if st.ptr == nil {
		deleteHandle(st.h)
		return nil, newError(&e, nil)
	}
	c := &CertChainAndKey{s: st}
	st.self = weak.Make(c)
	c.cleanup = runtime.AddCleanup(c, (*certState).release, st)
	return c, nil
}

// acquire takes a reference for a Config; it fails once the chain is freed.
func (st *certState) acquire() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.ptr == nil {
		return false
	}
	st.refs++
	return true
}

func (st *certState) release() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.refs--
	if st.refs > 0 || st.ptr == nil {
		return
	}
	var e C.go_s2n_error
	C.go_s2n_cert_chain_and_key_free(st.ptr, &e)
	st.ptr = nil
	deleteHandle(st.h)
}

// certFromC finds the Go chain behind a C pointer s2n handed back
// (s2n_cert_chain_and_key_get_ctx): the caller's own object while it is
// open, or else a borrowed view, valid for as long as a Config holds the
// chain, whose Close does nothing.
func certFromC(p *C.struct_s2n_cert_chain_and_key) *CertChainAndKey {
	st := cgo.Handle(C.go_s2n_cert_chain_and_key_handle(p)).Value().(*certState)
	if c := st.self.Value(); c != nil && !c.closed.Load() {
		return c
	}
	return &CertChainAndKey{s: st, borrowed: true}
}

// Close releases this reference to the chain. It is idempotent; the C object
// is freed once no Config uses it (s2n_cert_chain_and_key_free).
func (c *CertChainAndKey) Close() error {
	if c == nil || c.s == nil || c.closed.Swap(true) || c.borrowed {
		return nil
	}
	c.cleanup.Stop()
	c.s.release()
	return nil
}

// PrivateKey returns the chain's private key, for [AsyncPkeyOp.Perform]
// (s2n_cert_chain_and_key_get_private_key). For a chain loaded with
// NewPublicCertChain the key is empty and Perform fails: use SetOutput
// instead.
func (c *CertChainAndKey) PrivateKey() (*PrivateKey, error) {
	if c == nil || c.s == nil {
		return nil, usageError(nameInvalidArg, "nil or zero *CertChainAndKey: use NewCertChainAndKey")
	}
	if c.closed.Load() {
		return nil, closedError("certificate chain")
	}
	st := c.s
	st.mu.RLock()
	defer st.mu.RUnlock()
	if st.ptr == nil {
		return nil, closedError("certificate chain")
	}
	var e C.go_s2n_error
	p := C.go_s2n_cert_chain_and_key_get_private_key(st.ptr, &e)
	if p == nil {
		return nil, newError(&e, nil)
	}
	return &PrivateKey{cert: st, ptr: p}, nil
}

// PrivateKey is the private key of a [CertChainAndKey]
// (s2n_cert_private_key). It belongs to the chain and is valid while the
// chain is.
type PrivateKey struct {
	cert *certState
	ptr  *C.s2n_cert_private_key
}

// SetCertTiebreakCallback sets the function that picks between two chains
// for the same name, when s2n cannot tell them apart by key type
// (s2n_config_set_cert_tiebreak_callback). It runs while a chain is added
// (AddCertChainAndKey, AddCertChainWithSigner), on the adding goroutine,
// with the chain already present and the new one; it returns one of them,
// or nil for s2n's default (the one added first). A panic counts as nil.
// Set it before adding chains; nil removes it.
func (c *Config) SetCertTiebreakCallback(fn func(a, b *CertChainAndKey, name string) *CertChainAndKey) error {
	rec := setting{name: "SetCertTiebreakCallback", replay: func(d *Config) error { return d.SetCertTiebreakCallback(fn) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		if C.go_s2n_config_set_cert_tiebreak_callback(p, cBool(fn != nil), e) < 0 {
			return -1
		}
		c.s.tiebreak = fn
		return 0
	})
}

// SetDefaultCertChains sets the chains a server uses when no chain matches
// the client's server name, at most one per key type; it replaces s2n's
// choice (the first chain added of each type)
// (s2n_config_set_cert_chain_and_key_defaults). The Config keeps the chains.
func (c *Config) SetDefaultCertChains(chains ...*CertChainAndKey) error {
	if len(chains) == 0 {
		return usageError(nameInvalidArg, "no certificate chains")
	}
	states := make([]*certState, 0, len(chains))
	release := func() {
		for _, st := range states {
			st.release()
		}
	}
	for _, ch := range chains {
		if ch == nil || ch.s == nil || ch.closed.Load() || !ch.s.acquire() {
			release()
			return usageError(nameInvalidArg, "certificate chain is nil or closed")
		}
		states = append(states, ch.s)
	}
	// The array of C pointers lives in C memory: cgo forbids passing Go
	// memory that holds pointers.
	arr := (**C.struct_s2n_cert_chain_and_key)(C.malloc(C.size_t(len(states)) * C.size_t(unsafe.Sizeof(uintptr(0)))))
	defer C.free(unsafe.Pointer(arr))
	ptrs := unsafe.Slice(arr, len(states))
	for i, st := range states {
		st.mu.RLock()
		ptrs[i] = st.ptr
	}
	rec := setting{name: "SetDefaultCertChains", kind: settingCert, replay: func(d *Config) error {
		views := make([]*CertChainAndKey, len(states))
		for i, st := range states {
			views[i] = &CertChainAndKey{s: st, borrowed: true} // held by this Config
		}
		return d.SetDefaultCertChains(views...)
	}}
	err := c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		if C.go_s2n_config_set_cert_chain_and_key_defaults(p, arr, C.uint32_t(len(states)), e) < 0 {
			return -1
		}
		c.s.certs = append(c.s.certs, states...)
		return 0
	})
	for _, st := range states {
		st.mu.RUnlock()
	}
	if err != nil {
		release()
	}
	return err
}

// checkExtensionArgs validates the certificate index and OID of an X.509
// extension lookup.
func checkExtensionArgs(i int, oid string) error {
	if i < 0 || uint64(i) > math.MaxUint32 {
		return usageError(nameInvalidArg, "certificate index %d out of range", i)
	}
	if oid == "" || strings.IndexByte(oid, 0) >= 0 {
		return usageError(nameInvalidArg, "invalid OID %q", oid)
	}
	return nil
}

// x509Extension runs get (a go_s2n_cert_x509_extension call) with no buffer
// to learn the value's length, then with one that fits; ok is false when
// get failed.
func x509Extension(get func(buf *C.uint8_t, cap C.uint32_t, critical *C.bool) C.long) (value []byte, critical, ok bool) {
	n := get(nil, 0, nil)
	if n < 0 {
		return nil, false, false
	}
	buf := make([]byte, max(n, 1))
	var crit C.bool
	n = get((*C.uint8_t)(unsafe.Pointer(&buf[0])), C.uint32_t(len(buf)), &crit)
	if n < 0 {
		return nil, false, false
	}
	return buf[:n], bool(crit), true
}

// X509Extension returns the value of the X.509 extension oid of
// certificate i of the chain, 0 being the leaf, and whether it is critical
// (s2n_cert_chain_get_cert, s2n_cert_get_x509_extension_value_length,
// s2n_cert_get_x509_extension_value). oid is dotted, such as "2.5.29.17",
// or a name libcrypto knows, such as "subjectAltName". The value is the DER
// the extension's extnValue holds, crypto/x509's Extension.Value. A
// certificate without the extension gives
// S2N_ERR_X509_EXTENSION_VALUE_NOT_FOUND. [UTF8StringFromExtensionData]
// decodes a value that is a UTF8String.
func (c *CertChainAndKey) X509Extension(i int, oid string) (value []byte, critical bool, err error) {
	if c == nil || c.s == nil {
		return nil, false, usageError(nameInvalidArg, "nil or zero *CertChainAndKey: use NewCertChainAndKey")
	}
	if c.closed.Load() {
		return nil, false, closedError("certificate chain")
	}
	if err := checkExtensionArgs(i, oid); err != nil {
		return nil, false, err
	}
	st := c.s
	st.mu.RLock()
	defer st.mu.RUnlock()
	if st.ptr == nil {
		return nil, false, closedError("certificate chain")
	}
	coid := C.CString(oid)
	defer C.free(unsafe.Pointer(coid))
	var e C.go_s2n_error
	value, critical, ok := x509Extension(func(buf *C.uint8_t, cap C.uint32_t, crit *C.bool) C.long {
		return C.go_s2n_cert_x509_extension(st.ptr, nil, C.uint32_t(i), coid, buf, cap, crit, &e)
	})
	if !ok {
		return nil, false, newError(&e, nil)
	}
	return value, critical, nil
}

// UTF8StringFromExtensionData decodes the DER of an X.509 extension value
// that is a UTF8String, as X509Extension returns it
// (s2n_cert_get_utf8_string_from_extension_data_length,
// s2n_cert_get_utf8_string_from_extension_data). Other data gives
// S2N_ERR_INVALID_X509_EXTENSION_TYPE.
func UTF8StringFromExtensionData(data []byte) (string, error) {
	if len(data) == 0 || uint64(len(data)) > math.MaxUint32 {
		return "", usageError(nameInvalidArg, "extension data of %d bytes", len(data))
	}
	in := (*C.uint8_t)(unsafe.Pointer(&data[0]))
	var e C.go_s2n_error
	n := C.go_s2n_cert_utf8_from_extension_data(in, C.uint32_t(len(data)), nil, 0, &e)
	if n < 0 {
		return "", newError(&e, nil)
	}
	out := make([]byte, max(n, 1))
	n = C.go_s2n_cert_utf8_from_extension_data(in, C.uint32_t(len(data)), (*C.uint8_t)(unsafe.Pointer(&out[0])), C.uint32_t(len(out)), &e)
	if n < 0 {
		return "", newError(&e, nil)
	}
	return string(out[:n]), nil
}
