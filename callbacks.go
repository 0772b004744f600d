package s2n

// Only //export trampolines live here: cgo forbids definitions in the
// preamble of a file that exports, so the C side is in callbacks.c. Each
// trampoline finds its Go object through the handle s2n hands back and runs
// the application's function through connState.runCallback.

// #include "cgo_helpers.h"
import "C"

import (
	"errors"
	"runtime/cgo"
	"time"
	"unsafe"
)

var errNoCallback = errors.New("s2n raised a callback on a connection with no Go function for it")

// errNoPSKChosen: a PSKSelectionFunc returned without choosing a PSK.
var errNoPSKChosen = errors.New("s2n: the PSK selection callback chose no PSK")

// goS2nAsyncPkey is s2n's async private-key callback. It runs the Config's
// AsyncPkeyFunc for the connection behind handle h, on the goroutine that is
// inside Negotiate (locked to thread tid for the call). A returned error or a
// panic is stored on the connection for Negotiate to return, the op is freed,
// and S2N_FAILURE goes back to s2n.
//
//export goS2nAsyncPkey
func goS2nAsyncPkey(h C.uintptr_t, p *C.struct_s2n_async_pkey_op, tid C.uintptr_t) C.int {
	if h == 0 {
		var e C.go_s2n_error
		C.go_s2n_async_pkey_op_free(p, &e)
		return -1
	}
	s := cgo.Handle(h).Value().(*connState)
	op := s.newOp(p)
	err := s.runCallback(uintptr(tid), func() error {
		conn := s.driver
		var fn AsyncPkeyFunc
		if s.config != nil {
			fn = s.config.callback()
		}
		if fn == nil || conn == nil {
			return errNoCallback
		}
		return fn(conn, op)
	})
	if err != nil {
		op.s.free()
		return -1
	}
	return 0
}

// goS2nAsyncOffload is s2n's async offload callback. It runs the Config's
// AsyncOffloadFunc for the connection behind handle h, on the goroutine
// inside Negotiate (locked to thread tid for the call). A returned error or
// a panic is stored on the connection for Negotiate to return, the op can
// no longer be performed, and S2N_FAILURE goes back to s2n.
//
//export goS2nAsyncOffload
func goS2nAsyncOffload(h C.uintptr_t, p *C.struct_s2n_async_offload_op, tid C.uintptr_t) C.int {
	if h == 0 {
		return -1
	}
	s := cgo.Handle(h).Value().(*connState)
	op := &AsyncOffloadOp{s: &offloadState{ptr: p, conn: s, gen: s.gen.Load()}}
	err := s.runCallback(uintptr(tid), func() error {
		conn := s.driver
		var fn AsyncOffloadFunc
		if s.config != nil {
			fn = s.config.offloadFn
		}
		if fn == nil || conn == nil {
			return errNoCallback
		}
		return fn(conn, op)
	})
	if err != nil {
		op.s.done = true // under the driving call's lock
		return -1
	}
	return 0
}

// goS2nVerifyHost is s2n's verify-host callback: it runs the VerifyHostFunc
// of the Config or Connection behind handle h for a name from the peer's
// certificate. conn is the handle of the connection being driven on this
// thread (0 if none), so the function runs as that connection's callback.
// A panic fails the handshake with the panic as its cause.
//
//export goS2nVerifyHost
func goS2nVerifyHost(h, conn C.uintptr_t, name *C.char, n C.size_t, tid C.uintptr_t) C.uint8_t {
	var s *connState
	if conn != 0 {
		s, _ = cgo.Handle(conn).Value().(*connState)
	}
	var fn func(string) bool
	switch v := cgo.Handle(h).Value().(type) {
	case *configState:
		fn = v.verifyHost
	case *connState:
		fn = v.verifyHost
		s = v
	}
	if fn == nil || s == nil {
		return 0
	}
	host := C.GoStringN(name, C.int(n))
	ok := false
	if s.runCallback(uintptr(tid), func() error { ok = fn(host); return nil }) != nil {
		return 0
	}
	if ok {
		return 1
	}
	return 0
}

// goS2nClientHello is s2n's ClientHello callback: it runs the
// ClientHelloFunc of the Config of the connection behind handle h, as a
// callback of that connection. An error or panic fails the handshake.
//
//export goS2nClientHello
func goS2nClientHello(h C.uintptr_t, tid C.uintptr_t) C.int {
	if h == 0 {
		return -1
	}
	s := cgo.Handle(h).Value().(*connState)
	err := s.runCallback(uintptr(tid), func() error {
		conn := s.driver
		var fn ClientHelloFunc
		if s.config != nil {
			fn = s.config.clientHelloFn
		}
		s.helloConfig = s.config
		if fn == nil || conn == nil {
			return errNoCallback
		}
		return fn(conn, &ClientHello{conn: conn})
	})
	if err != nil {
		return -1
	}
	return 0
}

