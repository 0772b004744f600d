package s2n

// #include "cgo_helpers.h"
import "C"

import (
	"errors"
	"sync"
	"unsafe"
)

// AsyncPkeyFunc handles a private-key operation of a handshake
// (s2n_async_pkey_fn). It is called from inside Negotiate, on the goroutine
// that drives the handshake, with the very *Connection the application
// created. It can
//
//   - complete the operation synchronously: Perform (or SetOutput) then Apply,
//     and return nil; the handshake goes on without blocking;
//   - complete it asynchronously: hand op to another goroutine and return nil
//     at once; Negotiate then reports BlockedOnApplicationInput until that
//     goroutine calls Apply;
//   - fail: return an error. Negotiate fails with an *Error that wraps it,
//     and the binding frees op.
//
// The op is owned by the application: Free it when done (freeing it twice is
// harmless; the connection's Close frees any op still pending). The callback
// must not block for long: it holds an OS thread. A panic is recovered and
// treated as a returned error; it never reaches C.
type AsyncPkeyFunc func(conn *Connection, op *AsyncPkeyOp) error

// AsyncPkeyOp is one private-key operation handed to an [AsyncPkeyFunc]
// (s2n_async_pkey_op). All its methods are safe from any goroutine. After
// Free, or after its connection was closed, every method but Free returns a
// usage error.
type AsyncPkeyOp struct {
	s *opState
}

type opState struct {
	mu      sync.Mutex // held for every call on ptr
	ptr     *C.struct_s2n_async_pkey_op
	conn    *connState
	gen     uint64 // the handshake generation of conn that raised it
	applied bool
	e       C.go_s2n_error // error record of calls made under mu
}

// errOpAbandoned is the asynchronous failure recorded when an op is freed
// without having been applied: the handshake can never complete.
var errOpAbandoned = errors.New("async pkey op freed without being applied")

// newOp registers an op s2n handed to the callback of connection s.
func (s *connState) newOp(p *C.struct_s2n_async_pkey_op) *AsyncPkeyOp {
	op := &opState{ptr: p, conn: s, gen: s.gen.Load()}
	s.opsMu.Lock()
	if s.ops == nil {
		s.ops = make(map[*opState]struct{})
	}
	s.ops[op] = struct{}{}
	s.opsMu.Unlock()
	pendingOps.Add(1)
	return &AsyncPkeyOp{s: op}
}

// free releases the C op once; later calls do nothing.
func (o *opState) free() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.ptr == nil {
		return
	}
	var e C.go_s2n_error
	C.go_s2n_async_pkey_op_free(o.ptr, &e)
	o.ptr = nil
	pendingOps.Add(-1)
	o.conn.opsMu.Lock()
	delete(o.conn.ops, o)
	o.conn.opsMu.Unlock()
	if !o.applied && !o.conn.closing.Load() {
		o.conn.fail(o.gen, errOpAbandoned)
	}
}

// with runs f on the C op under its lock.
func (o *AsyncPkeyOp) with(f func(p *C.struct_s2n_async_pkey_op, e *C.go_s2n_error) C.int) error {
	if o == nil || o.s == nil {
		return usageError(nameInvalidArg, "nil or zero async pkey op")
	}
	s := o.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ptr == nil {
		return closedError("async pkey op (freed, or its connection was closed)")
	}
	if f(s.ptr, &s.e) < 0 {
		return newError(&s.e, nil)
	}
	return nil
}

// Type reports whether the operation signs or decrypts
// (s2n_async_pkey_op_get_op_type).
func (o *AsyncPkeyOp) Type() (AsyncPkeyOpType, error) {
	var t C.s2n_async_pkey_op_type
	err := o.with(func(p *C.struct_s2n_async_pkey_op, e *C.go_s2n_error) C.int {
		return C.go_s2n_async_pkey_op_get_op_type(p, &t, e)
	})
	return AsyncPkeyOpType(t), err
}

// inputStackSize covers digests and RSA ciphertexts up to 8192-bit keys in
// one crossing.
const inputStackSize = 1024

