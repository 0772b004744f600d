package s2n

// #include "cgo_helpers.h"
import "C"

import (
	"runtime/cgo"
	"sync"
	"sync/atomic"
)

var (
	initOnce sync.Once
	initErr  error
	// finalMu serialises CleanupFinal; finalized is set once it tore s2n
	// down (and, for the length of its check, while it runs).
	finalMu   sync.Mutex
	finalized atomic.Bool
)

// nameFinalized: s2n-tls was torn down by CleanupFinal.
const nameFinalized = "S2N_GO_ERR_FINALIZED"

func finalizedError() *Error {
	return usageError(nameFinalized, "s2n-tls was torn down by CleanupFinal: nothing more can be created in this process")
}

// Init initialises s2n-tls once per process (s2n_init), after installing the
// binding's memory callbacks (s2n_mem_set_callbacks), which count live
// allocations (see [Stats]). Every constructor calls it, so calling it
// yourself is only useful to see an initialisation error early. It is safe to call from several goroutines and
// returns the same result every time.
func Init() error {
	if finalized.Load() {
		return finalizedError()
	}
	initOnce.Do(func() {
		var e C.go_s2n_error
		if C.go_s2n_init(&e) < 0 {
			initErr = newError(&e, nil)
			return
		}
		initErr = checkFIPSBuild()
	})
	return initErr
}

// CleanupFinal tears s2n-tls down for the whole process
// (s2n_cleanup_final): it frees s2n's global state and its default
// configs, for tools that check for leaks at exit or a program that
// unloads the library's users before going on without TLS. Without it, s2n
// cleans up when the process exits.
//
// It refuses, with a usage error named S2N_GO_ERR_IN_USE, while anything
// of s2n's is alive: an open Config, Connection (Conn) or
// CertChainAndKey, a parsed ClientHello, CRL or PSK, or an async key
// operation ([Stats]' Handles and PendingOps); close them first (one
// dropped without Close counts until the garbage collector has run its
// cleanup). It must not run while another goroutine creates one. Once it
// has succeeded, Init, every constructor and CleanupFinal itself fail with
// a usage error named S2N_GO_ERR_FINALIZED: s2n is not initialised again
// in this process. If s2n was never initialised, s2n's
// S2N_ERR_NOT_INITIALIZED is returned and nothing changes.
func CleanupFinal() error {
	finalMu.Lock()
	defer finalMu.Unlock()
	if finalized.Load() {
		return finalizedError()
	}
	// Constructors that start from here on fail; one that passed Init
	// just before shows up in the counts below, or finds s2n gone and
	// fails with S2N_ERR_NOT_INITIALIZED.
	finalized.Store(true)
	if h, ops := liveHandles.Load(), pendingOps.Load(); h != 0 || ops != 0 {
		finalized.Store(false)
		return usageError(nameInUse, "CleanupFinal with %d handle(s) (Configs, Connections, CertChainAndKeys, ClientHellos, CRLs, PSKs) and %d async key operation(s) alive: close them first", h, ops)
	}
	var e C.go_s2n_error
	if C.go_s2n_cleanup_final(&e) < 0 {
		finalized.Store(false)
		return newError(&e, nil)
	}
	return nil
}

// Version reports the s2n-tls source this binary was built from: the pinned
// package version and the s2n-tls commit it carries.
func Version() string { return C.GoString(C.go_s2n_version()) }

// Libcrypto reports the libcrypto actually linked, read at run time from the
// library itself (OpenSSL_version), prefixed with the build mode, for example
// "awslc: AWS-LC 5.12.0" or "openssl: OpenSSL 3.0.19 27 Jan 2026".
func Libcrypto() string {
	return C.GoString(C.go_s2n_libcrypto_mode()) + ": " + C.GoString(C.go_s2n_libcrypto_version())
}

// OpenSSLVersion is the version number (OPENSSL_VERSION_NUMBER) of the
// OpenSSL headers s2n-tls was compiled with (s2n_get_openssl_version), with
// which an application can check at run time that the s2n-tls and libcrypto
// it loaded are the expected ones. AWS-LC, compiled against OpenSSL's API,
// reports the OpenSSL 1.1.1 it is compatible with; Libcrypto names the
// library itself.
func OpenSSLVersion() uint64 {
	return uint64(C.s2n_get_openssl_version())
}

// RuntimeStats is a snapshot of the binding's live resources, for leak checks
// and monitoring.
type RuntimeStats struct {
	// Handles is the number of live cgo handles (one per open Config,
	// Connection and CertChainAndKey), plus one per parsed ClientHello and
	// per CRL not yet freed, which hold no handle but are counted here.
	Handles int64
	// PendingOps is the number of async private-key operations handed to a
	// callback and not yet freed.
	PendingOps int64
	// CAllocations and CBytes count the memory s2n-tls holds through the
	// binding's allocator.
	CAllocations int64
	CBytes       int64
	// Blinding is the number of closed Conns whose transport is held open
	// until s2n's blinding delay after a failed handshake has passed (they
	// hold no s2n memory); BlindingEvicted counts those released early
	// because SetMaxBlindedConns's bound was reached.
	Blinding        int64
	BlindingEvicted int64
	// LateOps counts answers of a crypto.Signer (AddCertChainWithSigner)
	// that arrived after their operation's handshake had ended (the
	// connection was closed or wiped, or the handshake failed): each was
	// dropped without touching the connection.
	LateOps int64
	// Callbacks is the number of C-to-Go callbacks run so far, counted only
	// in builds with -tags s2n_cgocount (always 0 otherwise).
	Callbacks int64
}

// Stats returns the current [RuntimeStats].
func Stats() RuntimeStats {
	return RuntimeStats{
		Handles:         liveHandles.Load(),
		PendingOps:      pendingOps.Load(),
		CAllocations:    int64(C.go_s2n_live_allocations()),
		CBytes:          int64(C.go_s2n_live_bytes()),
		Blinding:        blinding.Load(),
		BlindingEvicted: blindingEvicted(),
		LateOps:         lateOps.Load(),
		Callbacks:       callbacksIn.Load(),
	}
}

var (
	liveHandles atomic.Int64
	pendingOps  atomic.Int64
	blinding    atomic.Int64
	lateOps     atomic.Int64
	callbacksIn atomic.Int64 // with cgoCounting only
)

// newHandle and deleteHandle wrap runtime/cgo handles so they are counted.
// A handle always points at an inner state struct, never at the public object
// that carries the GC cleanup, or that cleanup could never run.
func newHandle(v any) cgo.Handle {
	liveHandles.Add(1)
	return cgo.NewHandle(v)
}

func deleteHandle(h cgo.Handle) {
	h.Delete()
	liveHandles.Add(-1)
}

// threadID identifies the calling OS thread. While s2n runs one of our
// callbacks, the goroutine running it is locked to its thread, so matching
// thread IDs identify calls made from inside that callback.
func threadID() uintptr { return uintptr(C.go_s2n_thread_id()) }