// goS2nCertRequest is s2n's CertificateRequest callback (clients): it runs
// the Config's CertRequestFunc for the connection behind handle h, as a
// callback of that connection. The request is valid only during the call.
//
//export goS2nCertRequest
func goS2nCertRequest(h C.uintptr_t, r *C.struct_s2n_certificate_request, tid C.uintptr_t) C.int {
	if h == 0 {
		return -1
	}
	s := cgo.Handle(h).Value().(*connState)
	req := &CertificateRequest{s: s, p: r}
	err := s.runCallback(uintptr(tid), func() error {
		conn := s.driver
		var fn CertRequestFunc
		if s.config != nil {
			fn = s.config.certRequestFn
		}
		if fn == nil || conn == nil {
			return errNoCallback
		}
		return fn(conn, req)
	})
	req.p = nil // s2n's request ends with the call
	if err != nil {
		return -1
	}
	return 0
}

// goS2nPSKSelection is s2n's PSK selection callback (servers): it runs the
// Config's PSKSelectionFunc for the connection behind handle h, as a
// callback of that connection. The list is valid only during the call; a
// return without a chosen PSK fails the handshake.
//
//export goS2nPSKSelection
func goS2nPSKSelection(h C.uintptr_t, l *C.struct_s2n_offered_psk_list, tid C.uintptr_t) C.int {
	if h == 0 {
		return -1
	}
	s := cgo.Handle(h).Value().(*connState)
	list := &OfferedPSKList{s: s, p: l}
	err := s.runCallback(uintptr(tid), func() error {
		conn := s.driver
		var fn PSKSelectionFunc
		if s.config != nil {
			fn = s.config.pskSelect
		}
		if fn == nil || conn == nil {
			return errNoCallback
		}
		if err := fn(conn, list); err != nil {
			return err
		}
		if !list.chosen {
			return errNoPSKChosen
		}
		return nil
	})
	list.end()
	if err != nil {
		return -1
	}
	return 0
}

// goS2nEarlyData is s2n's early data callback (servers): it runs the
// Config's EarlyDataFunc for the connection behind handle h, as a callback
// of that connection. The function may answer later, from any goroutine.
//
//export goS2nEarlyData
func goS2nEarlyData(h C.uintptr_t, d *C.struct_s2n_offered_early_data, tid C.uintptr_t) C.int {
	if h == 0 {
		return -1
	}
	s := cgo.Handle(h).Value().(*connState)
	offered := &OfferedEarlyData{s: s, p: d, gen: s.gen.Load()}
	err := s.runCallback(uintptr(tid), func() error {
		conn := s.driver
		var fn EarlyDataFunc
		if s.config != nil {
			fn = s.config.earlyDataFn
		}
		if fn == nil || conn == nil {
			return errNoCallback
		}
		return fn(conn, offered)
	})
	if err != nil {
		return -1
	}
	return 0
}

// goS2nCertTiebreak is s2n's certificate tiebreak callback, run while a
// chain is added to the Config behind handle h (under the Config's lock, on
// the goroutine adding it); the C side reads h from the Config's context
// slot (s2n_config_get_ctx). It returns 1 for a, 2 for b, 0 for s2n's
// default (the first); a panic counts as 0 and never reaches C.
//
//export goS2nCertTiebreak
func goS2nCertTiebreak(h C.uintptr_t, a, b *C.struct_s2n_cert_chain_and_key, name *C.char, n C.uint32_t) (which C.int) {
	if h == 0 {
		return 0
	}
	st, ok := cgo.Handle(h).Value().(*configState)
	if !ok || st.tiebreak == nil {
		return 0
	}
	defer func() {
		if recover() != nil {
			which = 0
		}
	}()
	ca, cb := certFromC(a), certFromC(b)
	chosen := st.tiebreak(ca, cb, C.GoStringN(name, C.int(n)))
	switch {
	case chosen == nil:
		return 0
	case chosen.s == ca.s:
		return 1
	case chosen.s == cb.s:
		return 2
	}
	return 0
}

// goS2nCertValidation is s2n's certificate validation callback: it runs the
// checks the Config of the connection behind handle h has set (see
// configState.validateCert), as a callback of that connection. An error or
// panic fails the handshake with it as the cause.
//
//export goS2nCertValidation
func goS2nCertValidation(h C.uintptr_t, info *C.struct_s2n_cert_validation_info, tid C.uintptr_t) C.int {
	if h == 0 {
		return -1
	}
	s := cgo.Handle(h).Value().(*connState)
	err := s.runCallback(uintptr(tid), func() error {
		conn := s.driver
		if s.config == nil || conn == nil {
			return errNoCallback
		}
		return s.config.validateCert(conn, &CertValidationInfo{conn: conn, ptr: info, gen: s.gen.Load()})
	})
	if err != nil {
		return -1
	}
	return 0
}

