package s2n

// Only //export trampolines live here: cgo forbids definitions in the
// preamble of a file that exports, so the C side is in callbacks.c.

// #include "cgo_helpers.h"
import "C"

import (
	"errors"
	"runtime/cgo"
)

var errNoCallback = errors.New("async pkey operation raised on a connection with no Go callback")

// goS2nAsyncPkey is s2n's async private-key callback. It runs the Config's
// AsyncPkeyFunc for the connection behind handle h, on the goroutine that is
// inside Negotiate (locked to thread tid for the call). A returned error or a
// panic is stored on the connection for Negotiate to return, the op is freed,
// and S2N_FAILURE goes back to s2n.
//
//export goS2nAsyncPkey
func goS2nAsyncPkey(h C.uintptr_t, p *C.struct_s2n_async_pkey_op, tid C.uintptr_t) (rc C.int) {
	if cgoCounting {
		callbacksIn.Add(1)
	}
	if h == 0 {
		var e C.go_s2n_error
		C.go_s2n_async_pkey_op_free(p, &e)
		return -1
	}
	s := cgo.Handle(h).Value().(*connState)
	if s.gated { // the callback may block: let other handshakes in
		s.gated = false
		handshakeGate.release()
	}
	op := s.newOp(p)
	var err error
	s.cbThread.Store(uintptr(tid))
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r}
		}
		s.cbThread.Store(0)
		if err != nil {
			if s.cbErr == nil {
				s.cbErr = err
			}
			op.s.free()
			rc = -1
		}
	}()
	conn := s.driver
	var fn AsyncPkeyFunc
	if s.config != nil {
		fn = s.config.callback()
	}
	if fn == nil || conn == nil {
		err = errNoCallback
		return -1
	}
	if err = fn(conn, op); err != nil {
		return -1
	}
	return 0
}

// goS2nVerifyHost is s2n's verify-host callback: it runs the Config's
// VerifyHostFunc for a name from the peer's certificate. A panic counts as
// rejection and never reaches C.
//
//export goS2nVerifyHost
func goS2nVerifyHost(h C.uintptr_t, name *C.char, n C.size_t) (ok C.uint8_t) {
	if cgoCounting {
		callbacksIn.Add(1)
	}
	defer func() {
		if recover() != nil {
			ok = 0
		}
	}()
	st := cgo.Handle(h).Value().(*configState)
	if st.verifyHost != nil && st.verifyHost(C.GoStringN(name, C.int(n))) {
		return 1
	}
	return 0
}
