package s2n

// #include "cgo_helpers.h"
import "C"

import (
	"fmt"
	"net"
	"sync"
	"syscall"
	"unsafe"
)

// Sentinels for errors.Is: every *Error matches the sentinel of its Type, so
// errors.Is(err, s2n.ErrBlocked) holds whenever s2n reported S2N_ERR_T_BLOCKED.
//
// ErrClosed is s2n's S2N_ERR_T_CLOSED only: the TLS connection was closed
// (the peer's close_notify, or the end of its transport). Using a binding
// object after its own Close (a Config, Connection, CertChainAndKey or op)
// is a usage error named S2N_GO_ERR_CLOSED: it matches ErrUsage and, like
// Go's "use of closed network connection", net.ErrClosed, not ErrClosed.
var (
	ErrBlocked  error = sentinel(ErrorTypeBlocked)
	ErrClosed   error = sentinel(ErrorTypeClosed)
	ErrIO       error = sentinel(ErrorTypeIO)
	ErrAlert    error = sentinel(ErrorTypeAlert)
	ErrProto    error = sentinel(ErrorTypeProto)
	ErrInternal error = sentinel(ErrorTypeInternal)
	ErrUsage    error = sentinel(ErrorTypeUsage)
)

type sentinel ErrorType

func (s sentinel) Error() string { return "s2n: " + ErrorType(s).String() + " error" }

// Error is an error reported by s2n-tls, read from s2n_errno inside the C call
// that failed, or a usage error detected by the binding itself (then Code is 0
// and Name starts with "S2N_GO_").
//
// When the failure was caused by the application's own code (an async
// private-key callback that returned an error or panicked), that error is kept
// and returned by Unwrap, so errors.Is and errors.As find it. An I/O failure
// (S2N_ERR_T_IO) of s2n reading or writing a file descriptor itself keeps
// the system's errno the same way, as a syscall.Errno (errors.Is(err,
// syscall.ECONNRESET) holds after a reset).
type Error struct {
	Code    int       // s2n_errno
	Type    ErrorType // s2n_error_get_type(Code)
	Name    string    // e.g. "S2N_ERR_ASYNC_NOT_PERFORMED" (s2n_strerror_name)
	Message string    // in English (s2n_strerror(Code, "EN"))
	Debug   string    // where in s2n-tls it was raised (s2n_strerror_debug)
	Source  string    // that place alone, file and line, e.g. "s2n_foo.c:42" (s2n_strerror_source)

	cause error
}

func (e *Error) Error() string {
	if e.cause != nil {
		return "s2n: " + e.cause.Error() + " (" + e.Name + ")"
	}
	return "s2n: " + e.Message + " (" + e.Name + ")"
}

// Unwrap returns the application error that caused this one, if any.
func (e *Error) Unwrap() error { return e.cause }

// Is reports whether target is the sentinel of e's Type, or net.ErrClosed
// for the use of a binding object after its Close.
func (e *Error) Is(target error) bool {
	if target == net.ErrClosed {
		return e.Name == nameClosed
	}
	s, ok := target.(sentinel)
	return ok && ErrorType(s) == e.Type
}

// blockedErrors caches the *Error for each blocked code: blocking is the
// normal state of non-blocking I/O, and must not allocate. Cached errors are
// shared; treat every *Error as read-only.
var blockedErrors sync.Map // int -> *Error

// newError converts a C error record; cause is the application error that led
// to it, if one was recorded during the call.
func newError(e *C.go_s2n_error, cause error) *Error {
	if e._type == C.S2N_ERR_T_BLOCKED && cause == nil {
		if err, ok := blockedErrors.Load(int(e.code)); ok {
			return err.(*Error)
		}
		err := convertError(e, nil)
		blockedErrors.Store(int(e.code), err)
		return err
	}
	return convertError(e, cause)
}

func convertError(e *C.go_s2n_error, cause error) *Error {
	if cause == nil && e.sys_errno != 0 {
		cause = syscall.Errno(e.sys_errno)
	}
	if e.code == 0 {
		return &Error{Type: ErrorType(e._type), Name: nameNoErrno,
			Message: "s2n reported a failure without an error code", cause: cause}
	}
	return &Error{
		Code:    int(e.code),
		Type:    ErrorType(e._type),
		Name:    C.GoString(C.go_s2n_strerror_name(e.code)),
		Message: C.GoString(C.go_s2n_strerror(e.code)),
		Debug:   cString(e.debug[:]),
		Source:  cString(e.source[:]),
		cause:   cause,
	}
}

// Binding-detected usage errors.
const (
	nameClosed     = "S2N_GO_ERR_CLOSED"
	nameInCallback = "S2N_GO_ERR_IN_CALLBACK"
	nameInvalidArg = "S2N_GO_ERR_INVALID_ARGUMENT"
	nameInUse      = "S2N_GO_ERR_IN_USE"
	// nameAlreadyApplied: SetOutput after Apply, or an async offload op
	// performed twice.
	nameAlreadyApplied = "S2N_GO_ERR_ALREADY_APPLIED"
	// nameNoErrno: s2n failed without setting s2n_errno.
	nameNoErrno = "S2N_GO_ERR_NO_ERRNO"
	// nameNoSelectedCert: SelectedCert before the handshake chose a chain.
	nameNoSelectedCert = "S2N_GO_ERR_NO_SELECTED_CERT"
	// nameWrongConnection: an op applied to another connection than its own.
	nameWrongConnection = "S2N_GO_ERR_WRONG_CONNECTION"
	// nameAsyncFailed: an async op failed off the handshake's goroutine.
	nameAsyncFailed = "S2N_GO_ERR_ASYNC_FAILED"
	// nameCallbackFailed: a callback whose failure s2n ignores (the key
	// log, the session cache's Store and Delete) failed or panicked.
	nameCallbackFailed = "S2N_GO_ERR_CALLBACK_FAILED"
)

func usageError(name, format string, args ...any) *Error {
	return &Error{Type: ErrorTypeUsage, Name: name, Message: fmt.Sprintf(format, args...)}
}

func closedError(what string) *Error {
	return usageError(nameClosed, "%s is closed", what)
}

// PanicError is the cause recorded when an application callback panicked;
// the panic never crosses into C.
type PanicError struct {
	Value any
}

func (p *PanicError) Error() string { return fmt.Sprintf("callback panicked: %v", p.Value) }

// cString copies a NUL-terminated C array into a Go string without handing
// the array to C.GoString (which would make the record escape).
func cString(b []C.char) string {
	n := 0
	for n < len(b) && b[n] != 0 {
		n++
	}
	return string(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(b))), n))
}