// goS2nCRLLookup is s2n's CRL lookup callback, raised once per certificate
// of the peer's chain: it runs the CRLLookupFunc of the Config of conn, the
// handle of the connection driven on this thread. An error or panic fails
// the handshake with it as the cause.
//
//export goS2nCRLLookup
func goS2nCRLLookup(conn C.uintptr_t, lookup *C.struct_s2n_crl_lookup, tid C.uintptr_t) C.int {
	if conn == 0 {
		return -1
	}
	s := cgo.Handle(conn).Value().(*connState)
	err := s.runCallback(uintptr(tid), func() error {
		c := s.driver
		var fn CRLLookupFunc
		if s.config != nil {
			fn = s.config.validation.crlLookup
		}
		if fn == nil || c == nil {
			return errNoCallback
		}
		return fn(c, &CRLLookup{conn: c, ptr: lookup, gen: s.gen.Load()})
	})
	if err != nil {
		return -1
	}
	return 0
}

// goS2nSessionTicket is s2n's session ticket callback: it hands the ticket
// to the client session cache and the SessionTicketFunc of the Config of
// the connection behind handle h, as a callback of that connection (inside
// Negotiate, or Recv in TLS 1.3). An error or panic fails s2n's call.
//
//export goS2nSessionTicket
func goS2nSessionTicket(h C.uintptr_t, t *C.struct_s2n_session_ticket, tid C.uintptr_t) C.int {
	if h == 0 {
		return -1
	}
	s := cgo.Handle(h).Value().(*connState)
	if s.runCallback(uintptr(tid), func() error { return s.sessionTicket(t) }) != nil {
		return -1
	}
	return 0
}

// goS2nCacheStore is s2n's session cache store callback: it runs the
// Config's SessionCache.Store for the connection behind handle h, as a
// callback of that connection. s2n ignores what it returns; a panic is
// recorded as the driving call's error.
//
//export goS2nCacheStore
func goS2nCacheStore(h C.uintptr_t, ttl C.uint64_t, key unsafe.Pointer, keyLen C.uint64_t, value unsafe.Pointer, valueLen C.uint64_t, tid C.uintptr_t) C.int {
	if h == 0 {
		return -1
	}
	s := cgo.Handle(h).Value().(*connState)
	k := C.GoBytes(key, C.int(keyLen))
	v := C.GoBytes(value, C.int(valueLen))
	err := s.runCallback(uintptr(tid), func() error {
		if s.config == nil || s.config.sessionCache == nil {
			return errNoCallback
		}
		s.config.sessionCache.Store(k, v, time.Duration(ttl)*time.Second)
		return nil
	})
	if err != nil {
		return -1
	}
	return 0
}

// goS2nCacheRetrieve is s2n's session cache retrieve callback for the
// connection behind handle h: it returns the value (0), a miss (-1) or
// S2N_CALLBACK_BLOCKED while the Config's SessionCache.Retrieve runs on a
// goroutine (see connState.retrieveSession).
//
//export goS2nCacheRetrieve
func goS2nCacheRetrieve(h C.uintptr_t, key unsafe.Pointer, keyLen C.uint64_t, value unsafe.Pointer, valueLen *C.uint64_t, tid C.uintptr_t) C.int {
	if h == 0 {
		return -1
	}
	s := cgo.Handle(h).Value().(*connState)
	rc := C.int(retrieveMiss)
	s.runCallback(uintptr(tid), func() error {
		if s.config == nil {
			return errNoCallback
		}
		k := unsafe.Slice((*byte)(key), int(keyLen))
		out := unsafe.Slice((*byte)(value), int(*valueLen))
		rc = s.retrieveSession(k, out, valueLen)
		return nil
	})
	return rc
}

// goS2nCacheDelete is s2n's session cache delete callback: it runs the
// Config's SessionCache.Delete for the connection behind handle h, as a
// callback of that connection (inside Negotiate, Recv or Shutdown).
//
//export goS2nCacheDelete
func goS2nCacheDelete(h C.uintptr_t, key unsafe.Pointer, keyLen C.uint64_t, tid C.uintptr_t) C.int {
	if h == 0 {
		return -1
	}
	s := cgo.Handle(h).Value().(*connState)
	k := C.GoBytes(key, C.int(keyLen))
	err := s.runCallback(uintptr(tid), func() error {
		if s.config == nil || s.config.sessionCache == nil {
			return errNoCallback
		}
		s.config.sessionCache.Delete(k)
		return nil
	})
	if err != nil {
		return -1
	}
	return 0
}

