package s2n

// Offloading s2n's own handshake operations, such as the verification of
// the peer's signature (s2n's unstable async_offload.h).

// #include "cgo_helpers.h"
import "C"

// AsyncOffloadOpType is a kind of handshake operation s2n can offload
// (s2n_async_offload_op_type); the kinds combine with |.
type AsyncOffloadOpType uint32

const (
	// AsyncOffloadPkeyVerify: the verification of the peer's signature (a
	// TLS 1.3 CertificateVerify, a TLS 1.2 ServerKeyExchange or client
	// CertificateVerify).
	AsyncOffloadPkeyVerify AsyncOffloadOpType = C.S2N_ASYNC_OFFLOAD_PKEY_VERIFY
	// AsyncOffloadAllowAll: every kind, including those later s2n versions
	// add.
	AsyncOffloadAllowAll AsyncOffloadOpType = C.S2N_ASYNC_OFFLOAD_ALLOW_ALL
)

// AsyncOffloadFunc is called from inside Negotiate, on the goroutine that
// drives the handshake, with the very *Connection the application created,
// for each operation of an allowed kind (s2n_async_offload_cb). It can
//
//   - perform the operation at once: op.Perform, then return nil; the
//     handshake goes on;
//   - offload it: hand op to another goroutine, which calls op.Perform, and
//     return nil at once; Negotiate then reports BlockedOnApplicationInput
//     until Perform has completed (a [Conn] handshake waits for it);
//   - fail: return an error. Negotiate fails with an *Error that wraps it.
//
// It must not wait for a Perform running on another goroutine: Perform is
// serialized with the Negotiate call the callback runs in. A panic is
// recovered and treated as a returned error; it never reaches C.
type AsyncOffloadFunc func(conn *Connection, op *AsyncOffloadOp) error

// AsyncOffloadOp is one operation handed to an [AsyncOffloadFunc]
// (s2n_async_offload_op). It belongs to its connection: s2n frees it with
// the connection, and it cannot be performed after Close or Wipe.
type AsyncOffloadOp struct {
	s *offloadState
}

type offloadState struct {
	ptr  *C.struct_s2n_async_offload_op
	conn *connState
	gen  uint64 // the handshake generation of conn that raised it
	// done: performed, or the callback failed. Guarded by conn's lock.
	done bool
	e    C.go_s2n_error
}

// SetAsyncOffloadCallback makes s2n hand the operations of the kinds in
// allow to fn instead of running them inside Negotiate (unstable
// s2n_config_set_async_offload_callback), so that CPU-heavy work can run
// off the goroutine driving the handshake. s2n refuses an empty allow, and
// offers no way to remove the callback again: fn may not be nil.
func (c *Config) SetAsyncOffloadCallback(allow AsyncOffloadOpType, fn AsyncOffloadFunc) error {
	if fn == nil {
		return usageError(nameInvalidArg, "nil AsyncOffloadFunc: s2n cannot remove the callback")
	}
	rec := setting{name: "SetAsyncOffloadCallback", replay: func(d *Config) error { return d.SetAsyncOffloadCallback(allow, fn) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		if C.go_s2n_config_set_async_offload_callback(p, C.uint32_t(allow), e) < 0 {
			return -1
		}
		c.s.offloadFn = fn
		return 0
	})
}

// Perform runs the operation (s2n_async_offload_op_perform), once. It may
// run on any goroutine: the binding serializes it with Negotiate, Send and
// Recv on the connection, so it waits for a Negotiate in progress to
// return; from inside the callback it runs at once. A failure (a signature
// that does not verify: S2N_ERR_VERIFY_SIGNATURE) is returned and also
// ends the handshake: the next Negotiate returns it.
func (o *AsyncOffloadOp) Perform() error {
	if o == nil || o.s == nil {
		return usageError(nameInvalidArg, "nil or zero async offload op")
	}
	op := o.s
	cs := op.conn
	cb, err := cs.lock()
	if err != nil {
		return err
	}
	defer cs.unlock(cb)
	switch {
	case cs.broken != nil:
		return cs.broken
	case op.gen != cs.gen.Load():
		return closedError("async offload op (its connection was wiped)")
	case op.done:
		return usageError(nameAlreadyApplied, "async offload op already performed, or its callback failed")
	}
	op.done = true
	if C.go_s2n_async_offload_op_perform(op.ptr, &op.e) < 0 {
		err := newError(&op.e, nil)
		cs.fail(op.gen, err)
		return err
	}
	cs.notify()
	return nil
}