// Input returns a copy of the operation's input
// (s2n_async_pkey_op_get_input_size, s2n_async_pkey_op_get_input): the
// digest to sign, or the ciphertext to decrypt.
func (o *AsyncPkeyOp) Input() ([]byte, error) {
	var out []byte
	err := o.with(func(p *C.struct_s2n_async_pkey_op, e *C.go_s2n_error) C.int {
		var buf [inputStackSize]byte
		var size C.uint32_t
		if C.go_s2n_async_pkey_op_get_input(p, (*C.uint8_t)(&buf[0]), inputStackSize, &size, e) < 0 {
			return -1
		}
		if size <= inputStackSize {
			out = append([]byte(nil), buf[:size]...)
			return 0
		}
		out = make([]byte, size)
		return C.go_s2n_async_pkey_op_get_input(p, (*C.uint8_t)(&out[0]), size, &size, e)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SetOutput supplies the result computed elsewhere (an HSM, a KMS, a remote
// signer) instead of Perform (s2n_async_pkey_op_set_output): a signature
// (ECDSA in ASN.1 DER) or the decrypted plaintext. s2n copies it.
func (o *AsyncPkeyOp) SetOutput(out []byte) error {
	if len(out) > 1<<16 {
		return usageError(nameInvalidArg, "async pkey output of %d bytes is too large", len(out))
	}
	applied := false
	err := o.with(func(p *C.struct_s2n_async_pkey_op, e *C.go_s2n_error) C.int {
		// s2n frees the output at Apply and only then: an output set after
		// Apply would leak (for a decryption, a secret never wiped).
		if applied = o.s.applied; applied {
			return 0
		}
		return C.go_s2n_async_pkey_op_set_output(p, (*C.uint8_t)(unsafe.SliceData(out)), C.uint32_t(len(out)), e)
	})
	if applied {
		return usageError(nameAlreadyApplied, "async pkey op already applied")
	}
	return err
}

// Perform runs the operation with a key loaded in s2n
// (s2n_async_pkey_op_perform). It may run on any goroutine, concurrently with
// calls on the connection; it does not apply the result.
func (o *AsyncPkeyOp) Perform(key *PrivateKey) error {
	if key == nil || key.cert == nil || key.ptr == nil {
		return usageError(nameInvalidArg, "nil or zero private key")
	}
	cert := key.cert
	cert.mu.RLock()
	defer cert.mu.RUnlock()
	if cert.ptr == nil {
		return closedError("certificate chain of the private key")
	}
	return o.with(func(p *C.struct_s2n_async_pkey_op, e *C.go_s2n_error) C.int {
		return C.go_s2n_async_pkey_op_perform(p, key.ptr, e)
	})
}

// Apply hands the result to the connection and unblocks its handshake
// (s2n_async_pkey_op_apply). conn must be the connection that raised the
// operation: any other is refused before it is touched. Apply is serialized
// against Negotiate, Send and Recv on conn by the binding; from inside the
// callback it runs at once. With ValidationStrict, a signature that does not
// match the certificate fails here (S2N_ERR_VERIFY_SIGNATURE). The op still
// has to be freed.
func (o *AsyncPkeyOp) Apply(conn *Connection) error {
	if conn == nil {
		return usageError(nameInvalidArg, "nil connection")
	}
	if o == nil || o.s == nil {
		return usageError(nameInvalidArg, "nil or zero async pkey op")
	}
	cs := conn.state()
	// Compared before locking: two callbacks applying crosswise must not
	// each hold one connection while waiting for the other.
	if cs != o.s.conn {
		return usageError(nameWrongConnection, "async pkey op applied to a connection other than the one that raised it")
	}
	cb, err := cs.lock()
	if err != nil {
		return err
	}
	defer cs.unlock(cb)
	err = o.with(func(p *C.struct_s2n_async_pkey_op, e *C.go_s2n_error) C.int {
		if C.go_s2n_async_pkey_op_apply(p, cs.ptr, e) < 0 {
			return -1
		}
		o.s.applied = true
		return 0
	})
	if err == nil {
		cs.notify()
	}
	return err
}

// live reports whether the op can still be completed (not freed, and its
// connection not closed).
func (o *AsyncPkeyOp) live() bool {
	o.s.mu.Lock()
	defer o.s.mu.Unlock()
	return o.s.ptr != nil
}

// Free releases the operation (s2n_async_pkey_op_free). It is idempotent and
// always returns nil.
func (o *AsyncPkeyOp) Free() error {
	if o != nil && o.s != nil {
		o.s.free()
	}
	return nil
}