// goS2nKeyLog is s2n's key log callback: it writes one NSS key log line
// (s2n gives it without the newline) to the KeyLogWriter of the Config
// behind handle cfg, as a callback of the connection behind handle conn.
// s2n ignores the result; a failed write or a panic is recorded by
// runCallback, and the driving call returns it (see connState.finish).
//
//export goS2nKeyLog
func goS2nKeyLog(cfg, conn C.uintptr_t, line *C.char, n C.size_t, tid C.uintptr_t) C.int {
	if cfg == 0 || conn == 0 {
		return -1
	}
	st, _ := cgo.Handle(cfg).Value().(*configState)
	s, _ := cgo.Handle(conn).Value().(*connState)
	if st == nil || s == nil || st.keyLog == nil {
		return -1
	}
	b := make([]byte, int(n)+1)
	copy(b, unsafe.Slice((*byte)(unsafe.Pointer(line)), int(n)))
	b[n] = '\n'
	err := s.runCallback(uintptr(tid), func() error { return writeKeyLog(st.keyLog, b) })
	clear(b)
	if err != nil {
		return -1
	}
	return 0
}

// goS2nHandshakeEvent is s2n's handshake event callback: it runs the
// HandshakeEvent function of the Config behind handle h as a callback of
// the connection behind conn. s2n ignores its result: a panic ends the
// connection (S2N_GO_ERR_CALLBACK_FAILED).
//
//export goS2nHandshakeEvent
func goS2nHandshakeEvent(h, conn C.uintptr_t, ev *C.struct_s2n_event_handshake, tid C.uintptr_t) {
	if h == 0 || conn == 0 {
		return
	}
	st, ok1 := cgo.Handle(h).Value().(*configState)
	s, ok2 := cgo.Handle(conn).Value().(*connState)
	if !ok1 || !ok2 || st.handshakeEvent == nil {
		return
	}
	event := handshakeEvent(ev)
	s.runCallback(uintptr(tid), func() error {
		if s.driver == nil {
			return errNoCallback
		}
		st.handshakeEvent(s.driver, event)
		return nil
	})
}

// goS2nTimingCheckpoint is s2n's timing checkpoint callback, run like
// goS2nHandshakeEvent.
//
//export goS2nTimingCheckpoint
func goS2nTimingCheckpoint(h, conn C.uintptr_t, name *C.char, role C.uint8_t, ns C.uint64_t, tid C.uintptr_t) {
	if h == 0 || conn == 0 {
		return
	}
	st, ok1 := cgo.Handle(h).Value().(*configState)
	s, ok2 := cgo.Handle(conn).Value().(*connState)
	if !ok1 || !ok2 || st.timingCheckpoint == nil {
		return
	}
	cp := TimingCheckpoint{Name: C.GoString(name), Mode: Mode(role), At: time.Duration(ns)}
	s.runCallback(uintptr(tid), func() error {
		if s.driver == nil {
			return errNoCallback
		}
		st.timingCheckpoint(s.driver, cp)
		return nil
	})
}

// goS2nRenegotiateRequest is s2n's renegotiation request callback (TLS 1.2
// clients, inside s2n_recv): it runs the Config's RenegotiateRequestFunc for
// the connection behind handle h, as a callback of that connection, and
// writes its answer to response.
//
//export goS2nRenegotiateRequest
func goS2nRenegotiateRequest(h C.uintptr_t, response *C.s2n_renegotiate_response, tid C.uintptr_t) C.int {
	if h == 0 {
		return -1
	}
	s := cgo.Handle(h).Value().(*connState)
	var answer RenegotiateResponse
	err := s.runCallback(uintptr(tid), func() error {
		conn := s.driver
		var fn RenegotiateRequestFunc
		if s.config != nil {
			fn = s.config.renegotiateFn
		}
		if fn == nil || conn == nil {
			return errNoCallback
		}
		answer = fn(conn)
		switch answer {
		case RenegotiateAccept:
			s.renegAccepted = true // a Conn renegotiates when Recv returns
			return nil
		case RenegotiateReject:
			s.renegRejected = true // a Conn sends the alert when Recv returns
			return nil
		case RenegotiateIgnore:
			return nil
		}
		return usageError(nameInvalidArg, "renegotiation request callback returned %d", int(answer))
	})
	if err != nil {
		return -1
	}
	*response = C.s2n_renegotiate_response(answer)
	return 0
}
